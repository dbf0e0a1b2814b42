#pragma once
// Scanning primitives of the CSV loader's hot loop (internal to engine/data).
//
// Contract for every function here: `p` points into a line that ends with '\n'
// and is followed by at least kReadAhead readable bytes. Scans stop at the first
// byte that does not fit, which the '\n' sentinel guarantees, and 8-byte loads
// never leave the readable area. Each returns the position after what it
// recognised, or nullptr when the text is not in the fast form (the caller then
// takes the exact slow path, which also produces the error messages).
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>

#include "engine/core/time.hpp"

namespace te::data::scan {

constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10,
                             1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19};
// int64 nanoseconds cover 1677-09-21 .. 2262-04-11; whole years inside that,
// for dates and epoch milliseconds alike (the same bar must not be accepted in
// one spelling and refused in the other).
constexpr int kMinYear = 1678, kMaxYear = 2261;
constexpr std::int64_t kFirstMsOf1678 = -9'214'560'000'000;
constexpr std::int64_t kFirstMsOf2262 = 9'214'646'400'000;

inline bool is_digit(char c) noexcept { return static_cast<unsigned char>(c - '0') < 10; }
inline bool is_field_end(char c) noexcept { return c == ',' || c == '\n' || c == '\r'; }
inline int digit(char c) noexcept { return c - '0'; }

