#pragma once
// Owned, growable column arrays that a parser or generator fills in place and then
// freezes into a model::BarSeries without copying. Arrays are allocated without
// zero-filling: every slot below `size` is written before it is read.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/model/bar_series.hpp"

namespace te::data {

struct ColumnStore {
  std::size_t size = 0;
  std::size_t capacity = 0;
  bool quotes = false;
  bool quote_sizes = false;
  std::unique_ptr<std::int64_t[]> ts;
  std::unique_ptr<double[]> open, high, low, close, volume, bid, ask, bid_size, ask_size;

  void allocate(std::size_t cap, bool with_quotes, bool with_sizes);
  // Capacity * 1.5 (at least +1024), keeping the first `size` rows.
  void grow();
  // Gives memory back when less than half of the capacity is used (time filters).
  void shrink_if_wasteful();
  // The series shares ownership of the store.
  static model::BarSeries freeze(std::shared_ptr<ColumnStore> store, std::string symbol, model::InstrumentId id);

 private:
  void reallocate(std::size_t cap);
};

}  // namespace te::data
