#include "engine/core/numbers.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

namespace te {
namespace {

constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// Clinger's fast path: when the decimal mantissa fits in 53 bits and the power of
// ten is exactly representable (|e| <= 22), one IEEE multiply or divide of two
// exact values is correctly rounded, so the result equals strtod's.
bool fast_path(const char* p, const char* end, double& out) noexcept {
  bool neg = false;
  if (p != end && (*p == '-' || *p == '+')) {
    neg = *p == '-';
    ++p;
  }
  std::uint64_t mant = 0;
  int exp10 = 0;
  int sig = 0;
  bool any = false;
  while (p != end && static_cast<unsigned>(*p - '0') < 10) {
    if (mant != 0 || *p != '0') ++sig;
    mant = mant * 10 + static_cast<unsigned>(*p - '0');
    ++p;
    any = true;
    if (sig > 18) return false;
  }
  if (p != end && *p == '.') {
    ++p;
    while (p != end && static_cast<unsigned>(*p - '0') < 10) {
      if (mant != 0 || *p != '0') ++sig;
      mant = mant * 10 + static_cast<unsigned>(*p - '0');
      --exp10;
      ++p;
      any = true;
      if (sig > 18) return false;
    }
  }
  if (!any) return false;
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool eneg = false;
    if (p != end && (*p == '-' || *p == '+')) {
      eneg = *p == '-';
      ++p;
    }
    int e = 0;
    bool edig = false;
    while (p != end && static_cast<unsigned>(*p - '0') < 10) {
      e = e * 10 + (*p - '0');
      if (e > 10000) return false;
      ++p;
      edig = true;
    }
    if (!edig) return false;
    exp10 += eneg ? -e : e;
  }
  if (p != end) return false;
  if (mant > (std::uint64_t{1} << 53)) return false;
  double v = static_cast<double>(mant);
  if (mant == 0) {
    v = 0.0;
  } else if (exp10 < 0) {
    if (exp10 < -22) return false;
    v /= kPow10[-exp10];
  } else if (exp10 > 0) {
    if (exp10 > 22) return false;
    v *= kPow10[exp10];
  }
  out = neg ? -v : v;
  return true;
}

}  // namespace

bool parse_double(std::string_view text, double& out) noexcept {
  const char* b = text.data();
  const char* e = b + text.size();
  if (b == e) return false;
  if (fast_path(b, e, out)) return true;
  // Slow but exact: libstdc++'s from_chars (no locale, no strtod).
  if (*b == '+') ++b;
  double v = 0;
  auto [ptr, ec] = std::from_chars(b, e, v, std::chars_format::general);
  if (ec != std::errc() || ptr != e || !std::isfinite(v)) return false;
  out = v;
  return true;
}

bool parse_int64(std::string_view text, std::int64_t& out) noexcept {
  const char* b = text.data();
  const char* e = b + text.size();
  if (b != e && *b == '+') ++b;
  auto [ptr, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && ptr == e && b != e;
}

namespace {

// Short decimals (prices, quantities, money to the cent: most numbers in the
// reports) without the general shortest-digits search, which costs ~300
// instructions a number. `a` is positive and below 1e15. With K decimals, the
// most that keep a * 10^K below 1e15 (and at most 9), m = round(a * 10^K) is
// the only K-decimal number that reads back as `a` if any does: neighbours
// 10^-K apart are farther apart than a's rounding interval (15 significant
// digits or fewer). A representation with fewer decimals is m with trailing
// zeros, so dropping them gives the shortest text, the one to_chars prints.
// Returns 0 when `a` has no such representation (the caller takes the general
// path).
std::size_t format_short_decimal(double a, char* buf) noexcept {
  int k = 9;
  while (a * kPow10[k] >= 1e15) {
    if (k == 0) return 0;
    --k;
  }
  // Rounded to an integer by adding and removing 2^52 (exact below 2^52, and no
  // libm call as std::nearbyint is without SSE4.1).
  constexpr double kTwo52 = 4503599627370496.0;
  const double scaled = (a * kPow10[k] + kTwo52) - kTwo52;
  if (scaled / kPow10[k] != a) return 0;
  auto m = static_cast<std::uint64_t>(scaled);
  // Trailing zeros off in at most four steps (8, 4, 2, 1), not one per digit.
  for (const auto& [digits, p10] : {std::pair{8, std::uint64_t{100000000}}, std::pair{4, std::uint64_t{10000}},
                                    std::pair{2, std::uint64_t{100}}, std::pair{1, std::uint64_t{10}}}) {
    if (k >= digits && m % p10 == 0) {
      m /= p10;
      k -= digits;
    }
  }
  char digits[24] = {};
  const auto n = static_cast<int>(std::to_chars(digits, digits + sizeof digits, m).ptr - digits);
  char* out = buf;
  if (k == 0) {
    std::memcpy(out, digits, static_cast<std::size_t>(n));
    return static_cast<std::size_t>(n);
  }
  if (n > k) {  // 123.45
    std::memcpy(out, digits, static_cast<std::size_t>(n - k));
    out += n - k;
    *out++ = '.';
    std::memcpy(out, digits + n - k, static_cast<std::size_t>(k));
    out += k;
  } else {  // 0.0012
    *out++ = '0';
    *out++ = '.';
    for (int z = n; z < k; ++z) *out++ = '0';
    std::memcpy(out, digits, static_cast<std::size_t>(n));
    out += n;
  }
  return static_cast<std::size_t>(out - buf);
}

}  // namespace

std::size_t format_double(double v, char* buf) noexcept {
  if (std::isnan(v)) {
    buf[0] = 'n', buf[1] = 'a', buf[2] = 'n';
    return 3;
  }
  if (v == 0) v = 0.0;  // print -0 as 0
  // Plain decimals in the range JavaScript prints them so (1e-7 <= |v| < 1e21),
  // exponent form outside it; shortest round-trip digits either way. 100000
  // stays "100000", not the shorter "1e+05".
  const double a = std::fabs(v);
  // Whole numbers below 1e15 (quantities, round money, millisecond times, 0)
  // are their integer digits, which is what both paths below print for them,
  // without the decimal search. Adding and removing 2^52 rounds to an integer
  // exactly below 2^52, so it changes only what has a fraction.
  if (a < 1e15) {
    constexpr double kTwo52 = 4503599627370496.0;
    if ((a + kTwo52) - kTwo52 == a) {
      char* out = buf;
      if (v < 0) *out++ = '-';
      return static_cast<std::size_t>(std::to_chars(out, out + 24, static_cast<std::uint64_t>(a)).ptr - buf);
    }
  }
  if (a >= 1e-7 && a < 1e15) {
    char* out = buf;
    if (v < 0) *out++ = '-';
    if (const char* end = write_cents(out, a)) return static_cast<std::size_t>(end - buf);
    if (const std::size_t n = format_short_decimal(a, out)) return n + static_cast<std::size_t>(out - buf);
  }
  const auto fmt = a == 0 || (a >= 1e-7 && a < 1e21) ? std::chars_format::fixed : std::chars_format::scientific;
  auto [ptr, ec] = std::to_chars(buf, buf + 32, v, fmt);
  return ec == std::errc() ? static_cast<std::size_t>(ptr - buf) : 0;
}

std::string format_double(double v) {
  char buf[32];
  return std::string(buf, format_double(v, buf));
}

void append_double(std::string& out, double v) {
  char buf[32];
  out.append(buf, format_double(v, buf));
}

}  // namespace te
