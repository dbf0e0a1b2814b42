// The real Yahoo files in ../shared/data (row counts from its PROVENANCE.md).
#include <catch2/catch.hpp>

#include "engine/core/time.hpp"
#include "engine/data/csv_loader.hpp"

using namespace te;
using namespace te::data;

namespace {

struct Expected {
  const char* file;
  std::size_t rows;
  const char* first_date;
  double first_open, first_high, first_low, first_close, first_volume;
  const char* last_date;
  double last_open, last_high, last_low, last_close, last_volume;
};

constexpr Expected kFiles[] = {
    {"nvda-1999-2014.txt", 4012, "1999-01-22", 1.750000, 1.953125, 1.552083, 1.640625, 67867200, "2014-12-31",
     20.400000, 20.510000, 19.990000, 20.049999, 4157500},
    {"orcl-1995-2014.txt", 5036, "1995-01-03", 2.179012, 2.191358, 2.117284, 2.117284, 36301200, "2014-12-31",
     45.450001, 45.560001, 44.970001, 44.970001, 13269200},
    {"orcl-2014.txt", 252, "2014-01-02", 37.779999, 38.029999, 37.549999, 37.840000, 18162100, "2014-12-31",
     45.450001, 45.560001, 44.970001, 44.970001, 13269200},
    {"yhoo-1996-2014.txt", 4713, "1996-04-12", 1.052083, 1.791667, 1.020833, 1.375000, 408720000, "2014-12-31",
     51.540001, 51.680000, 50.459999, 50.509998, 9305000},
};

}  // namespace

TEST_CASE("real data: shared Yahoo files load with the documented row counts and end bars", "[unit][data]") {
  for (const Expected& e : kFiles) {
    INFO(e.file);
    auto r = load_csv(std::string(TE_SHARED_DIR) + "/data/" + e.file, {});
    REQUIRE(r.ok());
    const model::BarSeries& s = *r;
    REQUIRE(s.size() == e.rows);
    CHECK(s.date_only());
    const model::Bar f = s.at(0), l = s.at(s.size() - 1);
    CHECK(f.ts_ns == *parse_iso8601_ns(e.first_date));
    CHECK(f.open == e.first_open);
    CHECK(f.high == e.first_high);
    CHECK(f.low == e.first_low);
    CHECK(f.close == e.first_close);
    CHECK(f.volume == e.first_volume);
    CHECK(l.ts_ns == *parse_iso8601_ns(e.last_date));
    CHECK(l.open == e.last_open);
    CHECK(l.high == e.last_high);
    CHECK(l.low == e.last_low);
    CHECK(l.close == e.last_close);
    CHECK(l.volume == e.last_volume);
    for (std::size_t i = 0; i < s.size(); ++i) REQUIRE(model::bar_problem(s.at(i)) == nullptr);
  }
}

TEST_CASE("real data: a date filter selects one calendar year", "[unit][data]") {
  LoadOptions o;
  o.start_ns = *parse_iso8601_ns("2014-01-01");
  o.end_ns = *parse_iso8601_ns("2015-01-01");
  auto r = load_csv(std::string(TE_SHARED_DIR) + "/data/nvda-1999-2014.txt", o);
  REQUIRE(r.ok());
  CHECK(r->size() == 252);
  CHECK(r->ts_ns().front() == *parse_iso8601_ns("2014-01-02"));
  CHECK(r->ts_ns().back() == *parse_iso8601_ns("2014-12-31"));
  o.start_ns = *parse_iso8601_ns("2010-01-01");
  o.end_ns = *parse_iso8601_ns("2011-01-01");
  CHECK(load_csv(std::string(TE_SHARED_DIR) + "/data/nvda-1999-2014.txt", o)->size() == 252);
}
