#pragma once
// The ordering logic of gap backfill, without any I/O: per symbol, closed bars
// go out exactly once, in open-time order, without holes that REST could fill.
//
//   live bar k arrives, last delivered l:
//     k <= l                  -> duplicate, dropped
//     k == next(l) (or no l)  -> delivered (and any buffered successors)
//     k >  next(l)            -> buffered; backfill [next(l), k - 1] requested
//   backfill result           -> bars merged into the buffer, delivered in order;
//                                open times REST did not have are skipped
//
// Not thread-safe: KlineFeed calls it on the client's strand only.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/venue/binance/interval.hpp"
#include "engine/venue/binance/sink.hpp"

namespace te::venue::binance {

struct BackfillRequest {
  std::string symbol;
  std::int64_t from_open_ms = 0;  // first missing open time
  std::int64_t to_open_ms = 0;    // last missing open time (inclusive)
};

class KlineSequencer {
 public:
  // The longest gap fetched: beyond it only the last kMaxBackfillBars open
  // times are requested (100 REST pages; 69 days of 1m klines).
  static constexpr std::int64_t kMaxBackfillBars = 100'000;

  explicit KlineSequencer(Interval interval) : interval_(std::move(interval)) {}

  // Bars opening at or before `last_open_ms` count as already delivered: after a
  // restart, the first live bar triggers a backfill from the next one.
  void set_last_delivered(const std::string& symbol, std::int64_t last_open_ms);
  std::optional<std::int64_t> last_delivered(std::string_view symbol) const;

  struct Output {
    std::vector<ClosedBar> bars;             // deliver now, in this order
    std::vector<BackfillRequest> backfills;  // start these
    std::size_t duplicates = 0;              // bars dropped as already delivered
    void clear() {
      bars.clear();
      backfills.clear();
      duplicates = 0;
    }
  };

  void on_live_bar(ClosedBar bar, Output& out);
  // A completed backfill. `bars` may be in any order and may include bars outside
  // the request (ignored). Returns how many open times of the range were missing.
  std::size_t on_backfill(const BackfillRequest& request, std::vector<ClosedBar> bars, Output& out);
  // Gives up on a backfill: the range is skipped and buffered bars flow again.
  void on_backfill_failed(const BackfillRequest& request, Output& out);

  std::size_t buffered(std::string_view symbol) const;  // live bars waiting for a backfill
  bool backfilling(std::string_view symbol) const;

 private:
  struct SymbolState {
    bool has_last = false;
    std::int64_t last_open_ms = 0;
    std::map<std::int64_t, ClosedBar> pending;  // by open time
    bool in_flight = false;
    // Every bar opening at or before this is either delivered or in `pending`
    // (set by a finished backfill, so a hole REST could not fill is crossed).
    std::int64_t known_through_ms = INT64_MIN;
  };

  SymbolState& state(const std::string& symbol);
  void drain(const std::string& symbol, SymbolState& st, Output& out);

  Interval interval_;
  std::map<std::string, SymbolState, std::less<>> symbols_;
};

}  // namespace te::venue::binance
