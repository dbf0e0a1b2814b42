#include <catch2/catch.hpp>

#include <set>

#include "engine/core/numbers.hpp"
#include "engine/venue/binance/ws_client.hpp"
#include "tests/support/test_exchange.hpp"
#include "tests/unit/venue/venue_test_util.hpp"

using namespace te::venue::binance;
using namespace te::venue::binance::test;
using te::testing::TestExchange;
using te::testing::TestExchangeOptions;

namespace {

constexpr std::int64_t kMin = 60'000;
constexpr std::int64_t kT0 = 1'700'000'040'000;
constexpr auto kWait = std::chrono::seconds(20);  // generous: loaded CI machines

TestExchangeOptions script(const std::vector<std::string>& symbols, std::size_t bars) {
  TestExchangeOptions o;
  std::uint64_t seed = 1;
  for (const auto& s : symbols) o.bars[s] = te::testing::make_bars(kT0, kMin, bars, seed++);
  o.pace = std::chrono::milliseconds(10);
  return o;
}

WsClientOptions client_options(const TestExchange& ex, std::vector<std::string> symbols) {
  WsClientOptions o;
  o.ws_url = ex.ws_url();
  o.symbols = std::move(symbols);
  o.interval = "1m";
  o.connect_timeout = std::chrono::milliseconds(3000);
  o.reconnect_initial_delay = std::chrono::milliseconds(20);
  o.reconnect_max_delay = std::chrono::milliseconds(200);
  o.jitter_seed = 42;
  return o;
}

double num(const std::string& s) {
  double v = 0;
  REQUIRE(te::parse_double(s, v));
  return v;
}

bool strictly_increasing(const std::vector<std::int64_t>& v) {
  for (std::size_t i = 1; i < v.size(); ++i) {
    if (v[i] <= v[i - 1]) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("streams are split over connections at the per-connection limit", "[unit][venue]") {
  WsClientOptions o;
  o.ws_url = "wss://stream.binance.com:9443";
  o.symbols = {"BTCUSDT", "ethusdt", "BnbBtc", "XRPUSDT", "ADAUSDT"};
  o.max_streams_per_connection = 4;  // two symbols (kline + bookTicker) per connection
  auto plan = plan_connections(o);
  REQUIRE(plan.ok());
  REQUIRE(plan->size() == 3);
  CHECK((*plan)[0].target == "/stream?streams=btcusdt@kline_1m/btcusdt@bookTicker/ethusdt@kline_1m/ethusdt@bookTicker");
  CHECK((*plan)[0].symbols == std::vector<std::string>{"BTCUSDT", "ETHUSDT"});
  CHECK((*plan)[2].target == "/stream?streams=adausdt@kline_1m/adausdt@bookTicker");
  CHECK((*plan)[2].streams == 2);

  o.max_streams_per_connection = 1024;  // Binance's documented limit: 512 symbols x 2 streams
  o.symbols.clear();
  for (int i = 0; i < 1500; ++i) o.symbols.push_back("SYM" + std::to_string(i));
  auto big = plan_connections(o);
  REQUIRE(big.ok());
  REQUIRE(big->size() == 3);
  CHECK((*big)[0].streams == 1024);
  CHECK((*big)[2].streams == 2 * (1500 - 1024));

  o.book_tickers = false;
  o.ws_url = "ws://127.0.0.1:9/base/";
  o.symbols = {"BTCUSDT"};
  auto klines_only = plan_connections(o);
  REQUIRE(klines_only.ok());
  CHECK((*klines_only)[0].target == "/base/stream?streams=btcusdt@kline_1m");
  o.ws_url = "wss://stream.testnet.binance.vision/ws";  // the docs' spelling of the base endpoint
  CHECK((*plan_connections(o))[0].target == "/stream?streams=btcusdt@kline_1m");

  WsClientOptions bad;
  bad.ws_url = "https://stream.binance.com";
  bad.symbols = {"BTC-USDT", "ETHUSDT", "ethusdt"};
  bad.interval = "2m";
  bad.max_streams_per_connection = 2000;
  bad.silence_timeout = std::chrono::milliseconds(0);
  auto err = plan_connections(bad);
  REQUIRE_FALSE(err.ok());
  CHECK(err.error().code == te::Errc::invalid_argument);
  for (const char* part : {"scheme must be ws or wss", "unknown binance interval", "\"BTC-USDT\" is not a Binance symbol",
                           "ETHUSDT is listed twice", "max_streams_per_connection must be in 1..1024",
                           "silence_timeout must be > 0"}) {
    CHECK_THAT(err.error().message, Catch::Contains(part));
  }
}

TEST_CASE("ws client delivers closed bars and quotes, ignores open klines, answers pings", "[unit][venue][net]") {
  auto o = script({"BTCUSDT", "ETHUSDT"}, 60);
  o.open_updates_per_bar = 2;
  o.ping_interval = std::chrono::milliseconds(40);
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  RecordingSink sink;
  IoThread io;
  WsClient client(io.io(), client_options(ex, {"btcusdt", "ETHUSDT"}), sink);
  REQUIRE(client.start().ok());
  CHECK(client.connection_count() == 1);
  // The bookTicker of a bar follows its close: wait for both.
  REQUIRE(sink.wait_for([&] { return sink.bar_count() >= 120 && sink.quote_count() >= 120; }, kWait));
  CHECK(ex.wait_until_done(kWait));
  client.stop();
  io.finish();

  const auto bars = sink.bars();
  CHECK(bars.size() == 120);
  for (const std::string sym : {"BTCUSDT", "ETHUSDT"}) {
    INFO(sym);
    CHECK(received_open_times(bars, sym) == script_open_times(o.bars[sym]));
  }
  // Values come through exactly.
  const auto& b0 = bars.front();
  const auto& s0 = o.bars[b0.symbol][0];
  CHECK(b0.bar.open == num(s0.open));
  CHECK(b0.bar.high == num(s0.high));
  CHECK(b0.bar.low == num(s0.low));
  CHECK(b0.bar.close == num(s0.close));
  CHECK(b0.bar.volume == num(s0.volume));
  CHECK(b0.close_time_ms == s0.open_time_ms + kMin - 1);
  CHECK(b0.source == BarSource::Live);

  const auto quotes = sink.quotes();
  CHECK(quotes.size() == 120);
  CHECK(quotes.front().bid == num(o.bars[quotes.front().symbol][0].close));
  CHECK(quotes.front().ask_size == 2.0);

  const auto st = client.stats();
  CHECK(st.open_kline_updates == 240);
  CHECK(st.closed_bars == 120);
  CHECK(st.malformed.total() == 0);
  CHECK(st.pings > 0);
  CHECK(ex.stats().pongs_matching > 0);  // pong payload = ping payload
  CHECK(ex.stats().pongs_matching == ex.stats().pongs);
  const auto conns = sink.connections();
  REQUIRE(conns.size() >= 2);
  CHECK(conns[0].state == ConnectionState::Connecting);
  CHECK(conns[1].state == ConnectionState::Connected);
}

TEST_CASE("ws client splits many symbols over several connections", "[unit][venue][net]") {
  auto o = script({"AAAUSDT", "BBBUSDT", "CCCUSDT"}, 30);
  o.wait_for_connections = 3;
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  RecordingSink sink;
  IoThread io;
  auto co = client_options(ex, {"AAAUSDT", "BBBUSDT", "CCCUSDT"});
  co.max_streams_per_connection = 2;
  WsClient client(io.io(), co, sink);
  REQUIRE(client.start().ok());
  CHECK(client.connection_count() == 3);
  REQUIRE(sink.wait_for([&] { return sink.bar_count() >= 90; }, kWait));
  client.stop();
  io.finish();
  const auto bars = sink.bars();
  for (const std::string sym : {"AAAUSDT", "BBBUSDT", "CCCUSDT"}) {
    CHECK(received_open_times(bars, sym) == script_open_times(o.bars[sym]));
  }
  const auto targets = ex.stats().targets;
  REQUIRE(targets.size() == 3);
  std::set<std::string> got(targets.begin(), targets.end());
  CHECK(got.count("/stream?streams=aaausdt@kline_1m/aaausdt@bookTicker") == 1);
  CHECK(got.count("/stream?streams=cccusdt@kline_1m/cccusdt@bookTicker") == 1);
}

TEST_CASE("ws client reconnects on silence and after drops, never duplicating", "[unit][venue][net]") {
  auto o = script({"BTCUSDT"}, 80);
  o.silence_after_messages[0] = 15;  // first connection goes quiet
  o.drop_after_messages[1] = 20;     // second is cut
  o.drop_after_messages[2] = 10;     // third too
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  RecordingSink sink;
  IoThread io;
  auto co = client_options(ex, {"BTCUSDT"});
  co.silence_timeout = std::chrono::milliseconds(600);
  co.jitter = [] { return 0.5; };  // injected jitter source
  WsClient client(io.io(), co, sink);
  REQUIRE(client.start().ok());
  REQUIRE(ex.wait_until_done(kWait));
  // The last bar is always delivered: the script pauses while no client is connected.
  const std::int64_t last_open = o.bars["BTCUSDT"].back().open_time_ms;
  const bool got_last = sink.wait_for(
      [&] {
        const auto t = received_open_times(sink.bars_unlocked(), "BTCUSDT");
        return !t.empty() && t.back() == last_open;
      },
      kWait);
  client.stop();
  io.finish();
  CHECK(got_last);
  const auto times = received_open_times(sink.bars(), "BTCUSDT");
  CHECK(strictly_increasing(times));  // no duplicates, in order (gaps are possible without backfill)
  const auto st = client.stats();
  CHECK(st.silence_timeouts >= 1);  // (more only if this machine stalls the server for 600 ms)
  CHECK(ex.stats().ws_connections >= 4);
  CHECK(st.connects >= 4);
  std::size_t silence_events = 0, error_events = 0;
  for (const auto& e : sink.connections()) {
    if (e.state != ConnectionState::Disconnected) continue;
    if (e.reason == DisconnectReason::Silence) ++silence_events;
    if (e.reason == DisconnectReason::Error) ++error_events;
  }
  CHECK(silence_events == st.silence_timeouts);
  CHECK(error_events >= 2);
}

TEST_CASE("ws client counts and reports malformed frames and keeps going", "[unit][venue][net]") {
  auto o = script({"BTCUSDT"}, 20);
  o.malformed_before_bar[5] = {
      "this is not json",
      R"({"stream":"btcusdt@depth","data":{}})",
      R"({"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":1.5,"B":"1","a":"1","A":"1"}})",
      R"({"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","B":"1","a":"1","A":"1"}})",
      R"({"stream":"ethusdt@bookTicker","data":{"u":1,"s":"ETHUSDT","b":"1","B":"1","a":"1","A":"1"}})",
      R"({"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1,"s":"BTCUSDT","k":{"t":0,"T":59999,"s":"BTCUSDT","i":"1m","o":"5","c":"5","h":"1","l":"1","v":"1","x":true}}})",
  };
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  RecordingSink sink;
  IoThread io;
  WsClient client(io.io(), client_options(ex, {"BTCUSDT"}), sink);
  REQUIRE(client.start().ok());
  REQUIRE(sink.wait_for([&] { return sink.bar_count() >= 20; }, kWait));
  client.stop();
  io.finish();
  CHECK(received_open_times(sink.bars(), "BTCUSDT") == script_open_times(o.bars["BTCUSDT"]));
  const auto errors = sink.errors();
  REQUIRE(errors.size() == 6);
  CHECK(errors[0].kind == Malformed::BadJson);
  CHECK(errors[1].kind == Malformed::UnknownStream);
  CHECK(errors[2].kind == Malformed::WrongType);
  CHECK(errors[3].kind == Malformed::MissingField);
  CHECK(errors[4].kind == Malformed::UnknownStream);  // valid, but not subscribed
  CHECK_THAT(errors[4].message, Catch::Contains("not subscribed"));
  CHECK(errors[5].kind == Malformed::BadValue);  // a closed kline that is not a bar (open > high)
  CHECK_THAT(errors[5].message, Catch::Contains("not a valid bar"));
  const auto st = client.stats();
  CHECK(st.malformed.total() == 6);
  CHECK(st.malformed[Malformed::UnknownStream] == 2);
  CHECK(st.bad_bars == 1);
  CHECK(errors.back().totals.total() == 6);
}

