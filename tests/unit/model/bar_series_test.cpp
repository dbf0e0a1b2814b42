#include <catch2/catch.hpp>

#include <string_view>

#include "engine/model/bar_series.hpp"

using namespace te::model;

TEST_CASE("bar series builder keeps quote columns only when present", "[unit][model]") {
  BarSeriesBuilder b;
  Bar x;
  x.ts_ns = 1;
  x.open = x.high = x.low = x.close = 10;
  b.push(x);
  x.ts_ns = 2;
  x.bid = 9.5;
  x.ask = 10.5;
  b.push(x);
  BarSeries s = std::move(b).build("TEST", 7);
  REQUIRE(s.size() == 2);
  CHECK(s.has_quotes());
  CHECK(std::isnan(s.at(0).bid));
  CHECK(s.at(1).ask == 10.5);
  CHECK(s.instrument() == 7);
  BarSeries t = s.slice_time(2, 3);
  REQUIRE(t.size() == 1);
  CHECK(t.at(0).ts_ns == 2);
  CHECK(bar_problem(s.at(0)) == nullptr);
  Bar bad = x;
  bad.high = 9;
  CHECK(bar_problem(bad) != nullptr);
  // Live klines and quotes go through bar_problem: a price of 0 cannot be filled.
  Bar zero{};
  CHECK(bar_problem(zero) == std::string_view("prices must be above 0"));
  Bar quoted = s.at(1);
  REQUIRE(bar_problem(quoted) == nullptr);
  quoted.bid = 0;
  CHECK(bar_problem(quoted) != nullptr);
}
