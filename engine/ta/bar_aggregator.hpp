#pragma once
// Builds higher-timeframe bars from base bars, releasing a bar only once it is
// closed, which is what makes multi-timeframe indicators lookahead-free: at any
// base bar t, every released bar is made only of base bars <= t and its bucket
// has ended by the end of bar t.
//
// A bucket is closed when
//   - a base bar of a later bucket arrives (the closed bar is released before that
//     base bar is merged into the next one), or
//   - early: the base interval is known (> 0) and ts + base_interval reaches the
//     bucket's end, i.e. the base bar just merged was the bucket's last one (its
//     own close is known because a base bar is only seen once it has closed).
// An early-closed bucket that receives another bar (irregular data) starts a new,
// separate partial bar for the same bucket.
#include <cstdint>

#include "engine/model/bar.hpp"
#include "engine/ta/timeframe.hpp"

namespace te::ta {

class BarAggregator {
 public:
  BarAggregator(Timeframe tf, std::int64_t base_interval_ns) noexcept : tf_(tf), base_interval_ns_(base_interval_ns) {}

  // Merges one base bar; returns how many higher-timeframe bars closed (0, 1 or 2),
  // readable through closed(0..n-1) in time order until the next push.
  int push(const model::Bar& bar) noexcept;
  const model::Bar& closed(int i) const noexcept { return closed_[i]; }
  // The bar being built (valid when has_open()).
  bool has_open() const noexcept { return open_; }
  const model::Bar& open_bar() const noexcept { return cur_; }
  const Timeframe& timeframe() const noexcept { return tf_; }
  void reset() noexcept;

 private:
  Timeframe tf_;
  std::int64_t base_interval_ns_;
  model::Bar cur_{};
  std::int64_t cur_bucket_ = 0;
  bool open_ = false;
  model::Bar closed_[2]{};
};

}  // namespace te::ta
