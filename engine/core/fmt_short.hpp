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

#include "engine/core/numbers.hpp"

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
  if (a >= 0.01 && a < 1e13) {  // cents (write_cents): fmt's shortest text, fixed notation
    char* sign = p;
    if (v < 0) *p++ = '-';
    if (char* end = write_cents(p, a)) return end;
    p = sign;
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
