#pragma once
// Oscillators: RSI, MACD, STOCH, STOCHRSI, WILLR, CCI, ROC, MOM (kernel convention
// in moving_average.hpp). Arithmetic follows TA-Lib's C sources operation by
// operation where that decides the last bits (Wilder smoothing, the /100 forms).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/model/bar.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/ta/moving_average.hpp"
#include "engine/ta/talib_rules.hpp"
#include "engine/ta/window.hpp"

namespace te::ta {

// Wilder's RSI: the first average gain/loss is the plain mean of the first
// `period` changes; then avg = (avg * (period - 1) + change) / period.
// RSI = 100 * gain / (gain + loss), 0 when the sum is zero. Warm-up: period.
class Rsi {
 public:
  static constexpr int kOutputs = 1;
  explicit Rsi(int period) : n_(static_cast<double>(period)), nm1_(static_cast<double>(period - 1)), period_(period) {}

  void update(double x) noexcept {
    if (count_ == 0) {
      prev_ = x;
      count_ = 1;
      return;
    }
    const double d = x - prev_;
    prev_ = x;
    if (count_ > period_) {
      loss_ *= nm1_;
      gain_ *= nm1_;
      if (d < 0.0)
        loss_ -= d;
      else
        gain_ += d;
      loss_ /= n_;
      gain_ /= n_;
      return;
    }
    if (d < 0.0)
      loss_ -= d;
    else
      gain_ += d;
    if (++count_ > period_) {
      loss_ /= n_;
      gain_ /= n_;
    }
  }
  bool ready() const noexcept { return count_ > period_; }
  double value() const noexcept {
    if (!ready()) return kNaN;
    const double s = gain_ + loss_;
    return ta_is_zero(s) ? 0.0 : 100.0 * (gain_ / s);
  }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept {
    prev_ = gain_ = loss_ = 0;
    count_ = 0;
  }

 private:
  double n_, nm1_;
  double prev_ = 0, gain_ = 0, loss_ = 0;
  int period_;
  int count_ = 0;  // values seen, capped at period + 1
};

// MACD with TA-Lib's aligned seeding: the fast EMA skips the first
// (slow - fast) values so that both EMAs are seeded from windows ending on the
// same bar; the signal EMA is seeded from the first `signal` MACD values.
// Outputs macd, signal, hist (= macd - signal); all NaN until the signal is valid
// (warm-up (slow - 1) + (signal - 1)).
class Macd {
 public:
  static constexpr int kOutputs = 3;
  Macd(int fast, int slow, int signal) : fast_(fast), slow_(slow), signal_(signal), skip_(slow - fast) {}

  void update(double x) noexcept {
    slow_.update(x);
    if (seen_ >= skip_)
      fast_.update(x);
    else
      ++seen_;
    if (slow_.ready()) {
      macd_ = fast_.value() - slow_.value();
      signal_.update(macd_);
    }
  }
  bool ready() const noexcept { return signal_.ready(); }
  void write(double* out) const noexcept {
    if (!ready()) {
      out[0] = out[1] = out[2] = kNaN;
      return;
    }
    const double sig = signal_.value();
    out[0] = macd_;
    out[1] = sig;
    out[2] = macd_ - sig;
  }
  void reset() noexcept {
    fast_.reset();
    slow_.reset();
    signal_.reset();
    seen_ = 0;
    macd_ = 0;
  }

 private:
  Ema fast_, slow_, signal_;
  int skip_;
  int seen_ = 0;
  double macd_ = 0;
};

// Raw %K as TA-Lib writes it: (x - lowest) / ((highest - lowest) / 100), 0 when
// the range is zero.
inline double percent_k(double x, double highest, double lowest) noexcept {
  const double diff = (highest - lowest) / 100.0;
  return diff != 0.0 ? (x - lowest) / diff : 0.0;
}

// Slow stochastic (TA-Lib STOCH with SMA smoothing): fast %K over `fastk` bars,
// slow %K = SMA(fast %K, slowk), slow %D = SMA(slow %K, slowd). Both outputs start
// together after (fastk - 1) + (slowk - 1) + (slowd - 1) bars.
class Stoch {
 public:
  static constexpr int kOutputs = 2;
  Stoch(int fastk, int slowk, int slowd) : hh_(static_cast<std::size_t>(fastk)), ll_(static_cast<std::size_t>(fastk)), slowk_(slowk), slowd_(slowd), fastk_(fastk) {}

