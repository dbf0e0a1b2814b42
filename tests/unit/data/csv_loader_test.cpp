// The three formats, the tolerances (CRLF, BOM, header case, trailing blank
// lines, no final newline) and exact number parsing.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/time.hpp"
#include "engine/data/csv_loader.hpp"
#include "engine/data/random.hpp"
#include "tests/unit/data/data_test_support.hpp"

using namespace te;
using namespace te::data;

namespace {

model::BarSeries parse_ok(const std::string& text, const LoadOptions& options = {}, CsvFormat* format = nullptr) {
  auto r = parse_csv(text, "t.csv", options, format);
  if (!r.ok()) FAIL(r.error().message);
  return *r;
}

std::int64_t iso(const char* s) { return *parse_iso8601_ns(s); }

}  // namespace

TEST_CASE("csv: Yahoo format, Adj Close ignored", "[unit][data]") {
  CsvFormat f{};
  const auto s = parse_ok(
      "Date,Open,High,Low,Close,Adj Close,Volume\n"
      "2014-01-02,37.779999,38.029999,37.549999,37.840000,35.166069,18162100\n"
      "2014-01-03,37.650002,37.860001,37.560001,37.619999,35.072853,11693900\n",
      {}, &f);
  CHECK(f == CsvFormat::yahoo);
  REQUIRE(s.size() == 2);
  const auto b = s.at(0);
  CHECK(b.ts_ns == iso("2014-01-02"));
  CHECK(b.open == 37.779999);
  CHECK(b.high == 38.029999);
  CHECK(b.low == 37.549999);
  CHECK(b.close == 37.840000);
  CHECK(b.volume == 18162100);
  CHECK_FALSE(s.has_quotes());
  CHECK(s.date_only());
  CHECK(s.at(1).close == 37.619999);
}

TEST_CASE("csv: generic format with dates, datetimes and epoch milliseconds", "[unit][data]") {
  CsvFormat f{};
  const auto s = parse_ok(
      "timestamp,open,high,low,close,volume\n"
      "2020-01-01,1,2,0.5,1.5,10\n"
      "2020-01-01T00:01:00Z,1,2,0.5,1.5,10\n"
      "2020-01-01 00:02:00,1,2,0.5,1.5,10\n"
      "2020-01-01T00:02:30.250Z,1,2,0.5,1.5,10\n"
      "2020-01-01T01:03:00+01:00,1,2,0.5,1.5,10\n"
      "1577837040000,1,2,0.5,1.5,0\n",
      {}, &f);
  CHECK(f == CsvFormat::generic);
  REQUIRE(s.size() == 6);
  CHECK(s.ts_ns()[0] == iso("2020-01-01"));
  CHECK(s.ts_ns()[1] == iso("2020-01-01T00:01:00Z"));
  CHECK(s.ts_ns()[2] == iso("2020-01-01T00:02:00Z"));
  CHECK(s.ts_ns()[3] == iso("2020-01-01T00:02:30Z") + 250 * kNsPerMs);
  CHECK(s.ts_ns()[4] == iso("2020-01-01T00:03:00Z"));
  CHECK(s.ts_ns()[5] == iso("2020-01-01T00:04:00Z"));
  CHECK_FALSE(s.date_only());
  CHECK(s.volume()[5] == 0);
}

TEST_CASE("csv: generic format with quotes and sizes, empty quote cells mean no quote", "[unit][data]") {
  const auto s = parse_ok(
      "timestamp,open,high,low,close,volume,bid,ask,bid_size,ask_size\n"
      "2020-01-01,1,2,0.5,1.5,10,1.4,1.6,3,4\n"
      "2020-01-02,1,2,0.5,1.5,10,,,,\n");
  REQUIRE(s.has_quotes());
  REQUIRE(s.has_quote_sizes());
  CHECK(s.at(0).bid == 1.4);
  CHECK(s.at(0).ask == 1.6);
  CHECK(s.at(0).bid_size == 3);
  CHECK(s.at(0).ask_size == 4);
  CHECK_FALSE(s.at(1).has_quote());
  CHECK(std::isnan(s.at(1).bid_size));

  const auto q = parse_ok("timestamp,open,high,low,close,volume,bid,ask\n2020-01-01,1,2,0.5,1.5,10,1.4,1.6\n");
  CHECK(q.has_quotes());
  CHECK_FALSE(q.has_quote_sizes());
}

