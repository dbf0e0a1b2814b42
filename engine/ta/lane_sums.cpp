#include "engine/ta/lane_sums.hpp"

#include <cmath>

namespace te::ta {
namespace {

// (Inlined into each of the two entry points below, which compile it for
// their own instruction set; exact IEEE additions either way: this library is
// built with -ffp-contract=off and no fast-math.)
[[gnu::always_inline]] inline void lane_sums(const double* v, std::size_t slots, double n, double* avg_out,
                                             double* dev_out) noexcept {
  constexpr std::size_t kL = kCciLanes;
  double avg[kL] = {};
  for (std::size_t j = 0; j < slots; ++j)
    for (std::size_t k = 0; k < kL; ++k) avg[k] += v[j * kL + k];
  for (double& a : avg) a /= n;
  double dev[kL] = {};
  for (std::size_t j = 0; j < slots; ++j)
    for (std::size_t k = 0; k < kL; ++k) dev[k] += std::fabs(v[j * kL + k] - avg[k]);
  for (std::size_t k = 0; k < kL; ++k) {
    avg_out[k] = avg[k];
    dev_out[k] = dev[k];
  }
}

void lane_sums_baseline(const double* v, std::size_t slots, double n, double* avg, double* dev) noexcept {
  lane_sums(v, slots, n, avg, dev);
}

using LaneSums = void (*)(const double*, std::size_t, double, double*, double*) noexcept;

#if defined(__x86_64__) && defined(__GNUC__)
[[gnu::target("avx2")]] void lane_sums_avx2(const double* v, std::size_t slots, double n, double* avg,
                                              double* dev) noexcept {
  lane_sums(v, slots, n, avg, dev);
}
bool has_avx2() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}
#else
bool has_avx2() noexcept { return false; }
#endif

LaneSums pick() noexcept {
#if defined(__x86_64__) && defined(__GNUC__)
  if (has_avx2()) return lane_sums_avx2;
#endif
  return lane_sums_baseline;
}

const LaneSums chosen = pick();

}  // namespace

void cci_lane_sums(const double* v, std::size_t slots, double n, double* avg, double* dev) noexcept {
  chosen(v, slots, n, avg, dev);
}

void cci_lane_sums_baseline(const double* v, std::size_t slots, double n, double* avg, double* dev) noexcept {
  lane_sums_baseline(v, slots, n, avg, dev);
}

const char* cci_lane_sums_isa() noexcept { return chosen == lane_sums_baseline ? "baseline" : "avx2"; }

}  // namespace te::ta