  void update(const model::Bar& b) noexcept {
    hh_.push(b.high);
    ll_.push(b.low);
    if (seen_ < fastk_ && ++seen_ < fastk_) return;
    slowk_.update(percent_k(b.close, hh_.value(), ll_.value()));
    if (slowk_.ready()) slowd_.update(slowk_.value());
  }
  bool ready() const noexcept { return slowd_.ready(); }
  void write(double* out) const noexcept {
    const bool r = ready();
    out[0] = r ? slowk_.value() : kNaN;
    out[1] = r ? slowd_.value() : kNaN;
  }
  void reset() noexcept {
    hh_.reset();
    ll_.reset();
    slowk_.reset();
    slowd_.reset();
    seen_ = 0;
  }

 private:
  RollingMax hh_;
  RollingMin ll_;
  Sma slowk_, slowd_;
  int fastk_;
  int seen_ = 0;
};

// Stochastic RSI (TA-Lib STOCHRSI = STOCHF over RSI): fast %K of RSI(period) over
// `fastk` values, fast %D = SMA(fast %K, fastd). Outputs fastk, fastd, both valid
// after period + (fastk - 1) + (fastd - 1) bars.
// When the input did not change over the last fastk - 1 bars the RSI is
// mathematically constant over the %K window, so %K is 0 (zero range); computed
// naively, the rounding of Wilder's smoothing would make that range ~1e-14 and
// %K arbitrary noise between 0 and 100.
class StochRsi {
 public:
  static constexpr int kOutputs = 2;
  StochRsi(int period, int fastk, int fastd) : rsi_(period), hh_(static_cast<std::size_t>(fastk)), ll_(static_cast<std::size_t>(fastk)), fastd_(fastd), fastk_(fastk) {}

  void update(double x) noexcept {
    zero_run_ = (has_prev_ && x == prev_) ? std::min(zero_run_ + 1, fastk_) : 0;
    prev_ = x;
    has_prev_ = true;
    rsi_.update(x);
    if (!rsi_.ready()) return;
    const double r = rsi_.value();
    hh_.push(r);
    ll_.push(r);
    if (seen_ < fastk_ && ++seen_ < fastk_) return;
    k_ = zero_run_ >= fastk_ - 1 ? 0.0 : percent_k(r, hh_.value(), ll_.value());
    fastd_.update(k_);
  }
  bool ready() const noexcept { return fastd_.ready(); }
  void write(double* out) const noexcept {
    const bool r = ready();
    out[0] = r ? k_ : kNaN;
    out[1] = r ? fastd_.value() : kNaN;
  }
  void reset() noexcept {
    rsi_.reset();
    hh_.reset();
    ll_.reset();
    fastd_.reset();
    seen_ = 0;
    k_ = 0;
    prev_ = 0;
    has_prev_ = false;
    zero_run_ = 0;
  }

 private:
  Rsi rsi_;
  RollingMax hh_;
  RollingMin ll_;
  Sma fastd_;
  int fastk_;
  int seen_ = 0;
  double k_ = 0;
  double prev_ = 0;
  bool has_prev_ = false;
  int zero_run_ = 0;  // consecutive unchanged inputs, capped at fastk
};

// Williams %R: (highest - close) / ((highest - lowest) / -100), 0 on a zero range.
// Warm-up period - 1.
class Willr {
 public:
  static constexpr int kOutputs = 1;
  explicit Willr(int period) : hh_(static_cast<std::size_t>(period)), ll_(static_cast<std::size_t>(period)), period_(period) {}

