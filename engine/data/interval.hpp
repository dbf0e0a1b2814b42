#pragma once
// Bar intervals written the way traders and exchanges write them: "1m", "15m",
// "1h", "4h", "1d", "1w" (also "30s").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace te::data {

// A positive count followed by one unit: s, m, h, d or w. Months ("1M") are not
// intervals of fixed length and are rejected.
std::optional<std::int64_t> parse_interval_ns(std::string_view text) noexcept;

// The shortest spelling that parse_interval_ns reads back ("1h", not "60m").
std::string format_interval(std::int64_t interval_ns);

}  // namespace te::data
