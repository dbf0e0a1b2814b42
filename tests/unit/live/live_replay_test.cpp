// An immediate historical replay (RunnerUnit::replay): the runner's batch loop
// over chunks of the shared series gives what the per-bar path (on_bar, bar by
// bar) gives, to the last bit, across chunk boundaries, a reload between
// chunks, a stop between chunks and a strategy fault; series on_bar() would
// drop or refuse bars of keep their semantics.
#include <catch2/catch.hpp>

#include "engine/data/bar_generator.hpp"
#include "engine/live/runner_unit.hpp"
#include "engine/script/vm_pool.hpp"
#include "tests/unit/live/live_test_util.hpp"

using namespace te;
using namespace te::live;
using namespace te::live::test;

namespace {

std::shared_ptr<const model::BarSeries> generated(std::size_t n, std::uint64_t seed = 7) {
  data::GeneratorOptions g;
  g.seed = seed;
  g.interval_ns = 60'000'000'000;
  g.volatility = 0.4;
  auto s = data::generate_bars(g, n, "REP");
  REQUIRE(s.ok());
  return std::make_shared<const model::BarSeries>(std::move(*s));
}

RunnerSpec spec(std::shared_ptr<const model::BarSeries> bars, script::StrategySource s, backtest::BacktestConfig t,
                std::string name = "replay") {
  RunnerSpec r;
  r.name = std::move(name);
  r.symbol = bars->symbol();
  r.strategy = std::move(s);
  r.trading = std::move(t);
  r.source.kind = SourceKind::Historical;
  r.source.bars = std::move(bars);
  return r;
}

std::unique_ptr<RunnerUnit> make_unit(const RunnerSpec& r, script::VmPool& pool) {
  auto u = RunnerUnit::create(r, 0, pool, nullptr);
  INFO((u ? "" : u.error().message));
  REQUIRE(u.ok());
  REQUIRE((*u)->start());
  return std::move(*u);
}

// Every column of the curve, bit for bit, on top of require_same_outcome.
void require_same_curve(const backtest::BacktestResult& a, const backtest::BacktestResult& b) {
  require_same_outcome(a, b);
  REQUIRE(a.equity.cash.size() == b.equity.cash.size());
  for (std::size_t i = 0; i < a.equity.cash.size(); ++i) {
    if (a.equity.cash[i] != b.equity.cash[i] || a.equity.position_value[i] != b.equity.position_value[i] ||
        a.equity.drawdown[i] != b.equity.drawdown[i])
      FAIL("curve differs at row " << i);
  }
  CHECK(a.stats.callbacks == b.stats.callbacks);
  CHECK(a.stats.reloads == b.stats.reloads);
}

// The old path: every bar through on_bar(), `reload_at` (if any) before bar `at`.
backtest::BacktestResult per_bar(const RunnerSpec& r, script::VmPool& pool, std::size_t bars,
                                 const script::StrategySource* reload = nullptr, std::size_t reload_at = 0,
                                 UnitState end = UnitState::Finished) {
  auto u = make_unit(r, pool);
  const model::BarSeries& s = *r.source.bars;
  for (std::size_t i = 0; i < bars; ++i) {
    if (reload && i == reload_at) u->runner().request_reload(*reload);
    if (!u->on_bar(s.at(i), i + 1 == s.size())) break;
  }
  u->end(end);
  return u->take_result();
}

}  // namespace

TEST_CASE("an immediate replay takes chunks through the batch loop with the per-bar path's results", "[live]") {
  auto bars = generated(5000);
  script::VmPool pool;
  for (const char* name : {"sma_cross.lua", "ema_cross.lua", "rsi_mean_reversion.lua"}) {
    INFO(name);
    auto t = std::string(name) == "sma_cross.lua" ? trading({{"fast", "5"}, {"slow", "20"}, {"stake", "10"}})
                                                  : trading({});
    t.close_at_end = true;
    const RunnerSpec r = spec(bars, strategy(name), t);
    auto bt = backtest::run_backtest(t, *bars, r.strategy);
    REQUIRE(bt.ok());
    const auto old = per_bar(r, pool, bars->size());
    require_same_outcome(old, *bt);

    auto u = make_unit(r, pool);
    REQUIRE(u->batch_replay());
    std::size_t next = 0, calls = 0;
    while (next < bars->size()) {
      REQUIRE(u->replay(next, 97));
      ++calls;
    }
    CHECK(calls == (bars->size() + 96) / 97);
    u->end(UnitState::Finished);
    CHECK(u->status().bars == static_cast<std::int64_t>(bars->size()));
    const auto res = u->take_result();
    require_same_curve(res, old);
    // One host entry per chunk, plus the bars handed back to the host (order
    // notices): far fewer than one per callback (the per-bar path's).
    CHECK(res.stats.host_entries * 4 < old.stats.host_entries);
  }
}

