// copy_short and equal_short (engine/core/copy_short.hpp) against memcpy and
// memcmp: every length 0..70 (each of their size classes and the memcpy/memcmp
// fall-backs), a difference at every byte of the range (every bit flipped in
// turn), and bytes past the range that must be neither read as part of it nor
// written. The journal recorder decides by equal_short whether a reused order
// record keeps its tag: a wrong "equal" leaves the last order's tag in the
// journal.
#include <catch2/catch.hpp>

#include <cstring>

#include "engine/core/copy_short.hpp"

TEST_CASE("equal_short is memcmp(...) == 0 at every length and byte", "[unit][core]") {
  char a[80], b[80];
  for (std::size_t n = 0; n <= 70; ++n) {
    for (std::size_t i = 0; i < sizeof a; ++i) a[i] = b[i] = static_cast<char>('a' + i % 26);
    INFO("n " << n);
    REQUIRE(te::equal_short(a, b, n));
    for (std::size_t pos = 0; pos < n; ++pos) {
      for (int bit = 0; bit < 8; ++bit) {
        b[pos] = static_cast<char>(b[pos] ^ (1 << bit));
        INFO("pos " << pos << ", bit " << bit);
        REQUIRE(!te::equal_short(a, b, n));
        b[pos] = static_cast<char>(b[pos] ^ (1 << bit));
      }
    }
    b[n] = static_cast<char>(b[n] ^ 1);  // past the range: not compared
    REQUIRE(te::equal_short(a, b, n));
  }
}

TEST_CASE("copy_short copies exactly n bytes at every length", "[unit][core]") {
  char from[80], to[96];
  for (std::size_t i = 0; i < sizeof from; ++i) from[i] = static_cast<char>(1 + i);
  for (std::size_t n = 0; n <= 70; ++n) {
    std::memset(to, 0x5a, sizeof to);
    te::copy_short(to + 8, from, n);
    INFO("n " << n);
    REQUIRE(std::memcmp(to + 8, from, n) == 0);
    for (std::size_t i = 0; i < 8; ++i) REQUIRE(to[i] == 0x5a);
    for (std::size_t i = 8 + n; i < sizeof to; ++i) REQUIRE(to[i] == 0x5a);
  }
}
