#pragma once
// A double that is usually a whole number (an order quantity, a lot size),
// printed by fmt exactly as "{}" prints a double, but a whole number from 1 to
// 1e15 as its integer digits without fmt's shortest-digits search: refusal
// texts carry one per refused entry (tens of thousands per 1M bars), and the
// float path was ~400 instructions a number. The same bytes for every double
// (checked against fmt for millions of values: fmt_whole_test.cpp).
//   fmt::format_to(out, FMT_COMPILE("buy {} at {}"), te::FmtWhole{qty}, price);
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

#include <fmt/compile.h>
#include <fmt/format.h>

namespace te {

struct FmtWhole {
  double value;
};

}  // namespace te

template <>
struct fmt::formatter<te::FmtWhole> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <class Context>
  auto format(const te::FmtWhole& w, Context& ctx) const {
    const double v = w.value;
    // Below 1e15 a whole double has at most 15 digits, which are its shortest
    // round-trip digits, and fmt prints them without exponent or point.
    if (v >= 1 && v < 1e15 && v == std::floor(v)) {
      char digits[24];
      const auto r = std::to_chars(digits, digits + sizeof digits, static_cast<std::uint64_t>(v));
      return std::copy(digits, r.ptr, ctx.out());
    }
    return fmt::format_to(ctx.out(), FMT_COMPILE("{}"), v);
  }
};
