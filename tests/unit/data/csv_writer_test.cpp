#include <catch2/catch.hpp>

#include "engine/core/time.hpp"
#include "engine/data/bar_generator.hpp"
#include "engine/data/csv_loader.hpp"
#include "engine/data/csv_writer.hpp"
#include "tests/unit/data/data_test_support.hpp"

using namespace te;
using namespace te::data;

namespace {

void require_same(const model::BarSeries& a, const model::BarSeries& b) {
  REQUIRE(a.size() == b.size());
  REQUIRE(a.has_quotes() == b.has_quotes());
  REQUIRE(a.has_quote_sizes() == b.has_quote_sizes());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const model::Bar x = a.at(i), y = b.at(i);
    REQUIRE(x.ts_ns == y.ts_ns);
    REQUIRE(x.open == y.open);
    REQUIRE(x.high == y.high);
    REQUIRE(x.low == y.low);
    REQUIRE(x.close == y.close);
    REQUIRE(x.volume == y.volume);
    REQUIRE((x.bid == y.bid || (std::isnan(x.bid) && std::isnan(y.bid))));
    REQUIRE((x.ask == y.ask || (std::isnan(x.ask) && std::isnan(y.ask))));
    REQUIRE((x.bid_size == y.bid_size || (std::isnan(x.bid_size) && std::isnan(y.bid_size))));
    REQUIRE((x.ask_size == y.ask_size || (std::isnan(x.ask_size) && std::isnan(y.ask_size))));
  }
}

}  // namespace

TEST_CASE("csv writer: write then load gives back every bit", "[unit][data]") {
  test::TempDir dir;
  model::BarSeriesBuilder b;
  const double awkward[] = {0.1, 1.0 / 3.0, 123456.789012345678, 5e-324, 1e21, 0.30000000000000004};
  std::int64_t ts = *parse_iso8601_ns("2021-06-01T09:30:00Z");
  for (double v : awkward) {
    model::Bar bar;
    bar.ts_ns = ts;
    bar.open = bar.high = bar.low = bar.close = v;
    bar.volume = v;
    b.push(bar);
    ts += 1500 * kNsPerMs;  // sub-second timestamps take the general formatter
  }
  const auto series = std::move(b).build("X", 1);
  const std::string path = dir.file("out.csv");
  REQUIRE(write_csv(series, path).ok());
  auto back = load_csv(path, {});
  REQUIRE(back.ok());
  require_same(series, *back);
  CHECK_THAT(test::read_file(path), Catch::StartsWith("timestamp,open,high,low,close,volume\n"
                                                      "2021-06-01T09:30:00Z,0.1,0.1,0.1,0.1,0.1\n"
                                                      "2021-06-01T09:30:01.500Z,"));
}

TEST_CASE("csv writer: daily series are written as dates, quotes as optional cells", "[unit][data]") {
  test::TempDir dir;
  GeneratorOptions g;
  g.interval_ns = kNsPerDay;
  g.quotes = true;
  auto series = generate_bars(g, 50);
  REQUIRE(series.ok());
  const std::string path = dir.file("daily.csv");
  REQUIRE(write_csv(*series, path).ok());
  const std::string text = test::read_file(path);
  CHECK_THAT(text, Catch::StartsWith("timestamp,open,high,low,close,volume,bid,ask,bid_size,ask_size\n2020-01-01,"));
  auto back = load_csv(path, {});
  REQUIRE(back.ok());
  require_same(*series, *back);

  // A bar without a quote among quoted ones: empty cells, read back as NaN.
  model::BarSeriesBuilder b;
  model::Bar x;
  x.ts_ns = 0;
  x.open = x.high = x.low = x.close = 1;
  b.push(x);
  x.ts_ns = kNsPerDay;
  x.bid = 0.5;
  x.ask = 1.5;
  b.push(x);
  const auto mixed = std::move(b).build("M", 2);
  REQUIRE(write_csv(mixed, path).ok());
  CHECK(test::read_file(path) == "timestamp,open,high,low,close,volume,bid,ask\n1970-01-01,1,1,1,1,0,,\n"
                                 "1970-01-02,1,1,1,1,0,0.5,1.5\n");
  require_same(mixed, *load_csv(path, {}));
}

TEST_CASE("csv writer: unwritable path is an io error naming it", "[unit][data]") {
  model::BarSeriesBuilder b;
  model::Bar x;
  x.open = x.high = x.low = x.close = 1;
  b.push(x);
  const Status s = write_csv(std::move(b).build("X", 0), "/nonexistent-dir/out.csv");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == Errc::io);
  CHECK(s.error().message == "/nonexistent-dir/out.csv: cannot create: No such file or directory");
}
