// The streamed CSV loader (engine/data/csv_stream.hpp): the rows it publishes
// equal parse_csv's bit for bit in every layout, and a file parse_csv refuses
// never streams to a clean end, wherever the problem is (the caller then loads
// it whole for parse_csv's message).
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "engine/core/sha256.hpp"
#include "engine/data/csv_loader.hpp"
#include "engine/data/csv_stream.hpp"
#include "engine/data/load_bars.hpp"
#include "tests/unit/data/data_test_support.hpp"

using namespace te;
using namespace te::data;

namespace {

// Small chunks so that a few hundred rows make many of them.
LoadOptions streamed(std::size_t chunk = 700) {
  LoadOptions o;
  o.cache.read = o.cache.write = false;
  o.stream_csv = true;
  o.stream_min_bytes = 1;
  o.stream_chunk_bytes = chunk;
  o.source_sha256 = true;  // hashed by the stream once the rows are parsed
  return o;
}

// Rows of 1-minute bars from 2020-01-01 (row i at minute i), one format per style.
std::string minute_rows(std::size_t n, const std::string& style, const std::string& eol = "\n") {
  std::string s;
  if (style == "generic") s = "timestamp,open,high,low,close,volume" + eol;
  if (style == "quotes") s = "timestamp,open,high,low,close,volume,bid,ask" + eol;
  if (style == "ms") s = "time,open,high,low,close,volume" + eol;
  if (style == "binance")
    s = "open_time,open,high,low,close,volume,close_time,quote_volume,trades,taker_buy_base_volume,"
        "taker_buy_quote_volume" + eol;
  const std::int64_t t0 = 1577836800000;  // 2020-01-01T00:00:00Z in ms
  for (std::size_t i = 0; i < n; ++i) {
    const double base = 100 + static_cast<double>(i % 97) * 0.25;
    const std::string prices = std::to_string(base) + "," + std::to_string(base + 1.5) + "," +
                               std::to_string(base - 1.25) + "," + std::to_string(base + 0.5) + "," +
                               std::to_string(1000 + i);
    const std::int64_t ms = t0 + static_cast<std::int64_t>(i) * 60000;
    if (style == "generic" || style == "quotes") {
      const std::int64_t mins = static_cast<std::int64_t>(i);
      char ts[32];
      std::snprintf(ts, sizeof ts, "2020-01-%02lldT%02lld:%02lld:00Z", static_cast<long long>(1 + mins / 1440),
                    static_cast<long long>(mins / 60 % 24), static_cast<long long>(mins % 60));
      s += ts;
      s += ',';
      s += prices;
      if (style == "quotes") {
        s += ',';
        if (i % 5 != 0) s += std::to_string(base);
        s += ',';
        if (i % 5 != 0) s += std::to_string(base + 0.5);
      }
    } else if (style == "ms") {
      s += std::to_string(ms) + "," + prices;
    } else {
      s += std::to_string(ms) + "," + prices + "," + std::to_string(ms + 59999) + ",1.5,7,0.5,0.25";
    }
    s += eol;
  }
  return s;
}

void same_columns(const model::BarSeries& a, const model::BarSeries& b) {
  REQUIRE(a.size() == b.size());
  REQUIRE(a.has_quotes() == b.has_quotes());
  const auto bits = [](const auto* p, std::size_t n) { return std::string(reinterpret_cast<const char*>(p), n * 8); };
  const auto& x = a.columns();
  const auto& y = b.columns();
  CHECK(bits(x.ts_ns, a.size()) == bits(y.ts_ns, b.size()));
  CHECK(bits(x.open, a.size()) == bits(y.open, b.size()));
  CHECK(bits(x.high, a.size()) == bits(y.high, b.size()));
  CHECK(bits(x.low, a.size()) == bits(y.low, b.size()));
  CHECK(bits(x.close, a.size()) == bits(y.close, b.size()));
  CHECK(bits(x.volume, a.size()) == bits(y.volume, b.size()));
  if (a.has_quotes()) {
    CHECK(bits(x.bid, a.size()) == bits(y.bid, b.size()));
    CHECK(bits(x.ask, a.size()) == bits(y.ask, b.size()));
  }
}

// Streams `text` from a file: the stream (null when it declined) and, once
// it ended, whether it passed.
struct Streamed {
  std::shared_ptr<CsvStream> stream;
  model::BarSeries series;
  bool passed = false;
};
Streamed stream_file(const test::TempDir& dir, const std::string& text, const LoadOptions& o = streamed()) {
  const std::string path = dir.file("s.csv");
  test::write_file(path, text);
  LoadReport rep;
  auto bars = load_bars(path, o, &rep);
  Streamed out;
  if (!bars) return out;  // parse_csv's own error: nothing streamed
  out.stream = rep.csv_stream;
  out.series = *bars;
  // As the run's gate does: wait for every row, parsing chunks here meanwhile.
  if (out.stream) out.stream->wait_rows(out.series.size());
  if (out.stream) out.passed = static_cast<bool>(out.stream->result());
  return out;
}

}  // namespace

