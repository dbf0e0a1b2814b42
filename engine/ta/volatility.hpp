#pragma once
// Volatility: TRANGE, ATR, BBANDS, STDDEV, ZSCORE, realised volatility (kernel
// convention in moving_average.hpp).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/model/bar.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/ta/exact_sum.hpp"
#include "engine/ta/talib_rules.hpp"
#include "engine/ta/vector_loops.hpp"
#include "engine/ta/window.hpp"

namespace te::ta {

// True range from the second bar on (TA-Lib TRANGE, warm-up 1).
class TrueRange {
 public:
  static constexpr int kOutputs = 1;
  void update(const model::Bar& b) noexcept {
    if (seen_) {
      tr_ = true_range(b.high, b.low, prev_close_);
      ready_ = true;
    }
    seen_ = true;
    prev_close_ = b.close;
  }
  bool ready() const noexcept { return ready_; }
  double value() const noexcept { return ready_ ? tr_ : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept { *this = TrueRange{}; }

 private:
  double prev_close_ = 0, tr_ = 0;
  bool seen_ = false, ready_ = false;
};

// Average true range, Wilder smoothing as TA-Lib's ATR: the first value is the
// plain mean of the first `period` true ranges (bars 1..period), then
// atr = (atr * (period - 1) + tr) / period. Warm-up period.
class Atr {
 public:
  static constexpr int kOutputs = 1;
  explicit Atr(int period) : n_(static_cast<double>(period)), nm1_(static_cast<double>(period - 1)), period_(period) {}

  void update(const model::Bar& b) noexcept {
    if (count_ == 0) {
      prev_close_ = b.close;
      count_ = 1;
      return;
    }
    const double tr = true_range(b.high, b.low, prev_close_);
    prev_close_ = b.close;
    if (count_ > period_) {
      atr_ *= nm1_;
      atr_ += tr;
      atr_ /= n_;
      return;
    }
    atr_ += tr;
    if (++count_ > period_) atr_ /= n_;
  }
  // The block pass over preloaded bars (KernelIndicator::update_columns):
  // the warm-up as update(), then update()'s steps in the same order with the
  // previous close and the average in registers, the true ranges of up to 64
  // bars taken first by vector_true_ranges (vector_loops.cpp; they do not
  // depend on the average), which leaves the average's own chain.
  void update_block(const model::BarSeries::Columns& c, std::size_t from, std::size_t n, double* out) noexcept {
    std::size_t i = 0;
    for (; i < n && count_ <= period_; ++i) {
      update(c.at(from + i));
      out[i] = value();
    }
    if (i == n) return;
    double pc = prev_close_, atr = atr_;
    const double nm1 = nm1_, an = n_;
    double tr[kChunk];
    while (i < n) {
      const std::size_t m = std::min(kChunk, n - i);
      const double* h = c.high + from + i;
      const double* l = c.low + from + i;
      const double* cl = c.close + from + i;
      tr[0] = true_range(h[0], l[0], pc);
      vector_true_ranges(h, l, cl, m, tr);
      double* o = out + i;
      for (std::size_t j = 0; j < m; ++j) {
        atr *= nm1;
        atr += tr[j];
        atr /= an;
        o[j] = atr;
      }
      pc = cl[m - 1];
      i += m;
    }
    prev_close_ = pc;
    atr_ = atr;
  }
  bool ready() const noexcept { return count_ > period_; }
  double value() const noexcept { return ready() ? atr_ : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept {
    prev_close_ = atr_ = 0;
    count_ = 0;
  }

 private:
  static constexpr std::size_t kChunk = 64;  // bars per pass of true ranges (IndicatorSet's block)
  double n_, nm1_;
  double prev_close_ = 0, atr_ = 0;
  int period_;
  int count_ = 0;
};

// Exact rolling sum and sum of squares over a window, giving the mean and the
// population variance without the cancellation of E[x^2] - E[x]^2 in plain
// doubles: variance = (n * S2 - S1^2) / n^2 evaluated in double-double.
class RollingMoments {
 public:
  explicit RollingMoments(int period)
      : xs_(static_cast<std::size_t>(period), 0.0),
        sqs_(static_cast<std::size_t>(period), 0.0),
        errs_(static_cast<std::size_t>(period), 0.0),
        n_(static_cast<double>(period)) {}

  void push(double x) noexcept { push_into(s1_, s2_, pos_, x); }
  double sum() const noexcept { return s1_.value(); }
  double mean() const noexcept { return mean_of(s1_); }
  // n * S2 - S1^2 (n^2 times the population variance). The double-double
  // evaluation leaves an error near 1e-31 * n * S2 where the exact answer is 0
  // (a flat window), so anything below 1e-29 * n * S2 is taken as 0: a flat
  // window then gives exactly 0 rather than noise that a z-score would divide by.
  double scaled_m2() const noexcept { return scaled_m2_of(s1_, s2_); }
  double population_variance() const noexcept { return scaled_m2() / (n_ * n_); }
  double sample_variance() const noexcept { return scaled_m2() / (n_ * (n_ - 1.0)); }
  // scaled_m2() of window sums s1 (values) and s2 (squares) over n values.
  [[gnu::always_inline]] static double scaled_m2(Dd s1, Dd s2, double n) noexcept {
    const Dd ns2 = dd_mul(s2, n);
    const Dd d = dd_sub(ns2, dd_mul(s1, s1));
    const double v = d.hi + d.lo;
    return v > 1e-29 * ns2.hi ? v : 0.0;
  }

