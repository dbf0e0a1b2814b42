#include "engine/core/numbers.hpp"

#include <algorithm>
#include <array>
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

constexpr std::uint64_t kPow10Int[] = {1,
                                       10,
                                       100,
                                       1000,
                                       10000,
                                       100000,
                                       1000000,
                                       10000000,
                                       100000000,
                                       1000000000,
                                       10000000000,
                                       100000000000,
                                       1000000000000,
                                       10000000000000,
                                       100000000000000,
                                       1000000000000000,
                                       10000000000000000,
                                       100000000000000000,
                                       1000000000000000000};

// 5^k for k = 0..27 (5^27 < 2^63).
constexpr auto kPow5 = [] {
  std::array<std::uint64_t, 28> t{};
  t[0] = 1;
  for (std::size_t k = 1; k < t.size(); ++k) t[k] = t[k - 1] * 5;
  return t;
}();

constexpr auto kDigitPairs = [] {
  std::array<char, 200> t{};
  for (std::size_t i = 0; i < 100; ++i) {
    t[2 * i] = static_cast<char>('0' + i / 10);
    t[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

// The 9 digits of x < 1e9, zero-padded, at `at`.
inline void put_digits9(char* at, std::uint64_t x) noexcept {
  const auto v = static_cast<std::uint32_t>(x);
  at[0] = static_cast<char>('0' + v / 100'000'000);
  std::uint32_t r = v % 100'000'000;
  const std::uint32_t a = r / 1'000'000, b = r / 10'000 % 100, c = r / 100 % 100, d = r % 100;
  std::memcpy(at + 1, &kDigitPairs[2 * a], 2);
  std::memcpy(at + 3, &kDigitPairs[2 * b], 2);
  std::memcpy(at + 5, &kDigitPairs[2 * c], 2);
  std::memcpy(at + 7, &kDigitPairs[2 * d], 2);
}

// The shortest round-trip decimal of `a` (positive, 1e-7 <= a < 1e15, not a
// whole number), in the fixed notation to_chars prints, by exact integer
// arithmetic: what to_chars' Ryu search finds, for a fraction of its cost (the
// 16- and 17-digit values format_short_decimal cannot prove, such as money
// that drifted off the cent, 96857.59999999993, and drawdown fractions).
//
// a = m * 2^q exactly. The doubles that read back as `a` are those within half
// a gap of it: the interval from (4m - 2) * 2^(q-2) (4m - 1 when m is the
// smallest significand of its binade: the gap below is half the gap above) to
// (4m + 2) * 2^(q-2), its ends included when m is even (a tie reads back as
// the even significand). With K decimals (K = 16 - e10, e10 = floor(e2 *
// log10 2) <= floor(log10 a) for a in [2^e2, 2^(e2+1))) the interval is
// [L, H] in units of 10^-K: L, H in [1e16, 2e17], so it holds an integer (its
// width is more than 1.1 units), and (4m + 2) * 5^K < 2^111 fits 128 bits.
// The shortest decimals are the multiples of the largest 10^t with one in
// [L, H]; of those the one nearest to a (ties to even), as the C++ standard
// and Ryu choose, restricted to [L, H]. Returns 0 if the arguments are out of
// the range argued here (the caller then takes to_chars).
std::size_t format_shortest_fixed(double a, char* buf) noexcept {
  __extension__ typedef unsigned __int128 u128;
  std::uint64_t bits;
  std::memcpy(&bits, &a, sizeof bits);
  const auto biased = static_cast<int>(bits >> 52);
  const std::uint64_t fraction = bits & ((std::uint64_t{1} << 52) - 1);
  if (biased == 0 || biased >= 2047) return 0;  // subnormal or not finite
  const std::uint64_t m = fraction | (std::uint64_t{1} << 52);
  const int e2 = biased - 1023;
  const int q = e2 - 52;
  const int e10 = (e2 * 78913) >> 18;  // floor(e2 * log10 2) for |e2| <= 1650 (Ryu's log10Pow2)
  const int k = 16 - e10;
  const int sh = 2 - q - k;  // value in units of 10^-K = X * 2^-sh
  if (k < 0 || k >= static_cast<int>(kPow5.size()) || sh <= 0 || sh >= 64) return 0;
  const std::uint64_t p5 = kPow5[static_cast<std::size_t>(k)];
  const bool even = (m & 1) == 0;
  const u128 lo = static_cast<u128>(4 * m - (fraction == 0 && biased > 1 ? 1 : 2)) * p5;
  const u128 hi = static_cast<u128>(4 * m + 2) * p5;
  const u128 mid = static_cast<u128>(4 * m) * p5;
  const std::uint64_t mask = (std::uint64_t{1} << sh) - 1;
  // L = the least integer in the interval, H the greatest.
  std::uint64_t l = static_cast<std::uint64_t>(lo >> sh);
  if ((static_cast<std::uint64_t>(lo) & mask) != 0 || !even) ++l;
  std::uint64_t h = static_cast<std::uint64_t>(hi >> sh);
  if ((static_cast<std::uint64_t>(hi) & mask) == 0 && !even) --h;
  if (l > h) return 0;
  int t = 0;  // [l, h]: the multiples of 10^t in [L, H], divided by 10^t
  for (;;) {
    const std::uint64_t hq = h / 10, lq = (l + 9) / 10;
    if (hq < lq) break;
    h = hq;
    l = lq;
    ++t;
  }
  // The multiple nearest to the value mid * 2^-sh: its quotient by 10^t
  // rounded to nearest, ties to even, kept within [l, h].
  const std::uint64_t p = kPow10Int[t];
  const auto whole = static_cast<std::uint64_t>(mid >> sh);
  const std::uint64_t rem = static_cast<std::uint64_t>(mid) & mask;
  std::uint64_t c = whole / p;
  const std::uint64_t r = whole - c * p;
  const u128 twice = ((static_cast<u128>(r) << sh) + rem) << 1;  // 2 * (the part below 10^t), in 2^-sh
  const u128 unit = static_cast<u128>(p) << sh;
  if (twice > unit || (twice == unit && (c & 1) != 0)) ++c;
  c = std::clamp(c, l, h);
  const int decimals = k - t;
  if (decimals <= 0) return 0;  // a whole number: not this function's (it is not one)
  // c < 1e18: its 18 digits, zero-padded, after 22 zeros (enough for the
  // leading zeros of 0.000000ddd), two digits per step without a loop.
  char digits[72];
  std::memset(digits, '0', sizeof digits);
  put_digits9(digits + 22, c / 1'000'000'000);
  put_digits9(digits + 31, c % 1'000'000'000);
  // L >= 1e16 and H < 2e17, so c has 17 - t or 18 - t digits (t <= 17).
  const int n = 17 - t + (c >= kPow10Int[17 - t] ? 1 : 0);
  // The text in a local buffer by fixed-size copies, then copied out by two
  // overlapping fixed-size copies (it is 3 to 27 chars long).
  char text[72];
  std::size_t len;
  if (n > decimals) {  // 123.45
    const char* first = digits + 40 - n;
    const int int_digits = n - decimals;
    std::memcpy(text, first, 32);
    text[int_digits] = '.';
    std::memcpy(text + int_digits + 1, first + int_digits, 32);
    len = static_cast<std::size_t>(n) + 1;
  } else {  // 0.0012
    text[0] = '0';
    text[1] = '.';
    std::memcpy(text + 2, digits + 40 - decimals, 32);
    len = static_cast<std::size_t>(decimals) + 2;
  }
  if (len >= 16) {
    std::memcpy(buf, text, 16);
    std::memcpy(buf + len - 16, text + len - 16, 16);
  } else if (len >= 8) {
    std::memcpy(buf, text, 8);
    std::memcpy(buf + len - 8, text + len - 8, 8);
  } else {
    for (std::size_t i = 0; i < len; ++i) buf[i] = text[i];
  }
  return len;
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
    if (const std::size_t n = format_shortest_fixed(a, out)) return n + static_cast<std::size_t>(out - buf);
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