TEST_CASE("csv stream: every layout gives parse_csv's columns bit for bit", "[unit][data][csv_stream]") {
  test::TempDir dir;
  for (const char* style : {"generic", "quotes", "ms", "binance"}) {
    for (const char* eol : {"\n", "\r\n"}) {
      for (const std::string tail : {"", "\n", "\n\n  \n", "no final newline"}) {
        INFO(style << " eol " << (eol[1] ? "CRLF" : "LF") << " tail '" << tail << "'");
        std::string text = minute_rows(3000, style, eol);
        if (tail == "no final newline") {
          text.resize(text.size() - std::strlen(eol));
        } else {
          text += tail;
        }
        const auto whole = parse_csv(text, "s.csv", {});
        REQUIRE(whole.ok());
        const Streamed s = stream_file(dir, text);
        REQUIRE(s.stream);
        CHECK(s.passed);
        CHECK(s.stream->wait_rows(whole->size()) == whole->size());
        same_columns(s.series, *whole);
        CHECK(s.stream->source_sha256() == sha256_hex(text));
      }
    }
  }
  // A byte order mark, and chunks of every size from one line to the whole file.
  const std::string text = "\xEF\xBB\xBF" + minute_rows(500, "generic");
  const auto whole = parse_csv(text, "s.csv", {});
  REQUIRE(whole.ok());
  for (std::size_t chunk : {1, 37, 64, 200, 4096, 1 << 20}) {
    INFO("chunk " << chunk);
    const Streamed s = stream_file(dir, text, streamed(chunk));
    REQUIRE(s.stream);
    CHECK(s.passed);
    same_columns(s.series, *whole);
  }
}

// Once parsed and hashed the file's bytes are no longer needed: release_file()
// unmaps them (the command does it while report.html is written, not at exit);
// the rows and the digest stay, and a stream that did not pass keeps its file.
TEST_CASE("csv stream: the file is unmapped once parsed and hashed", "[unit][data][csv_stream]") {
  test::TempDir dir;
  const auto mapped = [&dir] {
    const std::string maps = test::read_file("/proc/self/maps");
    return maps.find(dir.file("s.csv")) != std::string::npos;
  };
  const std::string text = minute_rows(3000, "generic");
  const auto whole = parse_csv(text, "s.csv", {});
  REQUIRE(whole.ok());
  {
    const Streamed s = stream_file(dir, text);
    REQUIRE(s.stream);
    REQUIRE(s.passed);
    CHECK(mapped());
    s.stream->release_file();
    CHECK_FALSE(mapped());
    same_columns(s.series, *whole);
    CHECK(s.stream->result());  // asked again: no bytes needed
    CHECK(s.stream->source_sha256() == sha256_hex(text));
  }
  std::string bad = text;
  bad.replace(bad.rfind(',') + 1, 1, "x");  // the last row's volume
  const Streamed f = stream_file(dir, bad);
  REQUIRE(f.stream);
  REQUIRE_FALSE(f.passed);
  f.stream->release_file();
  CHECK(mapped());
}

