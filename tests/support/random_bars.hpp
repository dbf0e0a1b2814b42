#pragma once
// Seeded random OHLCV bars for property tests: a log-normal random walk with
// occasional exactly flat stretches and repeated closes (to reach the zero-range
// and zero-change branches), quotes on most bars and sizes on some.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "engine/model/bar.hpp"

namespace te::test {

inline std::vector<model::Bar> random_bars(std::size_t n, std::uint64_t seed, std::int64_t start_ns = 1'600'000'000LL * 1'000'000'000LL,
                                           std::int64_t step_ns = 3'600LL * 1'000'000'000LL) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> ret(0.0, 0.01), noise(0.0, 0.004);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<model::Bar> bars;
  bars.reserve(n);
  double close = 100.0;
  int flat_left = 0;
  for (std::size_t i = 0; i < n; ++i) {
    model::Bar b;
    b.ts_ns = start_ns + static_cast<std::int64_t>(i) * step_ns;
    if (flat_left == 0 && unit(rng) < 0.01) flat_left = 5 + static_cast<int>(unit(rng) * 30);
    if (flat_left > 0) {
      --flat_left;
      b.open = b.high = b.low = b.close = close;
    } else {
      const double open = close * std::exp(noise(rng));
      // Round to cents like real prices; sometimes repeat the close exactly.
      double c = unit(rng) < 0.05 ? close : std::round(open * std::exp(ret(rng)) * 100.0) / 100.0;
      if (c <= 0.01) c = 0.01;
      b.open = std::round(open * 100.0) / 100.0;
      b.close = c;
      b.high = std::max(b.open, b.close) + std::round(std::fabs(noise(rng)) * close * 100.0) / 100.0;
      b.low = std::min(b.open, b.close) - std::round(std::fabs(noise(rng)) * close * 100.0) / 100.0;
      if (b.low <= 0.0) b.low = std::min(b.open, b.close);
      close = c;
    }
    b.volume = std::floor(unit(rng) * 100000.0) + (unit(rng) < 0.02 ? 0.0 : 1.0);
    if (unit(rng) < 0.9) {
      const double half = 0.01 * (1 + std::floor(unit(rng) * 5));
      b.bid = b.close - half;
      b.ask = b.close + half;
      if (unit(rng) < 0.7) {
        b.bid_size = std::floor(unit(rng) * 1000);
        b.ask_size = std::floor(unit(rng) * 1000);
      }
    }
    bars.push_back(b);
  }
  return bars;
}

}  // namespace te::test
