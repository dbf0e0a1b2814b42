#pragma once
// Number parsing and printing for data files and reports. Parsing is exact
// (the same double strtod would give) but takes a fast path for the short
// decimals that price files are made of; printing is shortest round-trip.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace te {

// Parses a complete decimal number ("-12.5", "3e-4", "42"); the whole input must
// be consumed. Rejects empty input, "nan", "inf" and trailing characters.
bool parse_double(std::string_view text, double& out) noexcept;

bool parse_int64(std::string_view text, std::int64_t& out) noexcept;

// Shortest text that parses back to the same double: "0.1", "100000", "0.00001";
// exponent form only outside 1e-7 <= |v| < 1e21 ("1e-08"), as JavaScript prints
// numbers. Writes at most 32 chars; returns the count. Non-finite values print as
// "nan", "inf", "-inf".
std::size_t format_double(double v, char* buf) noexcept;
std::string format_double(double v);
void append_double(std::string& out, double v);

// `a` (positive) in cents when it is the double nearest to n/100 with
// 0.01 <= a < 1e13, trailing zero dropped ("100.06", "99.9"); returns the end,
// or nullptr (nothing written) for any other value. Below 1e13 a's neighbours
// are less than 0.002 away, so no other decimal with two places or fewer reads
// back as it: this is its shortest round-trip text, fixed notation in both
// format_double's and fmt's rules. The common price and money case for both,
// without the general shortest-digits search (~200 instructions a number).
inline char* write_cents(char* p, double a) noexcept {
  if (!(a >= 0.01 && a < 1e13)) return nullptr;
  const double cents = std::round(a * 100);
  if (cents / 100 != a) return nullptr;  // the division is correctly rounded: an exact test
  const auto n = static_cast<std::uint64_t>(cents);
  const auto c = static_cast<unsigned>(n % 100);
  if (c == 0) return nullptr;  // a whole number: the callers print those as integers
  p = std::to_chars(p, p + 24, n / 100).ptr;
  *p++ = '.';
  *p++ = static_cast<char>('0' + c / 10);
  if (c % 10 != 0) *p++ = static_cast<char>('0' + c % 10);
  return p;
}

}  // namespace te
