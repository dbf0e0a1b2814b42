#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <sys/wait.h>

#include "engine/venue/binance/download.hpp"
#include "tests/support/test_exchange.hpp"

using namespace te::venue::binance;
using te::testing::TestExchange;
using te::testing::TestExchangeOptions;

namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kMin = 60'000;
constexpr std::int64_t kT0 = 1'700'000'040'000;
constexpr std::size_t kBars = 2500;

struct TempDir {
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("te_venue_test_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string expected_csv(const std::vector<te::testing::ExchangeBar>& bars, std::size_t from, std::size_t to) {
  std::string s = std::string(kKlinesCsvHeader) + "\n";
  for (std::size_t i = from; i < to; ++i) {
    const auto& b = bars[i];
    s += std::to_string(b.open_time_ms) + "," + b.open + "," + b.high + "," + b.low + "," + b.close + "," + b.volume +
         "," + std::to_string(b.open_time_ms + kMin - 1) + "," + b.quote_volume + "," + std::to_string(b.trades) + "," +
         b.taker_buy_base_volume + "," + b.taker_buy_quote_volume + "\n";
  }
  return s;
}

TestExchangeOptions serve_all() {
  TestExchangeOptions o;
  o.bars["BTCUSDT"] = te::testing::make_bars(kT0, kMin, kBars, 99);
  o.rest_serves_all = true;
  o.wait_for_connections = 0;
  o.pace = std::chrono::milliseconds(0);
  return o;
}

RestClient client_for(const TestExchange& ex) {
  RestClientOptions o;
  o.base_url = ex.rest_url();
  o.retry_initial_delay = std::chrono::milliseconds(10);
  o.retry_max_delay = std::chrono::milliseconds(50);
  auto c = RestClient::create(o);
  REQUIRE(c.ok());
  return std::move(*c);
}

DownloadOptions options(const fs::path& out, std::int64_t start, std::int64_t end) {
  DownloadOptions d;
  d.symbol = "BTCUSDT";
  d.interval = "1m";
  d.start_ms = start;
  d.end_ms = end;
  d.now_ms = kT0 + 1'000'000 * kMin;  // long after the script
  d.out_path = out.string();
  return d;
}

}  // namespace

TEST_CASE("download-data writes the klines CSV exactly as served, page by page", "[unit][venue][net]") {
  auto o = serve_all();
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  RestClient client = client_for(ex);
  TempDir dir;
  const fs::path out = dir.path / "btc.csv";
  std::vector<DownloadProgress> progress;
  auto r = download_klines(client, options(out, kT0, kT0 + kBars * kMin), [&](const DownloadProgress& p) {
    progress.push_back(p);
  });
  REQUIRE(r.ok());
  CHECK(r->rows_written == kBars);
  CHECK_FALSE(r->resumed);
  CHECK(r->first_open_ms == kT0);
  CHECK(r->last_open_ms == kT0 + (kBars - 1) * kMin);
  CHECK(read_file(out) == expected_csv(o.bars["BTCUSDT"], 0, kBars));
  REQUIRE(progress.size() >= 3);
  CHECK(progress.back().rows_written == kBars);
  CHECK(progress.back().through_ms == kT0 + (kBars - 1) * kMin);
  CHECK(ex.stats().rest_requests >= 3);  // paginated at 1000
}

TEST_CASE("download-data refuses a kline off the interval's grid, keeping the pages before it", "[unit][venue][net]") {
  // Found by the audit: a row opening 30 s into a minute was written to a 1m file.
  auto o = serve_all();
  o.bars["BTCUSDT"][1500].open_time_ms += 30'000;
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  RestClient client = client_for(ex);
  TempDir dir;
  const fs::path out = dir.path / "btc.csv";
  auto r = download_klines(client, options(out, kT0, kT0 + kBars * kMin), nullptr);
  REQUIRE_FALSE(r.ok());
  const std::int64_t bad = kT0 + 1500 * kMin + 30'000;
  CHECK_THAT(r.error().message, Catch::Contains("kline opening at " + std::to_string(bad) + ", which is not on the 1m grid") &&
                                    Catch::Contains("the 1000 rows written so far are kept"));
  CHECK(read_file(out) == expected_csv(o.bars["BTCUSDT"], 0, 1000));
}

