#pragma once
// Trend: ADX, +DI, -DI, linear-regression slope, rolling highest/lowest and
// Donchian channels (kernel convention in moving_average.hpp).
#include <cmath>
#include <cstdint>

#include "engine/model/bar.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/ta/exact_sum.hpp"
#include "engine/ta/talib_rules.hpp"
#include "engine/ta/vector_loops.hpp"
#include "engine/ta/window.hpp"

namespace te::ta {

// Wilder's directional movement as TA-Lib computes it for ADX, PLUS_DI and
// MINUS_DI: +DM/-DM/TR are summed over bars 1..period-1, then smoothed from bar
// `period` on with x = x - x / period + today. DI values exist from bar `period`.
class Adx;

class DirectionalMovement {
 public:
  explicit DirectionalMovement(int period) : n_(static_cast<double>(period)), period_(period) {}

  // (Always inlined into its indicator's update: out of line it was a call
  // per bar with every smoothed sum stored and reloaded around it.)
  [[gnu::always_inline]] void update(const model::Bar& b) noexcept {
    if (index_ == 0) {
      prev_high_ = b.high;
      prev_low_ = b.low;
      prev_close_ = b.close;
      index_ = 1;
      return;
    }
    const double diff_p = b.high - prev_high_;
    prev_high_ = b.high;
    const double diff_m = prev_low_ - b.low;
    prev_low_ = b.low;
    const bool smoothing = index_ >= period_;
    if (smoothing) {
      minus_dm_ -= minus_dm_ / n_;
      plus_dm_ -= plus_dm_ / n_;
    }
    if (diff_m > 0 && diff_p < diff_m)
      minus_dm_ += diff_m;
    else if (diff_p > 0 && diff_p > diff_m)
      plus_dm_ += diff_p;
    const double tr = true_range(prev_high_, prev_low_, prev_close_);
    tr_ = smoothing ? tr_ - tr_ / n_ + tr : tr_ + tr;
    prev_close_ = b.close;
    if (index_ < kIndexCap) ++index_;
  }

  // Bars processed so far, saturating at a large cap.
  std::int64_t bars() const noexcept { return index_; }
  bool di_ready() const noexcept { return index_ > period_; }
  bool tr_is_zero() const noexcept { return ta_is_zero(tr_); }
  double plus_di() const noexcept { return 100.0 * (plus_dm_ / tr_); }
  double minus_di() const noexcept { return 100.0 * (minus_dm_ / tr_); }
  void reset() noexcept {
    prev_high_ = prev_low_ = prev_close_ = plus_dm_ = minus_dm_ = tr_ = 0;
    index_ = 0;
  }

 private:
  friend class Adx;  // its block pass steps these sums in registers
  static constexpr std::int64_t kIndexCap = std::int64_t{1} << 62;
  double n_;
  double prev_high_ = 0, prev_low_ = 0, prev_close_ = 0;
  double plus_dm_ = 0, minus_dm_ = 0, tr_ = 0;
  std::int64_t period_;
  std::int64_t index_ = 0;
};

// +DI or -DI (TA-Lib PLUS_DI / MINUS_DI): 100 * smoothed DM / smoothed TR, 0 when
// TR is zero. Warm-up period.
template <bool kPlus>
class DirectionalIndex {
 public:
  static constexpr int kOutputs = 1;
  explicit DirectionalIndex(int period) : dm_(period) {}
  void update(const model::Bar& b) noexcept { dm_.update(b); }
  bool ready() const noexcept { return dm_.di_ready(); }
  double value() const noexcept {
    if (!ready()) return kNaN;
    if (dm_.tr_is_zero()) return 0.0;
    return kPlus ? dm_.plus_di() : dm_.minus_di();
  }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept { dm_.reset(); }

 private:
  DirectionalMovement dm_;
};
using PlusDi = DirectionalIndex<true>;
using MinusDi = DirectionalIndex<false>;

// Average directional index (TA-Lib ADX): DX = 100 * |-DI - +DI| / (-DI + +DI);
// the first ADX is the mean of the DX of bars period..2*period-1, then
// adx = (adx * (period - 1) + dx) / period. Bars where TR or the DI sum is zero
// leave the ADX unchanged (and add nothing to the first mean), as in TA-Lib.
// Warm-up 2 * period - 1.
class Adx {
 public:
  static constexpr int kOutputs = 1;
  explicit Adx(int period) : dm_(period), n_(static_cast<double>(period)), nm1_(static_cast<double>(period - 1)), period_(period) {}

