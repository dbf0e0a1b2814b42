#pragma once
// Binance kline intervals ("1s", "1m", ..., "1M") and the arithmetic on kline
// open times that gap detection needs. All times here are epoch milliseconds UTC,
// the unit Binance uses on the wire.
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/result.hpp"

namespace te::venue::binance {

struct Interval {
  std::string text;          // exactly as Binance spells it: "1m", "4h", "1M"
  std::int64_t ms = 0;       // fixed length in ms; 0 for "1M" (calendar months)
  bool monthly = false;
};

// Accepts the intervals Binance spot documents: 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h
// 8h 12h 1d 3d 1w 1M (case-sensitive: "1M" is a month, "1m" a minute).
// Errors: Errc::invalid_argument naming the accepted spellings.
Result<Interval> parse_interval(std::string_view text);

// Open time of the kline that follows the one opening at `open_ms`.
std::int64_t next_open_ms(const Interval& interval, std::int64_t open_ms) noexcept;

// Open time of the kline containing `ts_ms` (floor to the interval grid; weeks
// open on Monday 00:00 UTC, months on the 1st).
std::int64_t floor_open_ms(const Interval& interval, std::int64_t ts_ms) noexcept;

// Close time Binance reports for a kline opening at `open_ms`: next open - 1.
inline std::int64_t close_time_ms(const Interval& interval, std::int64_t open_ms) noexcept {
  return next_open_ms(interval, open_ms) - 1;
}

// Number of klines opening in [from_ms, to_ms] (inclusive bounds on open times).
std::int64_t klines_between(const Interval& interval, std::int64_t from_ms, std::int64_t to_ms) noexcept;

// "BTCUSDT" from "btcusdt" (identity on the wire is case-insensitive; events carry
// upper case, stream names lower case).
std::string upper_symbol(std::string_view symbol);
std::string lower_symbol(std::string_view symbol);

}  // namespace te::venue::binance