  // push(in[i]) for i in [0, m), m <= kChunk: the same operations as m
  // push() calls, the sums after push i left as pairs in `sums` row i (for
  // bbands_from_sums). The squares, the values leaving the window and the splits of
  // the differences are vector loops over the chunk; only the two sums' chains
  // go step by step (ExactSum::add_split_diffs).
  static constexpr std::size_t kChunk = 64;
  struct ChunkSums {
    double hi1[kChunk], lo1[kChunk], hi2[kChunk], lo2[kChunk];
  };
  void push_chunk(const double* in, std::size_t m, ChunkSums& sums) noexcept {
    const std::size_t size = xs_.size();
    double sq[kChunk], sq_err[kChunk];
    vector_squares(in, m, sq, sq_err);
    // The values leaving: the ring's from pos_ on, then the chunk's own.
    double ox[kChunk], osq[kChunk], osq_err[kChunk];
    const std::size_t from_ring = std::min(m, size);
    // (Three plain copies per stretch of the ring, before and after its end:
    // loops the compiler vectorises.)
    const std::size_t first = std::min(from_ring, size - pos_);
    copy_values(xs_.data() + pos_, first, ox);
    copy_values(sqs_.data() + pos_, first, osq);
    copy_values(errs_.data() + pos_, first, osq_err);
    copy_values(xs_.data(), from_ring - first, ox + first);
    copy_values(sqs_.data(), from_ring - first, osq + first);
    copy_values(errs_.data(), from_ring - first, osq_err + first);
    for (std::size_t i = from_ring; i < m; ++i) {
      ox[i] = in[i - size];
      osq[i] = sq[i - size];
      osq_err[i] = sq_err[i - size];
    }
    // The chunk's last values into the ring, where the pushes would have put them.
    const std::size_t next = (pos_ + m) % size;
    const std::size_t put = (next + size - from_ring) % size;
    const std::size_t head = std::min(from_ring, size - put);  // values before the ring's end
    const std::size_t i0 = m - from_ring;
    copy_values(in + i0, head, xs_.data() + put);
    copy_values(sq + i0, head, sqs_.data() + put);
    copy_values(sq_err + i0, head, errs_.data() + put);
    copy_values(in + i0 + head, from_ring - head, xs_.data());
    copy_values(sq + i0 + head, from_ring - head, sqs_.data());
    copy_values(sq_err + i0 + head, from_ring - head, errs_.data());
    pos_ = next;
    double d1[kChunk], de1[kChunk], d2[kChunk], de2[kChunk];
    vector_split_diffs(in, ox, m, d1, de1);
    vector_split_pair_diffs(sq, sq_err, osq, osq_err, m, d2, de2);
    ExactSum::add_split_diffs(s1_, d1, de1, sums.hi1, sums.lo1, s2_, d2, de2, sums.hi2, sums.lo2, m);
  }
  void reset() noexcept {
    for (std::size_t j = 0; j < xs_.size(); ++j) xs_[j] = sqs_[j] = errs_[j] = 0.0;
    pos_ = 0;
    s1_.reset();
    s2_.reset();
  }

 private:
  // n values in order, n <= kChunk (the ring's stretches and the chunk's
  // arrays never overlap).
  static void copy_values(const double* from, std::size_t n, double* to) noexcept {
    for (std::size_t i = 0; i < n; ++i) to[i] = from[i];
  }

  [[gnu::always_inline]] void push_into(ExactSum& s1, ExactSum& s2, std::size_t& pos, double x) noexcept {
    // A value's exact square is kept with it: when the value leaves the window
    // the same pair is subtracted without a second TwoProduct (the same bits:
    // it is the same computation on the same value).
    const std::size_t at = pos;
    if (++pos == xs_.size()) pos = 0;
    const double out_x = xs_[at], out_sq = sqs_[at], out_err = errs_[at];  // 0 while the window fills
    double sq, sq_err;
    two_prod(x, x, sq, sq_err);
    xs_[at] = x;
    sqs_[at] = sq;
    errs_[at] = sq_err;
    s1.add_diff(x, out_x);
    s2.add_pair_diff(sq, sq_err, out_sq, out_err);
  }
  double mean_of(const ExactSum& s1) const noexcept { return s1.value() / n_; }
  [[gnu::always_inline]] double scaled_m2_of(const ExactSum& s1_sum, const ExactSum& s2_sum) const noexcept {
    return scaled_m2(s1_sum.dd(), s2_sum.dd(), n_);
  }

