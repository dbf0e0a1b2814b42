#include <catch2/catch.hpp>

#include "engine/venue/binance/kline_feed.hpp"
#include "tests/support/test_exchange.hpp"
#include "tests/unit/venue/venue_test_util.hpp"

using namespace te::venue::binance;
using namespace te::venue::binance::test;
using te::testing::TestExchange;
using te::testing::TestExchangeOptions;

namespace {

constexpr std::int64_t kMin = 60'000;
constexpr std::int64_t kT0 = 1'700'000'040'000;
constexpr auto kWait = std::chrono::seconds(30);

KlineFeedOptions feed_options(const TestExchange& ex, std::vector<std::string> symbols) {
  KlineFeedOptions o;
  o.ws.ws_url = ex.ws_url();
  o.ws.symbols = std::move(symbols);
  o.ws.interval = "1m";
  o.ws.reconnect_initial_delay = std::chrono::milliseconds(20);
  o.ws.reconnect_max_delay = std::chrono::milliseconds(200);
  o.ws.silence_timeout = std::chrono::milliseconds(600);
  o.ws.jitter_seed = 7;
  o.rest.base_url = ex.rest_url();
  o.rest.retry_initial_delay = std::chrono::milliseconds(20);
  o.rest.retry_max_delay = std::chrono::milliseconds(100);
  o.backfill_retry_delay = std::chrono::milliseconds(50);
  return o;
}

bool has_all(RecordingSink& sink, const std::string& sym, std::size_t n) { return sink.bar_count(sym) >= n; }

}  // namespace

TEST_CASE("kline feed delivers exactly the closed bars across drops, gaps and 429s", "[unit][venue][net]") {
  TestExchangeOptions o;
  const std::size_t n = 150;
  o.bars["BTCUSDT"] = te::testing::make_bars(kT0, kMin, n, 11);
  o.bars["ETHUSDT"] = te::testing::make_bars(kT0, kMin, n, 12, 2000.0);
  o.pace = std::chrono::milliseconds(12);
  o.drop_after_messages = {{0, 40}, {1, 70}, {2, 25}};  // three abrupt disconnects
  o.silence_after_messages = {{3, 30}};                 // and a silent connection
  o.ws_skip_bars = {90, 91, 120};                       // bars the stream never sends
  o.rest_429_first = 1;                                 // the first backfill meets a 429
  o.retry_after_s = 1;
  TestExchange ex(o);
  REQUIRE(ex.start().ok());

  RecordingSink sink;
  IoThread io;
  KlineFeed feed(io.io(), feed_options(ex, {"BTCUSDT", "ETHUSDT"}), sink);
  REQUIRE(feed.start().ok());
  const bool complete =
      sink.wait_for([&] { return has_all(sink, "BTCUSDT", n) && has_all(sink, "ETHUSDT", n); }, kWait);
  // Let anything extra (a duplicate would show up here) arrive before stopping.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  feed.stop();
  io.finish();
  CHECK(complete);

  const auto bars = sink.bars();
  for (const std::string sym : {"BTCUSDT", "ETHUSDT"}) {
    INFO(sym);
    CHECK(received_open_times(bars, sym) == script_open_times(o.bars[sym]));  // all, in order, once
  }
  const auto st = feed.stats();
  CHECK(st.backfills_completed >= 4);  // three drops and the skipped bars, per symbol
  CHECK(st.backfills_failed == 0);
  CHECK(st.missing_bars == 0);
  CHECK(st.backfilled_bars > 0);
  CHECK(st.bars_delivered == 2 * n);
  CHECK(st.ws.silence_timeouts >= 1);
  CHECK(st.rest.rate_limited == 1);
  CHECK(ex.stats().ws_connections >= 5);
  std::size_t backfilled = 0;
  for (const auto& b : bars) backfilled += b.source == BarSource::Backfill;
  CHECK(backfilled == st.backfilled_bars);
  for (const auto& e : sink.backfills()) {
    if (e.state == BackfillState::Completed) CHECK(e.missing == 0);
  }
}