TEST_CASE("download-data resumes a partial file and drops a broken last line", "[unit][venue][net]") {
  auto o = serve_all();
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  RestClient client = client_for(ex);
  TempDir dir;
  const fs::path out = dir.path / "btc.csv";
  const std::string full = expected_csv(o.bars["BTCUSDT"], 0, kBars);

  // A first run that stopped after 1200 rows...
  auto first = download_klines(client, options(out, kT0, kT0 + 1200 * kMin));
  REQUIRE(first.ok());
  CHECK(first->rows_written == 1200);
  // ...in the middle of writing a line.
  { std::ofstream(out, std::ios::app | std::ios::binary) << "1700072040000,37012.5"; }

  auto second = download_klines(client, options(out, kT0, kT0 + kBars * kMin));
  REQUIRE(second.ok());
  CHECK(second->resumed);
  CHECK(second->dropped_partial_line);
  CHECK(second->rows_existing == 1200);
  CHECK(second->rows_written == kBars - 1200);
  CHECK(read_file(out) == full);

  // Nothing new: a third run writes nothing and changes nothing.
  auto third = download_klines(client, options(out, kT0, kT0 + kBars * kMin));
  REQUIRE(third.ok());
  CHECK(third->rows_written == 0);
  CHECK(read_file(out) == full);

  // A complete but corrupt last line (e.g. a torn write that reached the newline).
  std::string corrupt = expected_csv(o.bars["BTCUSDT"], 0, 100) + "1700046040000,1,2,x\n";
  write_file(out, corrupt);
  auto fourth = download_klines(client, options(out, kT0, kT0 + 200 * kMin));
  REQUIRE(fourth.ok());
  CHECK(fourth->dropped_partial_line);
  CHECK(fourth->rows_written == 100);
  CHECK(read_file(out) == expected_csv(o.bars["BTCUSDT"], 0, 200));

  // Resuming with another interval would append 5-minute bars to 1-minute ones.
  auto other = options(out, kT0, kT0 + 400 * kMin);
  other.interval = "5m";
  auto fifth = download_klines(client, other);
  REQUIRE_FALSE(fifth.ok());
  CHECK_THAT(fifth.error().message, Catch::Contains("do not have the length of --interval 5m"));
  CHECK(read_file(out) == expected_csv(o.bars["BTCUSDT"], 0, 200));  // untouched
}

TEST_CASE("download-data writes only closed klines and refuses foreign files", "[unit][venue][net]") {
  auto o = serve_all();
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  RestClient client = client_for(ex);
  TempDir dir;
  const fs::path out = dir.path / "btc.csv";

  auto d = options(out, kT0, kT0 + kBars * kMin);
  d.now_ms = kT0 + 2000 * kMin + 30'000;  // bar 2000 is still forming
  auto r = download_klines(client, d);
  REQUIRE(r.ok());
  CHECK(r->rows_written == 2000);
  CHECK(read_file(out) == expected_csv(o.bars["BTCUSDT"], 0, 2000));

  const fs::path other = dir.path / "other.csv";
  write_file(other, "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,1,1,1,1,1\n");
  auto foreign = download_klines(client, options(other, kT0, kT0 + 10 * kMin));
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.error().code == te::Errc::parse);
  CHECK_THAT(foreign.error().message, Catch::Contains("other.csv:1: not a klines CSV"));
  CHECK(read_file(other).rfind("Date,Open", 0) == 0);  // untouched

  auto bad = options(out, kT0, kT0);
  bad.symbol = "BTC/USDT";
  auto invalid = download_klines(client, bad);
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error().code == te::Errc::invalid_argument);
  CHECK_THAT(invalid.error().message, Catch::Contains("not a Binance symbol"));
  CHECK_THAT(invalid.error().message, Catch::Contains("end must be after the start"));
}

TEST_CASE("download-data pauses when the used weight reaches its budget", "[unit][venue][net]") {
  auto o = serve_all();
  o.weight_per_request = 2;
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  RestClient client = client_for(ex);
  TempDir dir;
  auto d = options(dir.path / "btc.csv", kT0, kT0 + kBars * kMin);
  d.weight_budget_1m = 4;  // reached from the second request on
  d.weight_pause = std::chrono::milliseconds(20);
  auto r = download_klines(client, d);
  REQUIRE(r.ok());
  CHECK(r->rows_written == kBars);
  CHECK(r->weight_pauses >= 2);
  CHECK(client.stats().waited >= std::chrono::milliseconds(40));
}

TEST_CASE("trading-engine download-data end to end, with resume", "[unit][venue][net]") {
  if (!fs::exists(TE_BINARY)) {
    WARN("skipped: " << TE_BINARY << " is not built");
    return;
  }
  auto o = serve_all();
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  TempDir dir;
  const fs::path out = dir.path / "cli.csv";
  auto run = [&](const std::string& args) {
    const std::string cmd = std::string(TE_BINARY) + " download-data " + args + " 2>&1";
    std::string output;
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) output += buf;
    const int status = ::pclose(p);
    return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, output);
  };
  // 2023-11-14T22:14:00Z .. the day after: bars 0..(1440+something) of the script.
  const std::string common = "--source binance --symbol BTCUSDT --interval 1m --rest-url " + ex.rest_url() +
                             " --out " + out.string();
  auto [code, text] = run(common + " --start 2023-11-14T22:14:00Z --end 2023-11-15");
  INFO(text);
  CHECK(code == 0);
  // 22:14 .. 24:00 on the 14th plus the whole 15th (a bare --end date is inclusive).
  const std::size_t rows = 106 + 1440;
  CHECK_THAT(text, Catch::Contains("wrote " + std::to_string(rows) + " rows"));
  CHECK(read_file(out) == expected_csv(o.bars["BTCUSDT"], 0, rows));

  auto [code2, text2] = run(common + " --start 2023-11-14T22:14:00Z --end 2023-11-15");
  CHECK(code2 == 0);
  CHECK_THAT(text2, Catch::Contains("wrote 0 rows"));
  CHECK_THAT(text2, Catch::Contains("resumed after " + std::to_string(rows) + " existing rows"));

  auto [code3, text3] = run(common + " --days 3 --start 2023-11-14");
  CHECK(code3 == 1);
  CHECK_THAT(text3, Catch::Contains("--days cannot be combined with --start/--end"));
  auto [code4, text4] = run("--source yahoo --symbol X --days 1 --out " + out.string());
  CHECK(code4 == 1);
  CHECK_THAT(text4, Catch::Contains("--source must be binance"));
}