  void update(const model::Bar& b) noexcept {
    hh_.push(b.high);
    ll_.push(b.low);
    close_ = b.close;
    if (seen_ < period_) ++seen_;
  }
  bool ready() const noexcept { return seen_ >= period_; }
  double value() const noexcept {
    if (!ready()) return kNaN;
    const double hh = hh_.value();
    const double diff = (hh - ll_.value()) / -100.0;
    return diff != 0.0 ? (hh - close_) / diff : 0.0;
  }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept {
    hh_.reset();
    ll_.reset();
    seen_ = 0;
    close_ = 0;
  }

 private:
  RollingMax hh_;
  RollingMin ll_;
  int period_;
  int seen_ = 0;
  double close_ = 0;
};

// Commodity Channel Index on the typical price: (tp - mean) / (0.015 * mean
// absolute deviation); 0 for a flat window. The mean deviation around the
// current mean has no O(1) update, so this kernel is O(period) per bar; it sums
// the ring in storage order exactly as TA-Lib's circular buffer does, which keeps
// it bit-identical to TA-Lib. Warm-up period - 1.
class Cci {
 public:
  static constexpr int kOutputs = 1;
  explicit Cci(int period) : window_(static_cast<std::size_t>(period)), n_(static_cast<double>(period)), period_(period) {
    if (period <= kMaxLanePeriod) lanes_.assign(kLanes * static_cast<std::size_t>(period), 0.0);
  }

  void update(const model::Bar& b) noexcept {
    const double tp = push((b.high + b.low + b.close) / 3.0);
    if (seen_ < period_) return;
    // A flat window has no deviation at all; without this, the rounding of the
    // mean turns it into +/-66.67 (TA-Lib does output that noise).
    if (run_ >= period_) {
      cci_ = 0.0;
      return;
    }
    const std::size_t n = window_.size();
    double avg = 0.0;
    for (std::size_t j = 0; j < n; ++j) avg += window_.slot(j);
    avg /= n_;
    double dev = 0.0;
    for (std::size_t j = 0; j < n; ++j) dev += std::fabs(window_.slot(j) - avg);
    cci_ = finish(tp, avg, dev);
  }

  // Bars [from, from + count) of the columns, output of bar from + i to out[i]:
  // the values update() gives bar by bar. Each bar's two sums are chains of
  // dependent additions in storage order (the order that keeps TA-Lib's bits), so
  // one bar at a time runs at the adder's latency; eight bars' chains run side by
  // side here, each in its own order. (Windows longer than kMaxLanePeriod go bar
  // by bar: eight copies of them would be more memory traffic than it saves.)
  void update_block(const model::BarSeries::Columns& c, std::size_t from, std::size_t count, double* out) noexcept {
    if (lanes_.empty()) {
      for (std::size_t i = 0; i < count; ++i) {
        update(c.at(from + i));
        out[i] = value();
      }
      return;
    }
    const std::size_t n = window_.size();
    std::size_t at[kLanes];
    double tps[kLanes];
    int pending = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t r = from + i;
      const double tp = push((c.high[r] + c.low[r] + c.close[r]) / 3.0);
      if (seen_ < period_) {
        out[i] = kNaN;
        continue;
      }
      if (run_ >= period_) {
        out[i] = 0.0;
        continue;
      }
      double* lane = lanes_.data() + static_cast<std::size_t>(pending);
      for (std::size_t j = 0; j < n; ++j) lane[j * kLanes] = window_.slot(j);
      at[pending] = i;
      tps[pending] = tp;
      if (++pending == kLanes) {
        finish_lanes(tps, at, out, kLanes);
        pending = 0;
      }
    }
    // Fewer than kLanes left: the same pass (the unused lanes hold older
    // windows; their sums are not written anywhere).
    if (pending > 0) finish_lanes(tps, at, out, pending);
    if (count > 0 && ready()) cci_ = out[count - 1];
  }

