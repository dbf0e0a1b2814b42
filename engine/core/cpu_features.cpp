#include "engine/core/cpu_features.hpp"

#include <cstdlib>
#include <cstring>

namespace te {

namespace {

bool avx2_allowed() noexcept {
  // (getenv, not a configuration key: dispatchers decide in static
  // initialisers, before any configuration is read)
  const char* off = std::getenv("TE_NO_AVX2");
  if (off != nullptr && off[0] != '\0' && std::strcmp(off, "0") != 0) return false;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();  // (may run before libgcc's own initialisation: a static's initialiser)
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

}  // namespace

bool cpu_avx2() noexcept {
  static const bool yes = avx2_allowed();
  return yes;
}

}  // namespace te
