#pragma once
// A series of `n` daily bars that never move: open = close = px, high/low one
// above and below. For tests of the order path, where prices must not decide
// anything.
#include <cstddef>
#include <cstdint>
#include <utility>

#include "engine/core/time.hpp"
#include "engine/model/bar_series.hpp"

namespace te::test {

inline model::BarSeries flat_series(std::size_t n, double px = 100, double volume = 1000) {
  model::BarSeriesBuilder b;
  for (std::size_t i = 0; i < n; ++i) {
    model::Bar bar;
    bar.ts_ns = (static_cast<std::int64_t>(i) + 1) * kNsPerDay;
    bar.open = bar.close = px;
    bar.high = px + 1;
    bar.low = px - 1;
    bar.volume = volume;
    b.push(bar);
  }
  return std::move(b).build("TEST", 0);
}

}  // namespace te::test
