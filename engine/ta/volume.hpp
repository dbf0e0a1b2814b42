#pragma once
// Volume-based: OBV and VWAP (kernel convention in moving_average.hpp).
#include <cstdint>

#include "engine/model/bar.hpp"
#include "engine/ta/exact_sum.hpp"
#include "engine/ta/talib_rules.hpp"
#include "engine/ta/timeframe.hpp"
#include "engine/ta/window.hpp"

namespace te::ta {

// On-balance volume (TA-Lib OBV): starts at the first bar's volume, then adds the
// volume when the price rises and subtracts it when it falls. Warm-up 0.
class Obv {
 public:
  static constexpr int kOutputs = 1;
  void update(double price, double volume) noexcept {
    if (!started_) {
      obv_ = volume;
      started_ = true;
    } else if (price > prev_) {
      obv_ += volume;
    } else if (price < prev_) {
      obv_ -= volume;
    }
    prev_ = price;
  }
  bool ready() const noexcept { return started_; }
  double value() const noexcept { return started_ ? obv_ : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept { *this = Obv{}; }

 private:
  double obv_ = 0, prev_ = 0;
  bool started_ = false;
};

// Volume-weighted average of the typical price (high + low + close) / 3.
//  - period 0, reset none: cumulative from the first bar, never reset; plain
//    left-to-right sums of ((H+L+C)/3)*V and V (the golden vwap_cum_typical
//    definition).
//  - period N > 0: rolling over the last N bars (exact window sums), warm-up N-1.
//  - reset = a timeframe (1d session, 1w, 1M): cumulative, restarting with the
//    first bar of each new UTC bucket.
// NaN while the accumulated volume is zero.
class Vwap {
 public:
  static constexpr int kOutputs = 1;
  Vwap(int period, Timeframe reset)
      : pv_window_(static_cast<std::size_t>(period > 0 ? period : 1)),
        v_window_(static_cast<std::size_t>(period > 0 ? period : 1)),
        reset_(reset),
        period_(period) {}

  void update(const model::Bar& b) noexcept {
    const double pv = ((b.high + b.low + b.close) / 3.0) * b.volume;
    if (period_ > 0) {
      pv_sum_.add_diff(pv, pv_window_.push(pv));
      v_sum_.add_diff(b.volume, v_window_.push(b.volume));
      if (seen_ < period_) ++seen_;
      num_ = pv_sum_.value();
      den_ = v_sum_.value();
      return;
    }
    if (!reset_.empty()) {
      const std::int64_t bucket = reset_.bucket(b.ts_ns);
      if (seen_ == 0 || bucket != bucket_) num_ = den_ = 0;
      bucket_ = bucket;
      seen_ = 1;
    }
    num_ += pv;
    den_ += b.volume;
  }
  bool ready() const noexcept { return (period_ == 0 || seen_ >= period_) && den_ != 0.0; }
  double value() const noexcept { return ready() ? num_ / den_ : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept {
    pv_window_.reset();
    v_window_.reset();
    pv_sum_.reset();
    v_sum_.reset();
    num_ = den_ = 0;
    bucket_ = 0;
    seen_ = 0;
  }

 private:
  Window pv_window_, v_window_;
  ExactSum pv_sum_, v_sum_;
  Timeframe reset_;
  int period_;
  int seen_ = 0;
  std::int64_t bucket_ = 0;
  double num_ = 0, den_ = 0;
};

}  // namespace te::ta
