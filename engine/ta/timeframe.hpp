#pragma once
// Bar timeframes for multi-timeframe indicators and session resets: "5m", "15m",
// "1h", "4h", "1d", "1w", "1M" (any positive count of m/h/d/w/M). Buckets are
// aligned in UTC: minutes, hours and days from the Unix epoch, weeks start on
// Monday 00:00 UTC, months on the 1st at 00:00 UTC (counted from January 1970).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/result.hpp"

namespace te::ta {

struct Timeframe {
  enum class Unit : std::uint8_t { none, minute, hour, day, week, month };
  Unit unit = Unit::none;
  std::int32_t count = 0;

  bool empty() const noexcept { return unit == Unit::none; }
  // Bucket number of a timestamp (monotonic in ts_ns).
  std::int64_t bucket(std::int64_t ts_ns) const noexcept;
  // First timestamp of a bucket; bucket_start(b + 1) is where bucket b ends.
  std::int64_t bucket_start(std::int64_t bucket) const noexcept;
  // "5m", "1w", "1M"; "" when empty.
  std::string to_string() const;
  // Length of the shortest bucket (a month counts 28 days); 0 when empty.
  std::int64_t min_length_ns() const noexcept;

  friend bool operator==(const Timeframe&, const Timeframe&) = default;
};

// Refuses a timeframe shorter than the spacing of the bars it would be built
// from (`bar_spacing_ns`; 0 = unknown, accepted): each of its buckets would hold
// one bar, so its closed bars would be the previous bars, silently a bar late.
// Errors: Errc::invalid_argument naming both ("timeframe 1h is finer than ...").
Status check_not_finer(const Timeframe& tf, std::int64_t bar_spacing_ns);

// Accepts "<count><unit>" with unit m, h, d, w or M and 1 <= count <= 100000.
std::optional<Timeframe> parse_timeframe(std::string_view text) noexcept;

}  // namespace te::ta
