#pragma once
// Timestamps are int64 nanoseconds since the Unix epoch, UTC (`*_ns`). Nothing in
// this header reads a clock; time enters the engine only through core/clock.hpp.
#include <cstddef>
#include <cstdint>
#include <cstring>
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

namespace detail {
// "HH:MM:00" for every minute of a day and "\0\0\0\0\0\0" + the digits' values
// for every second of a minute: their sum, byte by byte (no byte carries, so
// either byte order), is the clock's text; two loads and an add instead of six
// divisions for the digits.
struct ClockText {
  char minute[24 * 60][8];
  char second[60][8];
};
inline constexpr ClockText kClockText = [] {
  ClockText t{};
  for (unsigned m = 0; m < 24 * 60; ++m) {
    const unsigned h = m / 60, mm = m % 60;
    const char text[8] = {static_cast<char>('0' + h / 10), static_cast<char>('0' + h % 10), ':',
                          static_cast<char>('0' + mm / 10), static_cast<char>('0' + mm % 10), ':', '0', '0'};
    for (int k = 0; k < 8; ++k) t.minute[m][k] = text[k];
  }
  for (unsigned s = 0; s < 60; ++s) {
    t.second[s][6] = static_cast<char>(s / 10);
    t.second[s][7] = static_cast<char>(s % 10);
  }
  return t;
}();
}  // namespace detail

// format_iso8601_to for a run of timestamps that mostly share their day with the
// one before (an equity curve of intraday bars, an order log): the date's text
// is kept and only the time of day is formatted. Same text as format_iso8601_to.
class Iso8601Writer {
 public:
  explicit Iso8601Writer(bool date_only) noexcept : date_only_(date_only) {}

  // Writes at most 40 chars at `out`; returns the number written.
  std::size_t write(char* out, std::int64_t ts_ns) noexcept {
    if (ts_ns < day_start_ns_ || ts_ns >= day_end_ns_) return new_day(out, ts_ns);
    const auto rem = static_cast<std::uint64_t>(ts_ns - day_start_ns_);  // [0, 1 day)
    std::memcpy(out, date_, sizeof date_);
    if (date_only_) return sizeof date_;
    constexpr std::uint64_t kSec = kNsPerSec;
    const std::uint64_t secs = rem / kSec;
    if (secs * kSec != rem) return format_iso8601_to(out, ts_ns, false);  // sub-second: rare
    const auto minute = static_cast<unsigned>(secs / 60);
    const auto second = static_cast<unsigned>(secs - std::uint64_t{minute} * 60);
    std::uint64_t clock, digits;
    std::memcpy(&clock, detail::kClockText.minute[minute], sizeof clock);
    std::memcpy(&digits, detail::kClockText.second[second], sizeof digits);
    clock += digits;
    out[10] = 'T';
    std::memcpy(out + 11, &clock, sizeof clock);
    out[19] = 'Z';
    return 20;
  }

 private:
  std::size_t new_day(char* out, std::int64_t ts_ns) noexcept;

  bool date_only_;
  std::int64_t day_start_ns_ = 0, day_end_ns_ = 0;  // the day whose date_ is kept (none yet)
  char date_[10] = {};                              // "YYYY-MM-DD"
};

// Day of the week, 0 = Monday ... 6 = Sunday.
constexpr int weekday(std::int64_t ts_ns) noexcept {
  const std::int64_t d = floor_days(ts_ns);
  return static_cast<int>(((d % 7) + 7 + 3) % 7);  // 1970-01-01 was a Thursday
}

}  // namespace te
