#pragma once
// Moving averages: SMA, EMA, WMA, DEMA, TEMA. O(1) per update, no allocation after
// construction. Kernel convention (shared by every file in engine/ta):
//   update(x)   feed one value          ready()  true once outputs are valid
//   write(out)  kOutputs values, NaN while warming up
//   value()     the single output (single-output kernels)
//   reset()     back to the just-constructed state
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "engine/ta/exact_sum.hpp"
#include "engine/ta/talib_rules.hpp"
#include "engine/ta/vector_loops.hpp"
#include "engine/ta/window.hpp"

namespace te::ta {

// Simple moving average. The window sum is exact (ExactSum), so the value equals
// fsum(window) / period bit for bit, like backtrader's SMA.
class Sma {
 public:
  static constexpr int kOutputs = 1;
  explicit Sma(int period) : window_(static_cast<std::size_t>(period)), period_(period) {}

  void update(double x) noexcept {
    sum_.add_diff(x, window_.push(x));
    if (count_ < period_) ++count_;
  }
  bool ready() const noexcept { return count_ >= period_; }
  double value() const noexcept { return ready() ? sum_.value() / static_cast<double>(period_) : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  // Values still to feed before ready() (0 once it is).
  int missing() const noexcept { return period_ - count_; }
  // update(in[i]) then out[i] = value() for i in [0, n): the same values.
  // Past the warm-up a chunk's steps go in three passes (steady()): only the
  // exact sum's two additions depend on the previous step; the split of each
  // step's difference and the division run as vector loops around them.
  void update_values(const double* in, std::size_t n, double* out) noexcept {
    std::size_t i = 0;
    if (count_ < period_) {  // warm-up, the sum in a local (the window's stores may alias the member)
      ExactSum sum = sum_;
      const double period = static_cast<double>(period_);
      for (; i < n && count_ < period_; ++i) {
        sum.add_diff(in[i], window_.push(in[i]));
        ++count_;
        out[i] = count_ >= period_ ? sum.value() / period : kNaN;
      }
      sum_ = sum;
    }
    while (i < n) {
      const std::size_t m = std::min(kSteadyChunk, n - i);
      steady(in + i, m, out + i);
      i += m;
    }
  }
  // The block pass over a preloaded series (one output: stride unused).
  void update_values(const double* in, std::size_t n, double* out, std::size_t /*stride*/) noexcept {
    update_values(in, n, out);
  }
  void reset() noexcept {
    window_.reset();
    sum_.reset();
    count_ = 0;
  }

 private:
  static constexpr std::size_t kSteadyChunk = 64;

  // m <= kSteadyChunk steps past the warm-up.
  void steady(const double* in, std::size_t m, double* out) noexcept {
    double* ring = window_.data();
    const std::size_t size = window_.size();
    const std::size_t pos = window_.next_slot();
    // The value leaving the window at step i: the ring's from pos on (two
    // stretches, it wraps), then the chunk's own (in[i - size]).
    double d[kSteadyChunk], de[kSteadyChunk];
    const std::size_t a = std::min(m, size - pos), b = std::min(m, size);
    vector_split_diffs(in, ring + pos, a, d, de);
    if (b > a) vector_split_diffs(in + a, ring, b - a, d + a, de + a);
    if (m > b) vector_split_diffs(in + b, in, m - b, d + b, de + b);
    // The chunk's last values into the ring, where the pushes would have put them.
    const std::size_t keep = std::min(m, size), next = (pos + m) % size;
    const double* kept = in + (m - keep);  // bar m - keep goes to slot (next + size - keep) % size
    const std::size_t first = (next + size - keep) % size, tail = std::min(keep, size - first);
    std::copy_n(kept, tail, ring + first);
    std::copy_n(kept + tail, keep - tail, ring);
    window_.set_next_slot(next);
    double hi[kSteadyChunk], lo[kSteadyChunk];
    sum_.add_split_diffs(d, de, m, hi, lo);
    vector_sum_values(hi, lo, m, static_cast<double>(period_), out);
  }

  Window window_;
  ExactSum sum_;
  int period_;
  int count_ = 0;
};

// Exponential moving average, TA-Lib default compatibility: seeded with the plain
// left-to-right average of the first `period` values, then
// ema = (x - ema) * k + ema with k = 2 / (period + 1).
class Ema {
 public:
  static constexpr int kOutputs = 1;
  explicit Ema(int period) : k_(2.0 / (static_cast<double>(period) + 1.0)), period_(period) {}

