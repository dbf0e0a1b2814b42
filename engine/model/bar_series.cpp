#include "engine/model/bar_series.hpp"

#include <algorithm>

namespace te::model {

BarSeries BarSeries::slice(std::size_t begin, std::size_t end) const {
  end = std::min(end, size_);
  begin = std::min(begin, end);
  Columns c = cols_;
  auto adv = [begin](auto*& p) {
    if (p) p += begin;
  };
  adv(c.ts_ns), adv(c.open), adv(c.high), adv(c.low), adv(c.close), adv(c.volume);
  adv(c.bid), adv(c.ask), adv(c.bid_size), adv(c.ask_size);
  return BarSeries(symbol_, id_, end - begin, c, storage_);
}

BarSeries BarSeries::slice_time(std::int64_t first_ns, std::int64_t end_ns) const {
  auto ts = ts_ns();
  const auto b = static_cast<std::size_t>(std::lower_bound(ts.begin(), ts.end(), first_ns) - ts.begin());
  const auto e = static_cast<std::size_t>(std::lower_bound(ts.begin(), ts.end(), end_ns) - ts.begin());
  return slice(b, e);
}

bool BarSeries::date_only() const noexcept {
  for (std::size_t i = 0; i < size_; ++i)
    if (cols_.ts_ns[i] % (86'400LL * 1'000'000'000LL) != 0) return false;
  return true;
}

void BarSeriesBuilder::reserve(std::size_t n) {
  for (auto* v : {&open_, &high_, &low_, &close_, &volume_}) v->reserve(n);
  ts_.reserve(n);
}

void BarSeriesBuilder::push(const Bar& b) {
  if (b.has_quote() && !quotes_) {
    quotes_ = true;
    bid_.assign(ts_.size(), kNoValue);
    ask_.assign(ts_.size(), kNoValue);
  }
  const bool has_sizes = !std::isnan(b.bid_size) && !std::isnan(b.ask_size);
  if (has_sizes && !sizes_) {
    sizes_ = true;
    bid_size_.assign(ts_.size(), kNoValue);
    ask_size_.assign(ts_.size(), kNoValue);
  }
  ts_.push_back(b.ts_ns);
  open_.push_back(b.open);
  high_.push_back(b.high);
  low_.push_back(b.low);
  close_.push_back(b.close);
  volume_.push_back(b.volume);
  if (quotes_) {
    bid_.push_back(b.bid);
    ask_.push_back(b.ask);
  }
  if (sizes_) {
    bid_size_.push_back(b.bid_size);
    ask_size_.push_back(b.ask_size);
  }
}

BarSeries BarSeriesBuilder::build(std::string symbol, InstrumentId id) && {
  auto owned = std::make_shared<BarSeriesBuilder>(std::move(*this));
  BarSeries::Columns c;
  c.ts_ns = owned->ts_.data();
  c.open = owned->open_.data();
  c.high = owned->high_.data();
  c.low = owned->low_.data();
  c.close = owned->close_.data();
  c.volume = owned->volume_.data();
  if (owned->quotes_) {
    c.bid = owned->bid_.data();
    c.ask = owned->ask_.data();
  }
  if (owned->sizes_) {
    c.bid_size = owned->bid_size_.data();
    c.ask_size = owned->ask_size_.data();
  }
  const std::size_t n = owned->ts_.size();
  return BarSeries(std::move(symbol), id, n, c, std::move(owned));
}

std::int64_t smallest_gap_ns(const BarSeries& series, std::size_t first_bars) noexcept {
  const auto ts = series.ts_ns();
  const std::size_t n = ts.size() < first_bars ? ts.size() : first_bars;
  std::int64_t gap = 0;
  for (std::size_t i = 1; i < n; ++i) {
    const std::int64_t g = ts[i] - ts[i - 1];
    if (g > 0 && (gap == 0 || g < gap)) gap = g;
  }
  return gap;
}

}  // namespace te::model
