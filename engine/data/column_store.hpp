#pragma once
// Owned, growable column arrays that a parser or generator fills in place and then
// freezes into a model::BarSeries without copying.
//
// All columns live in one anonymous mapping advised for transparent huge pages:
// filling tens of megabytes of fresh 4 KiB pages costs one page fault per page,
// which on virtual machines took a quarter of the CSV parse time. Slots are not
// zero-filled beyond what the kernel does: every slot below `size` is written
// before it is read.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/model/bar_series.hpp"

namespace te::data {

class ColumnStore {
 public:
  ColumnStore() = default;
  ColumnStore(ColumnStore&& other) noexcept;
  ColumnStore(const ColumnStore&) = delete;
  ColumnStore& operator=(const ColumnStore&) = delete;
  ~ColumnStore();

  // Discards any content. Aborts when memory cannot be had (like operator new).
  void allocate(std::size_t capacity, bool with_quotes, bool with_sizes);
  // Capacity * 1.5 (at least +1024), keeping the first `size` rows.
  void grow();
  // Gives memory back when less than half of the capacity is used (time filters).
  void shrink_if_wasteful();
  // Appends the rows of `other` (same columns), growing as needed.
  void append(const ColumnStore& other);
  // Rows [begin, begin + rows) of this store as a store of its own that owns
  // nothing: a parser fills it in place (the streamed CSV loader fills one
  // window per chunk). It must never grow (data() tells whether it did).
  ColumnStore window(std::size_t begin, std::size_t rows) const noexcept;
  // The series shares ownership of the store.
  static model::BarSeries freeze(std::shared_ptr<ColumnStore> store, std::string symbol, model::InstrumentId id);

  std::size_t size = 0;
  std::size_t capacity = 0;
  bool quotes = false;
  bool quote_sizes = false;
  std::int64_t* ts = nullptr;
  double *open = nullptr, *high = nullptr, *low = nullptr, *close = nullptr, *volume = nullptr;
  double *bid = nullptr, *ask = nullptr, *bid_size = nullptr, *ask_size = nullptr;

 private:
  void reallocate(std::size_t capacity);
  void release() noexcept;

  void* region_ = nullptr;
  std::size_t region_bytes_ = 0;
};

}  // namespace te::data