TEST_CASE("csv stream: a file parse_csv refuses never streams to a clean end", "[unit][data][csv_stream]") {
  test::TempDir dir;
  const std::string good = minute_rows(3000, "generic");
  // The start of row r (0-based data row; the header is line 1).
  auto line_at = [&](std::size_t r) {
    std::size_t pos = good.find('\n') + 1;
    for (std::size_t i = 0; i < r; ++i) pos = good.find('\n', pos) + 1;
    return pos;
  };
  std::vector<std::pair<std::string, std::string>> bad;
  for (std::size_t row : {1u, 57u, 1500u, 2990u, 2999u}) {
    std::string t = good;
    const std::size_t at = t.find(',', line_at(row)) + 1;
    t.replace(at, t.find(',', at) - at, "abc");  // open is not a number
    bad.emplace_back("bad number in row " + std::to_string(row), t);
    t = good;
    t.insert(line_at(row), "\n");  // an empty line between data rows
    bad.emplace_back("empty line before row " + std::to_string(row), t);
    t = good;
    const std::size_t end = t.find('\n', line_at(row));
    t.insert(end, ",7");  // one field too many
    bad.emplace_back("extra field in row " + std::to_string(row), t);
  }
  // Rows out of time order where two chunks meet, and a repeated timestamp.
  for (std::size_t row : {300u, 1200u, 2500u}) {
    std::string t = good;
    const std::size_t a = line_at(row - 1), b = line_at(row), c = line_at(row + 1);
    const std::string first = t.substr(a, b - a), second = t.substr(b, c - b);
    t.replace(a, c - a, second + first);
    bad.emplace_back("rows swapped at " + std::to_string(row), t);
    t = good;
    t.replace(b, c - b, first);
    bad.emplace_back("duplicate at " + std::to_string(row), t);
  }
  std::size_t refused_streams = 0;  // cases the stream took and refused (not declined up front)
  for (const auto& [what, text] : bad) {
    INFO(what);
    const auto whole = parse_csv(text, "s.csv", {});
    REQUIRE_FALSE(whole.ok());
    for (std::size_t chunk : {100, 700, 5000}) {
      INFO("chunk " << chunk);
      const Streamed s = stream_file(dir, text, streamed(chunk));
      if (s.stream) CHECK_FALSE(s.passed);
      if (s.stream) CHECK_FALSE(s.stream->passed());
      if (s.stream) ++refused_streams;
      // The caller's fallback, loading it whole, has parse_csv's message.
      LoadOptions whole_load = streamed(chunk);
      whole_load.stream_csv = false;
      const auto again = load_bars(dir.file("s.csv"), whole_load);
      REQUIRE_FALSE(again.ok());
      CHECK(again.error().message == dir.file("s.csv") + whole.error().message.substr(std::strlen("s.csv")));
    }
  }
  // Most bad rows lie past the first chunk: those files were streamed, and refused.
  CHECK(refused_streams > bad.size());
}

TEST_CASE("csv stream: what it declines is parsed whole", "[unit][data][csv_stream]") {
  test::TempDir dir;
  // Daily data is loaded whole before load_bars returns (date_only reads every row).
  std::string daily = "Date,Open,High,Low,Close,Adj Close,Volume\n";
  for (int y = 2000; y < 2010; ++y)
    for (int m = 1; m <= 12; ++m)
      for (int d = 1; d <= 28; ++d) {
        char row[96];
        std::snprintf(row, sizeof row, "%04d-%02d-%02d,10,11,9,10.5,10.25,1000\n", y, m, d);
        daily += row;
      }
  const Streamed s = stream_file(dir, daily);
  const auto whole = parse_csv(daily, "s.csv", {});
  REQUIRE(whole.ok());
  if (s.stream) CHECK(s.stream->passed());  // already over when load_bars returned
  same_columns(s.series, *whole);
  CHECK(s.series.date_only());
  // A time filter, and a file below stream_min_bytes: no stream.
  LoadOptions filtered = streamed();
  filtered.start_ns = whole->ts_ns()[10];
  CHECK_FALSE(stream_file(dir, minute_rows(3000, "generic"), filtered).stream);
  LoadOptions big = streamed();
  big.stream_min_bytes = 1 << 30;
  CHECK_FALSE(stream_file(dir, minute_rows(3000, "generic"), big).stream);
}

TEST_CASE("csv stream: newlines are counted exactly at every length and offset", "[unit][data][csv_stream]") {
  std::string text(300, 'x');
  for (std::size_t i = 0; i < text.size(); i += 7) text[i] = '\n';
  for (std::size_t from = 0; from < 70; ++from)
    for (std::size_t n = 0; from + n <= text.size(); n += 3) {
      std::size_t want = 0;
      for (std::size_t i = from; i < from + n; ++i) want += text[i] == '\n';
      REQUIRE(count_newlines(text.data() + from, n) == want);
    }
}