TEST_CASE("ws client drops klines from the future and off the grid, and later bars still arrive", "[unit][venue][net]") {
  // Found by the audit: a closed kline dated in the future (within 1970..2261)
  // was delivered, and every real bar after it was then dropped as a duplicate.
  auto o = script({"BTCUSDT"}, 20);
  const std::int64_t future = kT0 + 365LL * 24 * 60 * kMin;  // a year after the data
  const std::int64_t off_grid = kT0 + 4 * kMin + 30'000;    // 30 s into a minute
  auto kline = [](std::int64_t t) {
    return R"({"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1,"s":"BTCUSDT","k":{"t":)" + std::to_string(t) +
           R"(,"T":)" + std::to_string(t + kMin - 1) +
           R"(,"s":"BTCUSDT","i":"1m","o":"5","c":"5","h":"6","l":"4","v":"1","x":true}}})";
  };
  o.malformed_before_bar[5] = {kline(future), kline(off_grid)};
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  RecordingSink sink;
  IoThread io;
  auto co = client_options(ex, {"BTCUSDT"});
  const std::int64_t now = kT0 + 21 * kMin;  // the clock: just after the last scripted bar closed
  co.now_ms = [now] { return now; };
  WsClient client(io.io(), co, sink);
  REQUIRE(client.start().ok());
  REQUIRE(sink.wait_for([&] { return sink.bar_count() >= 20; }, kWait));
  client.stop();
  io.finish();
  CHECK(received_open_times(sink.bars(), "BTCUSDT") == script_open_times(o.bars["BTCUSDT"]));
  const auto errors = sink.errors();
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].kind == Malformed::BadValue);
  CHECK_THAT(errors[0].message, Catch::Contains("after the local clock") && Catch::Contains("check the system clock"));
  CHECK(errors[1].kind == Malformed::BadValue);
  CHECK_THAT(errors[1].message, Catch::Contains("is not on the 1m grid") &&
                                    Catch::Contains("the grid time before it is " + std::to_string(kT0 + 4 * kMin)));
  CHECK(client.stats().bad_bars == 2);
}