  bool ready() const noexcept { return seen_ >= period_; }
  double value() const noexcept { return ready() ? cci_ : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept {
    window_.reset();
    seen_ = 0;
    cci_ = 0;
    last_tp_ = kNaN;
    run_ = 0;
  }

 private:
  static constexpr int kLanes = 8;
  static constexpr int kMaxLanePeriod = 256;

  // Pushes the typical price and counts the bars seen; returns it.
  double push(double tp) noexcept {
    window_.push(tp);
    // Length of the run of equal values ending here (NaN equals nothing), at
    // most period_: the full window is flat exactly when it reaches period_,
    // which spares a comparison per window value in the sums.
    run_ = tp == last_tp_ ? (run_ < period_ ? run_ + 1 : run_) : (tp == tp ? 1 : 0);
    last_tp_ = tp;
    if (seen_ < period_) ++seen_;
    return tp;
  }

  double finish(double tp, double avg, double dev) const noexcept {
    const double d = tp - avg;
    return (d != 0.0 && dev != 0.0) ? d / (0.015 * (dev / n_)) : 0.0;
  }

  // The kLanes windows in lanes_ (slot j of window k at j * kLanes + k): each
  // lane's sums in storage order, the lanes interleaved; the first `used`
  // lanes' values go to out.
  void finish_lanes(const double* tps, const std::size_t* at, double* out, int used) const noexcept {
    const std::size_t n = window_.size();
    const double* v = lanes_.data();
    double avg[kLanes] = {};
    for (std::size_t j = 0; j < n; ++j)
      for (int k = 0; k < kLanes; ++k) avg[k] += v[j * kLanes + static_cast<std::size_t>(k)];
    for (double& a : avg) a /= n_;
    double dev[kLanes] = {};
    for (std::size_t j = 0; j < n; ++j)
      for (int k = 0; k < kLanes; ++k) dev[k] += std::fabs(v[j * kLanes + static_cast<std::size_t>(k)] - avg[k]);
    for (int k = 0; k < used; ++k) out[at[k]] = finish(tps[k], avg[k], dev[k]);
  }

  Window window_;
  double n_;
  int period_;
  int seen_ = 0;
  double cci_ = 0;
  double last_tp_ = kNaN;
  int run_ = 0;
  std::vector<double> lanes_;  // update_block's kLanes windows (empty past kMaxLanePeriod)
};

// Rate of change in percent, TA-Lib ROC: (x / x[period ago] - 1) * 100, 0 when the
// old value is 0. Warm-up period.
class Roc {
 public:
  static constexpr int kOutputs = 1;
  explicit Roc(int period) : window_(static_cast<std::size_t>(period)), period_(period) {}

  void update(double x) noexcept {
    const double old = window_.push(x);
    if (seen_ <= period_) ++seen_;
    roc_ = old != 0.0 ? ((x / old) - 1.0) * 100.0 : 0.0;
  }
  bool ready() const noexcept { return seen_ > period_; }
  double value() const noexcept { return ready() ? roc_ : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept {
    window_.reset();
    seen_ = 0;
  }

 private:
  Window window_;
  int period_;
  int seen_ = 0;
  double roc_ = 0;
};

// Momentum: x - x[period ago]. Warm-up period.
class Mom {
 public:
  static constexpr int kOutputs = 1;
  explicit Mom(int period) : window_(static_cast<std::size_t>(period)), period_(period) {}

  void update(double x) noexcept {
    mom_ = x - window_.push(x);
    if (seen_ <= period_) ++seen_;
  }
  bool ready() const noexcept { return seen_ > period_; }
  double value() const noexcept { return ready() ? mom_ : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept {
    window_.reset();
    seen_ = 0;
  }

 private:
  Window window_;
  int period_;
  int seen_ = 0;
  double mom_ = 0;
};

}  // namespace te::ta