TEST_CASE("csv: Binance klines format, bar time = open_time", "[unit][data]") {
  CsvFormat f{};
  const auto s = parse_ok(std::string(kBinanceKlinesHeader) +
                              "\n1577836800000,7195.24,7196.25,7183.14,7186.68,51.642812,1577836859999,"
                              "371038.81,493,19.8,142277.1\n"
                              "1577836860000,7187.67,7188.06,7182.71,7184.03,7.248148,1577836919999,"
                              "52066.37,135,2.1,15111.4\n",
                          {}, &f);
  CHECK(f == CsvFormat::binance_klines);
  REQUIRE(s.size() == 2);
  CHECK(s.ts_ns()[0] == iso("2020-01-01T00:00:00Z"));
  CHECK(s.ts_ns()[1] == iso("2020-01-01T00:01:00Z"));
  CHECK(s.at(0).open == 7195.24);
  CHECK(s.at(0).volume == 51.642812);
  CHECK(s.at(1).close == 7184.03);
}

TEST_CASE("csv: tolerates CRLF, BOM, header case and spacing, trailing blank lines, no final newline",
          "[unit][data]") {
  const std::string rows = "2020-01-01,1,2,0.5,1.5,10\r\n2020-01-02,1,2,0.5,1.5,11\r\n";
  const auto a = parse_ok("\xEF\xBB\xBFTimeStamp, Open ,HIGH,low,Close,Volume\r\n" + rows + "\r\n\r\n  \n");
  REQUIRE(a.size() == 2);
  CHECK(a.volume()[1] == 11);
  const auto b = parse_ok("timestamp,open,high,low,close,volume\n2020-01-01,1,2,0.5,1.5,10\n2020-01-02,1,2,0.5,1.5,11");
  REQUIRE(b.size() == 2);
  CHECK(b.volume()[1] == 11);
  const auto c = parse_ok("timestamp,open,high,low,close,volume\r\n2020-01-02,1,2,0.5,1.5,11\r\n");
  CHECK(c.size() == 1);
  // "Date,...,Volume" without Adj Close is the generic format with a date column.
  CsvFormat f{};
  const auto d = parse_ok("Date,Open,High,Low,Close,Volume\n2020-01-01, 1 ,2,\t0.5,1.5,10\n", {}, &f);
  CHECK(f == CsvFormat::generic);
  CHECK(d.at(0).open == 1);
  CHECK(d.at(0).low == 0.5);
}

TEST_CASE("csv: numbers parse exactly like strtod, including the slow path", "[unit][data]") {
  const char* values[] = {"0.1",  "123.456",    "1e-5",  "1.7976931348623157e308", "9007199254740993",
                          "0.30000000000000004", "2.5E3", "+4.25", "-0", "100.12345678901234567",
                          ".5", "5.", "0000000000000000000001.5"};
  for (const char* v : values) {
    // Prices must be above 0 ("-0" is checked as a volume).
    const std::string p = std::strtod(v, nullptr) > 0 ? v : "1";
    const std::string text = "timestamp,open,high,low,close,volume\n2020-01-01," + p + "," + p + "," + p + "," + p +
                             "," + v + "\n";
    const auto s = parse_ok(text);
    INFO(v);
    CHECK(s.open()[0] == std::strtod(p.c_str(), nullptr));  // the reference, in the test only
    CHECK(s.volume()[0] == std::strtod(v, nullptr));
  }
}

TEST_CASE("csv: the start/end filter keeps start <= time < end after validating every row", "[unit][data]") {
  std::string text = "timestamp,open,high,low,close,volume\n";
  for (int d = 1; d <= 9; ++d) text += "2020-01-0" + std::to_string(d) + ",1,2,0.5,1.5," + std::to_string(d) + "\n";
  LoadOptions o;
  o.start_ns = iso("2020-01-03");
  o.end_ns = iso("2020-01-06");
  const auto s = parse_ok(text, o);
  REQUIRE(s.size() == 3);
  CHECK(s.volume()[0] == 3);
  CHECK(s.volume()[2] == 5);
  o.end_ns.reset();
  CHECK(parse_ok(text, o).size() == 7);
  // A bad row outside the range is still an error.
  o.start_ns = iso("2020-01-05");
  auto r = parse_csv(text + "2020-01-01,1,2,0.5,1.5,1\n", "t.csv", o);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::StartsWith("t.csv:11:1: timestamp 2020-01-01 is before"));
}