  void update(double x) noexcept {
    if (count_ >= period_) {
      ema_ = ((x - ema_) * k_) + ema_;
      return;
    }
    seed_ += x;
    if (++count_ == period_) ema_ = seed_ / static_cast<double>(period_);
  }
  bool ready() const noexcept { return count_ >= period_; }
  double value() const noexcept { return ready() ? ema_ : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  // update(in[i]) then out[i] = value() for i in [0, n): the same operations in
  // the same order, the running value in a register past the warm-up (the
  // block pass over a preloaded series; one output: stride unused).
  void update_values(const double* in, std::size_t n, double* out, std::size_t /*stride*/) noexcept {
    std::size_t i = 0;
    for (; i < n && count_ < period_; ++i) {
      update(in[i]);
      out[i] = value();
    }
    double e = ema_;
    const double k = k_;
    for (; i < n; ++i) {
      e = ((in[i] - e) * k) + e;
      out[i] = e;
    }
    ema_ = e;
  }
  // For the block passes of kernels built on EMAs (Macd::update_values): the
  // smoothing factor and the running value, which update() past the warm-up
  // steps as ((x - value) * k) + value.
  double k() const noexcept { return k_; }
  double state() const noexcept { return ema_; }
  void set_state(double e) noexcept { ema_ = e; }
  void reset() noexcept {
    seed_ = ema_ = 0;
    count_ = 0;
  }

 private:
  double k_;
  double seed_ = 0;
  double ema_ = 0;
  int period_;
  int count_ = 0;
};

// Linearly weighted moving average (weights 1..period, newest heaviest), as
// TA-Lib's WMA. The weighted sum is updated in O(1):
//   WS' = WS - S + period * x,   S' = S + x - x_out
// with both sums exact, so there is no drift over long series.
class Wma {
 public:
  static constexpr int kOutputs = 1;
  explicit Wma(int period)
      : window_(static_cast<std::size_t>(period)),
        n_(static_cast<double>(period)),
        divider_(static_cast<double>(period) * (static_cast<double>(period) + 1.0) / 2.0),
        period_(period) {}

  void update(double x) noexcept {
    const Dd s = sum_.dd();
    double p, pe;
    two_prod(n_, x, p, pe);
    wsum_.add_pair_diff(p, pe, s.hi, s.lo);
    sum_.add_diff(x, window_.push(x));
    if (count_ < period_) ++count_;
  }
  bool ready() const noexcept { return count_ >= period_; }
  double value() const noexcept { return ready() ? wsum_.value() / divider_ : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept {
    window_.reset();
    sum_.reset();
    wsum_.reset();
    count_ = 0;
  }

 private:
  Window window_;
  ExactSum sum_;
  ExactSum wsum_;
  double n_;
  double divider_;
  int period_;
  int count_ = 0;
};

// Double EMA: 2 * EMA(x) - EMA(EMA(x)); the inner EMA is fed from the outer one's
// first valid value (TA-Lib's DEMA), so the warm-up is 2 * (period - 1).
class Dema {
 public:
  static constexpr int kOutputs = 1;
  explicit Dema(int period) : e1_(period), e2_(period) {}

  void update(double x) noexcept {
    e1_.update(x);
    if (e1_.ready()) e2_.update(e1_.value());
  }
  bool ready() const noexcept { return e2_.ready(); }
  double value() const noexcept { return ready() ? (2.0 * e1_.value()) - e2_.value() : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept {
    e1_.reset();
    e2_.reset();
  }

 private:
  Ema e1_, e2_;
};

// Triple EMA: EMA3 + (3 * EMA1 - 3 * EMA2) (TA-Lib's TEMA evaluation order);
// warm-up 3 * (period - 1).
class Tema {
 public:
  static constexpr int kOutputs = 1;
  explicit Tema(int period) : e1_(period), e2_(period), e3_(period) {}

  void update(double x) noexcept {
    e1_.update(x);
    if (!e1_.ready()) return;
    e2_.update(e1_.value());
    if (e2_.ready()) e3_.update(e2_.value());
  }
  bool ready() const noexcept { return e3_.ready(); }
  double value() const noexcept {
    return ready() ? e3_.value() + ((3.0 * e1_.value()) - (3.0 * e2_.value())) : kNaN;
  }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept {
    e1_.reset();
    e2_.reset();
    e3_.reset();
  }

 private:
  Ema e1_, e2_, e3_;
};

}  // namespace te::ta
