#pragma once
// A double that is usually short (an order quantity, a lot size, a price in
// cents), printed by fmt exactly as "{}" prints a double, without fmt's
// shortest-digits search when it is a whole number from 1 to 1e15 or a
// multiple of 0.01 from 0.01 to 1e13. Refusal texts carry such numbers once or
// twice per refused entry (tens of thousands per 1M bars), and fmt's float
// path was ~450 instructions a number. The same bytes for every double
// (fmt_short_test.cpp compares them with fmt's for millions of values).
//   fmt::format_to(out, FMT_COMPILE("buy {} at {}"), te::FmtShort{qty}, te::FmtShort{price});
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

#include <fmt/compile.h>
#include <fmt/format.h>

namespace te {

struct FmtShort {
  double value;
};

// The same text written at `p` (at most kFmtShortMax bytes); returns its end.
inline constexpr std::size_t kFmtShortMax = 32;
inline char* format_short(char* p, double v) {
  const double a = std::fabs(v);
  // Below 1e15 a whole double has at most 15 digits, which are its shortest
  // round-trip digits; fmt prints them without exponent or point.
  if (a >= 1 && a < 1e15 && a == std::floor(a)) {
    if (v < 0) *p++ = '-';
    return std::to_chars(p, p + 24, static_cast<std::uint64_t>(a)).ptr;
  }
  // A double that is the nearest one to n/100 (the division is correctly
  // rounded, so the test is exact): below 1e13 its neighbours are less than
  // 0.002 away, so no other decimal with as few digits rounds to it and
  // n/100, trailing zero dropped, is fmt's shortest text; at 0.01 and above
  // fmt writes it in fixed notation.
  if (a >= 0.01 && a < 1e13) {
    const double cents = std::round(a * 100);
    if (cents / 100 == a) {
      const auto n = static_cast<std::uint64_t>(cents);
      if (v < 0) *p++ = '-';
      p = std::to_chars(p, p + 24, n / 100).ptr;
      const auto c = static_cast<unsigned>(n % 100);  // not 0: whole numbers are above
      *p++ = '.';
      *p++ = static_cast<char>('0' + c / 10);
      if (c % 10 != 0) *p++ = static_cast<char>('0' + c % 10);
      return p;
    }
  }
  return fmt::format_to(p, FMT_COMPILE("{}"), v);
}

}  // namespace te

template <>
struct fmt::formatter<te::FmtShort> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <class Context>
  auto format(const te::FmtShort& s, Context& ctx) const {
    char text[te::kFmtShortMax];
    return std::copy(text, te::format_short(text, s.value), ctx.out());
  }
};
