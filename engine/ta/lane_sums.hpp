#pragma once
// CCI's block pass sums eight windows side by side (Cci::sum_lanes): slot j of
// window k at v[j * 8 + k], each window's sum and mean deviation in storage
// order. Out of line so that the loop can be compiled twice, for the baseline
// x86-64 (SSE2: two lanes per instruction) and for AVX2 (four), and the AVX2
// one picked at run time on a machine that has it; the build targets the
// baseline (no -march). Both do the same additions in the same order per lane.
#include <cstddef>

namespace te::ta {

inline constexpr int kCciLanes = 8;

// avg[k] = (sum over j of v[j * 8 + k]) / n, dev[k] = sum over j of
// |v[j * 8 + k] - avg[k]|, j from 0 to `slots` - 1 in order.
void cci_lane_sums(const double* v, std::size_t slots, double n, double* avg, double* dev) noexcept;

// The same sums compiled for the baseline x86-64 (what cci_lane_sums runs on
// a machine without AVX2; tests compare the two bit for bit).
void cci_lane_sums_baseline(const double* v, std::size_t slots, double n, double* avg, double* dev) noexcept;

// Which loop cci_lane_sums runs ("avx2" or "baseline"; for tests and benches).
const char* cci_lane_sums_isa() noexcept;

}  // namespace te::ta
