// FmtWhole (engine/core/fmt_whole.hpp) prints every double exactly as fmt's
// "{}" does: the refusal texts that use it are in report.json and must not
// change by a byte.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "engine/core/fmt_whole.hpp"

namespace {

std::string plain(double v) { return fmt::format(FMT_COMPILE("<{}>"), v); }
std::string whole(double v) {
  fmt::basic_memory_buffer<char, 64> b;
  fmt::format_to(std::back_inserter(b), FMT_COMPILE("<{}>"), te::FmtWhole{v});
  return std::string(b.data(), b.size());
}

}  // namespace

TEST_CASE("FmtWhole prints every double as fmt's {} does", "[core]") {
  const double inf = std::numeric_limits<double>::infinity();
  for (double v : {0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 1000.0, 100.25, 999999999999999.0, 1e15, 1e15 + 2, 1e16, 1e21,
                   4503599627370496.0, 9007199254740993.0, 1e-5, 5e-324, inf, -inf,
                   std::numeric_limits<double>::quiet_NaN()}) {
    INFO(plain(v));
    CHECK(whole(v) == plain(v));
  }
  std::mt19937_64 g(7);
  for (int i = 0; i < 200000; ++i) {
    // Whole numbers of every size, and any bit pattern at all.
    const double w = std::floor(std::ldexp(static_cast<double>(g() >> 11), -static_cast<int>(g() % 60)));
    const double any = std::bit_cast<double>(g());
    REQUIRE(whole(w) == plain(w));
    REQUIRE(whole(-w) == plain(-w));
    REQUIRE(whole(any) == plain(any));
  }
}
