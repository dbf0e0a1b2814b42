// Every malformed-CSV case, with the exact place (file:line:column) and wording.
#include <catch2/catch.hpp>

#include "engine/core/time.hpp"
#include "engine/data/csv_loader.hpp"
#include "engine/data/random.hpp"
#include "tests/unit/data/data_test_support.hpp"

using namespace te;
using namespace te::data;

namespace {

const std::string kGeneric = "timestamp,open,high,low,close,volume\n";
const std::string kYahoo = "Date,Open,High,Low,Close,Adj Close,Volume\n";
const std::string kKlines = std::string(kBinanceKlinesHeader) + "\n";

Error error_of(const std::string& text, const LoadOptions& options = {}) {
  auto r = parse_csv(text, "t.csv", options);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

std::string message_of(const std::string& text) { return error_of(text).message; }

}  // namespace

TEST_CASE("csv errors: unknown header lists the accepted headers", "[unit][data]") {
  const Error e = error_of("foo,bar\n1,2\n");
  CHECK(e.code == Errc::parse);
  CHECK_THAT(e.message, Catch::StartsWith("t.csv:1:1: unknown header 'foo,bar'; expected one of"));
  CHECK_THAT(e.message, Catch::Contains("'Date,Open,High,Low,Close,Adj Close,Volume' (Yahoo)"));
  CHECK_THAT(e.message, Catch::Contains("'timestamp,open,high,low,close,volume[,bid,ask[,bid_size,ask_size]]'"));
  CHECK_THAT(e.message, Catch::Contains(std::string(kBinanceKlinesHeader)));
}

TEST_CASE("csv errors: a near-miss header points at the offending column", "[unit][data]") {
  CHECK_THAT(message_of("Date,Open,High,Low,Close,Adj_Close,Volume\n2020-01-01,1,1,1,1,1,1\n"),
             Catch::StartsWith("t.csv:1:26: unknown header: column 6 is 'Adj_Close' where the Yahoo format has "
                               "'Adj Close'; expected one of"));
  CHECK_THAT(message_of("timestamp,open,high,low,close,volume,bid\n"),
             Catch::StartsWith("t.csv:1:41: unknown header: 7 columns, the generic format has 6, 8 or 10"));
  CHECK_THAT(message_of("timestamp,open,high,low,close,volume,bid,ask,bid_size,ask_size,extra\n"),
             Catch::StartsWith("t.csv:1:64: unknown header: 11 columns, the generic format has at most 10"));
}

TEST_CASE("csv errors: quoted input cannot reach the terminal raw", "[unit][data]") {
  // An escape sequence in a field or header is quoted as \xNN; a binary file is named as such.
  CHECK(message_of(kGeneric + "1577836800000,1\x1b[2J,1,1,1,1\n") ==
        "t.csv:2:15: open: expected a number, was '1\\x1b[2J'");
  CHECK_THAT(message_of("Date,Open,High,Low,Close,Adj\x1b]0;x\x07,Volume\n"),
             Catch::StartsWith("t.csv:1:26: unknown header: column 6 is 'Adj\\x1b]0;x\\x07' where"));
  const std::string header = message_of("\x9b" + std::string(200, 'a') + "\n");
  CHECK_THAT(header, Catch::StartsWith("t.csv:1:1: unknown header '\\x9b" + std::string(76, 'a') + "...'; expected"));
  const std::string elf = message_of(std::string("\x7f" "ELF\x02\x01\x01\0\0\0\0\x03\n", 16) + "rest");
  CHECK_THAT(elf, Catch::StartsWith("t.csv:1:1: not a CSV file: its first line holds binary data (NUL bytes)"));
  CHECK(elf.find('\0') == std::string::npos);
}

TEST_CASE("csv errors: empty file and header only", "[unit][data]") {
  CHECK_THAT(message_of(""), Catch::StartsWith("t.csv:1:1: empty file, expected a header line, one of"));
  CHECK_THAT(message_of("\n\n  \r\n"), Catch::StartsWith("t.csv:1:1: empty file"));
  CHECK_THAT(message_of("\xEF\xBB\xBF"), Catch::StartsWith("t.csv:1:1: empty file"));
  CHECK(message_of(kGeneric) == "t.csv:2:1: no data rows after the header");
  CHECK(message_of(kYahoo + "\r\n\r\n") == "t.csv:2:1: no data rows after the header");
  CHECK(message_of("timestamp,open,high,low,close,volume") == "t.csv:2:1: no data rows after the header");
}

TEST_CASE("csv errors: nonexistent file", "[unit][data]") {
  auto r = load_csv("/nonexistent-dir/x.csv", {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::not_found);
  CHECK(r.error().message == "/nonexistent-dir/x.csv: cannot open: No such file or directory");
  test::TempDir dir;
  auto d = load_csv(dir.path().string(), {});
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message == dir.path().string() + ": is a directory, expected a file");
}

TEST_CASE("csv errors: wrong column count", "[unit][data]") {
  CHECK(message_of(kGeneric + "2020-01-01,1,2,0.5,1.5,10\n2020-01-02,1,2,0.5,1.5\n") ==
        "t.csv:3:23: expected 6 fields, found 5 (missing volume)");
  CHECK(message_of(kGeneric + "2020-01-01,1,2,0.5,1.5,10,99\n") == "t.csv:2:27: expected 6 fields, found 7");
  CHECK(message_of(kGeneric + "2020-01-01,1,2,0.5,1.5,10,99,\n") == "t.csv:2:27: expected 6 fields, found 8");
  CHECK(message_of(kYahoo + "2020-01-01\n") == "t.csv:2:11: expected 7 fields, found 1 (missing Open)");
  CHECK(message_of(kGeneric + "2020-01-01,1,2,0.5,1.5\r\n") ==
        "t.csv:2:23: expected 6 fields, found 5 (missing volume)");
  // The last line, without a newline, is held to the same rules.
  CHECK(message_of(kGeneric + "2020-01-01,1,2,0.5,1.5,10\n2020-01-02,1,2") ==
        "t.csv:3:15: expected 6 fields, found 3 (missing low)");
}

TEST_CASE("csv errors: non-numeric fields", "[unit][data]") {
  CHECK(message_of(kGeneric + "2020-01-01,1,abc,0.5,1.5,10\n") == "t.csv:2:14: high: expected a number, was 'abc'");
  CHECK(message_of(kGeneric + "2020-01-01,1,2,0.5,1.5,\n") == "t.csv:2:24: volume: expected a number, the field is empty");
  CHECK(message_of(kGeneric + "2020-01-01,1,2,0.5,1.5e,10\n") == "t.csv:2:20: close: expected a number, was '1.5e'");
  CHECK(message_of(kGeneric + "2020-01-01,1,2,0.5,inf,10\n") == "t.csv:2:20: close: expected a number, was 'inf'");
  CHECK(message_of(kGeneric + "2020-01-01,\"1\",2,0.5,1.5,10\n") == "t.csv:2:12: open: expected a number, was '\"1\"'");
  CHECK(message_of(kGeneric + "2020-01-01,1,2,0.5,1.5,1" + std::string(60, '0') + "x\n") ==
        "t.csv:2:24: volume: expected a number, was '1000000000000000000000000000000000000...'");
}

TEST_CASE("csv errors: Yahoo null rows are errors, not skipped", "[unit][data]") {
  CHECK(message_of(kYahoo + "2020-01-01,1,2,0.5,1.5,1.5,10\n2020-01-02,null,null,null,null,null,null\n") ==
        "t.csv:3:12: Open: expected a number, was 'null' (a missing value: rows are never skipped or filled; fix "
        "or remove the row)");
  CHECK(message_of(kYahoo + "2020-01-01,1,2,0.5,1.5,null,10\n") ==
        "t.csv:2:24: Adj Close: expected a number, was 'null' (a missing value: rows are never skipped or filled; "
        "fix or remove the row)");
}

TEST_CASE("csv errors: bad timestamps", "[unit][data]") {
  CHECK(message_of(kGeneric + "2020-13-01,1,2,0.5,1.5,10\n") ==
        "t.csv:2:1: timestamp: expected an ISO-8601 date or datetime (2020-01-31, 2020-01-31T09:30:00Z) or epoch "
        "milliseconds, was '2020-13-01'");
  CHECK(message_of(kGeneric + "2020-01-01T25:00:00Z,1,2,0.5,1.5,10\n") ==
        "t.csv:2:1: timestamp: expected an ISO-8601 date or datetime (2020-01-31, 2020-01-31T09:30:00Z) or epoch "
        "milliseconds, was '2020-01-01T25:00:00Z'");
  CHECK(message_of(kYahoo + "01/02/2020,1,2,0.5,1.5,1.5,10\n") ==
        "t.csv:2:1: Date: expected a date as YYYY-MM-DD, was '01/02/2020'");
  CHECK(message_of(kYahoo + "2021-02-29,1,2,0.5,1.5,1.5,10\n") ==
        "t.csv:2:1: Date: expected a date as YYYY-MM-DD, was '2021-02-29'");
  CHECK(message_of(kYahoo + "1577836800000,1,2,0.5,1.5,1.5,10\n") ==
        "t.csv:2:1: Date: expected a date as YYYY-MM-DD, was '1577836800000'");
  CHECK(message_of(kGeneric + "0999-01-01,1,2,0.5,1.5,10\n") ==
        "t.csv:2:1: timestamp: year 999 is out of the supported range 1678 to 2261");
  CHECK(message_of(kGeneric + "99999999999999999,1,2,0.5,1.5,10\n") ==
        "t.csv:2:1: timestamp: epoch milliseconds '99999999999999999' are out of range (years 1678 to 2261)");
  // The same limits as dates (audit: 2262-01-01 .. 2262-04-11 passed as epoch ms).
  CHECK(message_of(kGeneric + "9214646400000,1,2,0.5,1.5,10\n") ==
        "t.csv:2:1: timestamp: epoch milliseconds '9214646400000' are out of range (years 1678 to 2261)");
  CHECK(message_of(kGeneric + "-9214560000001,1,2,0.5,1.5,10\n") ==
        "t.csv:2:1: timestamp: epoch milliseconds '-9214560000001' are out of range (years 1678 to 2261)");
  CHECK(parse_csv(kGeneric + "9214646399999,1,2,0.5,1.5,10\n", "t.csv", {}).ok());  // 2261-12-31T23:59:59.999Z
  CHECK(message_of(kKlines + "2020-01-01,1,2,0.5,1.5,10,1577836859999,15,3,5,7.5\n") ==
        "t.csv:2:1: open_time: expected epoch milliseconds, was '2020-01-01'");
}

TEST_CASE("csv errors: inconsistent bars", "[unit][data]") {
  CHECK(message_of(kGeneric + "2020-01-01,1,0.5,2,1.5,10\n") == "t.csv:2:14: high 0.5 is below low 2");
  CHECK(message_of(kGeneric + "2020-01-01,3,2,0.5,1.5,10\n") == "t.csv:2:12: open 3 is outside [low 0.5, high 2]");
  CHECK(message_of(kGeneric + "2020-01-01,1,2,0.5,2.5,10\n") == "t.csv:2:20: close 2.5 is outside [low 0.5, high 2]");
  CHECK(message_of(kGeneric + "2020-01-01,1,2,0.5,0.25,10\n") == "t.csv:2:20: close 0.25 is outside [low 0.5, high 2]");
  CHECK(message_of(kGeneric + "2020-01-01,1,2,0.5,1.5,-10\n") == "t.csv:2:24: volume -10 is negative");
  CHECK(message_of(kYahoo + "2020-01-01,1,2,0.5,1.5,1.5,-1\n") == "t.csv:2:28: Volume -1 is negative");
  // A consistent bar at or below 0 would be filled at a price the portfolio cannot book.
  CHECK(message_of(kGeneric + "2020-01-01,-10,-9,-11,-10,100\n") ==
        "t.csv:2:19: low -11 is not above 0 (prices must be positive)");
  CHECK(message_of(kGeneric + "2020-01-01,0,0,0,0,100\n") == "t.csv:2:16: low 0 is not above 0 (prices must be positive)");
  CHECK(message_of(kGeneric + "2020-01-01,1,2,0,1.5,10\n") == "t.csv:2:16: low 0 is not above 0 (prices must be positive)");
}

TEST_CASE("csv errors: timestamps must increase", "[unit][data]") {
  CHECK(message_of(kGeneric + "2020-01-02,1,2,0.5,1.5,10\n2020-01-01,1,2,0.5,1.5,10\n") ==
        "t.csv:3:1: timestamp 2020-01-01 is before 2020-01-02 on line 2; rows must be in increasing time order");
  CHECK(message_of(kYahoo + "2020-01-02,1,2,0.5,1.5,1.5,10\n2020-01-02,1,2,0.5,1.5,1.5,10\n") ==
        "t.csv:3:1: duplicate Date 2020-01-02, the same as on line 2");
  CHECK(message_of(kGeneric + "1577836800000,1,2,0.5,1.5,10\n2020-01-01T00:00:00Z,1,2,0.5,1.5,10\n") ==
        "t.csv:3:1: duplicate timestamp 2020-01-01, the same as on line 2");
  CHECK(message_of(kGeneric + "2020-01-01T10:00:00Z,1,2,0.5,1.5,10\n2020-01-01T09:59:00Z,1,2,0.5,1.5,10\n") ==
        "t.csv:3:1: timestamp 2020-01-01T09:59:00Z is before 2020-01-01T10:00:00Z on line 2; rows must be in "
        "increasing time order");
}

TEST_CASE("csv errors: blank lines and stray carriage returns", "[unit][data]") {
  CHECK(message_of(kGeneric + "2020-01-01,1,2,0.5,1.5,10\n\n2020-01-02,1,2,0.5,1.5,10\n") ==
        "t.csv:3:1: empty line between data rows; remove it (only trailing empty lines are ignored)");
  CHECK(message_of(kGeneric + "2020-01-01,1,2,0.5,1.5,10\r2020-01-02,1,2,0.5,1.5,10\n") ==
        "t.csv:2:26: unexpected carriage return inside a line (only CRLF line endings are accepted)");
}

TEST_CASE("csv errors: quotes", "[unit][data]") {
  const std::string h = "timestamp,open,high,low,close,volume,bid,ask,bid_size,ask_size\n";
  CHECK(message_of(h + "2020-01-01,1,2,0.5,1.5,10,1.6,1.4,1,1\n") == "t.csv:2:27: bid 1.6 is above ask 1.4");
  CHECK(message_of(h + "2020-01-01,1,2,0.5,1.5,10,0,1.4,1,1\n") == "t.csv:2:27: bid 0 is not above 0 (prices must be positive)");
  CHECK(message_of(h + "2020-01-01,1,2,0.5,1.5,10,-1,-0.5,1,1\n") ==
        "t.csv:2:27: bid -1 is not above 0 (prices must be positive)");
  CHECK(message_of(h + "2020-01-01,1,2,0.5,1.5,10,1.4,,1,1\n") ==
        "t.csv:2:27: bid and ask must both be given or both be empty");
  CHECK(message_of(h + "2020-01-01,1,2,0.5,1.5,10,1.4,1.6,-1,1\n") == "t.csv:2:35: bid_size -1 is negative");
  CHECK(message_of(h + "2020-01-01,1,2,0.5,1.5,10,1.4,x,1,1\n") == "t.csv:2:31: ask: expected a number, was 'x'");
}

TEST_CASE("csv errors: Binance klines fields", "[unit][data]") {
  CHECK(message_of(kKlines + "1577836800000,1,2,0.5,1.5,10,1577836700000,15,3,5,7.5\n") ==
        "t.csv:2:30: close_time 2019-12-31T23:58:20Z is before open_time 2020-01-01");
  CHECK(message_of(kKlines + "1577836800000,1,2,0.5,1.5,10,1577836859999,15,-3,5,7.5\n") ==
        "t.csv:2:47: trades -3 is negative");
}

TEST_CASE("csv errors: empty time filter", "[unit][data]") {
  LoadOptions o;
  o.start_ns = 10;
  o.end_ns = 10;
  const Error e = error_of(kGeneric + "2020-01-01,1,2,0.5,1.5,10\n", o);
  CHECK(e.code == Errc::invalid_argument);
  CHECK(e.message == "t.csv: the time range [1970-01-01T00:00:00.000000010Z, 1970-01-01T00:00:00.000000010Z) is "
                     "empty; start must be before end");
  o.start_ns = *parse_iso8601_ns("2021-01-01");
  o.end_ns.reset();
  CHECK(error_of(kGeneric + "2020-01-01,1,2,0.5,1.5,10\n2020-01-02,1,2,0.5,1.5,10\n", o).message ==
        "t.csv: no bars at or after 2021-01-01; the file covers 2020-01-01 to 2020-01-02");
}

TEST_CASE("csv errors: mutated files never crash, and every error names file, line and column", "[unit][data]") {
  const std::string base = kGeneric +
                           "2020-01-01T00:00:00Z,100.5,101,100.25,100.75,1200\n"
                           "2020-01-01T00:01:00Z,100.75,100.8,100.5,100.5,900\n"
                           "1577836920000,100.5,100.6,100.4,100.6,800\n"
                           "2020-01-01 00:03:00,100.6,100.7,100.5,100.7,1e3\n";
  const char specials[] = {',', '\n', '\r', '-', '.', 'e', '\0', ' ', '9', '0', ':', 'T', 'Z', '\xEF', '"'};
  Xoshiro256 rng(99);
  int ok = 0, errors = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string t = base;
    const int edits = 1 + static_cast<int>(rng.next() % 4);
    for (int e = 0; e < edits && !t.empty(); ++e) {
      const std::size_t pos = rng.next() % t.size();
      const char c = specials[rng.next() % sizeof specials];
      switch (rng.next() % 3) {
        case 0: t[pos] = c; break;
        case 1: t.erase(pos, 1 + rng.next() % 3); break;
        default: t.insert(pos, 1, c);
      }
    }
    if (rng.next() % 2) t.resize(rng.next() % (t.size() + 1));  // cut anywhere, across the read-ahead margin
    auto r = parse_csv(t, "t.csv", {});
    if (r.ok()) {
      ++ok;
      for (std::size_t k = 0; k < r->size(); ++k) REQUIRE(model::bar_problem(r->at(k)) == nullptr);
    } else {
      ++errors;
      INFO(r.error().message);
      REQUIRE(r.error().message.rfind("t.csv:", 0) == 0);
      const bool located = r.error().message.find_first_of("0123456789") == 6;
      REQUIRE((located || r.error().code != Errc::parse));
    }
  }
  CHECK(ok > 50);  // some mutations keep the file valid (a digit for a digit, a cut after a row)
  CHECK(errors > 1000);
}
