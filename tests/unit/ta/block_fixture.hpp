#pragma once
// What the block-pass tests share (values_block_test, stoch_block_test,
// cci_flat_test, vector_loops_test): bit comparison, bars kept as the columns a
// block pass reads, and edge values for the exact sums and the vector loops.
// Each test still builds its own series: each kernel has its own edges (flat
// runs of its window's length, spikes for the folds, NaN where it matters).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "engine/model/bar_series.hpp"

namespace te::test {

inline std::uint64_t bits(double x) {
  std::uint64_t b;
  std::memcpy(&b, &x, 8);
  return b;
}

// The same bits, or both NaN (a NaN's payload is not part of a kernel's answer).
inline bool same_bits(double a, double b) { return bits(a) == bits(b) || (std::isnan(a) && std::isnan(b)); }

// Bars as columns (BarSeries::Columns over the vectors; times all 0).
struct BarColumns {
  std::vector<double> open, high, low, close, volume;
  std::vector<std::int64_t> ts;
  void push(double o, double h, double l, double c, double v) {
    open.push_back(o);
    high.push_back(h);
    low.push_back(l);
    close.push_back(c);
    volume.push_back(v);
    ts.push_back(0);
  }
  std::size_t size() const { return close.size(); }
  model::BarSeries::Columns columns() const {
    model::BarSeries::Columns c;
    c.ts_ns = ts.data();
    c.open = open.data();
    c.high = high.data();
    c.low = low.data();
    c.close = close.data();
    c.volume = volume.data();
    return c;
  }
};

// A value after `previous` that hits the exact sums' and vector loops' edges:
// NaN, +0/-0, 1e-9 beside 1e9 (a pair that is no longer exact), an
// occasional infinity, the previous value again (flat stretches), else a
// price with two decimals.
inline double edge_value(std::mt19937_64& rng, double previous) {
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

}  // namespace te::test