  // The window's ring: each value, and its square as an exact pair (slot k of
  // each array together; three arrays so the block pass copies stretches).
  std::vector<double> xs_, sqs_, errs_;
  std::size_t pos_ = 0;
  ExactSum s1_, s2_;
  double n_;
};

// Bollinger Bands (TA-Lib BBANDS with an SMA middle): middle = SMA(period),
// upper/lower = middle +/- k * population stddev. Outputs upper, middle, lower.
// Warm-up period - 1.
class Bbands {
 public:
  static constexpr int kOutputs = 3;
  Bbands(int period, double dev_up, double dev_down) : m_(period), up_(dev_up), down_(dev_down), period_(period) {}

  void update(double x) noexcept {
    m_.push(x);
    if (seen_ < period_) ++seen_;
  }
  bool ready() const noexcept { return seen_ >= period_; }
  void write(double* out) const noexcept {
    if (!ready()) {
      out[0] = out[1] = out[2] = kNaN;
      return;
    }
    bands(m_.mean(), m_.population_variance(), out, 1);
  }
  // update(in[i]) then write() to out[i], out[stride + i], out[2 * stride + i]
  // for i in [0, n): the block pass over a preloaded series.
  void update_values(const double* in, std::size_t n, double* out, std::size_t stride) noexcept {
    for (std::size_t done = 0; done < n;) {
      const std::size_t m = std::min(RollingMoments::kChunk, n - done);
      RollingMoments::ChunkSums sums;
      m_.push_chunk(in + done, m, sums);
      double* o = out + done;
      bbands_from_sums(sums.hi1, sums.lo1, sums.hi2, sums.lo2, m, static_cast<double>(period_), up_, down_, o, stride);
      // Bars still warming up (the window not yet full) give NaN.
      const std::size_t warming = seen_ < period_ ? std::min(m, static_cast<std::size_t>(period_ - 1 - seen_)) : 0;
      for (std::size_t i = 0; i < warming; ++i) o[i] = o[stride + i] = o[2 * stride + i] = kNaN;
      seen_ = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(period_), static_cast<std::size_t>(seen_) + m));
      done += m;
    }
  }
  void reset() noexcept {
    m_.reset();
    seen_ = 0;
  }

 private:
  void bands(double mid, double variance, double* out, std::size_t stride) const noexcept {
    const double sd = std::sqrt(variance);
    out[0] = mid + sd * up_;
    out[stride] = mid;
    out[2 * stride] = mid - sd * down_;
  }

  RollingMoments m_;
  double up_, down_;
  int period_;
  int seen_ = 0;
};

// Rolling population standard deviation times `nbdev` (TA-Lib STDDEV).
// Warm-up period - 1.
class StdDev {
 public:
  static constexpr int kOutputs = 1;
  StdDev(int period, double nbdev) : m_(period), k_(nbdev), period_(period) {}

  void update(double x) noexcept {
    m_.push(x);
    if (seen_ < period_) ++seen_;
  }
  bool ready() const noexcept { return seen_ >= period_; }
  double value() const noexcept { return ready() ? std::sqrt(m_.population_variance()) * k_ : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept {
    m_.reset();
    seen_ = 0;
  }

 private:
  RollingMoments m_;
  double k_;
  int period_;
  int seen_ = 0;
};

// z-score of the newest value against its window: (x - mean) / population
// stddev, 0 when the window is flat. Warm-up period - 1.
class ZScore {
 public:
  static constexpr int kOutputs = 1;
  explicit ZScore(int period) : m_(period), period_(period) {}

  void update(double x) noexcept {
    m_.push(x);
    x_ = x;
    if (seen_ < period_) ++seen_;
  }
  bool ready() const noexcept { return seen_ >= period_; }
  double value() const noexcept {
    if (!ready()) return kNaN;
    const double sd = std::sqrt(m_.population_variance());
    return sd > 0.0 ? (x_ - m_.mean()) / sd : 0.0;
  }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept {
    m_.reset();
    seen_ = 0;
    x_ = 0;
  }

 private:
  RollingMoments m_;
  int period_;
  int seen_ = 0;
  double x_ = 0;
};

// Realised volatility: sample standard deviation (n - 1) of the last `period`
// log returns ln(x / x_prev), times sqrt(annualization) (1 = per bar; 252 for
// daily bars, 365 for 24/7 daily, ...). Warm-up period (period + 1 prices).
class RealizedVol {
 public:
  static constexpr int kOutputs = 1;
  RealizedVol(int period, double annualization) : m_(period), ann_(annualization), period_(period) {}

  void update(double x) noexcept {
    if (seen_ == 0) {
      prev_ = x;
      seen_ = 1;
      return;
    }
    m_.push(std::log(x / prev_));
    prev_ = x;
    if (seen_ <= period_) ++seen_;
  }
  bool ready() const noexcept { return seen_ > period_; }
  double value() const noexcept { return ready() ? std::sqrt(m_.sample_variance() * ann_) : kNaN; }
  void write(double* out) const noexcept { out[0] = value(); }
  void reset() noexcept {
    m_.reset();
    seen_ = 0;
    prev_ = 0;
  }

 private:
  RollingMoments m_;
  double ann_;
  int period_;
  int seen_ = 0;
  double prev_ = 0;
};

}  // namespace te::ta
