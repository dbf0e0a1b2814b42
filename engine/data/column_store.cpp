#include "engine/data/column_store.hpp"

#include <sys/mman.h>

#include <cstring>

namespace te::data {
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kSmallPage = 4096;

// Column stride in elements: a multiple of 8 so every column starts 64-byte aligned.
constexpr std::size_t stride_for(std::size_t capacity) noexcept { return (capacity + 7) / 8 * 8; }

}  // namespace

ColumnStore::~ColumnStore() { release(); }

ColumnStore::ColumnStore(ColumnStore&& o) noexcept
    : size(o.size), capacity(o.capacity), quotes(o.quotes), quote_sizes(o.quote_sizes), ts(o.ts), open(o.open),
      high(o.high), low(o.low), close(o.close), volume(o.volume), bid(o.bid), ask(o.ask), bid_size(o.bid_size),
      ask_size(o.ask_size), region_(o.region_), region_bytes_(o.region_bytes_) {
  o.region_ = nullptr;
  o.region_bytes_ = 0;
}

ColumnStore ColumnStore::window(std::size_t begin, std::size_t rows) const noexcept {
  ColumnStore w;
  w.capacity = rows;
  w.quotes = quotes;
  w.quote_sizes = quote_sizes;
  auto at = [begin](auto* p) { return p != nullptr ? p + begin : nullptr; };
  w.ts = at(ts);
  w.open = at(open);
  w.high = at(high);
  w.low = at(low);
  w.close = at(close);
  w.volume = at(volume);
  w.bid = at(bid);
  w.ask = at(ask);
  w.bid_size = at(bid_size);
  w.ask_size = at(ask_size);
  return w;  // region_ stays null: the window unmaps nothing
}

void ColumnStore::release() noexcept {
  if (region_ != nullptr) ::munmap(region_, region_bytes_);
  region_ = nullptr;
  region_bytes_ = 0;
}

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

void ColumnStore::append(const ColumnStore& other) {
  TE_ASSERT(other.quotes == quotes && other.quote_sizes == quote_sizes, "column stores with different columns");
  if (size + other.size > capacity) reallocate(size + other.size);
  auto copy = [&](auto* to, const auto* from) {
    if (to != nullptr && other.size != 0) std::memcpy(to + size, from, other.size * sizeof *from);
  };
  copy(ts, other.ts);
  copy(open, other.open);
  copy(high, other.high);
  copy(low, other.low);
  copy(close, other.close);
  copy(volume, other.volume);
  copy(bid, other.bid);
  copy(ask, other.ask);
  copy(bid_size, other.bid_size);
  copy(ask_size, other.ask_size);
  size += other.size;
}

void ColumnStore::reallocate(std::size_t cap) {
  const std::size_t keep = size < cap ? size : cap;
  const std::size_t stride = stride_for(cap == 0 ? 1 : cap);
  const std::size_t ncols = 6 + (quotes ? 2 : 0) + (quote_sizes ? 2 : 0);
  const std::size_t need = ncols * stride * 8;
  // Huge pages only for big stores: a small series must not pin 2 MiB.
  const bool huge = need >= 2 * kHugePage;
  const std::size_t unit = huge ? kHugePage : kSmallPage;
  const std::size_t bytes = (need + unit - 1) / unit * unit;
  void* region = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  TE_ASSERT(region != MAP_FAILED, "out of memory: %zu bytes for %zu bars", bytes, cap);
  if (huge) ::madvise(region, bytes, MADV_HUGEPAGE);  // advice only: fine if refused

  auto* base = static_cast<double*>(region);
  std::size_t next = 0;
  auto place = [&](auto* old, bool wanted, auto*& out) {
    using T = std::remove_pointer_t<std::remove_reference_t<decltype(out)>>;
    if (!wanted) {
      out = nullptr;
      return;
    }
    T* fresh = static_cast<T*>(static_cast<void*>(base + next * stride));
    ++next;
    if (old != nullptr && keep != 0) std::memcpy(fresh, old, keep * sizeof(T));
    out = fresh;
  };
  place(ts, true, ts);
  place(open, true, open);
  place(high, true, high);
  place(low, true, low);
  place(close, true, close);
  place(volume, true, volume);
  place(bid, quotes, bid);
  place(ask, quotes, ask);
  place(bid_size, quote_sizes, bid_size);
  place(ask_size, quote_sizes, ask_size);

  release();
  region_ = region;
  region_bytes_ = bytes;
  capacity = cap;
  size = keep;
}

model::BarSeries ColumnStore::freeze(std::shared_ptr<ColumnStore> store, std::string symbol, model::InstrumentId id) {
  model::BarSeries::Columns c;
  c.ts_ns = store->ts;
  c.open = store->open;
  c.high = store->high;
  c.low = store->low;
  c.close = store->close;
  c.volume = store->volume;
  c.bid = store->bid;
  c.ask = store->ask;
  c.bid_size = store->bid_size;
  c.ask_size = store->ask_size;
  const std::size_t n = store->size;
  return model::BarSeries(std::move(symbol), id, n, c, std::move(store));
}

}  // namespace te::data
