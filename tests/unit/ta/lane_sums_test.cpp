// CCI's lane sums (engine/ta/lane_sums.cpp) give the same bits whichever loop
// runs: the one picked for this machine (AVX2 where it has it) against the
// baseline x86-64 one, on windows of 1 to 300 slots mixing NaN, +0/-0,
// infinities, magnitudes from 1e-9 to 1e9 and flat stretches. On a machine
// without AVX2 both are the baseline and this only checks the dispatch.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "engine/ta/lane_sums.hpp"

namespace {

std::uint64_t bits(double x) {
  std::uint64_t b;
  std::memcpy(&b, &x, 8);
  return b;
}

double edge_value(std::mt19937_64& rng, double previous) {
  switch (rng() % 12) {
    case 0: return std::numeric_limits<double>::quiet_NaN();
    case 1: return (rng() & 1) ? 0.0 : -0.0;
    case 2: return (rng() & 1) ? 1e9 + 0.125 : 1e-9;
    case 3: return (rng() % 50 == 0) ? std::numeric_limits<double>::infinity() : 100.0;
    case 4:
    case 5: return previous;
    default: return 100.0 + static_cast<double>(static_cast<std::int64_t>(rng() % 4001) - 2000) * 0.01;
  }
}

}  // namespace

TEST_CASE("CCI lane sums: the dispatched loop equals the baseline one bit for bit", "[ta][cci]") {
  INFO("dispatched loop: " << te::ta::cci_lane_sums_isa());
  std::mt19937_64 rng(20261207);
  constexpr std::size_t kL = te::ta::kCciLanes;
  std::size_t mismatches = 0;
  for (std::size_t slots : {1, 2, 3, 7, 8, 9, 14, 20, 21, 64, 65, 255, 256, 300})
    for (int round = 0; round < 40; ++round) {
      std::vector<double> v(slots * kL);
      double x = 100.0;
      const bool plain = round % 4 == 0;  // no NaN/inf: sums that are all finite
      for (double& slot : v) {
        x = plain ? 100.0 + static_cast<double>(rng() % 1000) * 0.01 : edge_value(rng, x);
        slot = x;
      }
      double avg[kL], dev[kL], avg0[kL], dev0[kL];
      const double n = static_cast<double>(slots);
      te::ta::cci_lane_sums(v.data(), slots, n, avg, dev);
      te::ta::cci_lane_sums_baseline(v.data(), slots, n, avg0, dev0);
      for (std::size_t k = 0; k < kL; ++k) {
        double want_avg = 0.0;  // lane k's sum in storage order, written out here as well
        for (std::size_t j = 0; j < slots; ++j) want_avg += v[j * kL + k];
        want_avg /= n;
        if (bits(avg[k]) != bits(avg0[k]) || bits(dev[k]) != bits(dev0[k])) ++mismatches;
        if (bits(avg0[k]) != bits(want_avg) && !(want_avg != want_avg && avg0[k] != avg0[k])) ++mismatches;
      }
    }
  CHECK(mismatches == 0);
}
