#include "engine/core/time.hpp"

#include <cstdio>

namespace te {
namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    const char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

constexpr bool is_leap(std::int64_t y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

}  // namespace

std::optional<std::int64_t> parse_iso8601_ns(std::string_view s) noexcept {
  int y = 0, mo = 0, d = 0;
  if (s.size() < 10 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || static_cast<unsigned>(d) > days_in_month(y, static_cast<unsigned>(mo)))
    return std::nullopt;
  std::int64_t ns = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kNsPerDay;
  std::size_t pos = 10;
  if (pos == s.size()) return ns;
  if (s[pos] != 'T' && s[pos] != ' ') return std::nullopt;
  ++pos;
  int hh = 0, mm = 0, ss = 0;
  if (!digits(s, pos, 2, hh) || pos + 2 >= s.size() || s[pos + 2] != ':' || !digits(s, pos + 3, 2, mm))
    return std::nullopt;
  pos += 5;
  if (pos < s.size() && s[pos] == ':') {
    if (!digits(s, pos + 1, 2, ss)) return std::nullopt;
    pos += 3;
  }
  if (hh > 23 || mm > 59 || ss > 60) return std::nullopt;
  ns += hh * kNsPerHour + mm * kNsPerMin + ss * kNsPerSec;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::int64_t frac = 0, scale = kNsPerSec;
    std::size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 9) {
        scale /= 10;
        frac += (s[pos] - '0') * scale;
      }
      ++pos;
      ++n;
    }
    if (n == 0) return std::nullopt;
    ns += frac;
  }
  if (pos == s.size()) return ns;
  if (s[pos] == 'Z' && pos + 1 == s.size()) return ns;
  if ((s[pos] == '+' || s[pos] == '-') && s.size() == pos + 6 && s[pos + 3] == ':') {
    int oh = 0, om = 0;
    if (!digits(s, pos + 1, 2, oh) || !digits(s, pos + 4, 2, om) || oh > 23 || om > 59) return std::nullopt;
    const std::int64_t off = oh * kNsPerHour + om * kNsPerMin;
    return s[pos] == '+' ? ns - off : ns + off;
  }
  return std::nullopt;
}

std::size_t format_iso8601_to(char* buf, std::int64_t ts_ns, bool date_only) noexcept {
  const std::int64_t days = floor_days(ts_ns);
  const CivilDate c = civil_from_days(days);
  const std::int64_t rem = ts_ns - days * kNsPerDay;
  if (c.year < 0 || c.year > 9999 || (!date_only && rem % kNsPerSec != 0)) {
    // Rare shapes (sub-second times, years outside 0..9999) take the slow path.
    const std::string s = format_iso8601(ts_ns, date_only);
    const std::size_t n = s.size() < 40 ? s.size() : 40;
    for (std::size_t i = 0; i < n; ++i) buf[i] = s[i];
    return n;
  }
  auto put2 = [&](int at, unsigned v) {
    buf[at] = static_cast<char>('0' + v / 10);
    buf[at + 1] = static_cast<char>('0' + v % 10);
  };
  const auto y = static_cast<unsigned>(c.year);
  put2(0, y / 100);
  put2(2, y % 100);
  buf[4] = '-';
  put2(5, c.month);
  buf[7] = '-';
  put2(8, c.day);
  if (date_only) return 10;
  buf[10] = 'T';
  put2(11, static_cast<unsigned>(rem / kNsPerHour));
  buf[13] = ':';
  put2(14, static_cast<unsigned>(rem % kNsPerHour / kNsPerMin));
  buf[16] = ':';
  put2(17, static_cast<unsigned>(rem % kNsPerMin / kNsPerSec));
  buf[19] = 'Z';
  return 20;
}

std::size_t Iso8601Writer::new_day(char* out, std::int64_t ts_ns) noexcept {
  const std::size_t n = format_iso8601_to(out, ts_ns, date_only_);
  const std::int64_t days = floor_days(ts_ns);
  const std::int64_t year = civil_from_days(days).year;
  if (year >= 0 && year <= 9999) {  // the shape whose first 10 chars are the date
    std::memcpy(date_, out, sizeof date_);
    day_start_ns_ = days * kNsPerDay;
    day_end_ns_ = day_start_ns_ + kNsPerDay;
  }
  return n;
}

void append_iso8601(std::string& out, std::int64_t ts_ns, bool date_only) {
  char buf[40];
  out.append(buf, format_iso8601_to(buf, ts_ns, date_only));
}

std::string format_iso8601(std::int64_t ts_ns, bool date_only) {
  const std::int64_t days = floor_days(ts_ns);
  const CivilDate c = civil_from_days(days);
  char buf[48];
  if (c.year >= 0 && c.year <= 9999 && (date_only || (ts_ns - days * kNsPerDay) % kNsPerSec == 0)) {
    // The common shapes, without snprintf (reports format a time per order
    // step): format_iso8601_to writes the same text for them.
    return std::string(buf, format_iso8601_to(buf, ts_ns, date_only));
  }
  if (date_only) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(c.year), c.month, c.day);
    return buf;
  }
  const std::int64_t rem = ts_ns - days * kNsPerDay;
  const auto hh = static_cast<int>(rem / kNsPerHour);
  const auto mm = static_cast<int>(rem % kNsPerHour / kNsPerMin);
  const auto ss = static_cast<int>(rem % kNsPerMin / kNsPerSec);
  const std::int64_t sub = rem % kNsPerSec;
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d", static_cast<long long>(c.year), c.month,
                        c.day, hh, mm, ss);
  if (sub != 0) {
    if (sub % kNsPerMs == 0)
      n += std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), ".%03lld", static_cast<long long>(sub / kNsPerMs));
    else
      n += std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), ".%09lld", static_cast<long long>(sub));
  }
  std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), "Z");
  return buf;
}

}  // namespace te
