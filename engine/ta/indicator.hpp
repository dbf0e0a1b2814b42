#pragma once
// The runtime face of a native indicator: one virtual update per bar writing its
// outputs into caller-provided slots (NaN while warming up). Built from a kernel
// (moving_average.hpp, oscillators.hpp, ...) by the registry's factories; the
// kernels themselves stay non-virtual for direct use and benchmarking.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "engine/model/bar.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/ta/source.hpp"

namespace te::ta {

struct IndicatorInfo;

// Not thread-safe; owned by one IndicatorSet (one strategy runner).
class Indicator {
 public:
  Indicator(const IndicatorInfo& info, int lookback) noexcept : info_(&info), lookback_(lookback) {}
  virtual ~Indicator() = default;
  Indicator(const Indicator&) = delete;
  Indicator& operator=(const Indicator&) = delete;

  // Consumes one bar and writes output_count() values to `out`.
  virtual void update(const model::Bar& bar, double* out) noexcept = 0;
  // Exactly `n` calls of update() with bars [from, from + n) of `c`
  // (Columns::at), output k of bar i written to out[k * stride + i]: the same
  // values, computed in one loop without a virtual call per bar
  // (IndicatorSet's block-ahead pass over preloaded bars).
  virtual void update_columns(const model::BarSeries::Columns& c, std::size_t from, std::size_t n, double* out,
                              std::size_t stride) noexcept;
  // update(), and output k also written to ring[k * stride] (the history
  // entry of this update: IndicatorSet's per-bar indicators over preloaded
  // bars, whose values the set would otherwise copy from `out` to the ring
  // slot by slot, reloading each).
  virtual void update_keep(const model::Bar& bar, double* out, double* ring, std::size_t stride) noexcept;
  // Forgets every bar seen; the next update starts a fresh warm-up.
  virtual void reset() noexcept = 0;

  const IndicatorInfo& info() const noexcept { return *info_; }
  int output_count() const noexcept;
  // Bars consumed before the first valid output (TA-Lib's lookback).
  int lookback() const noexcept { return lookback_; }

 private:
  const IndicatorInfo* info_;
  int lookback_;
};

// How a kernel is fed from a bar.
struct FeedSource {  // one series picked by Source
  Source source;
  template <class K>
  void operator()(K& k, const model::Bar& b) const noexcept { k.update(source_value(b, source)); }
};
struct FeedClose {  // FeedSource with Source::close, without the switch per bar
  template <class K>
  void operator()(K& k, const model::Bar& b) const noexcept { k.update(b.close); }
};
struct FeedBar {  // the whole bar (high/low/close, volume, quotes)
  template <class K>
  void operator()(K& k, const model::Bar& b) const noexcept { k.update(b); }
};
struct FeedSourceVolume {  // a price series plus volume (OBV)
  Source source;
  template <class K>
  void operator()(K& k, const model::Bar& b) const noexcept { k.update(source_value(b, source), b.volume); }
};

template <class Kernel, class Feed>
class KernelIndicator final : public Indicator {
 public:
  KernelIndicator(const IndicatorInfo& info, int lookback, Kernel kernel, Feed feed)
      : Indicator(info, lookback), kernel_(std::move(kernel)), feed_(feed) {}

  // (flatten: with two callers of the kernel's update GCC stopped inlining
  // the larger ones, ADX, MACD, RSI, into either: a call per bar and the
  // kernel's state reloaded around it.)
  [[gnu::flatten]] void update(const model::Bar& bar, double* out) noexcept override {
    feed_(kernel_, bar);
    kernel_.write(out);
  }
  [[gnu::flatten]] void update_keep(const model::Bar& bar, double* out, double* ring, std::size_t stride) noexcept override {
    feed_(kernel_, bar);
    double v[Kernel::kOutputs];  // (locals: a store to `ring` could alias `out` for the compiler)
    kernel_.write(v);
    for (int k = 0; k < Kernel::kOutputs; ++k) {
      out[k] = v[k];
      ring[static_cast<std::size_t>(k) * stride] = v[k];
    }
  }
  // The loop of update() calls, inlined: a kernel fed one column (FeedClose)
  // reads only that column.
  void update_columns(const model::BarSeries::Columns& c, std::size_t from, std::size_t n, double* out,
                      std::size_t stride) noexcept override {
    if constexpr (requires { kernel_.update_block(c, from, n, out, stride); }) {
      static_assert(std::is_same_v<Feed, FeedBar>);  // a block pass reads its own columns
      kernel_.update_block(c, from, n, out, stride);
    } else if constexpr (requires(const double* in) { kernel_.update_values(in, n, out, stride); }) {
      // A kernel fed one series: the series read from its column (a derived
      // one, typical or median price, computed a chunk at a time).
      const Source source = series_of(feed_);
      const double* column = raw_column(c, source);
      double buf[kValuesChunk];
      for (std::size_t done = 0; done < n;) {
        const std::size_t m = std::min(kValuesChunk, n - done);
        const double* in = column ? column + from + done : buf;
        if (!column)
          for (std::size_t i = 0; i < m; ++i) buf[i] = derived_value(c, from + done + i, source);
        kernel_.update_values(in, m, out + done, stride);
        done += m;
      }
    } else if constexpr (requires { kernel_.update_block(c, from, n, out); }) {
      // A block pass reads its own columns: only for kernels fed whole bars.
      static_assert(std::is_same_v<Feed, FeedBar> && Kernel::kOutputs == 1);  // (stride unused: one output row)
      kernel_.update_block(c, from, n, out);
    } else {
      constexpr int k = Kernel::kOutputs;
      double v[k];
      for (std::size_t i = 0; i < n; ++i) {
        feed_(kernel_, c.at(from + i));
        kernel_.write(v);
        for (int j = 0; j < k; ++j) out[static_cast<std::size_t>(j) * stride + i] = v[j];
      }
    }
  }
  void reset() noexcept override { kernel_.reset(); }

 private:
  static constexpr std::size_t kValuesChunk = 64;
  static Source series_of(FeedClose) noexcept { return Source::close; }
  static Source series_of(FeedSource f) noexcept { return f.source; }
  // The column holding `s`, or nullptr for a derived series.
  static const double* raw_column(const model::BarSeries::Columns& c, Source s) noexcept {
    switch (s) {
      case Source::open: return c.open;
      case Source::high: return c.high;
      case Source::low: return c.low;
      case Source::close: return c.close;
      case Source::volume: return c.volume;
      case Source::typical:
      case Source::median: break;
    }
    return nullptr;
  }
  // source_value() of bar i for a derived series (the same expression).
  static double derived_value(const model::BarSeries::Columns& c, std::size_t i, Source s) noexcept {
    if (s == Source::typical) return (c.high[i] + c.low[i] + c.close[i]) / 3.0;
    return (c.high[i] + c.low[i]) / 2.0;
  }

  Kernel kernel_;
  Feed feed_;
};

}  // namespace te::ta
