#pragma once
// Oscillators: RSI, MACD, STOCH, STOCHRSI, WILLR, CCI, ROC, MOM (kernel convention
// in moving_average.hpp). Arithmetic follows TA-Lib's C sources operation by
// operation where that decides the last bits (Wilder smoothing, the /100 forms).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "engine/model/bar.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/ta/vector_loops.hpp"
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
  // update(in[i]) then out[i] = value() for i in [0, n) (the block pass over
  // a preloaded series). Past the warm-up, rsi_steps (vector_loops.cpp): a
  // step adds the change to one sum and 0 to the other instead of branching
  // on its sign: the same bits (both sums stay >= +0, and x + 0 == x, x - 0
  // == x for those; a NaN change goes to the gain, as in update()), without a
  // mispredicted branch per bar; the changes of 64 values are taken first and
  // both sums step in one register.
  void update_values(const double* in, std::size_t n, double* out, std::size_t /*stride*/) noexcept {
    std::size_t i = 0;
    for (; i < n && count_ <= period_; ++i) {
      update(in[i]);
      out[i] = value();
    }
    if (i == n) return;
    RsiRun run{prev_, loss_, gain_};
    rsi_steps(run, in + i, n - i, nm1_, n_, out + i);
    prev_ = run.prev;
    gain_ = run.gain;
    loss_ = run.loss;
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
  // update(in[i]) then write() for i in [0, n), output k at out[k * stride + i]
  // (the block pass over a preloaded series). Once the three EMAs are past
  // their seeds and the fast one is fed every bar, macd_steps
  // (vector_loops.cpp): the same three EMA steps, difference and histogram as
  // update() and write(), in the same order, with the running values in
  // registers (the slow and fast EMA in one): the same bits.
  void update_values(const double* in, std::size_t n, double* out, std::size_t stride) noexcept {
    std::size_t i = 0;
    for (; i < n && !(seen_ >= skip_ && slow_.ready() && fast_.ready() && signal_.ready()); ++i) {
      update(in[i]);
      double v[kOutputs];
      write(v);
      out[i] = v[0];
      out[stride + i] = v[1];
      out[2 * stride + i] = v[2];
    }
    if (i == n) return;
    MacdRun run{slow_.state(), fast_.state(), signal_.state(), macd_};
    macd_steps(run, in + i, n - i, slow_.k(), fast_.k(), signal_.k(), out + i, stride);
    slow_.set_state(run.slow);
    fast_.set_state(run.fast);
    signal_.set_state(run.sig);
    macd_ = run.macd;
  }
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
//
// update() keeps the highest high and lowest low in monotonic deques
// (RollingMax/RollingMin). Their value is a fold over the window, oldest
// first, of `hh = hh > h ? hh : h` (and `<` for the low): a NaN is the extreme
// only while it is the newest value and hides the values before it; of equal
// values (+0 and -0) the newest wins. The block pass computes that fold for
// every bar's window, the bars side by side, from a ring of the last fastk
// highs and lows kept next to the deques; after a block the deques are rebuilt
// from the ring when update() is called again.
class Stoch {
 public:
  static constexpr int kOutputs = 2;
  Stoch(int fastk, int slowk, int slowd)
      : hh_(static_cast<std::size_t>(fastk)),
        ll_(static_cast<std::size_t>(fastk)),
        high_(static_cast<std::size_t>(fastk), 0.0),
        low_(static_cast<std::size_t>(fastk), 0.0),
        slowk_(slowk),
        slowd_(slowd),
        fastk_(fastk) {}

  void update(const model::Bar& b) noexcept { step(b.high, b.low, b.close); }

  // Bars [from, from + count) of the columns: slow %K of bar from + i to out[i],
  // slow %D to out[stride + i]; the values update() and write() give bar by bar.
  void update_block(const model::BarSeries::Columns& c, std::size_t from, std::size_t count, double* out,
                    std::size_t stride) noexcept {
    if (fastk_ > kMaxScan) {  // long windows: the deques, without a Bar per bar (no ring)
      for (std::size_t i = 0; i < count; ++i) {
        step(c.high[from + i], c.low[from + i], c.close[from + i]);
        double v[2];
        write(v);
        out[i] = v[0];
        out[stride + i] = v[1];
      }
      return;
    }
    // The ring is kept from the first block pass on (update() alone never
    // needs it); until it holds the window before a bar, bars go one by one.
    ring_on_ = true;
    std::size_t done = 0;
    for (; done < count && ring_filled_ < fastk_ - 1 && ring_filled_ < t_; ++done) {
      step(c.high[from + done], c.low[from + done], c.close[from + done]);
      double v[2];
      write(v);
      out[done] = v[0];
      out[stride + done] = v[1];
    }
    while (done < count) {
      const std::size_t m = std::min(kChunk, count - done);
      chunk(c, from + done, m, out + done, stride);
      done += m;
    }
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
    for (double& v : high_) v = 0.0;
    for (double& v : low_) v = 0.0;
    pos_ = 0;
    t_ = 0;
    ring_filled_ = 0;
    stale_ = false;
    slowk_.reset();
    slowd_.reset();
  }

 private:
  static constexpr std::size_t kChunk = 64;  // bars per block-pass chunk (IndicatorSet's block)
  static constexpr int kMaxScan = 64;        // longest window the block pass folds per bar

  void step(double h, double l, double x) noexcept {
    if (stale_) rebuild();
    hh_.push(h);
    ll_.push(l);
    if (ring_on_) {
      high_[pos_] = h;
      low_[pos_] = l;
      if (++pos_ == high_.size()) pos_ = 0;
      ++ring_filled_;
    }
    if (++t_ < fastk_) return;
    slowk_.update(percent_k(x, hh_.value(), ll_.value()));
    if (slowk_.ready()) slowd_.update(slowk_.value());
  }

  // The deques after a block pass: the values still in the window after the
  // next push (the last fastk - 1 pushed), oldest first. A deque's value
  // depends only on the values in its window, so this gives the state the
  // pushes would have left.
  void rebuild() noexcept {
    hh_.reset();
    ll_.reset();
    const std::size_t n = high_.size();
    const std::size_t keep = static_cast<std::size_t>(std::min<std::int64_t>(t_, fastk_ - 1));
    std::size_t slot = (pos_ + n - keep) % n;
    for (std::size_t j = 0; j < keep; ++j) {
      hh_.push(high_[slot]);
      ll_.push(low_[slot]);
      if (++slot == n) slot = 0;
    }
    stale_ = false;
  }

  // m <= kChunk bars from column bar r0 (fastk_ <= kMaxScan). The folds are
  // vector loops over the chunk's bars (the compiler makes `a > b ? a : b`
  // maxpd, whose operand order is the fold's). Without NaN the fold is
  // associative (it picks the newest of the largest values) and idempotent, so
  // a window is the fold of two overlapping power-of-two spans, each built by
  // doubling (log2(fastk) passes); a NaN makes it order-dependent, and then
  // each window is folded value by value, oldest first.
  void chunk(const model::BarSeries::Columns& c, std::size_t r0, std::size_t m, double* out,
             std::size_t stride) noexcept {
    const std::size_t n = high_.size();
    const std::size_t back = n - 1;  // values before the chunk in the first bar's window
    double hs[kChunk + kMaxScan], ls[kChunk + kMaxScan];
    // The ring's last n - 1 values, oldest first (before the first n bars some
    // are its zero fill: they are only in windows of bars whose %K is not used).
    std::size_t slot = pos_;
    for (std::size_t j = 0; j < back; ++j) {
      if (++slot == n) slot = 0;
      hs[j] = high_[slot];
      ls[j] = low_[slot];
    }
    std::memcpy(hs + back, c.high + r0, m * sizeof(double));
    std::memcpy(ls + back, c.low + r0, m * sizeof(double));
    // The chunk's values into the ring (the deques are rebuilt from it): only
    // its last n, which overwrite the others' slots anyway; bar i's slot is
    // (pos_ + i) % n.
    const std::size_t keep = std::min(m, n);
    std::size_t put = (pos_ + (m - keep)) % n;
    for (std::size_t i = m - keep; i < m; ++i) {
      high_[put] = hs[back + i];
      low_[put] = ls[back + i];
      if (++put == n) put = 0;
    }
    pos_ = put;
    const std::size_t len = back + m;
    const bool nan = vector_any_nan(hs, ls, len);
    double hh[kChunk], ll[kChunk];
    if (nan) {
      for (std::size_t i = 0; i < m; ++i) {
        hh[i] = hs[i];
        ll[i] = ls[i];
      }
      for (std::size_t j = 1; j < n; ++j)
        for (std::size_t i = 0; i < m; ++i) {
          const double h = hs[i + j], l = ls[i + j];
          hh[i] = hh[i] > h ? hh[i] : h;
          ll[i] = ll[i] < l ? ll[i] : l;
        }
    } else {
      stoch_span_folds(hs, ls, len, n, m, hh, ll);  // (vector_loops.cpp: AVX2 where the machine has it)
    }
    const std::int64_t t0 = t_;
    t_ += static_cast<std::int64_t>(m);
    ring_filled_ += static_cast<std::int64_t>(m);
    stale_ = true;
    // %K from the first bar with a full window, then the two SMAs.
    const std::int64_t first_full = static_cast<std::int64_t>(n) - 1 - t0;
    const std::size_t a = first_full > 0 ? std::min(m, static_cast<std::size_t>(first_full)) : 0;
    double pk[kChunk], k[kChunk], d[kChunk];
    vector_percent_k(c.close + r0 + a, hh + a, ll + a, m - a, pk + a);  // (percent_k of each bar)
    const std::size_t b = std::min(m, a + static_cast<std::size_t>(std::max(slowk_.missing() - 1, 0)));
    slowk_.update_values(pk + a, m - a, k + a);
    const std::size_t e = std::min(m, b + static_cast<std::size_t>(std::max(slowd_.missing() - 1, 0)));
    slowd_.update_values(k + b, m - b, d + b);
    for (std::size_t i = 0; i < m; ++i) {
      out[i] = i >= e ? k[i] : kNaN;
      out[stride + i] = i >= e ? d[i] : kNaN;
    }
  }

  RollingMax hh_;
  RollingMin ll_;
  std::vector<double> high_, low_;  // the last fastk highs and lows (ring, value of bar t at t % fastk)
  std::size_t pos_ = 0;             // slot of the next value
  std::int64_t t_ = 0;              // bars pushed
  std::int64_t ring_filled_ = 0;    // bars pushed into the ring since it was turned on or reset
  bool ring_on_ = false;            // the ring is kept (from the first block pass on)
  bool stale_ = false;              // a block pass ran: rebuild the deques before the next push
  Sma slowk_, slowd_;
  int fastk_;
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
    if (period <= kMaxLanePeriod) {
      const std::size_t n = static_cast<std::size_t>(period);
      lanes_.assign(kLanes * n, 0.0);
      slot_seq_.resize(n + kChunk + 1);
      for (std::size_t k = 0; k < slot_seq_.size(); ++k) slot_seq_[k] = k % n;
    }
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
  // one bar at a time runs at the adder's latency; here eight consecutive bars'
  // chains run side by side, each in its own order. The eight windows (lanes_)
  // are not copied per bar: from one group of eight bars to the next, a lane
  // changes only in the slots of the eight bars pushed in between. (Windows
  // longer than kMaxLanePeriod go bar by bar: eight copies of them would be more
  // memory traffic than it saves.)
  void update_block(const model::BarSeries::Columns& c, std::size_t from, std::size_t count, double* out) noexcept {
    if (lanes_.empty()) {
      for (std::size_t i = 0; i < count; ++i) {
        update(c.at(from + i));
        out[i] = value();
      }
      return;
    }
    for (std::size_t done = 0; done < count;) {
      const std::size_t m = std::min(kChunk, count - done);
      chunk(c, from + done, m, out + done);
      done += m;
    }
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
  static constexpr int kLanes = kCciLanes;
  static constexpr int kMaxLanePeriod = 256;
  static constexpr std::size_t kChunk = 64;  // bars per chunk (IndicatorSet's block)

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

  // m <= kChunk bars from column bar r0 (see update_block).
  void chunk(const model::BarSeries::Columns& c, std::size_t r0, std::size_t m, double* out) noexcept {
    enum Kind : int { kWarm, kFlat, kSum };  // (not a char type: its stores would alias everything)
    constexpr std::size_t kL = kLanes;
    const std::size_t n = window_.size();
    double* v = lanes_.data();
    // Every lane starts as the window before the chunk.
    for (std::size_t j = 0; j < n; ++j) set_lanes(v + j * kL, 0, window_.slot(j));
    const std::size_t slot0 = window_.next_slot();
    // Bar i of the chunk goes into slot slots[i] = (slot0 + i) % n (a table
    // made once: no per-bar counter and wrap test).
    const std::size_t* const slots = slot_seq_.data() + slot0;
    // tps[-1] is the typical price before the chunk (last_tp_), for the ties below.
    alignas(16) double tp_buf[kChunk + 2];
    double* const tps = tp_buf + 2;
    tps[-1] = last_tp_;
    for (std::size_t i = 0; i < m; ++i) {
      const std::size_t r = r0 + i;
      tps[i] = (c.high[r] + c.low[r] + c.close[r]) / 3.0;
    }
    if (m % 2 != 0) tps[m] = 0.0;  // (tie_bits reads pairs; its bit m is masked off)
    Kind kinds[kChunk];
    static_assert(kChunk <= 64, "sum_bits holds one bit per bar of a chunk");
    const std::uint64_t all = m == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << m) - 1;
    std::uint64_t sum_bits = 0;  // bit i: bar i needs its window's sums (kSum)
    // Past the warm-up a bar is flat only at the end of period - 1 ties in a
    // row (a typical price equal to the one before; NaN ties nothing), and
    // the run at any bar of the chunk is at most the run before it (or 1)
    // plus the chunk's ties: when that is below period, every bar needs its
    // sums and push()'s run counting reduces to the run at the last bar.
    std::uint64_t ties = 0;
    const bool warm = seen_ >= period_ && period_ >= 2;
    if (warm) ties = tie_bits(tps, m) & all;
    if (warm && std::max(run_, 1) + std::popcount(ties) < period_) {
      sum_bits = all;
      for (std::size_t i = 0; i < m; ++i) kinds[i] = kSum;
      // The run at the last bar: 0 for NaN, else its ties in a row (counted
      // from bit m - 1 down) plus one, or plus the run before the chunk when
      // they reach back to its first bar.
      const double last = tps[m - 1];
      const int t = std::countl_one(m == 64 ? ties : ties << (64 - m));
      run_ = last != last ? 0 : std::min(period_, static_cast<std::size_t>(t) == m ? run_ + t : 1 + t);
      last_tp_ = last;
      // The window as m pushes leave it: the last n values in their slots.
      double* const ring = window_.data();
      for (std::size_t i = m > n ? m - n : 0; i < m; ++i) ring[slots[i]] = tps[i];
      window_.set_next_slot(slots[m]);
    } else {
      for (std::size_t i = 0; i < m; ++i) {
        push(tps[i]);
        kinds[i] = seen_ < period_ ? kWarm : run_ >= period_ ? kFlat : kSum;
        sum_bits |= static_cast<std::uint64_t>(kinds[i] == kSum) << i;
      }
    }
    for (std::size_t g = 0; g < m; g += kL) {
      // Lane k becomes the window of bar g + k: the bars pushed after its
      // previous bar (g - kL + k) and up to it, in push order (a later bar in
      // the same slot overwrites an earlier one, as in the ring). A bar before
      // g is in every new lane (the lanes that had it already are overwritten
      // by the same value or, when the window is shorter than the lanes'
      // span, by a later bar of that slot, which follows); bar g + a is in
      // lanes a and after.
      const std::size_t last = std::min(g + kL, m);
      if (g > 0)
        for (std::size_t i = g - (kL - 1); i < g; ++i) set_lanes(v + slots[i] * kL, 0, tps[i]);
      if (last == g + kL) {
        for (std::size_t a = 0; a < kL; ++a)  // (constant bounds: unrolled, straight stores)
          set_lanes(v + slots[g + a] * kL, a, tps[g + a]);
      } else {
        for (std::size_t i = g; i < last; ++i) {
          double* row = v + slots[i] * kL;
          for (std::size_t k = i - g; k < kL; ++k) row[k] = tps[i];
        }
      }
      const std::uint64_t group_bits = (sum_bits >> g) & 0xffu;
      if (group_bits == 0) {
        for (std::size_t i = g; i < last; ++i) out[i] = kinds[i] == kFlat ? 0.0 : kNaN;
        continue;
      }
      alignas(16) double avg[kLanes];
      alignas(16) double dev[kLanes];
      sum_lanes(avg, dev);
#if defined(__SSE2__)
      if (group_bits == 0xffu) {  // eight bars with sums (the usual group): finish() two at a time
        finish_lanes(tps + g, avg, dev, out + g);
        continue;
      }
#endif
      for (std::size_t i = g; i < last; ++i)
        out[i] = kinds[i] == kSum ? finish(tps[i], avg[i - g], dev[i - g]) : kinds[i] == kFlat ? 0.0 : kNaN;
    }
  }

#if defined(__SSE2__)
  // out[k] = finish(tp[k], avg[k], dev[k]) for the kLanes bars of a group
  // (tp, avg, dev 16-byte aligned): the same divisions and product per value,
  // both tests as a cmpneqpd mask (true for NaN, as `!= 0.0` is) that keeps
  // the quotient or gives +0.0.
  [[gnu::always_inline]] void finish_lanes(const double* tp, const double* avg, const double* dev,
                                           double* out) const noexcept {
    const __m128d zero = _mm_setzero_pd(), n = _mm_set1_pd(n_), c = _mm_set1_pd(0.015);
    for (std::size_t k = 0; k < static_cast<std::size_t>(kLanes); k += 2) {
      const __m128d d = _mm_sub_pd(_mm_load_pd(tp + k), _mm_load_pd(avg + k));
      const __m128d v = _mm_load_pd(dev + k);
      const __m128d r = _mm_div_pd(d, _mm_mul_pd(c, _mm_div_pd(v, n)));
      const __m128d keep = _mm_and_pd(_mm_cmpneq_pd(d, zero), _mm_cmpneq_pd(v, zero));
      _mm_storeu_pd(out + k, _mm_and_pd(r, keep));
    }
  }
#endif

  // Bit i: tps[i] == tps[i - 1] (i < m; false when either is NaN), for
  // tps[-1 .. m - 1] (16-byte aligned tps); bits at m and above are not
  // defined (the caller masks them).
  static std::uint64_t tie_bits(const double* tps, std::size_t m) noexcept {
    std::uint64_t bits = 0;
#if defined(__SSE2__)
    for (std::size_t i = 0; i < m; i += 2) {
      const __m128d eq = _mm_cmpeq_pd(_mm_load_pd(tps + i), _mm_loadu_pd(tps + i - 1));
      bits |= static_cast<std::uint64_t>(_mm_movemask_pd(eq)) << i;
    }
#else
    for (std::size_t i = 0; i < m; ++i) bits |= static_cast<std::uint64_t>(tps[i] == tps[i - 1]) << i;
#endif
    return bits;
  }

  // row[k] = x for lanes k in [a, kLanes): two lanes per 16-byte store where
  // SSE2 is there (a constant `a` unrolls); the same values in the same lanes
  // either way.
  [[gnu::always_inline]] static void set_lanes(double* row, std::size_t a, double x) noexcept {
    static_assert(kLanes % 2 == 0, "set_lanes' 16-byte stores would write past a row of an odd lane count");
#if defined(__SSE2__)
    if (a % 2 != 0) row[a++] = x;
    const __m128d xx = _mm_set1_pd(x);
    for (std::size_t k = a; k < static_cast<std::size_t>(kLanes); k += 2) _mm_storeu_pd(row + k, xx);
#else
    for (std::size_t k = a; k < static_cast<std::size_t>(kLanes); ++k) row[k] = x;
#endif
  }

  // The kLanes windows in lanes_ (slot j of window k at j * kLanes + k): each
  // lane's sums in storage order, the lanes interleaved (vector_loops.cpp: AVX2
  // where the machine has it).
  void sum_lanes(double* avg_out, double* dev_out) const noexcept {
    cci_lane_sums(lanes_.data(), window_.size(), n_, avg_out, dev_out);
  }

  Window window_;
  double n_;
  int period_;
  int seen_ = 0;
  double cci_ = 0;
  double last_tp_ = kNaN;
  int run_ = 0;
  std::vector<double> lanes_;  // update_block's kLanes windows (empty past kMaxLanePeriod)
  std::vector<std::size_t> slot_seq_;  // k % period for k < period + kChunk + 1 (chunk's slots)
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
    roc_ = rate(x, old);
  }
  // The block pass over preloaded bars (KernelIndicator::update_columns): the
  // warm-up as update(), then each value's rate against the value `period`
  // pushes earlier, which is the window's slot while it is older than the
  // block and in[i - period] after that; the window is written once at the
  // end with the values it would hold. The same expression on the same
  // values, so the same bits, without the window's store, reload and wrap
  // per bar (past the window's values, one vector loop: vector_rates).
  void update_values(const double* in, std::size_t n, double* out, std::size_t /*stride*/) noexcept {
    std::size_t i = 0;
    for (; i < n && seen_ <= period_; ++i) {
      update(in[i]);
      out[i] = value();
    }
    if (i == n) return;
    double* const ring = window_.data();
    const std::size_t p = window_.size();
    const std::size_t pos = window_.next_slot();
    const std::size_t m = n - i;  // values pushed by this block
    const double* const x = in + i;
    double* const o = out + i;
    std::size_t j = 0;
    for (std::size_t slot = pos; j < m && j < p; ++j) {
      o[j] = rate(x[j], ring[slot]);
      if (++slot == p) slot = 0;
    }
    if (j < m) vector_rates(x + j, x + j - p, m - j, o + j);
    // The window as m pushes leave it: value j of the block in slot (pos + j) % p, the last p of them.
    for (std::size_t k = m > p ? m - p : 0; k < m; ++k) ring[(pos + k) % p] = x[k];
    window_.set_next_slot((pos + m) % p);
    roc_ = o[m - 1];  // (the last update()'s roc_)
  }
  bool ready() const noexcept { return seen_ > period_; }
  double value() const noexcept { return ready() ? roc_ : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept {
    window_.reset();
    seen_ = 0;
  }

 private:
  // The rate of change in percent (0 against a previous 0); vector_rates
  // computes the same.
  static double rate(double x, double old) noexcept { return old != 0.0 ? ((x / old) - 1.0) * 100.0 : 0.0; }
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