TEST_CASE("an immediate replay applies a reload between bars and stops between chunks like the per-bar path",
          "[live][reload]") {
  auto bars = generated(3000, 11);
  script::VmPool pool;
  const auto t = trading({{"fast", "5"}, {"slow", "20"}, {"stake", "10"}});
  const RunnerSpec r = spec(bars, strategy("sma_cross.lua"), t);
  // The same strategy buying twice the stake: trades after the reload differ.
  std::string code = r.strategy.code;
  const std::string from = "qty = params.stake,";
  REQUIRE(code.find(from) != std::string::npos);
  code.replace(code.find(from), from.size(), "qty = params.stake * 2,");
  auto edited = inline_strategy("sma_cross.lua", code);
  edited.path = r.strategy.path;

  auto u = make_unit(r, pool);
  std::size_t next = 0;
  REQUIRE(u->replay(next, 1000));
  REQUIRE(next == 1000);
  u->runner().request_reload(edited);
  REQUIRE(u->replay(next, 1000));
  REQUIRE(u->runner().stats().reloads == 1);
  u->end(UnitState::Stopped);  // the engine stopped after two chunks
  CHECK(u->state() == UnitState::Stopped);
  CHECK_FALSE(u->replay(next, 1000));
  const auto res = u->take_result();
  CHECK(res.bars == 2000);
  require_same_curve(res, per_bar(r, pool, 2000, &edited, 1000, UnitState::Stopped));
}

TEST_CASE("an immediate replay halts on a fault inside a chunk after the same bars as the per-bar path", "[live]") {
  auto bars = generated(500, 3);
  script::VmPool pool;
  const auto faulty = inline_strategy("faulty.lua", R"(
params = {}
local n = 0
function detect_opportunity(bar, ctx, ind)
  n = n + 1
  if n == 150 then error("boom at bar 150") end
end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
)");
  const RunnerSpec r = spec(bars, faulty, trading({}));
  auto u = make_unit(r, pool);
  std::size_t next = 0;
  CHECK(u->replay(next, 100));
  CHECK_FALSE(u->replay(next, 100));
  CHECK(u->state() == UnitState::Halted);
  CHECK_THAT(u->status().halt_reason, Catch::Contains("boom at bar 150"));
  const auto res = u->take_result();
  CHECK(res.bars == 150);
  require_same_curve(res, per_bar(r, pool, bars->size()));
}

TEST_CASE("a series with a duplicate keeps the per-bar path, an inconsistent bar halts a replay on it", "[live]") {
  auto good = generated(200, 5);
  model::BarSeriesBuilder dup, bad;
  for (std::size_t i = 0; i < good->size(); ++i) {
    model::Bar b = good->at(i);
    dup.push(b);
    if (i == 100) dup.push(b);  // the same bar twice
    if (i == 120) b.low = b.high + 1;
    bad.push(b);
  }
  auto with_dup = std::make_shared<const model::BarSeries>(std::move(dup).build("DUP", 0));
  auto with_bad = std::make_shared<const model::BarSeries>(std::move(bad).build("BAD", 0));
  CHECK(check_series(*good).clean == good->size());
  CHECK_FALSE(check_series(*good).out_of_order);
  CHECK(check_series(*with_dup).clean == 101);
  CHECK(check_series(*with_dup).out_of_order);
  CHECK(check_series(*with_bad).clean == 120);
  CHECK_FALSE(check_series(*with_bad).out_of_order);

  script::VmPool pool;
  const auto sma = strategy("sma_cross.lua");
  const auto t = trading({{"fast", "3"}, {"slow", "8"}, {"stake", "10"}});
  auto u = make_unit(spec(with_dup, sma, t), pool);
  CHECK_FALSE(u->batch_replay());

  auto v = make_unit(spec(with_bad, sma, t), pool);
  REQUIRE(v->batch_replay());
  std::size_t next = 0;
  CHECK(v->replay(next, 100));
  CHECK_FALSE(v->replay(next, 100));
  CHECK(next == 121);
  CHECK(v->state() == UnitState::Halted);
  CHECK_THAT(v->status().halt_reason, Catch::Contains("data error"));
  CHECK(v->take_result().bars == 120);
}
