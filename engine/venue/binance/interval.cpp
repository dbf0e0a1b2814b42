#include "engine/venue/binance/interval.hpp"

#include <array>
#include <cctype>

#include "engine/core/time.hpp"

namespace te::venue::binance {
namespace {

constexpr std::int64_t kMsPerSec = 1000;
constexpr std::int64_t kMsPerMin = 60 * kMsPerSec;
constexpr std::int64_t kMsPerHour = 60 * kMsPerMin;
constexpr std::int64_t kMsPerDay = 24 * kMsPerHour;
// 1970-01-05 was the first Monday after the epoch.
constexpr std::int64_t kFirstMondayMs = 4 * kMsPerDay;

struct Known {
  std::string_view text;
  std::int64_t ms;
};
constexpr std::array<Known, 16> kKnown{{{"1s", kMsPerSec},
                                        {"1m", kMsPerMin},
                                        {"3m", 3 * kMsPerMin},
                                        {"5m", 5 * kMsPerMin},
                                        {"15m", 15 * kMsPerMin},
                                        {"30m", 30 * kMsPerMin},
                                        {"1h", kMsPerHour},
                                        {"2h", 2 * kMsPerHour},
                                        {"4h", 4 * kMsPerHour},
                                        {"6h", 6 * kMsPerHour},
                                        {"8h", 8 * kMsPerHour},
                                        {"12h", 12 * kMsPerHour},
                                        {"1d", kMsPerDay},
                                        {"3d", 3 * kMsPerDay},
                                        {"1w", 7 * kMsPerDay},
                                        {"1M", 0}}};

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

std::int64_t month_start_ms(std::int64_t year, unsigned month) noexcept {
  return days_from_civil(year, month, 1) * kMsPerDay;
}

}  // namespace

Result<Interval> parse_interval(std::string_view text) {
  for (const auto& k : kKnown) {
    if (k.text == text) return Interval{std::string(text), k.ms, k.ms == 0};
  }
  return make_error(Errc::invalid_argument,
                    "unknown binance interval \"" + std::string(text) +
                        "\", expected one of 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M");
}

std::int64_t floor_open_ms(const Interval& interval, std::int64_t ts_ms) noexcept {
  if (interval.monthly) {
    const CivilDate d = civil_from_days(floor_div(ts_ms, kMsPerDay));
    return month_start_ms(d.year, d.month);
  }
  if (interval.ms == 7 * kMsPerDay) {
    return floor_div(ts_ms - kFirstMondayMs, interval.ms) * interval.ms + kFirstMondayMs;
  }
  return floor_div(ts_ms, interval.ms) * interval.ms;
}

std::int64_t next_open_ms(const Interval& interval, std::int64_t open_ms) noexcept {
  if (!interval.monthly) return open_ms + interval.ms;
  const CivilDate d = civil_from_days(floor_div(open_ms, kMsPerDay));
  return d.month == 12 ? month_start_ms(d.year + 1, 1) : month_start_ms(d.year, d.month + 1);
}

std::int64_t klines_between(const Interval& interval, std::int64_t from_ms, std::int64_t to_ms) noexcept {
  if (to_ms < from_ms) return 0;
  if (!interval.monthly) {
    const std::int64_t first = floor_open_ms(interval, from_ms) < from_ms ? floor_open_ms(interval, from_ms) + interval.ms
                                                                           : floor_open_ms(interval, from_ms);
    if (first > to_ms) return 0;
    return (to_ms - first) / interval.ms + 1;
  }
  std::int64_t n = 0;
  std::int64_t t = floor_open_ms(interval, from_ms);
  if (t < from_ms) t = next_open_ms(interval, t);
  for (; t <= to_ms; t = next_open_ms(interval, t)) ++n;
  return n;
}

std::string upper_symbol(std::string_view symbol) {
  std::string s(symbol);
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string lower_symbol(std::string_view symbol) {
  std::string s(symbol);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace te::venue::binance
