#include "engine/ta/bar_aggregator.hpp"

#include <algorithm>

namespace te::ta {

int BarAggregator::push(const model::Bar& bar) noexcept {
  int n = 0;
  const std::int64_t bucket = tf_.bucket(bar.ts_ns);
  if (open_ && bucket != cur_bucket_) {
    closed_[n++] = cur_;
    open_ = false;
  }
  if (!open_) {
    cur_ = bar;
    cur_.ts_ns = tf_.bucket_start(bucket);  // a bar is labelled by its open time
    cur_bucket_ = bucket;
    open_ = true;
  } else {
    cur_.high = std::max(cur_.high, bar.high);
    cur_.low = std::min(cur_.low, bar.low);
    cur_.close = bar.close;
    cur_.volume += bar.volume;
    cur_.bid = bar.bid;
    cur_.ask = bar.ask;
    cur_.bid_size = bar.bid_size;
    cur_.ask_size = bar.ask_size;
  }
  if (base_interval_ns_ > 0 && bar.ts_ns + base_interval_ns_ >= tf_.bucket_start(bucket + 1)) {
    closed_[n++] = cur_;
    open_ = false;
  }
  return n;
}

void BarAggregator::reset() noexcept {
  open_ = false;
  cur_bucket_ = 0;
  cur_ = model::Bar{};
}

}  // namespace te::ta