TEST_CASE("ws client replaces connections before the 24 h cut and on serverShutdown", "[unit][venue][net]") {
  auto o = script({"BTCUSDT", "ETHUSDT"}, 120);
  o.server_shutdown_before_bar = {20};
  o.max_closes_while_degraded = 0;
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  RecordingSink sink;
  IoThread io;
  auto co = client_options(ex, {"BTCUSDT", "ETHUSDT"});
  co.max_connection_age = std::chrono::milliseconds(250);  // stands in for 24 h
  WsClient client(io.io(), co, sink);
  REQUIRE(client.start().ok());
  REQUIRE(sink.wait_for([&] { return sink.bar_count() >= 240; }, kWait));
  client.stop();
  io.finish();
  // Make-before-break: nothing lost, nothing doubled.
  for (const std::string sym : {"BTCUSDT", "ETHUSDT"}) {
    CHECK(received_open_times(sink.bars(), sym) == script_open_times(o.bars[sym]));
  }
  const auto st = client.stats();
  // One notice is sent to every open connection: when it lands while a rotation
  // has a standby open too, both count it (seen once under load).
  CHECK(st.server_shutdowns >= 1);
  CHECK(st.server_shutdowns <= 2);
  CHECK(st.rotations >= 2);
  CHECK(ex.stats().ws_connections >= 3);
  std::size_t replaced = 0;
  for (const auto& e : sink.connections()) {
    if (e.state == ConnectionState::Disconnected &&
        (e.reason == DisconnectReason::Rotation || e.reason == DisconnectReason::ServerShutdown)) {
      ++replaced;
    }
  }
  CHECK(replaced >= 3);
}

