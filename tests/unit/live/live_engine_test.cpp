// The live engine through its API: historical and simulated runners on a
// thread pool produce exactly what `backtest` produces for the same bars (the
// one-code-path invariant), paced replays equal immediate ones, and a runner
// whose strategy faults halts alone.
#include <catch2/catch.hpp>

#include "engine/data/bar_generator.hpp"
#include "engine/data/load_bars.hpp"
#include "tests/unit/live/live_test_util.hpp"

using namespace te;
using namespace te::live;
using namespace te::live::test;

namespace {

std::shared_ptr<const model::BarSeries> nvda() {
  data::LoadOptions lo;
  lo.symbol = "NVDA";
  lo.cache.read = lo.cache.write = false;
  auto bars = data::load_bars(TE_SHARED_DIR "/data/nvda-1999-2014.txt", lo);
  REQUIRE(bars.ok());
  return std::make_shared<const model::BarSeries>(std::move(*bars));
}

RunnerSpec historical(std::string name, std::shared_ptr<const model::BarSeries> bars, script::StrategySource s,
                      backtest::BacktestConfig t) {
  RunnerSpec r;
  r.name = std::move(name);
  r.symbol = bars->symbol();
  r.strategy = std::move(s);
  r.trading = std::move(t);
  r.source.kind = SourceKind::Historical;
  r.source.bars = std::move(bars);
  return r;
}

std::vector<RunnerOutcome> run_to_end(EngineOptions eo, std::vector<RunnerSpec> specs) {
  auto eng = LiveEngine::create(std::move(eo), std::move(specs));
  INFO((eng ? "" : eng.error().message));
  REQUIRE(eng.ok());
  REQUIRE((*eng)->start().ok());
  REQUIRE(eventually([&] { return (*eng)->finished(); }));
  return (*eng)->shutdown();
}

}  // namespace

TEST_CASE("historical runners on a thread pool trade exactly like backtests of the same data", "[live]") {
  auto bars = nvda();
  const auto sma = strategy("sma_cross.lua");
  const auto ema = strategy("ema_cross.lua");
  auto t_sma = trading({{"fast", "10"}, {"slow", "30"}, {"stake", "100"}});
  auto t_ema = trading({});
  t_ema.close_at_end = true;
  auto bt_sma = backtest::run_backtest(t_sma, *bars, sma);
  auto bt_ema = backtest::run_backtest(t_ema, *bars, ema);
  REQUIRE(bt_sma.ok());
  REQUIRE(bt_ema.ok());
  REQUIRE(bt_sma->trades.size() > 20);  // the comparison means something

  EngineOptions eo;
  eo.threads = 3;
  eo.chunk_bars = 97;  // many yields: runners interleave on the pool
  std::vector<RunnerSpec> specs;
  for (int i = 0; i < 4; ++i) specs.push_back(historical("sma" + std::to_string(i), bars, sma, t_sma));
  specs.push_back(historical("ema", bars, ema, t_ema));
  auto out = run_to_end(eo, std::move(specs));
  REQUIRE(out.size() == 5);
  for (std::size_t i = 0; i < 4; ++i) {
    INFO(out[i].name);
    CHECK(out[i].state == UnitState::Finished);
    require_same_outcome(out[i].result, *bt_sma);
  }
  CHECK(out[4].state == UnitState::Finished);
  require_same_outcome(out[4].result, *bt_ema);
}

TEST_CASE("a simulated runner equals a backtest of generate-data's bars with the same options", "[live]") {
  data::GeneratorOptions g;
  g.seed = 99;
  g.interval_ns = 60'000'000'000;
  g.volatility = 0.35;
  g.start_price = 250;
  const std::size_t n = 3000;
  auto series = data::generate_bars(g, n, "SIM");
  REQUIRE(series.ok());
  const auto sma = strategy("sma_cross.lua");
  const auto t = trading({{"fast", "5"}, {"slow", "20"}, {"stake", "10"}});
  auto bt = backtest::run_backtest(t, *series, sma);
  REQUIRE(bt.ok());
  REQUIRE(bt->trades.size() > 20);

  RunnerSpec r;
  r.name = "sim";
  r.symbol = "SIM";
  r.strategy = sma;
  r.trading = t;
  r.source.kind = SourceKind::Simulated;
  r.source.generator = g;
  r.source.max_bars = n;
  r.source.bars_per_second = 0;  // as fast as it goes
  EngineOptions eo;
  eo.threads = 2;
  auto out = run_to_end(eo, {r});
  REQUIRE(out.size() == 1);
  CHECK(out[0].state == UnitState::Finished);
  require_same_outcome(out[0].result, *bt);
}

