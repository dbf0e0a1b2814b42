// The runner end to end on hand-built bars: state machine, same-bar
// transitions, fills, protection, rejections, faults and strategy loading.
#include <catch2/catch.hpp>

#include <string>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/core/sha256.hpp"
#include "engine/core/time.hpp"

using namespace te;

namespace {

script::StrategySource source(std::string code, std::string path = "strategies/test.lua") {
  script::StrategySource s;
  s.path = std::move(path);
  s.code = std::move(code);
  s.sha256 = sha256_hex(s.code);
  return s;
}

// Closes follow `closes`; open = previous close, high/low 1 around.
model::BarSeries series(const std::vector<double>& closes) {
  model::BarSeriesBuilder b;
  double prev = closes.front();
  for (std::size_t i = 0; i < closes.size(); ++i) {
    model::Bar bar;
    bar.ts_ns = (static_cast<std::int64_t>(i) + 1) * kNsPerDay;
    bar.open = prev;
    bar.close = closes[i];
    bar.high = std::max(bar.open, bar.close) + 1;
    bar.low = std::min(bar.open, bar.close) - 1;
    bar.volume = 1000;
    b.push(bar);
    prev = closes[i];
  }
  return std::move(b).build("TEST", 0);
}

backtest::BacktestResult run(const std::string& code, const std::vector<double>& closes,
                             backtest::BacktestConfig cfg = {}) {
  auto r = backtest::run_backtest(cfg, series(closes), source(code));
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::string load_error(const std::string& code, backtest::BacktestConfig cfg = {}) {
  auto r = backtest::run_backtest(cfg, series({1, 2, 3}), source(code));
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

const char* kBuyAtBar3 = R"(
params = { at = 3, qty = 10 }
function detect_opportunity(bar, ctx, ind)
  if bar.close == params.at then return { reason = "saw " .. bar.close } end
end
function filter_commitment(bar, ctx, ind) return enter_long { qty = params.qty, reason = "go" } end
function manage_position(bar, ctx, ind)
  if bar.close >= 6 then return exit_position("done") end
end
)";

}  // namespace

TEST_CASE("detect and commit on the same bar, the market order fills at the next open", "[unit][runner]") {
  auto r = run(kBuyAtBar3, {1, 2, 3, 4, 5, 6, 7, 8});
  REQUIRE(r.trades.size() == 1);
  const auto& t = r.trades[0];
  CHECK(t.entry_price == 3);  // open of bar 4 = close of bar 3
  CHECK(t.entry_ts_ns == 4 * kNsPerDay);
  CHECK(t.exit_price == 6);  // close of bar 6 signals, fills at open of bar 7
  CHECK(t.exit_ts_ns == 7 * kNsPerDay);
  CHECK(t.quantity == 10);
  CHECK(t.exit_reason() == "signal");
  REQUIRE(r.transitions.size() == 3);
  CHECK(r.transitions[0].to == runner::RunnerState::CloseWatch);
  CHECK(r.transitions[0].reason == "saw 3");
  CHECK(r.transitions[1].to == runner::RunnerState::InTrade);
  CHECK(r.transitions[1].bar_index == 2);
  CHECK(r.transitions[2].event == runner::RunnerEvent::PositionClosed);
  CHECK(r.transitions[2].bar_index == 6);
  CHECK(r.final_equity == Approx(100000 + 30));
  CHECK_FALSE(r.fault);
}

TEST_CASE("the close fill model fills on the signal bar", "[unit][runner]") {
  backtest::BacktestConfig cfg;
  cfg.exchange.fill = exec::FillModel::Close;
  auto r = run(kBuyAtBar3, {1, 2, 3, 4, 5, 6, 7, 8}, cfg);
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades[0].entry_ts_ns == 3 * kNsPerDay);
  CHECK(r.trades[0].exit_ts_ns == 6 * kNsPerDay);
}

TEST_CASE("params overrides are type-checked and unknown names refused", "[unit][runner]") {
  backtest::BacktestConfig cfg;
  cfg.params = {{"qty", "25"}};
  auto r = run(kBuyAtBar3, {1, 2, 3, 4, 5, 6, 7}, cfg);
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades[0].quantity == 25);

  cfg.params = {{"nope", "1"}};
  CHECK_THAT(load_error(kBuyAtBar3, cfg), Catch::Contains("--param nope") && Catch::Contains("at, qty"));
  cfg.params = {{"qty", "ten"}};
  CHECK_THAT(load_error(kBuyAtBar3, cfg), Catch::Contains("--param qty=ten: expected a number"));
  cfg.params = {{"qty", "2.5"}};
  CHECK_THAT(load_error(kBuyAtBar3, cfg), Catch::Contains("whole number"));
}

TEST_CASE("load errors name the file and line", "[unit][runner]") {
  CHECK_THAT(load_error("params = {}\nfunction detect_opportunity(\n"),
             Catch::StartsWith("strategies/test.lua:3:"));
  CHECK_THAT(load_error("params = {}\nlocal x = nil + 1\n"), Catch::StartsWith("strategies/test.lua:2:"));
  CHECK_THAT(load_error("params = {}\n"), Catch::Contains("missing callback detect_opportunity"));
  CHECK_THAT(load_error(std::string("\x1bLJ\x02", 4)), Catch::Contains("binary") || Catch::Contains("bytecode"));
}