  void update(const model::Bar& b) noexcept {
    dm_.update(b);
    if (!dm_.di_ready()) return;
    double dx = 0;
    const bool have_dx = compute_dx(dx);
    const std::int64_t i = dm_.bars() - 1;  // index of this bar
    if (i < 2 * period_ - 1) {
      if (have_dx) sum_dx_ += dx;
      return;
    }
    if (i == 2 * period_ - 1) {
      if (have_dx) sum_dx_ += dx;
      adx_ = sum_dx_ / n_;
      ready_ = true;
      return;
    }
    if (have_dx) adx_ = (adx_ * nm1_ + dx) / n_;
  }
  bool ready() const noexcept { return ready_; }
  double value() const noexcept { return ready_ ? adx_ : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  // update(bar from + i) then out[i] = value() for i in [0, n) (the block pass
  // over a preloaded series). Once the sums are smoothed and the ADX seeded,
  // adx_steps (vector_loops.cpp) runs update()'s operations in the same order
  // on each value: the movements and true ranges of 64 bars at a time two (SSE2)
  // or four (AVX2) per instruction, then the recursions with -DM and +DM in one register, the
  // directional movement added without branching on which side moved: the
  // other sum gets + 0.0, which leaves it as it is (both sums stay >= +0, or
  // NaN/inf, for which x + 0 is x too). Same bits; no mispredicted branch per
  // bar.
  void update_block(const model::BarSeries::Columns& c, std::size_t from, std::size_t n, double* out) noexcept {
    std::size_t i = 0;
    for (; i < n && dm_.index_ < 2 * period_; ++i) {
      update(c.at(from + i));
      out[i] = value();
    }
    if (i == n) return;
    DirectionalMovement& dm = dm_;
    AdxRun run{dm.prev_high_, dm.prev_low_, dm.prev_close_, dm.minus_dm_, dm.plus_dm_, dm.tr_, adx_};
    const std::size_t steps = n - i;
    adx_steps(run, c.high + from + i, c.low + from + i, c.close + from + i, steps, dm.n_, nm1_, n_, out + i);
    dm.prev_high_ = run.ph;
    dm.prev_low_ = run.pl;
    dm.prev_close_ = run.pc;
    dm.plus_dm_ = run.pdm;
    dm.minus_dm_ = run.mdm;
    dm.tr_ = run.trs;
    const auto left = static_cast<std::int64_t>(steps);
    dm.index_ = dm.index_ < DirectionalMovement::kIndexCap - left ? dm.index_ + left : DirectionalMovement::kIndexCap;
    adx_ = run.adx;
  }
  void reset() noexcept {
    dm_.reset();
    sum_dx_ = adx_ = 0;
    ready_ = false;
  }

 private:
  bool compute_dx(double& dx) const noexcept {
    if (dm_.tr_is_zero()) return false;
    const double minus = dm_.minus_di();
    const double plus = dm_.plus_di();
    const double sum = minus + plus;
    if (ta_is_zero(sum)) return false;
    dx = 100.0 * (std::fabs(minus - plus) / sum);
    return true;
  }

  DirectionalMovement dm_;
  double n_, nm1_;
  std::int64_t period_;
  double sum_dx_ = 0, adx_ = 0;
  bool ready_ = false;
};

// Slope of the least-squares line through the last `period` values per bar (TA-Lib
// LINEARREG_SLOPE). TA-Lib recomputes the sums every bar; here they are updated
// in O(1) with x = age (0 = newest):  SumXY' = SumXY + SumY - period * x_out,
// kept in double-double so there is no drift. Warm-up period - 1.
class LinRegSlope {
 public:
  static constexpr int kOutputs = 1;
  explicit LinRegSlope(int period) : window_(static_cast<std::size_t>(period)), n_(static_cast<double>(period)), period_(period) {
    const double n = n_;
    sum_x_ = n * (n - 1) * 0.5;
    const double sum_x_sqr = n * (n - 1) * (2 * n - 1) / 6;
    divisor_ = sum_x_ * sum_x_ - n * sum_x_sqr;
  }

  void update(double x) noexcept {
    const double out = window_.push(x);
    // Ages grow by one: add the old window sum, drop the leaving value's weight.
    const Dd sy = sum_y_.dd();
    double p, pe;
    two_prod(n_, out, p, pe);
    sum_xy_.add_pair_diff(sy.hi, sy.lo, p, pe);
    sum_y_.add_diff(x, out);
    if (seen_ < period_) ++seen_;
  }
  bool ready() const noexcept { return seen_ >= period_; }
  double value() const noexcept {
    if (!ready()) return kNaN;
    const Dd num = dd_sub(dd_mul(sum_xy_.dd(), n_), dd_mul(sum_y_.dd(), sum_x_));
    return (num.hi + num.lo) / divisor_;
  }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept {
    window_.reset();
    sum_y_.reset();
    sum_xy_.reset();
    seen_ = 0;
  }

 private:
  Window window_;
  ExactSum sum_y_, sum_xy_;
  double n_, sum_x_, divisor_;
  int period_;
  int seen_ = 0;
};

// Rolling highest (kMax) or lowest value of a series over `period` bars (TA-Lib
// MAX / MIN). Warm-up period - 1.
template <bool kMax>
class Extreme {
 public:
  static constexpr int kOutputs = 1;
  explicit Extreme(int period) : ext_(static_cast<std::size_t>(period)), period_(static_cast<std::uint64_t>(period)) {}
  void update(double x) noexcept { ext_.push(x); }
  bool ready() const noexcept { return ext_.pushed() >= period_; }
  double value() const noexcept { return ready() ? ext_.value() : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept { ext_.reset(); }

 private:
  RollingExtreme<kMax> ext_;
  std::uint64_t period_;
};
using Highest = Extreme<true>;
using Lowest = Extreme<false>;

// Donchian channel: upper = highest high, lower = lowest low over `period` bars,
// middle = (upper + lower) / 2. Outputs upper, middle, lower. Warm-up period - 1.
class Donchian {
 public:
  static constexpr int kOutputs = 3;
  explicit Donchian(int period) : hh_(static_cast<std::size_t>(period)), ll_(static_cast<std::size_t>(period)), period_(static_cast<std::uint64_t>(period)) {}
  void update(const model::Bar& b) noexcept {
    hh_.push(b.high);
    ll_.push(b.low);
  }
  bool ready() const noexcept { return hh_.pushed() >= period_; }
  void write(double* out) const noexcept {
    if (!ready()) {
      out[0] = out[1] = out[2] = kNaN;
      return;
    }
    const double hi = hh_.value(), lo = ll_.value();
    out[0] = hi;
    out[1] = (hi + lo) / 2.0;
    out[2] = lo;
  }
  void reset() noexcept {
    hh_.reset();
    ll_.reset();
  }

 private:
  RollingMax hh_;
  RollingMin ll_;
  std::uint64_t period_;
};

}  // namespace te::ta
