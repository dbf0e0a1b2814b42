// The run-time kernel dispatchers (engine/ta vector loops and ring copies,
// engine/journal bar runs and block checksums, engine/data newline counts and
// xxh3) all decide through te::cpu_avx2(): TE_NO_AVX2=1 makes every one take
// its baseline kernels, so the tests of what they compute run on both paths
// on an AVX2 machine (tests/CMakeLists.txt: te_tests_no_avx2).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/core/cpu_features.hpp"
#include "engine/data/xxh3.hpp"
#include "engine/journal/bar_run.hpp"
#include "engine/ta/vector_loops.hpp"

using namespace te;

namespace {

bool forced_off() {
  const char* off = std::getenv("TE_NO_AVX2");
  return off != nullptr && off[0] != '\0' && std::strcmp(off, "0") != 0;
}

void check_baseline() {
  CHECK_FALSE(cpu_avx2());
  CHECK(std::string(ta::vector_loops_isa()) == "baseline");
  CHECK_FALSE(journal::bar_run_uses_avx2());
  CHECK_FALSE(data::xxh3_uses_avx2());
}

}  // namespace

TEST_CASE("the kernel dispatchers take the CPU's AVX2 unless TE_NO_AVX2 is set", "[unit][ta][dispatch]") {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  const bool cpu = __builtin_cpu_supports("avx2");
#else
  const bool cpu = false;
#endif
  CHECK(cpu_avx2() == (cpu && !forced_off()));
  if (!cpu_avx2()) check_baseline();
}

// Run only by te_tests_no_avx2 (hidden from the default run): that
// registration must really have the switch set, and every dispatcher must
// have heard it.
TEST_CASE("te_tests_no_avx2 runs with every dispatcher on its baseline kernels", "[.][no_avx2]") {
  REQUIRE(forced_off());
  check_baseline();
}