TEST_CASE("a runtime error faults the runner with file:line and a traceback", "[unit][runner]") {
  const char* code = R"(
params = {}
local function helper(x)
  return x.missing.field
end
function detect_opportunity(bar, ctx, ind)
  if bar.close > 2 then local v = helper({}); return v end
end
function filter_commitment() end
function manage_position() end
)";
  auto r = run(code, {1, 2, 3, 4, 5});
  REQUIRE(r.fault);
  CHECK_THAT(r.fault->message, Catch::StartsWith("strategies/test.lua:4:"));
  CHECK(r.fault->callback == "detect_opportunity");
  CHECK_THAT(r.fault->traceback, Catch::Contains("strategies/test.lua:7"));
  CHECK(r.bars == 3);  // stopped at the bar that raised
  REQUIRE_FALSE(r.transitions.empty());
  CHECK(r.transitions.back().to == runner::RunnerState::Faulted);
}

TEST_CASE("forbidden and undeclared globals are errors naming the variable", "[unit][runner]") {
  const std::string cbs = "\nfunction filter_commitment() end\nfunction manage_position() end\n";
  for (const char* g : {"io", "os", "require", "load", "loadstring", "dofile", "debug", "ffi", "package", "getfenv"}) {
    const std::string code =
        std::string("params = {}\nfunction detect_opportunity() local x = ") + g + " end" + cbs;
    auto r = run(code, {1, 2});
    REQUIRE(r.fault);
    INFO(g);
    CHECK_THAT(r.fault->message, Catch::StartsWith("strategies/test.lua:2:") && Catch::Contains(g) &&
                                     Catch::Contains("not available"));
  }
  auto r = run("params = {}\nfunction detect_opportunity() return undefined_thing end" + cbs, {1});
  REQUIRE(r.fault);
  CHECK_THAT(r.fault->message, Catch::Contains("undeclared global \"undefined_thing\""));
  r = run("params = {}\nfunction detect_opportunity() typo = 1 end" + cbs, {1});
  REQUIRE(r.fault);
  CHECK_THAT(r.fault->message, Catch::Contains("assignment to undeclared global \"typo\""));
  // string.dump is gone, also through the string metatable, which is locked
  r = run("params = {}\nassert(string.dump == nil and (\"\").dump == nil and getmetatable(\"\") == false)\n"
          "function detect_opportunity() end" + cbs, {1});
  CHECK_FALSE(r.fault);
}

TEST_CASE("an entry the account cannot pay for is rejected and the runner returns to Watch", "[unit][runner]") {
  backtest::BacktestConfig cfg;
  cfg.initial_cash = 20;
  auto r = run(kBuyAtBar3, {1, 2, 3, 4, 5, 6, 7}, cfg);
  CHECK(r.trades.empty());
  REQUIRE(r.rejections.count("insufficient_cash") == 1);
  bool saw = false;
  for (const auto& t : r.transitions)
    if (t.event == runner::RunnerEvent::EntryFailed) {
      saw = true;
      CHECK_THAT(t.reason, Catch::Contains("insufficient_cash"));
    }
  CHECK(saw);
}

TEST_CASE("abandon and the CloseWatch timeout go back to Watch", "[unit][runner]") {
  const char* code = R"(
params = {}
function detect_opportunity(bar) if bar.close == 2 or bar.close == 10 then return true end end
function filter_commitment(bar, ctx)
  if bar.close == 12 then return abandon end
end
function manage_position() end
)";
  backtest::BacktestConfig cfg;
  cfg.closewatch_timeout_bars = 3;
  auto r = run(code, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, cfg);
  std::vector<runner::RunnerEvent> events;
  for (const auto& t : r.transitions) events.push_back(t.event);
  using E = runner::RunnerEvent;
  REQUIRE(events == std::vector<E>{E::SetupFound, E::CloseWatchTimeout, E::SetupFound, E::Abandoned});
  CHECK(r.transitions[1].bar_index == 4);  // entered CloseWatch at bar 1, three bars later
}

TEST_CASE("a protective stop closes the trade with reason stop", "[unit][runner]") {
  const char* code = R"(
params = {}
function detect_opportunity(bar) if bar.close == 10 then return true end end
function filter_commitment(bar) return enter_long { qty = 1, stop = 8.5 } end
function manage_position(bar, ctx)
  assert(ctx.position.stop == 8.5 or ctx.position.qty == 0)
end
)";
  auto r = run(code, {9, 10, 11, 10, 9, 7, 6});
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades[0].exit_reason() == "stop");
  CHECK(r.trades[0].exit_price == 8.5);  // touched intrabar: bar 4 opens at 10 with a low of 8
  CHECK(r.trades[0].entry_price == 10);
}

TEST_CASE("bars of another instrument are refused", "[unit][runner]") {
  portfolio::Portfolio account(1000);
  runner::Router router(account);
  exec::SimulatedExchange exchange({}, router, router);
  model::Instrument inst;
  inst.id = 3;
  auto rr = runner::SymbolRunner::create({}, inst, source(kBuyAtBar3), {}, std::make_unique<runner::GrowingHistory>(),
                                         exchange, account, nullptr);
  REQUIRE(rr.ok());
  auto& r = **rr;
  model::Bar b;
  b.ts_ns = 1;
  b.open = b.high = b.low = b.close = 1;
  CHECK(r.on_bar(4, b));
  CHECK(r.stats().rejected_bars == 1);
  CHECK(r.stats().bars == 0);
  CHECK(r.on_bar(3, b));
  CHECK(r.stats().bars == 1);
}