TEST_CASE("csv: load_csv maps the file and names the series after it", "[unit][data]") {
  test::TempDir dir;
  const std::string path = dir.file("btc-1m.csv");
  test::write_file(path, "timestamp,open,high,low,close,volume\n2020-01-01,1,2,0.5,1.5,10\n");
  LoadOptions o;
  o.instrument = 42;
  auto r = load_csv(path, o);
  REQUIRE(r.ok());
  CHECK(r->symbol() == "btc-1m");
  CHECK(r->instrument() == 42);
  o.symbol = "BTCUSDT";
  CHECK(load_csv(path, o)->symbol() == "BTCUSDT");
  CHECK(symbol_from_path("a/b/c.tar.gz") == "c.tar");
  CHECK(symbol_from_path(".hidden") == ".hidden");
}

TEST_CASE("csv: a large file grows past the row estimate", "[unit][data]") {
  // Short first lines make the estimate too small; the loader must grow.
  std::string text = "timestamp,open,high,low,close,volume\n";
  for (int i = 0; i < 64; ++i) text += std::to_string(1000 + i) + ",1,1,1,1,1\n";
  for (int i = 0; i < 20000; ++i)
    text += std::to_string(100000 + i) + ",1.000000001,1.000000002,1.000000000,1.000000001,1000000\n";
  const auto s = parse_ok(text);
  REQUIRE(s.size() == 20064);
  CHECK(s.ts_ns()[20063] == (100000 + 19999) * kNsPerMs);
  CHECK(s.high()[20063] == 1.000000002);
}

TEST_CASE("csv: random decimals of every length parse exactly like strtod", "[unit][data]") {
  // Exercises the 8-bytes-at-a-time digit scanning at every length and position.
  Xoshiro256 rng(123);
  std::string text = "timestamp,open,high,low,close,volume\n";
  std::vector<std::string> values;
  for (int i = 0; i < 20000; ++i) {
    const int digits = 1 + static_cast<int>(rng.next() % 22);
    const int point = static_cast<int>(rng.next() % static_cast<std::uint64_t>(digits + 2)) - 1;  // -1: none
    rng.next();  // was the sign; prices are above 0 now (the draw keeps the sequence)
    std::string v;
    for (int d = 0; d < digits; ++d) {
      if (d == point) v += '.';
      v += static_cast<char>('0' + rng.next() % 10);
    }
    if (point == digits) v += '.';
    if (std::strtod(v.c_str(), nullptr) == 0) v = "1" + v;
    values.push_back(v);
    text += std::to_string(1000 + i) + "," + v + "," + v + "," + v + "," + v + ",0\n";
  }
  const auto s = parse_ok(text);
  REQUIRE(s.size() == values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    INFO(values[i]);
    REQUIRE(s.open()[i] == std::strtod(values[i].c_str(), nullptr));
    REQUIRE(s.close()[i] == std::strtod(values[i].c_str(), nullptr));
  }
}

TEST_CASE("csv: random timestamps in every accepted spelling parse like parse_iso8601_ns", "[unit][data]") {
  Xoshiro256 rng(321);
  std::string text = "timestamp,open,high,low,close,volume\n";
  std::vector<std::int64_t> expected;
  std::int64_t ts = iso("1999-12-31T23:00:00Z");
  for (int i = 0; i < 20000; ++i) {
    ts += static_cast<std::int64_t>(1 + rng.next() % 100000) * kNsPerSec;
    std::string t;
    switch (rng.next() % 5) {
      case 0: t = format_iso8601(ts); break;                                    // ...Z
      case 1: t = format_iso8601(ts).substr(0, 19); break;                      // no zone
      case 2: t = format_iso8601(ts).substr(0, 10) + " " + format_iso8601(ts).substr(11, 8); break;
      case 3: t = std::to_string(ts / kNsPerMs); break;                         // epoch ms
      default:
        ts -= ts % kNsPerDay;
        ts += kNsPerDay;
        t = format_iso8601(ts, true);  // date only
    }
    expected.push_back(ts);
    text += t + ",1,1,1,1,1\n";
  }
  const auto s = parse_ok(text);
  REQUIRE(s.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) REQUIRE(s.ts_ns()[i] == expected[i]);
}

