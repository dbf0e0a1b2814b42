#include "engine/core/assert.hpp"

#include <cstdarg>

namespace te::detail {

void assert_fail(const char* file, int line, const char* cond, const char* fmt, ...) {
  std::fprintf(stderr, "trading-engine: invariant violated at %s:%d (%s): ", file, line, cond);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace te::detail