TEST_CASE("ws client backs off while the server is unreachable and stops cleanly", "[unit][venue][net]") {
  std::string url;
  {
    TestExchange ex(script({"BTCUSDT"}, 1));
    REQUIRE(ex.start().ok());
    url = ex.ws_url();
  }  // stopped: nothing listens there now
  RecordingSink sink;
  IoThread io;
  WsClientOptions co;
  co.ws_url = url;
  co.symbols = {"BTCUSDT"};
  co.reconnect_initial_delay = std::chrono::milliseconds(10);
  co.reconnect_max_delay = std::chrono::milliseconds(80);
  co.jitter = [] { return 0.0; };
  WsClient client(io.io(), co, sink);
  REQUIRE(client.start().ok());
  REQUIRE(sink.wait_for(
      [&] {
        std::size_t n = 0;
        for (const auto& e : sink.connections_unlocked()) n += e.state == ConnectionState::Disconnected;
        return n >= 5;
      },
      kWait));
  client.stop();
  const std::size_t events_at_stop = sink.connections().size();
  io.finish();
  CHECK(sink.connections().size() == events_at_stop);  // nothing after stop()
  std::vector<std::uint32_t> attempts;
  for (const auto& e : sink.connections()) {
    if (e.state == ConnectionState::Connecting) attempts.push_back(e.attempt);
    if (e.state == ConnectionState::Disconnected) {
      CHECK(e.reason == DisconnectReason::Error);
      CHECK_THAT(e.detail, Catch::Contains("connect"));
    }
  }
  REQUIRE(attempts.size() >= 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(attempts[i] == i);
  CHECK(client.stats().connects == 0);
}

TEST_CASE("wss:// runs TLS with verification: a plain server fails the handshake", "[unit][venue][net]") {
  TestExchange ex(script({"BTCUSDT"}, 1));
  REQUIRE(ex.start().ok());
  RecordingSink sink;
  IoThread io;
  auto co = client_options(ex, {"BTCUSDT"});
  co.ws_url = "wss://127.0.0.1:" + std::to_string(ex.port());
  WsClient client(io.io(), co, sink);
  REQUIRE(client.start().ok());
  REQUIRE(sink.wait_for(
      [&] {
        for (const auto& e : sink.connections_unlocked()) {
          if (e.state == ConnectionState::Disconnected) return true;
        }
        return false;
      },
      kWait));
  client.stop();
  io.finish();
  bool tls_failure = false;
  for (const auto& e : sink.connections()) {
    if (e.state == ConnectionState::Disconnected && e.detail.find("tls handshake") != std::string::npos) {
      tls_failure = true;
    }
  }
  CHECK(tls_failure);
  CHECK(client.stats().connects == 0);
}