TEST_CASE("csv: a large file parsed in two halves gives the single pass's bars and errors", "[unit][data]") {
  // Bodies over 1 MiB are parsed in two halves on two threads (csv_loader.cpp).
  const std::string header = "timestamp,open,high,low,close,volume\n";
  const int n = 40000;  // about 2 MB
  auto row = [](int i, std::int64_t ts_s) {
    const std::string p = std::to_string(100 + i % 997) + "." + std::to_string(10 + i % 90);
    return format_iso8601(ts_s * kNsPerSec) + "," + p + "," + p + "," + p + "," + p + "," + std::to_string(i) + "\n";
  };
  const std::int64_t t0 = 1'577'836'800;  // 2020-01-01
  std::vector<std::string> rows;
  for (int i = 0; i < n; ++i) rows.push_back(row(i, t0 + 60 * i));
  auto text_of = [&](const std::vector<std::string>& r) {
    std::string t = header;
    for (const auto& x : r) t += x;
    return t;
  };
  const std::string text = text_of(rows);
  REQUIRE(text.size() > (std::size_t{1} << 20) + header.size());
  // The first row of the second half: the line after the first '\n' at or after the middle of the body.
  const std::string_view body = std::string_view(text).substr(header.size());
  const std::size_t split = body.find('\n', body.size() / 2) + 1;
  const int k = static_cast<int>(std::count(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(split), '\n'));
  REQUIRE(k > 1000);
  REQUIRE(k < n - 1000);

  const auto s = parse_ok(text);
  REQUIRE(s.size() == static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    REQUIRE(s.ts_ns()[i] == (t0 + 60 * i) * kNsPerSec);
    REQUIRE(s.volume()[i] == i);
    REQUIRE(s.close()[i] == std::strtod((std::to_string(100 + i % 997) + "." + std::to_string(10 + i % 90)).c_str(), nullptr));
  }
  // Time filters inside either half and across the split.
  for (const auto& [from, to] : {std::pair{10, k - 10}, std::pair{k - 10, k + 10}, std::pair{k + 5, n - 3}}) {
    LoadOptions o;
    o.start_ns = (t0 + 60 * from) * kNsPerSec;
    o.end_ns = (t0 + 60 * to) * kNsPerSec;
    const auto f = parse_ok(text, o);
    REQUIRE(f.size() == static_cast<std::size_t>(to - from));
    CHECK(f.ts_ns()[0] == *o.start_ns);
    CHECK(f.volume()[f.size() - 1] == to - 1);
  }
  auto error_of = [&](const std::vector<std::string>& r) {
    auto result = parse_csv(text_of(r), "t.csv", {});
    REQUIRE_FALSE(result.ok());
    return result.error().message;
  };
  // Errors in the second half name the file's line, as one pass does.
  {
    auto bad = rows;
    bad[k + 100] = format_iso8601((t0 + 60 * (k + 100)) * kNsPerSec) + ",1,2,oops,1,1\n";
    CHECK_THAT(error_of(bad), Catch::StartsWith("t.csv:" + std::to_string(k + 102) + ":") &&
                                  Catch::Contains("low: expected a number, was 'oops'"));
  }
  {
    auto bad = rows;
    bad[k] = rows[k - 1];  // the halves meet out of order: a duplicate where they join
    const std::int64_t dup = (t0 + 60 * (k - 1)) * kNsPerSec;
    CHECK(error_of(bad) == "t.csv:" + std::to_string(k + 2) + ":1: duplicate timestamp " +
                               format_iso8601(dup, dup % kNsPerDay == 0) + ", the same as on line " +
                               std::to_string(k + 1));
  }
  {
    auto bad = rows;
    bad[n - 50] = "\n";
    CHECK_THAT(error_of(bad), Catch::StartsWith("t.csv:" + std::to_string(n - 50 + 2) + ":1: empty line"));
  }
  {
    auto bad = rows;
    bad[10] = format_iso8601((t0 + 60 * 10) * kNsPerSec) + ",1,2,0.5,3,1\n";  // first half: close above high
    CHECK_THAT(error_of(bad), Catch::StartsWith("t.csv:12:") && Catch::Contains("close 3 is outside"));
  }
}