TEST_CASE("a real-time replay gives the same result as an immediate one, whatever the speed", "[live]") {
  data::GeneratorOptions g;
  g.seed = 5;
  g.interval_ns = 60'000'000'000;
  auto series = data::generate_bars(g, 400, "PACE");
  REQUIRE(series.ok());
  auto bars = std::make_shared<const model::BarSeries>(std::move(*series));
  const auto sma = strategy("sma_cross.lua");
  const auto t = trading({{"fast", "3"}, {"slow", "8"}, {"stake", "10"}});
  auto bt = backtest::run_backtest(t, *bars, sma);
  REQUIRE(bt.ok());

  RunnerSpec paced = historical("paced", bars, sma, t);
  paced.source.simulate_realtime = true;
  paced.source.speed = 60.0 * 200;  // 200 one-minute bars per second
  RunnerSpec immediate = historical("immediate", bars, sma, t);
  EngineOptions eo;
  eo.threads = 2;
  auto eng = LiveEngine::create(eo, {paced, immediate});
  REQUIRE(eng.ok());
  REQUIRE((*eng)->start().ok());
  CHECK_FALSE((*eng)->set_speed("immediate", 10));  // not paced
  CHECK_FALSE((*eng)->set_speed("nobody", 10));
  CHECK_FALSE((*eng)->set_speed("paced", 0));
  REQUIRE(eventually([&] { return (*eng)->status()[0].bars >= 50; }));
  CHECK((*eng)->set_speed("paced", 60.0 * 5000));  // faster while running
  REQUIRE(eventually([&] { return (*eng)->finished(); }));
  auto out = (*eng)->shutdown();
  require_same_outcome(out[0].result, *bt);
  require_same_outcome(out[1].result, *bt);
}

TEST_CASE("a runner whose strategy faults halts alone, the others finish unchanged", "[live]") {
  auto bars = nvda();
  const auto sma = strategy("sma_cross.lua");
  const auto faulty = inline_strategy("faulty.lua", R"(
params = {}
local n = 0
function detect_opportunity(bar, ctx, ind)
  n = n + 1
  if n == 50 then error("boom at bar 50") end
end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
)");
  const auto t = trading({{"fast", "10"}, {"slow", "30"}, {"stake", "100"}});
  auto bt = backtest::run_backtest(t, *bars, sma);
  REQUIRE(bt.ok());
  EngineOptions eo;
  eo.threads = 2;
  eo.chunk_bars = 16;
  std::vector<std::string> log;
  std::mutex log_mutex;
  eo.log = [&](LogLevel, std::string_view text) {
    std::lock_guard lock(log_mutex);
    log.emplace_back(text);
  };
  auto out = run_to_end(eo, {historical("good-a", bars, sma, t), historical("bad", bars, faulty, trading({})),
                             historical("good-b", bars, sma, t)});
  REQUIRE(out.size() == 3);
  CHECK(out[1].state == UnitState::Halted);
  CHECK_THAT(out[1].halt_reason, Catch::Contains("boom at bar 50"));
  CHECK(out[1].result.bars == 50);
  REQUIRE(out[1].result.fault.has_value());
  for (std::size_t i : {0u, 2u}) {
    CHECK(out[i].state == UnitState::Finished);
    require_same_outcome(out[i].result, *bt);
  }
  bool logged = false;
  for (const auto& line : log) logged = logged || (line.find("runner bad halted") != std::string::npos &&
                                                   line.find("boom at bar 50") != std::string::npos);
  CHECK(logged);
}

TEST_CASE("the engine refuses to start with every runner problem listed", "[live]") {
  auto bars = nvda();
  const auto broken = inline_strategy("broken.lua", "params = {}\nfunction detect_opportunity(\n");
  const auto sma = strategy("sma_cross.lua");
  RunnerSpec empty = historical("empty", bars, sma, trading({}));
  empty.source.bars = std::make_shared<const model::BarSeries>();
  RunnerSpec live;
  live.name = "live";
  live.symbol = "btcusdt";
  live.strategy = sma;
  live.source.kind = SourceKind::Live;
  live.source.interval = "7m";
  auto eng = LiveEngine::create({}, {historical("broken", bars, broken, trading({})), empty, live,
                                     historical("broken", bars, sma, trading({}))});
  REQUIRE_FALSE(eng.ok());
  const std::string& m = eng.error().message;
  CHECK_THAT(m, Catch::Contains("runner broken:"));
  CHECK_THAT(m, Catch::Contains("runner empty: historical data source has no bars"));
  CHECK_THAT(m, Catch::Contains("runner live:"));
  CHECK_THAT(m, Catch::Contains("7m"));
  CHECK_THAT(m, Catch::Contains("two runners have this name"));
}

TEST_CASE("an inconsistent bar halts its runner as a data error", "[live]") {
  model::BarSeriesBuilder b;
  for (int i = 0; i < 30; ++i) {
    model::Bar bar;
    bar.ts_ns = (1'700'000'000 + i * 60) * 1'000'000'000LL;
    bar.open = bar.close = 100 + i;
    bar.high = bar.open + 1;
    bar.low = bar.open - 1;
    if (i == 20) bar.low = bar.high + 5;  // low above high
    bar.volume = 10;
    b.push(bar);
  }
  auto bad = std::make_shared<const model::BarSeries>(std::move(b).build("BAD", 0));
  const auto sma = strategy("sma_cross.lua");
  auto out = run_to_end({}, {historical("bad-data", bad, sma, trading({{"fast", "2"}, {"slow", "4"}})),
                             historical("fine", nvda(), sma, trading({}))});
  CHECK(out[0].state == UnitState::Halted);
  CHECK_THAT(out[0].halt_reason, Catch::Contains("data error"));
  CHECK(out[0].result.bars == 20);
  CHECK(out[1].state == UnitState::Finished);
}