TEST_CASE("kline feed resumes after a known bar and reports what REST lacks", "[unit][venue][net]") {
  TestExchangeOptions o;
  const std::size_t n = 40;
  o.bars["BTCUSDT"] = te::testing::make_bars(kT0, kMin, n, 21);
  o.pace = std::chrono::milliseconds(10);
  for (std::size_t i = 0; i < 10; ++i) o.ws_skip_bars.insert(i);  // history only on REST
  TestExchange ex(o);
  REQUIRE(ex.start().ok());

  RecordingSink sink;
  IoThread io;
  auto fo = feed_options(ex, {"BTCUSDT"});
  // "I already have the bar opening 3 minutes before the script": 2 open times
  // before the script's first bar do not exist on the exchange.
  fo.resume_after_open_ms["btcusdt"] = kT0 - 3 * kMin;
  KlineFeed feed(io.io(), fo, sink);
  REQUIRE(feed.start().ok());
  CHECK(sink.wait_for([&] { return has_all(sink, "BTCUSDT", n); }, kWait));
  feed.stop();
  io.finish();
  CHECK(received_open_times(sink.bars(), "BTCUSDT") == script_open_times(o.bars["BTCUSDT"]));
  const auto events = sink.backfills();
  REQUIRE(events.size() >= 2);
  CHECK(events[0].state == BackfillState::Started);
  CHECK(events[0].from_open_ms == kT0 - 2 * kMin);
  CHECK(events[0].to_open_ms == kT0 + 10 * kMin - 1);
  CHECK(events[1].state == BackfillState::Completed);
  CHECK(events[1].bars == 10);
  CHECK(events[1].missing == 2);
  CHECK(feed.stats().missing_bars == 2);
}

TEST_CASE("kline feed gives up a gap REST cannot fill and resumes live bars", "[unit][venue][net]") {
  TestExchangeOptions o;
  const std::size_t n = 30;
  o.bars["BTCUSDT"] = te::testing::make_bars(kT0, kMin, n, 31);
  o.pace = std::chrono::milliseconds(10);
  o.ws_skip_bars = {10, 11};
  o.rest_429_first = 1000;  // REST refuses everything
  o.retry_after_s = 0;
  TestExchange ex(o);
  REQUIRE(ex.start().ok());

  RecordingSink sink;
  IoThread io;
  auto fo = feed_options(ex, {"BTCUSDT"});
  fo.rest.max_attempts = 2;
  fo.backfill_max_attempts = 2;
  KlineFeed feed(io.io(), fo, sink);
  REQUIRE(feed.start().ok());
  CHECK(sink.wait_for([&] { return has_all(sink, "BTCUSDT", n - 2); }, kWait));
  feed.stop();
  io.finish();
  auto expected = script_open_times(o.bars["BTCUSDT"]);
  expected.erase(expected.begin() + 10, expected.begin() + 12);
  CHECK(received_open_times(sink.bars(), "BTCUSDT") == expected);
  const auto events = sink.backfills();
  REQUIRE(events.size() == 2);
  CHECK(events[1].state == BackfillState::Failed);
  CHECK(events[1].missing == 2);
  CHECK(events[1].attempt == 2);
  CHECK_THAT(events[1].detail, Catch::Contains("http 429"));
  CHECK(feed.stats().backfills_failed == 1);
}

TEST_CASE("kline feed rejects bad options before connecting", "[unit][venue]") {
  RecordingSink sink;
  IoThread io;
  KlineFeedOptions o;
  o.ws.symbols = {"BTCUSDT"};
  o.ws.klines = false;
  KlineFeed feed(io.io(), o, sink);
  auto st = feed.start();
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.error().message, Catch::Contains("klines must be enabled"));

  KlineFeedOptions o2;
  o2.ws.symbols = {"BTCUSDT"};
  o2.rest.base_url = "ws://nope";
  KlineFeed feed2(io.io(), o2, sink);
  CHECK_THAT(feed2.start().error().message, Catch::Contains("rest_url"));
  io.finish();
}
