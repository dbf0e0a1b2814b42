#include <catch2/catch.hpp>

#include "engine/core/time.hpp"

using namespace te;

TEST_CASE("iso8601 dates and datetimes parse to UTC nanoseconds", "[unit][core]") {
  CHECK(parse_iso8601_ns("1970-01-01") == 0);
  CHECK(parse_iso8601_ns("1999-01-22") == days_from_civil(1999, 1, 22) * kNsPerDay);
  CHECK(parse_iso8601_ns("2024-02-29T12:30:00Z") == days_from_civil(2024, 2, 29) * kNsPerDay + 12 * kNsPerHour + 30 * kNsPerMin);
  CHECK(parse_iso8601_ns("2024-02-29 12:30") == parse_iso8601_ns("2024-02-29T12:30:00"));
  CHECK(parse_iso8601_ns("2024-01-01T01:00:00+01:00") == parse_iso8601_ns("2024-01-01T00:00:00Z"));
  CHECK(parse_iso8601_ns("2024-01-01T00:00:00.250Z") == *parse_iso8601_ns("2024-01-01") + 250 * kNsPerMs);
  CHECK_FALSE(parse_iso8601_ns("2023-02-29"));
  CHECK_FALSE(parse_iso8601_ns("2023-13-01"));
  CHECK_FALSE(parse_iso8601_ns("2023-1-01"));
  CHECK_FALSE(parse_iso8601_ns("2023-01-01T25:00"));
  CHECK_FALSE(parse_iso8601_ns("2023-01-01x"));
  CHECK_FALSE(parse_iso8601_ns(""));
}

TEST_CASE("iso8601 formatting round-trips", "[unit][core]") {
  CHECK(format_iso8601(*parse_iso8601_ns("1999-05-24"), true) == "1999-05-24");
  CHECK(format_iso8601(*parse_iso8601_ns("2021-03-04T05:06:07Z")) == "2021-03-04T05:06:07Z");
  CHECK(format_iso8601(*parse_iso8601_ns("2021-03-04T05:06:07.123Z")) == "2021-03-04T05:06:07.123Z");
  CHECK(format_iso8601(-kNsPerDay, true) == "1969-12-31");
  for (std::int64_t d = -800000; d < 800000; d += 997) {
    const CivilDate c = civil_from_days(d);
    REQUIRE(days_from_civil(c.year, c.month, c.day) == d);
  }
  CHECK(weekday(*parse_iso8601_ns("2026-11-23")) == 0);  // a Monday
}
