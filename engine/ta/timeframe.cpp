#include "engine/ta/timeframe.hpp"

#include <charconv>

#include "engine/core/time.hpp"

namespace te::ta {
namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

std::int64_t span_ns(Timeframe::Unit u) noexcept {
  switch (u) {
    case Timeframe::Unit::minute: return kNsPerMin;
    case Timeframe::Unit::hour: return kNsPerHour;
    case Timeframe::Unit::day: return kNsPerDay;
    default: return 0;
  }
}

// 1970-01-01 was a Thursday; day -3 (1969-12-29) is the Monday that starts week 0.
constexpr std::int64_t kMondayOffsetDays = 3;

}  // namespace

std::int64_t Timeframe::bucket(std::int64_t ts_ns) const noexcept {
  switch (unit) {
    case Unit::none: return 0;
    case Unit::minute:
    case Unit::hour:
    case Unit::day: return floor_div(ts_ns, span_ns(unit) * count);
    case Unit::week: return floor_div(floor_days(ts_ns) + kMondayOffsetDays, std::int64_t{7} * count);
    case Unit::month: {
      const CivilDate c = civil_from_days(floor_days(ts_ns));
      return floor_div((c.year - 1970) * 12 + static_cast<std::int64_t>(c.month) - 1, count);
    }
  }
  return 0;
}

std::int64_t Timeframe::min_length_ns() const noexcept {
  switch (unit) {
    case Unit::none: return 0;
    case Unit::minute:
    case Unit::hour:
    case Unit::day: return span_ns(unit) * count;
    case Unit::week: return std::int64_t{7} * count * kNsPerDay;
    case Unit::month: return std::int64_t{28} * count * kNsPerDay;
  }
  return 0;
}

namespace {

// "1d", "4h", "15m", "30s".
std::string describe_span(std::int64_t ns) {
  struct Unit {
    std::int64_t ns;
    const char* suffix;
  };
  for (const Unit u : {Unit{kNsPerDay, "d"}, Unit{kNsPerHour, "h"}, Unit{kNsPerMin, "m"}, Unit{kNsPerSec, "s"}})
    if (ns % u.ns == 0) return std::to_string(ns / u.ns) + u.suffix;
  return std::to_string(ns) + "ns";
}

}  // namespace

Status check_not_finer(const Timeframe& tf, std::int64_t bar_spacing_ns) {
  if (tf.empty() || bar_spacing_ns <= 0 || tf.min_length_ns() >= bar_spacing_ns) return {};
  const std::string bars = describe_span(bar_spacing_ns);
  return make_error(Errc::invalid_argument, "timeframe " + tf.to_string() +
                                                " is finer than the bars it would be built from (they are " + bars +
                                                " apart): each of its bars would be one of yours, a bar late; use " +
                                                bars + " or a coarser timeframe");
}

std::int64_t Timeframe::bucket_start(std::int64_t b) const noexcept {
  switch (unit) {
    case Unit::none: return 0;
    case Unit::minute:
    case Unit::hour:
    case Unit::day: return b * span_ns(unit) * count;
    case Unit::week: return (b * 7 * count - kMondayOffsetDays) * kNsPerDay;
    case Unit::month: {
      const std::int64_t m = b * count;  // months since 1970-01
      const std::int64_t y = 1970 + floor_div(m, 12);
      const auto mon = static_cast<unsigned>(m - floor_div(m, 12) * 12 + 1);
      return days_from_civil(y, mon, 1) * kNsPerDay;
    }
  }
  return 0;
}

std::string Timeframe::to_string() const {
  char u = 0;
  switch (unit) {
    case Unit::none: return {};
    case Unit::minute: u = 'm'; break;
    case Unit::hour: u = 'h'; break;
    case Unit::day: u = 'd'; break;
    case Unit::week: u = 'w'; break;
    case Unit::month: u = 'M'; break;
  }
  return std::to_string(count) + u;
}

std::optional<Timeframe> parse_timeframe(std::string_view text) noexcept {
  if (text.size() < 2) return std::nullopt;
  int count = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size() - 1;
  const auto [ptr, ec] = std::from_chars(first, last, count);
  if (ec != std::errc{} || ptr != last || count < 1 || count > 100000) return std::nullopt;
  Timeframe tf;
  tf.count = count;
  switch (*last) {
    case 'm': tf.unit = Timeframe::Unit::minute; break;
    case 'h': tf.unit = Timeframe::Unit::hour; break;
    case 'd': tf.unit = Timeframe::Unit::day; break;
    case 'w': tf.unit = Timeframe::Unit::week; break;
    case 'M': tf.unit = Timeframe::Unit::month; break;
    default: return std::nullopt;
  }
  return tf;
}

}  // namespace te::ta
