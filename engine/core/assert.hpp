#pragma once
// Invariant checks that stay on in release builds. A violated invariant means the
// process state can no longer be trusted: print where and abort (crash-only; the
// journal is the recovery path).
#include <cstdio>
#include <cstdlib>

namespace te::detail {
[[noreturn]] void assert_fail(const char* file, int line, const char* cond, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));
}  // namespace te::detail

#define TE_ASSERT(cond, ...)                                                     \
  do {                                                                           \
    if (__builtin_expect(!(cond), 0)) ::te::detail::assert_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
  } while (0)

#define TE_UNREACHABLE(...) ::te::detail::assert_fail(__FILE__, __LINE__, "unreachable", __VA_ARGS__)
