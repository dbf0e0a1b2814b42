// FmtShort (engine/core/fmt_short.hpp) prints every double exactly as fmt's
// "{}" does: the refusal texts that use it are in report.json and must not
// change by a byte.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "engine/core/fmt_short.hpp"

namespace {

std::string plain(double v) { return fmt::format(FMT_COMPILE("<{}>"), v); }
std::string short_form(double v) {
  fmt::basic_memory_buffer<char, 64> b;
  fmt::format_to(std::back_inserter(b), FMT_COMPILE("<{}>"), te::FmtShort{v});
  return std::string(b.data(), b.size());
}

}  // namespace

TEST_CASE("FmtShort prints every double as fmt's {} does", "[core]") {
  const double inf = std::numeric_limits<double>::infinity();
  for (double v : {0.0, 1.0, 0.5, 1.5, 1000.0, 100.25, 101.2, 0.01, 0.05, 0.005, 0.99, 999999999999.99,
                   9999999999999.99, 1e13, 1e13 + 0.5, 999999999999999.0, 1e15, 1e15 + 2, 1e16, 1e21,
                   4503599627370496.0, 9007199254740993.0, 1e-5, 5e-324, inf, std::numeric_limits<double>::quiet_NaN()}) {
    INFO(plain(v));
    CHECK(short_form(v) == plain(v));
    CHECK(short_form(-v) == plain(-v));
  }
  std::mt19937_64 g(7);
  for (int i = 0; i < 100000; ++i) {
    // Decimals with 0 to 3 places and 1 to 15 digits, whole numbers of every
    // size, and any bit pattern at all.
    const std::uint64_t m = g() % static_cast<std::uint64_t>(std::pow(10.0, 1 + static_cast<int>(g() % 15)));
    for (double v : {m / 100.0, m / 1000.0, m / 10.0, static_cast<double>(m),
                     std::floor(std::ldexp(static_cast<double>(g() >> 11), -static_cast<int>(g() % 60))),
                     std::bit_cast<double>(g())}) {
      REQUIRE(short_form(v) == plain(v));
      REQUIRE(short_form(-v) == plain(-v));
    }
  }
}