constexpr bool is_leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
constexpr int days_in_month(int y, int m) noexcept {
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// "YYYY-MM-DD": returns the position after it, or nullptr when it is not a valid
// date in range. Reads left to right and stops at the first mismatch, so it never
// passes the line's '\n'.
[[gnu::always_inline]] inline const char* fast_date(const char* p, std::int64_t& days) noexcept {
  if (!(is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) && is_digit(p[3]) && p[4] == '-' && is_digit(p[5]) &&
        is_digit(p[6]) && p[7] == '-' && is_digit(p[8]) && is_digit(p[9])))
    return nullptr;
  const int y = digit(p[0]) * 1000 + digit(p[1]) * 100 + digit(p[2]) * 10 + digit(p[3]);
  const int m = digit(p[5]) * 10 + digit(p[6]);
  const int d = digit(p[8]) * 10 + digit(p[9]);
  if (y < kMinYear || y > kMaxYear || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return nullptr;
  days = days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return p + 10;
}

// --- SWAR helpers --------------------------------------------------------------
// The hot loop reads 8 bytes at a time. That is safe because every line it sees
// is followed by at least kReadAhead readable bytes: the last lines of a file are
// parsed from a padded copy (see parse_csv).
constexpr std::size_t kReadAhead = 64;
constexpr std::uint64_t kAsciiZeros = 0x3030303030303030ULL;
constexpr std::uint64_t kPow10Int[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

[[gnu::always_inline]] inline std::uint64_t load8(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;  // byte i = p[i]
}

// x = load8(p) - kAsciiZeros: how many leading bytes are digits (0..8). A byte
// below '0' borrows from the next one, but only bytes after the first non-digit
// are disturbed, and those are never looked at.
[[gnu::always_inline]] inline unsigned leading_digits(std::uint64_t x) noexcept {
  const std::uint64_t non_digit = ((x + 0x7676767676767676ULL) | x) & 0x8080808080808080ULL;
  return non_digit == 0 ? 8 : static_cast<unsigned>(__builtin_ctzll(non_digit)) / 8;
}

// The value of the first n (1..8) digits of x: they are moved to the top bytes
// (zeros above them act as leading zeros) and combined pairwise by multiplies.
[[gnu::always_inline]] inline std::uint64_t digits_value(std::uint64_t x, unsigned n) noexcept {
  x <<= 8 * (8 - n);
  x = ((x & 0x0F0F0F0F0F0F0F0FULL) * 2561) >> 8;
  x = ((x & 0x00FF00FF00FF00FFULL) * 6553601) >> 16;
  return ((x & 0x0000FFFF0000FFFFULL) * 42949672960001ULL) >> 32;
}

// Accumulates a run of digits into m; returns the number consumed. Stops after
// `limit` digits have been seen in total (the caller then gives up).
[[gnu::always_inline]] inline unsigned digit_run(const char*& p, std::uint64_t& m, unsigned seen, unsigned limit) noexcept {
  unsigned total = 0, n = 0;
  do {
    const std::uint64_t x = load8(p) - kAsciiZeros;
    n = leading_digits(x);
    if (n != 0) m = m * kPow10Int[n] + digits_value(x, n);  // wraps only past `limit`
    p += n;
    total += n;
  } while (n == 8 && seen + total <= limit);
  return total;
}

// "HH:MM:SS" (no leap second, no fraction: those take the slow path). ':' is
// above '9', so no byte borrows when the text is well formed.
[[gnu::always_inline]] inline const char* fast_hms(const char* p, std::int64_t& secs) noexcept {
  const std::uint64_t x = load8(p) - kAsciiZeros;
  const std::uint64_t non_digit = ((x + 0x7676767676767676ULL) | x) & 0x8080008080008080ULL;
  if (non_digit != 0 || ((x >> 16) & 0xff) != 10 || ((x >> 40) & 0xff) != 10) return nullptr;
  const auto b = [x](int i) { return static_cast<int>((x >> (8 * i)) & 0xff); };
  const int h = b(0) * 10 + b(1), m = b(3) * 10 + b(4), s = b(6) * 10 + b(7);
  if (h > 23 || m > 59 || s > 59) return nullptr;
  secs = h * 3600 + m * 60 + s;
  return p + 8;
}

// Accumulates the digits at p into m (wrapping past 19 digits, which every
// caller refuses) and returns the position after them. The digit is computed
// once, unsigned, for both the test and the sum: 7 instructions a digit.
[[gnu::always_inline]] inline const char* digit_loop(const char* p, std::uint64_t& m) noexcept {
  for (unsigned d; (d = static_cast<unsigned char>(*p) - unsigned{'0'}) < 10; ++p) m = m * 10 + d;
  return p;
}

// The value of the decimal mantissa m (at most 2^53) with `frac` decimals. Both
// operands of the division are exact doubles, so the quotient is correctly
// rounded: the same double strtod would return. (m fits a signed conversion,
// one instruction where an unsigned one is a branch and four.)
[[gnu::always_inline]] inline double decimal_value(std::uint64_t m, std::size_t frac, bool neg) noexcept {
  double v = static_cast<double>(static_cast<std::int64_t>(m));
  if (frac != 0) v /= kPow10[frac];
  return neg ? -v : v;
}

// A decimal of at most 19 digits, mantissa <= 2^53, no exponent, directly
// followed by a field end.
// (Byte at a time: price fields are short, and 8-byte SWAR versions measured
// slower on them, twice: the field's end, and so the next field's start, then
// waits for the whole chain of shifts and multiplies, where the byte loop's end
// is predicted. Session 17: a one-load version of fields up to 7 bytes ran 95
// instructions a field against 75 and took 13 % more CPU.)
// Digits, an optional '.' and more digits into mantissa `m`: `n` digits in
// all, `frac` of them after the point. Returns the position after them.
[[gnu::always_inline]] inline const char* decimal_digits(const char* p, std::uint64_t& m, std::size_t& n,
                                                         std::size_t& frac) noexcept {
  const char* first = p;
  p = digit_loop(p, m);
  n = static_cast<std::size_t>(p - first);
  frac = 0;
  if (*p == '.') {
    const char* f = ++p;
    p = digit_loop(p, m);
    frac = static_cast<std::size_t>(p - f);
    n += frac;
  }
  return p;
}

[[gnu::always_inline]] inline const char* fast_number(const char* p, double& out) noexcept {
  const bool neg = *p == '-';
  p += neg;
  std::uint64_t m = 0;
  std::size_t n, frac;
  p = decimal_digits(p, m, n, frac);
  if (n == 0 || n > 19 || m > (std::uint64_t{1} << 53) || !is_field_end(*p)) return nullptr;
  out = decimal_value(m, frac, neg);
  return p;
}

// fast_number's common case with the separator after it: 1 to 15 digits (so
// the mantissa is below 10^15 < 2^53), no sign, directly followed by `delim`
// (',' or '\n', both field ends). Returns the position of `delim`, or nullptr
// (the caller then runs fast_number and the separator check, which decide
// alone what is accepted and reported; a '-' goes that way too: prices and
// volumes are never negative in a valid bar). What this accepts fast_number
// accepts with the same mantissa and decimals, so the same double.
[[gnu::always_inline]] inline const char* number_before(const char* p, char delim, double& out) noexcept {
  std::uint64_t m = 0;
  std::size_t n, frac;
  p = decimal_digits(p, m, n, frac);
  if (*p != delim || n - 1 >= 15) return nullptr;  // n == 0 wraps
  out = decimal_value(m, frac, false);
  return p;
}

// Epoch milliseconds of up to 13 digits, years 1678 to 2261.
[[gnu::always_inline]] inline const char* fast_ms(const char* p, std::int64_t& ms) noexcept {
  const bool neg = *p == '-';
  p += neg;
  std::uint64_t v = 0;
  const unsigned n = digit_run(p, v, 0, 13);
  if (n == 0 || n > 13 || !is_field_end(*p)) return nullptr;
  ms = neg ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
  if (ms < kFirstMsOf1678 || ms >= kFirstMsOf2262) return nullptr;
  return p;
}

}  // namespace te::data::scan
