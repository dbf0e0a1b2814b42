#include <catch2/catch.hpp>

#include "engine/core/time.hpp"
#include "engine/data/interval.hpp"

using namespace te;
using namespace te::data;

TEST_CASE("intervals: parse and format", "[unit][data]") {
  CHECK(parse_interval_ns("1m") == kNsPerMin);
  CHECK(parse_interval_ns("15m") == 15 * kNsPerMin);
  CHECK(parse_interval_ns("4h") == 4 * kNsPerHour);
  CHECK(parse_interval_ns("1d") == kNsPerDay);
  CHECK(parse_interval_ns("1w") == 7 * kNsPerDay);
  CHECK(parse_interval_ns("30s") == 30 * kNsPerSec);
  for (const char* bad : {"", "m", "0m", "-1m", "1M", "1 m", "1.5h", "1y", "99999999999999d"})
    CHECK_FALSE(parse_interval_ns(bad));
  CHECK(format_interval(kNsPerMin) == "1m");
  CHECK(format_interval(60 * kNsPerMin) == "1h");
  CHECK(format_interval(14 * kNsPerDay) == "2w");
  CHECK(format_interval(90 * kNsPerSec) == "90s");
  CHECK(format_interval(1500) == "1500ns");
}
