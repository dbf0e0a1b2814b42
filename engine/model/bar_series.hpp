#pragma once
// A read-only, columnar (struct-of-arrays) series of bars for one instrument.
// Storage is shared and immutable: copies are cheap and safe to hand to other
// threads (optimiser workers read one loaded file). The columns may live in
// vectors or in a memory-mapped cache file; `storage` keeps either alive.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/model/bar.hpp"

namespace te::model {

class BarSeries {
 public:
  struct Columns {
    const std::int64_t* ts_ns = nullptr;
    const double* open = nullptr;
    const double* high = nullptr;
    const double* low = nullptr;
    const double* close = nullptr;
    const double* volume = nullptr;
    const double* bid = nullptr;  // optional columns: nullptr when absent
    const double* ask = nullptr;
    const double* bid_size = nullptr;
    const double* ask_size = nullptr;

    // Bar `i` (absent quote columns read as NaN).
    Bar at(std::size_t i) const noexcept {
      Bar b;
      b.ts_ns = ts_ns[i];
      b.open = open[i];
      b.high = high[i];
      b.low = low[i];
      b.close = close[i];
      b.volume = volume[i];
      if (bid) b.bid = bid[i];
      if (ask) b.ask = ask[i];
      if (bid_size) b.bid_size = bid_size[i];
      if (ask_size) b.ask_size = ask_size[i];
      return b;
    }
  };

  BarSeries() = default;
  // `storage` must own the memory `cols` points into.
  BarSeries(std::string symbol, InstrumentId id, std::size_t size, Columns cols, std::shared_ptr<const void> storage)
      : symbol_(std::move(symbol)), id_(id), size_(size), cols_(cols), storage_(std::move(storage)) {}

  const std::string& symbol() const noexcept { return symbol_; }
  InstrumentId instrument() const noexcept { return id_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  bool has_quotes() const noexcept { return cols_.bid != nullptr && cols_.ask != nullptr; }
  bool has_quote_sizes() const noexcept { return cols_.bid_size != nullptr && cols_.ask_size != nullptr; }
  const Columns& columns() const noexcept { return cols_; }

  std::span<const std::int64_t> ts_ns() const noexcept { return {cols_.ts_ns, size_}; }
  std::span<const double> open() const noexcept { return {cols_.open, size_}; }
  std::span<const double> high() const noexcept { return {cols_.high, size_}; }
  std::span<const double> low() const noexcept { return {cols_.low, size_}; }
  std::span<const double> close() const noexcept { return {cols_.close, size_}; }
  std::span<const double> volume() const noexcept { return {cols_.volume, size_}; }

  Bar at(std::size_t i) const noexcept { return cols_.at(i); }

  // Bars with first_ns <= ts_ns < end_ns (shares storage, no copy).
  BarSeries slice_time(std::int64_t first_ns, std::int64_t end_ns) const;
  BarSeries slice(std::size_t begin, std::size_t end) const;
  BarSeries with_identity(std::string symbol, InstrumentId id) const {
    BarSeries s = *this;
    s.symbol_ = std::move(symbol);
    s.id_ = id;
    return s;
  }

  // True when every timestamp is at 00:00:00 UTC (daily or coarser data); reports
  // then print dates without a time of day.
  bool date_only() const noexcept;

 private:
  std::string symbol_;
  InstrumentId id_ = 0;
  std::size_t size_ = 0;
  Columns cols_{};
  std::shared_ptr<const void> storage_;
};

// The series' bar spacing: the smallest positive gap among its first
// `first_bars` bars (weekends and holidays only make gaps longer); 0 with
// fewer than two bars.
std::int64_t smallest_gap_ns(const BarSeries& series, std::size_t first_bars = 64) noexcept;

// Accumulates bars into owned vectors, then freezes them into a BarSeries.
class BarSeriesBuilder {
 public:
  void reserve(std::size_t n);
  void push(const Bar& b);
  // Quote columns are kept only if some pushed bar had them (others become NaN).
  BarSeries build(std::string symbol, InstrumentId id) &&;
  std::size_t size() const noexcept { return ts_.size(); }

  std::vector<std::int64_t> ts_;
  std::vector<double> open_, high_, low_, close_, volume_, bid_, ask_, bid_size_, ask_size_;
  bool quotes_ = false;
  bool sizes_ = false;
};

}  // namespace te::model
