// `trading-engine indicators --list` names the indicators written in Lua too
// (indicators/*.lua), with parameters, outputs and warm-up, and rejects a broken
// indicator file with its path (issue 4, point 6).
#include <catch2/catch.hpp>

#include <string>

#include "tests/support/temp_files.hpp"

using te::test::run_cli;
using te::test::TempDir;

namespace {

// The listing row of `name` ("" when absent).
std::string row_of(const std::string& listing, const std::string& name) {
  const std::string key = "\n" + name + " ";
  const auto p = listing.find(key);
  if (p == std::string::npos) return "";
  return listing.substr(p + 1, listing.find('\n', p + 1) - p - 1);
}

}  // namespace

TEST_CASE("indicators --list includes the Lua indicators with parameters and warm-up", "[ta][cli][lua_indicators]") {
  TempDir dir;
  const auto r = run_cli(dir, "indicators --list");
  REQUIRE(r.code == 0);
  const std::string hma = row_of(r.out, "hma");
  INFO(r.out);
  REQUIRE_FALSE(hma.empty());
  CHECK(hma.find("period=20 [source=close]") != std::string::npos);
  CHECK(hma.find(" 22 ") != std::string::npos);  // (20 - 1) + (floor(sqrt(20)) - 1)
  CHECK(hma.find("indicators/hull_ma.lua") != std::string::npos);
  const std::string kama = row_of(r.out, "kama");
  REQUIRE_FALSE(kama.empty());
  CHECK(kama.find("period=10 fast=2 slow=30 [source=close]") != std::string::npos);
  CHECK(kama.find("indicators/kama.lua") != std::string::npos);
  CHECK_FALSE(row_of(r.out, "sma").empty());  // the native ones are still there
}

TEST_CASE("indicators --list reads --indicators-dir and names a broken file", "[ta][cli][lua_indicators]") {
  TempDir dir;
  te::test::write_file(dir.file("ratio.lua"),
                       "return { name = 'hl_ratio', summary = 'high / low', takes_source = false,\n"
                       "  params = { { name = 'smooth', default = 1, min = 1, max = 10, integer = true } },\n"
                       "  outputs = { 'ratio' }, warmup = 0,\n"
                       "  new = function(p) return { update = function(_, x, bar) return bar.high / bar.low end } end }\n");
  auto r = run_cli(dir, "indicators --list --indicators-dir " + dir.path().string());
  REQUIRE(r.code == 0);
  const std::string row = row_of(r.out, "hl_ratio");
  CHECK(row.find("smooth=1") != std::string::npos);
  CHECK(row.find("ratio") != std::string::npos);
  CHECK(row_of(r.out, "hma").empty());  // only the given folder's files

  te::test::write_file(dir.file("zz_broken.lua"), "return { name = 'sma', new = function() end }\n");
  r = run_cli(dir, "indicators --list --indicators-dir " + dir.path().string());
  CHECK(r.code == 1);
  CHECK(r.err.find("zz_broken.lua") != std::string::npos);
  CHECK(r.err.find("taken by a native indicator") != std::string::npos);
}
