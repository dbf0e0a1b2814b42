#pragma once
// Timestamps are int64 nanoseconds since the Unix epoch, UTC (`*_ns`). Nothing in
// this header reads a clock; time enters the engine only through core/clock.hpp.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace te {

inline constexpr std::int64_t kNsPerUs = 1'000;
inline constexpr std::int64_t kNsPerMs = 1'000'000;
inline constexpr std::int64_t kNsPerSec = 1'000'000'000;
inline constexpr std::int64_t kNsPerMin = 60 * kNsPerSec;
inline constexpr std::int64_t kNsPerHour = 60 * kNsPerMin;
inline constexpr std::int64_t kNsPerDay = 24 * kNsPerHour;

// Proleptic Gregorian calendar <-> days since 1970-01-01 (H. Hinnant's algorithms).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct CivilDate {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

constexpr CivilDate civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

// Floor division of a timestamp into days (correct for negative timestamps).
constexpr std::int64_t floor_days(std::int64_t ts_ns) noexcept {
  return ts_ns >= 0 ? ts_ns / kNsPerDay : -((-ts_ns + kNsPerDay - 1) / kNsPerDay);
}

// Accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fraction]]" (also with a space
// instead of 'T'), optionally followed by "Z" or "+HH:MM"/"-HH:MM". Returns
// nullopt for anything else, including impossible dates such as 2023-02-30.
std::optional<std::int64_t> parse_iso8601_ns(std::string_view text) noexcept;

// "YYYY-MM-DD" when date_only, else "YYYY-MM-DDTHH:MM:SS[.fff]Z" (milliseconds
// only when non-zero, sub-millisecond digits when present).
std::string format_iso8601(std::int64_t ts_ns, bool date_only = false);
// Same text as format_iso8601, written without allocating (hot path of large
// CSV outputs). `out` needs room for 40 chars; returns the number written.
std::size_t format_iso8601_to(char* out, std::int64_t ts_ns, bool date_only = false) noexcept;
void append_iso8601(std::string& out, std::int64_t ts_ns, bool date_only = false);

// Day of the week, 0 = Monday ... 6 = Sunday.
constexpr int weekday(std::int64_t ts_ns) noexcept {
  const std::int64_t d = floor_days(ts_ns);
  return static_cast<int>(((d % 7) + 7 + 3) % 7);  // 1970-01-01 was a Thursday
}

}  // namespace te
