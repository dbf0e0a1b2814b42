#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

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

TEST_CASE("Iso8601Writer writes format_iso8601_to's text for any run of timestamps", "[unit][core]") {
  std::vector<std::int64_t> ts;
  const std::int64_t day = 86'400'000'000'000;
  for (std::int64_t t = 18262 * day - 5 * 60'000'000'000; t < 18264 * day; t += 60'000'000'000) ts.push_back(t);  // minutes over midnights
  for (std::int64_t t = -3 * day; t < 2 * day; t += 7 * 3'600'000'000'000 + 1'000'000'000) ts.push_back(t);  // across 1970
  ts.push_back(18262 * day + 1'500'000);       // sub-second, then whole seconds of the same day
  ts.push_back(18262 * day + 2'000'000'000);
  ts.push_back(18262 * day + 999);
  ts.push_back(18261 * day);                    // back a day
  ts.push_back(-9'000'000'000'000'000'000);  // 1684 and 2255: near the ends of the int64 range
  ts.push_back(-9'000'000'000'000'000'000 + 61'000'000'000);
  ts.push_back(9'000'000'000'000'000'000);
  ts.push_back(18262 * day + 60'000'000'000);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20000; ++i) ts.push_back(static_cast<std::int64_t>(rng() % (40000 * static_cast<std::uint64_t>(day))) - 10000 * day);
  for (bool date_only : {false, true}) {
    Iso8601Writer w(date_only);
    for (const std::int64_t t : ts) {
      char a[48], b[48];
      const std::size_t na = w.write(a, t), nb = format_iso8601_to(b, t, date_only);
      INFO(t << " date_only " << date_only);
      REQUIRE(std::string(a, na) == std::string(b, nb));
    }
  }
}
