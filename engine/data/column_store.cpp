#include "engine/data/column_store.hpp"

#include <cstring>

namespace te::data {
namespace {

template <class T>
void resize_array(std::unique_ptr<T[]>& a, bool wanted, std::size_t keep, std::size_t cap) {
  if (!wanted) {
    a.reset();
    return;
  }
  auto fresh = std::make_unique_for_overwrite<T[]>(cap);
  if (a && keep != 0) std::memcpy(fresh.get(), a.get(), keep * sizeof(T));
  a = std::move(fresh);
}

}  // namespace

void ColumnStore::allocate(std::size_t cap, bool with_quotes, bool with_sizes) {
  size = 0;
  quotes = with_quotes;
  quote_sizes = with_sizes;
  reallocate(cap);
}

void ColumnStore::grow() { reallocate(capacity + capacity / 2 + 1024); }

void ColumnStore::shrink_if_wasteful() {
  if (size < capacity / 2) reallocate(size);
}

void ColumnStore::reallocate(std::size_t cap) {
  const std::size_t keep = size < cap ? size : cap;
  resize_array(ts, true, keep, cap);
  for (auto* a : {&open, &high, &low, &close, &volume}) resize_array(*a, true, keep, cap);
  resize_array(bid, quotes, keep, cap);
  resize_array(ask, quotes, keep, cap);
  resize_array(bid_size, quote_sizes, keep, cap);
  resize_array(ask_size, quote_sizes, keep, cap);
  capacity = cap;
  size = keep;
}

model::BarSeries ColumnStore::freeze(std::shared_ptr<ColumnStore> store, std::string symbol, model::InstrumentId id) {
  model::BarSeries::Columns c;
  c.ts_ns = store->ts.get();
  c.open = store->open.get();
  c.high = store->high.get();
  c.low = store->low.get();
  c.close = store->close.get();
  c.volume = store->volume.get();
  c.bid = store->bid.get();
  c.ask = store->ask.get();
  c.bid_size = store->bid_size.get();
  c.ask_size = store->ask_size.get();
  const std::size_t n = store->size;
  return model::BarSeries(std::move(symbol), id, n, c, std::move(store));
}

}  // namespace te::data
