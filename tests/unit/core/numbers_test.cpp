#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>
#include <cmath>
#include <charconv>
#include <cstring>
#include <vector>
#include <string>

#include "engine/core/numbers.hpp"

using namespace te;

TEST_CASE("parse_double equals strtod bit for bit", "[unit][core]") {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> digits(1, 20), decimals(0, 12);
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    if (rng() % 4 == 0) s += '-';
    const int nd = digits(rng);
    for (int k = 0; k < nd; ++k) s += static_cast<char>('0' + rng() % 10);
    const int nf = decimals(rng);
    if (nf) {
      s += '.';
      for (int k = 0; k < nf; ++k) s += static_cast<char>('0' + rng() % 10);
    }
    if (rng() % 10 == 0) {
      s += 'e';
      s += std::to_string(static_cast<int>(rng() % 61) - 30);
    }
    double got = 0;
    REQUIRE(parse_double(s, got));
    const double want = std::strtod(s.c_str(), nullptr);
    INFO(s);
    REQUIRE(std::memcmp(&got, &want, sizeof got) == 0);
  }
}

TEST_CASE("parse_double rejects what is not a finite number", "[unit][core]") {
  double v = 0;
  for (const char* bad : {"", "-", ".", "1.2.3", "1e", "abc", "nan", "inf", "1,5", " 1", "1 ", "0x10", "1e999"})
    CHECK_FALSE(parse_double(bad, v));
  CHECK(parse_double("1.953125", v));
  CHECK(v == 1.953125);
  CHECK(parse_double("+3", v));
  CHECK(v == 3);
}

TEST_CASE("format_double is shortest round-trip", "[unit][core]") {
  CHECK(format_double(0.1) == "0.1");
  CHECK(format_double(131883.482663) == "131883.482663");
  CHECK(format_double(-0.0) == "0");
  CHECK(format_double(1e-5) == "0.00001");
  CHECK(format_double(100000) == "100000");
  CHECK(format_double(1e-8) == "1e-08");
  CHECK(format_double(1.5e21) == "1.5e+21");
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const double x = std::ldexp(static_cast<double>(rng() >> 11), static_cast<int>(rng() % 200) - 100);
    double back = 0;
    REQUIRE(parse_double(format_double(x), back));
    REQUIRE(back == x);
  }
}

TEST_CASE("format_double's short-decimal path prints what to_chars prints", "[unit][core]") {
  // The general path alone, as format_double printed every number before the
  // short-decimal path (prices, quantities, money) was added.
  auto reference = [](double v) {
    if (v == 0) v = 0.0;
    const double a = std::fabs(v);
    const auto fmt = a == 0 || (a >= 1e-7 && a < 1e21) ? std::chars_format::fixed : std::chars_format::scientific;
    char buf[64];
    return std::string(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v, fmt).ptr - buf));
  };
  std::mt19937_64 rng(11);
  std::vector<double> values = {1e-7, 1.5e-7, 9.99999e-8, 0.1, 0.30000000000000004, 100.04, 100.10000000000001, 1e15,
                                999999999999999.9, 999999999999999.0, 123456789012.345, 4503599627370497.0, 1e14 + 0.5,
                                0.000123, 1000, 1e21, 5e-324, 0, 1, 2, 9, 10, 99, 100, 1000000, 999999999999999.0,
                                1577836800000.0, 4503599627370495.0, 4503599627370496.0, 1e15 - 1, 1e15 + 2,
                                0.5, 1.5, 2.5, 1e-300, 9007199254740991.0};
  for (int i = 0; i < 200000; ++i) {
    const double price = static_cast<double>(rng() % 10'000'000) / 100;  // two decimals
    const double qty = static_cast<double>(rng() % 100000) / std::pow(10.0, static_cast<double>(rng() % 9));
    values.push_back(price);
    values.push_back(qty);
    values.push_back(price * qty);                   // a position's value
    values.push_back(1'000'000 - price * 1.001);     // cash after a fill with commission
    values.push_back(price * static_cast<double>(rng() % 1000) / 1000.0);
    values.push_back(std::ldexp(static_cast<double>(rng() >> 11), static_cast<int>(rng() % 120) - 70));
    values.push_back(static_cast<double>(rng() % 1'000'000'000'000'000ULL) / std::pow(10.0, static_cast<double>(rng() % 16)));
    values.push_back(static_cast<double>(rng() % 2'000'000'000'000'000ULL));  // whole numbers either side of 1e15
    values.push_back(static_cast<double>(rng() % 100000));
  }
  std::size_t mismatches = 0;
  for (const double x : values) {
    for (const double v : {x, -x}) {
      if (format_double(v) != reference(v) && ++mismatches <= 5) FAIL_CHECK(v << ": " << format_double(v) << " vs " << reference(v));
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("format_double's 16- and 17-digit path prints what to_chars prints", "[unit][core]") {
  // The values the exact-integer shortest search (format_shortest_fixed) takes:
  // everything in [1e-7, 1e15) that is not whole, not cents and needs more
  // than 15 digits. Compared with to_chars (Ryu) over every binade of the
  // range, the binades' first significands (their smaller gap below), values
  // a few ulps off cents and off short decimals, drawdown-like fractions, and
  // multiples of small powers of two near 1e15 (where two shortest candidates
  // can be equally near, the tie to even).
  auto reference = [](double v) {
    char buf[64];
    return std::string(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed).ptr - buf));
  };
  std::mt19937_64 rng(17);
  std::vector<double> values;
  for (int e2 = -25; e2 <= 50; ++e2) {
    for (int i = 0; i < 4000; ++i) values.push_back(std::ldexp(1.0 + static_cast<double>(rng() >> 12) * 0x1p-52, e2));
    const double first = std::ldexp(1.0, e2);  // the binade's smallest significand
    for (int k = -3; k <= 3; ++k) values.push_back(first + k * std::ldexp(0x1p-52, e2));
  }
  for (int i = 0; i < 100000; ++i) {
    const double cents = static_cast<double>(rng() % 100'000'000'000ULL) / 100;
    double off = cents;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) off = std::nextafter(off, (rng() & 1) ? 1e300 : 0.0);
    values.push_back(off);
    const double peak = 1e6 * (1 + static_cast<double>(rng() % 100000) / 1000);
    const double equity = peak * static_cast<double>(rng() % 1000000) / 1e6;
    values.push_back((peak - equity) / peak);  // a drawdown
    values.push_back(equity * (1 - 0.001) + static_cast<double>(rng() % 1000) / 7);
    const double shortd = static_cast<double>(rng() % 1'000'000'000'000ULL) / std::pow(10.0, static_cast<double>(rng() % 12));
    values.push_back(std::nextafter(shortd, 1e300));
    values.push_back(std::ldexp(static_cast<double>(rng() % (1ULL << 53)), -static_cast<int>(3 + rng() % 6)));
  }
  std::size_t mismatches = 0, checked = 0;
  for (const double x : values) {
    if (!(x >= 1e-7 && x < 1e15) || x == std::floor(x)) continue;
    ++checked;
    for (const double v : {x, -x}) {
      if (format_double(v) != reference(v) && ++mismatches <= 5) FAIL_CHECK(v << ": " << format_double(v) << " vs " << reference(v));
    }
  }
  CHECK(checked > 700000);
  CHECK(mismatches == 0);
}
