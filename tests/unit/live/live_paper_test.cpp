// Paper trading against the in-process test exchange (127.0.0.1): the engine's
// live runners get every bar the server closed exactly once and in order,
// across dropped connections, bars the stream never sent (filled over REST)
// and malformed frames, and trade exactly like a backtest of those bars.
#include <catch2/catch.hpp>

#include <cmath>
#include <mutex>

#include "engine/core/numbers.hpp"
#include "tests/support/test_exchange.hpp"
#include "tests/unit/live/live_test_util.hpp"

using namespace te;
using namespace te::live;
using namespace te::live::test;
using te::testing::ExchangeBar;
using te::testing::TestExchange;
using te::testing::TestExchangeOptions;

namespace {

constexpr std::int64_t kMin = 60'000;
constexpr std::int64_t kT0 = 1'700'000'040'000;  // a whole minute

double dec(const std::string& s) {
  double v = 0;
  REQUIRE(te::parse_double(s, v));
  return v;
}

model::BarSeries series_of(const std::vector<ExchangeBar>& script, const std::string& symbol) {
  model::BarSeriesBuilder b;
  for (const auto& e : script) {
    model::Bar bar;
    bar.ts_ns = e.open_time_ms * 1'000'000;
    bar.open = dec(e.open);
    bar.high = dec(e.high);
    bar.low = dec(e.low);
    bar.close = dec(e.close);
    bar.volume = dec(e.volume);
    b.push(bar);
  }
  return std::move(b).build(symbol, 0);
}

RunnerSpec paper(std::string name, std::string symbol, script::StrategySource s, backtest::BacktestConfig t) {
  RunnerSpec r;
  r.name = std::move(name);
  r.symbol = std::move(symbol);
  r.strategy = std::move(s);
  r.trading = std::move(t);
  r.source.kind = SourceKind::Live;
  r.source.interval = "1m";
  r.paper = true;
  return r;
}

}  // namespace

TEST_CASE("paper runners on the test exchange: drops, gaps and junk still give every bar once and backtest trades",
          "[live][net]") {
  const std::size_t n = 160;
  TestExchangeOptions o;
  o.bars["BTCUSDT"] = te::testing::make_bars(kT0, kMin, n, 31, 100.0);
  o.bars["ETHUSDT"] = te::testing::make_bars(kT0, kMin, n, 32, 50.0);
  o.pace = std::chrono::milliseconds(12);
  o.drop_after_messages = {{0, 60}, {1, 150}, {2, 90}};  // three abrupt disconnects
  o.ws_skip_bars = {100, 101, 102};                       // closed, never sent: REST has them
  o.malformed_before_bar = {{20,
                             {"{not json", R"({"stream":"btcusdt@kline_1m","data":{"e":"kline","k":{"t":"x"}}})",
                              R"({"stream":"nobody@trade","data":{}})", R"([1,2,3])"}}};
  TestExchange ex(o);
  REQUIRE(ex.start().ok());

  const auto sma = strategy("sma_cross.lua");
  const auto ema = strategy("ema_cross.lua");
  const auto t_sma = trading({{"fast", "4"}, {"slow", "12"}, {"stake", "10"}});
  const auto t_ema = trading({{"fast", "5"}, {"slow", "15"}});

  EngineOptions eo;
  eo.threads = 2;
  eo.binance.ws_url = ex.ws_url();
  eo.binance.rest_url = ex.rest_url();
  eo.binance.reconnect_initial_delay = std::chrono::milliseconds(20);
  eo.binance.reconnect_max_delay = std::chrono::milliseconds(200);
  eo.binance.silence_timeout = std::chrono::milliseconds(2000);
  eo.binance.backfill_retry_delay = std::chrono::milliseconds(50);
  eo.binance.jitter_seed = 3;
  std::mutex log_mutex;
  std::vector<std::string> log;
  eo.log = [&](LogLevel, std::string_view text) {
    std::lock_guard lock(log_mutex);
    log.emplace_back(text);
  };
  // Two runners share BTCUSDT (one stream, fanned out); symbols in any case.
  auto eng = LiveEngine::create(eo, {paper("btc-sma", "btcusdt", sma, t_sma), paper("eth-sma", "ETHUSDT", sma, t_sma),
                                     paper("btc-ema", "BTCUSDT", ema, t_ema)});
  INFO((eng ? "" : eng.error().message));
  REQUIRE(eng.ok());
  REQUIRE((*eng)->start().ok());
  REQUIRE(ex.wait_until_done(std::chrono::seconds(120)));
  // Every runner reaches the last bar (the backfilled ones arrive before it).
  REQUIRE(eventually([&] {
    for (const auto& s : (*eng)->status())
      if (s.last_bar_ns != (kT0 + static_cast<std::int64_t>(n - 1) * kMin) * 1'000'000) return false;
    return true;
  }));
  const FeedStatus feed = (*eng)->feed_status();
  const auto status = (*eng)->status();
  auto out = (*eng)->shutdown();
  ex.stop();

  CHECK(feed.disconnects >= 3);
  CHECK(feed.backfilled_bars >= 3);
  CHECK(feed.malformed >= 3);
  CHECK(feed.quotes > 0);
  for (const auto& s : status) {
    CHECK(s.duplicates == 0);
    CHECK(s.state == UnitState::Running);
    CHECK(s.feed_lag_ns >= 0);
  }
  const auto btc = series_of(o.bars["BTCUSDT"], "BTCUSDT");
  const auto eth = series_of(o.bars["ETHUSDT"], "ETHUSDT");
  auto bt_btc_sma = backtest::run_backtest(t_sma, btc, sma);
  auto bt_eth_sma = backtest::run_backtest(t_sma, eth, sma);
  auto bt_btc_ema = backtest::run_backtest(t_ema, btc, ema);
  REQUIRE(bt_btc_sma.ok());
  REQUIRE(bt_btc_sma->trades.size() >= 3);
  REQUIRE(out.size() == 3);
  for (const auto& o2 : out) {
    INFO(o2.name);
    CHECK(o2.state == UnitState::Stopped);
    // Exactly the bars the server closed, in order, none twice.
    REQUIRE(o2.result.equity.ts_ns.size() == n);
    for (std::size_t i = 0; i < n; ++i)
      if (o2.result.equity.ts_ns[i] != (kT0 + static_cast<std::int64_t>(i) * kMin) * 1'000'000) FAIL("bar " << i);
  }
  require_same_outcome(out[0].result, *bt_btc_sma);
  require_same_outcome(out[1].result, *bt_eth_sma);
  require_same_outcome(out[2].result, *bt_btc_ema);
  bool logged_gap = false, logged_junk = false;
  for (const auto& line : log) {
    logged_gap = logged_gap || line.find("filled with") != std::string::npos;
    logged_junk = logged_junk || line.find("malformed message") != std::string::npos;
  }
  CHECK(logged_gap);
  CHECK(logged_junk);
}
