#pragma once
// An append-only list of rows kept in chunks that are never reallocated: the
// activity log's orders and rejections (engine/backtest/activity.hpp).
//
// Why not std::vector: a long backtest appends tens of thousands of rows of
// ~200 bytes, and each doubling of a vector moved every row into a fresh
// block (megabytes of new pages, which are slow to touch on our machines) and,
// being a large request, made glibc consolidate its fastbins full of the Lua
// VM's garbage first (malloc_consolidate, ~4 % of sma_cross's samples). Here a
// row stays where it was appended (pointers to it stay valid), and chunks
// grow geometrically (16, 32, ... up to kMaxChunk rows) so small logs stay
// small. A copy keeps the layout (chunk k always holds min(16 << k, 4096) rows).
#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <utility>
#include <vector>

namespace te::backtest {

template <class T>
class ChunkedRows {
 public:
  static constexpr std::size_t kFirstChunk = 16;
  static constexpr std::size_t kMaxChunk = 4096;

  ChunkedRows() = default;
  ChunkedRows(std::initializer_list<T> rows) { assign(rows); }
  ChunkedRows(const ChunkedRows&) = default;
  ChunkedRows& operator=(const ChunkedRows&) = default;
  // A moved-from list is empty (its room_ must not name a chunk it no longer has).
  ChunkedRows(ChunkedRows&& o) noexcept
      : chunks_(std::move(o.chunks_)), size_(std::exchange(o.size_, 0)), room_(std::exchange(o.room_, 0)) {
    o.chunks_.clear();
  }
  ChunkedRows& operator=(ChunkedRows&& o) noexcept {
    chunks_ = std::move(o.chunks_);
    o.chunks_.clear();
    size_ = std::exchange(o.size_, 0);
    room_ = std::exchange(o.room_, 0);
    return *this;
  }
  ChunkedRows& operator=(std::initializer_list<T> rows) {
    assign(rows);
    return *this;
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  void clear() noexcept {
    chunks_.clear();
    size_ = 0;
    room_ = 0;
  }

  T& push_back(T row) {
    make_room();
    chunks_.back().push_back(std::move(row));
    ++size_;
    --room_;
    return chunks_.back().back();
  }
  // A default-constructed row at the end, to be filled where it lies (an
  // order log row is ~300 bytes: built aside and moved in, it was written
  // twice per order).
  T& emplace_back() {
    make_room();
    chunks_.back().emplace_back();
    ++size_;
    --room_;
    return chunks_.back().back();
  }

  // A row made from its fields in place (parenthesised aggregate
  // initialisation: each field written once).
  template <class... Args>
    requires(sizeof...(Args) > 0)
  T& emplace_back(Args&&... args) {
    make_room();
    chunks_.back().emplace_back(std::forward<Args>(args)...);
    ++size_;
    --room_;
    return chunks_.back().back();
  }

  T& back() noexcept { return chunks_.back().back(); }
  const T& back() const noexcept { return chunks_.back().back(); }

  // By position: chunk k holds min(16 << k, kMaxChunk) rows.
  T& operator[](std::size_t i) noexcept { return const_cast<T&>(std::as_const(*this)[i]); }
  const T& operator[](std::size_t i) const noexcept {
    std::size_t k = 0;
    if (i < kGeometricRows) {
      while (i >= chunk_capacity(k)) i -= chunk_capacity(k++);
    } else {
      i -= kGeometricRows;
      k = kGeometricChunks + i / kMaxChunk;
      i %= kMaxChunk;
    }
    return chunks_[k][i];
  }

  template <class Row, class Chunks>
  class Iter {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = Row*;
    using reference = Row&;
    Iter() = default;
    Iter(Chunks* chunks, std::size_t chunk, std::size_t row) : chunks_(chunks), chunk_(chunk), row_(row) {}
    reference operator*() const { return (*chunks_)[chunk_][row_]; }
    pointer operator->() const { return &(*chunks_)[chunk_][row_]; }
    Iter& operator++() {
      if (++row_ == (*chunks_)[chunk_].size()) {
        ++chunk_;
        row_ = 0;
      }
      return *this;
    }
    Iter operator++(int) {
      Iter old = *this;
      ++*this;
      return old;
    }
    bool operator==(const Iter& o) const noexcept { return chunk_ == o.chunk_ && row_ == o.row_; }
    bool operator!=(const Iter& o) const noexcept { return !(*this == o); }

   private:
    Chunks* chunks_ = nullptr;
    std::size_t chunk_ = 0, row_ = 0;
  };
  using iterator = Iter<T, std::vector<std::vector<T>>>;
  using const_iterator = Iter<const T, const std::vector<std::vector<T>>>;

  // Every chunk but the last is full and none is empty, so the end is
  // (number of chunks, 0).
  iterator begin() noexcept { return iterator(&chunks_, 0, 0); }
  iterator end() noexcept { return iterator(&chunks_, chunks_.size(), 0); }
  const_iterator begin() const noexcept { return const_iterator(&chunks_, 0, 0); }
  const_iterator end() const noexcept { return const_iterator(&chunks_, chunks_.size(), 0); }

 private:
  static constexpr std::size_t chunk_capacity(std::size_t k) noexcept {
    return k >= kGeometricChunks ? kMaxChunk : kFirstChunk << k;
  }
  // Chunks 0..8 hold 16, 32, ..., 4096 rows (8,176 in all); later ones 4096 each.
  static constexpr std::size_t kGeometricChunks = 9;
  static constexpr std::size_t kGeometricRows = kFirstChunk * ((std::size_t{1} << kGeometricChunks) - 1);
  static_assert((kFirstChunk << (kGeometricChunks - 1)) == kMaxChunk);

  // A new chunk when the last one is full: room_ counts its free rows, so an
  // append tests one number (the last chunk's size against its capacity took
  // two divisions by the row size per row: ≈ 12 instructions per refused
  // entry's row in ema_cross, ~60,000 per 1M bars).
  void make_room() {
    if (room_ == 0) {
      std::vector<T> chunk;
      const std::size_t capacity = chunk_capacity(chunks_.size());
      chunk.reserve(capacity);
      chunks_.push_back(std::move(chunk));
      room_ = capacity;
    }
  }

  void assign(std::initializer_list<T> rows) {
    clear();
    for (const T& r : rows) push_back(r);
  }

  std::vector<std::vector<T>> chunks_;
  std::size_t size_ = 0;
  std::size_t room_ = 0;  // free rows in the last chunk (0: none, or no chunk)
};

}  // namespace te::backtest
