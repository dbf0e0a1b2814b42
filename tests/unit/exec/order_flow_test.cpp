// The order flow end to end: strategies in Lua, the runner, the simulated
// exchange, the account and the risk engine. Brackets, trailing stops,
// partial exits, pyramiding, breakeven, timeouts, rejections told to the
// strategy, StormGuard and the kill switch.
#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/core/sha256.hpp"
#include "engine/core/time.hpp"

using namespace te;

namespace {

script::StrategySource source(std::string code) {
  script::StrategySource s;
  s.path = "strategies/test.lua";
  s.code = std::move(code);
  s.sha256 = sha256_hex(s.code);
  return s;
}

using Ohlc = std::array<double, 4>;

// Bar i (0-based) is day i + 1.
model::BarSeries ohlc_series(const std::vector<Ohlc>& rows) {
  model::BarSeriesBuilder b;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    model::Bar bar;
    bar.ts_ns = (static_cast<std::int64_t>(i) + 1) * kNsPerDay;
    bar.open = rows[i][0];
    bar.high = rows[i][1];
    bar.low = rows[i][2];
    bar.close = rows[i][3];
    bar.volume = 1000;
    b.push(bar);
  }
  return std::move(b).build("TEST", 0);
}

std::vector<Ohlc> flat(std::size_t n, double px = 100) { return std::vector<Ohlc>(n, Ohlc{px, px + 1, px - 1, px}); }

backtest::BacktestResult run(const std::string& code, const std::vector<Ohlc>& rows, backtest::BacktestConfig cfg = {}) {
  auto r = backtest::run_backtest(cfg, ohlc_series(rows), source(code));
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  if (r->fault) INFO(r->fault->message);
  REQUIRE_FALSE(r->fault);
  return std::move(r).value();
}

bool logged(const backtest::BacktestResult& r, const std::string& text) {
  for (const auto& l : r.strategy_log)
    if (l.find(text) != std::string::npos) return true;
  return false;
}

// Enters once on the first bar with the given entry table; manage_position is `manage`.
std::string once(const std::string& entry, const std::string& manage = "", const std::string& extra = "") {
  return "params = {}\n"
         "function detect_opportunity(bar, ctx, ind) if not ctx.done then return true end end\n"
         "function filter_commitment(bar, ctx, ind) ctx.done = true; return " + entry + " end\n"
         "function manage_position(bar, ctx, ind) " + manage + " end\n" + extra;
}

}  // namespace

TEST_CASE("a bracket entry: the target fills and cancels the stop", "[unit][exec][order_flow]") {
  auto rows = flat(3);
  rows.push_back({100, 104, 99, 103});
  rows.push_back({103, 111, 102, 110});  // reaches the target 108
  rows.push_back({110, 111, 80, 85});     // would have hit the stop: it was cancelled
  auto r = run(once("enter_long { qty = 10, stop = 95, target = 108 }"), rows);
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades[0].entry_price == 100);
  CHECK(r.trades[0].exit_price == 108);
  CHECK(r.trades[0].exit_reason() == "target");
  CHECK(r.final_equity == Approx(100000 + 80));
}

TEST_CASE("a bracket entry: the stop fills (gapped through) and cancels the target", "[unit][exec][order_flow]") {
  auto rows = flat(3);
  rows.push_back({92, 93, 90, 91});  // opens below the stop 95
  rows.push_back({91, 120, 90, 119});
  auto r = run(once("enter_long { qty = 10, stop = 95, target = 108 }"), rows);
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades[0].exit_price == 92);
  CHECK(r.trades[0].exit_reason() == "stop");
}

TEST_CASE("a trailing stop with risk-based sizing", "[unit][exec][order_flow]") {
  // risk 1 % of 100000 with a trailing distance of 5: 200 shares
  auto rows = flat(2);
  rows.push_back({100, 104, 99, 104});
  rows.push_back({104, 112, 103, 111});  // trigger trails to 107
  rows.push_back({111, 112, 106, 107});  // hits 107
  rows.push_back({107, 108, 100, 101});
  auto r = run(once("enter_long { risk = 0.01, trail = 5, reason = 'go' }"), rows);
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades[0].quantity == 200);
  CHECK(r.trades[0].entry_price == 100);
  CHECK(r.trades[0].exit_price == 107);
  CHECK(r.trades[0].exit_reason() == "trailing");
  CHECK(r.trades[0].mfe == Approx(200 * 12));
}

TEST_CASE("the kill switch flattens, then every new order is rejected with its reason", "[unit][exec][order_flow][risk]") {
  const std::string code = R"(
params = {}
function detect_opportunity(bar, ctx, ind) return true end
function filter_commitment(bar, ctx, ind) return enter_long { qty = 10 } end
function manage_position(bar, ctx, ind) end
function on_order_rejected(order, ctx) log("rejected " .. order.code .. " from " .. order.source) end
)";
  backtest::BacktestConfig cfg;
  cfg.risk = risk::RiskConfig{};
  cfg.risk->kill_switch_at_ns = 5 * kNsPerDay;  // the fifth bar
  auto r = run(code, flat(10), cfg);
  REQUIRE(r.trades.size() == 1);
  CHECK_FALSE(r.trades[0].open());
  CHECK(r.trades[0].exit_reason() == "kill_switch");
  CHECK(r.kill_switch);
  CHECK(r.risk_rejections.count("kill_switch") == 1);
  CHECK(r.risk_rejections.at("kill_switch") >= 4);  // one try per bar after the switch
  CHECK(logged(r, "rejected kill_switch from risk"));
  CHECK(r.final_equity == Approx(r.final_cash));  // flat
  SECTION("engaged from the start: nothing ever trades") {
    backtest::BacktestConfig c2;
    c2.risk = risk::RiskConfig{};
    c2.risk->kill_switch = true;
    auto r2 = run(code, flat(5), c2);
    CHECK(r2.trades.empty());
    CHECK(r2.risk_rejections.at("kill_switch") == 5);
  }
}

TEST_CASE("exchange rejections reach on_order_rejected and the report", "[unit][exec][order_flow]") {
  backtest::BacktestConfig cfg;
  cfg.min_notional = 5000;  // 10 x 100 = 1000 is too small
  auto r = run(once("enter_long { qty = 10 }", "",
                    "function on_order_rejected(o, ctx) log(o.code, o.source, o.side, o.qty, o.message) end"),
               flat(4), cfg);
  CHECK(r.trades.empty());
  CHECK(r.rejections.at("below_min_notional") == 1);
  CHECK(logged(r, "below_min_notional\texchange\tbuy\t10"));
}

TEST_CASE("on_fill tells the strategy each fill", "[unit][exec][order_flow]") {
  auto r = run(once("enter_long { qty = 10 }", "if ctx.position.bars_held >= 1 then return exit_position('bye') end",
                    "function on_fill(f, ctx) log(f.purpose, f.side, f.qty, f.price, f.liquidity, ctx.position.qty) end"),
               flat(5));
  CHECK(logged(r, "entry\tbuy\t10\t100\ttaker\t10"));
  CHECK(logged(r, "signal\tsell\t10\t100\ttaker\t0"));
}

TEST_CASE("partial exits keep the trade open and resize the protection", "[unit][exec][order_flow]") {
  auto rows = flat(8);
  const std::string manage = R"(
  if ctx.position.bars_held == 1 and not ctx.halved then ctx.halved = true; return exit_position { fraction = 0.5, reason = 'half' } end
  if ctx.position.bars_held == 3 then return exit_position('rest') end)";
  auto r = run(once("enter_long { qty = 10, stop = 90 }", manage), rows);
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades[0].quantity == 10);
  CHECK(r.trades[0].exit_qty == 10);
  CHECK(r.trades[0].exit_reason() == "signal");
  CHECK(r.fills == 3);
}

TEST_CASE("pyramiding: entries add up to the configured count", "[unit][exec][order_flow]") {
  const std::string manage = "if ctx.position.bars_held >= 1 and (ctx.adds or 0) < 3 then ctx.adds = (ctx.adds or 0) + 1; return enter_long { qty = 5 } end";
  const std::string extra = "function on_order_rejected(o, ctx) log(o.code) end";
  auto r = run(once("enter_long { qty = 10 }", manage, extra), flat(8));
  CHECK(logged(r, "pyramiding_limit"));  // pyramiding = 1 by default
  CHECK(r.trades[0].quantity == 10);
  backtest::BacktestConfig cfg;
  cfg.pyramiding = 3;
  auto r2 = run(once("enter_long { qty = 10 }", manage, extra), flat(8), cfg);
  REQUIRE(r2.trades.size() == 1);
  CHECK(r2.trades[0].quantity == 20);  // 10 + 5 + 5, the third add refused
  CHECK(logged(r2, "pyramiding_limit"));
}

TEST_CASE("shorts can be disabled", "[unit][exec][order_flow]") {
  backtest::BacktestConfig cfg;
  cfg.allow_short = false;
  auto r = run(once("enter_short { qty = 10 }", "", "function on_order_rejected(o, ctx) log(o.code, o.source) end"),
               flat(3), cfg);
  CHECK(r.trades.empty());
  CHECK(r.rejections.at("short_not_allowed") == 1);
  CHECK(logged(r, "short_not_allowed\trunner"));
}

TEST_CASE("the stop moves to breakeven after the configured favourable move", "[unit][exec][order_flow]") {
  auto rows = flat(2);
  rows.push_back({100, 106, 99, 105});  // +6 >= 5: stop to 100
  rows.push_back({105, 106, 99, 100});  // back to 100: stopped at breakeven
  auto r = run(once("enter_long { qty = 10, stop = 90, breakeven = 5 }"), rows);
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades[0].exit_price == 100);
  CHECK(r.trades[0].exit_reason() == "stop");
}

TEST_CASE("max_bars closes the trade with the timeout reason", "[unit][exec][order_flow]") {
  auto r = run(once("enter_long { qty = 10, max_bars = 3 }"), flat(8));
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades[0].exit_reason() == "timeout");
  CHECK(r.trades[0].exit_bar - r.trades[0].entry_bar == 4);  // decided after 3 bars held, filled at the next open
}

TEST_CASE("close_at_end closes an open trade at the last close (end_of_data)", "[unit][exec][order_flow]") {
  backtest::BacktestConfig cfg;
  cfg.close_at_end = true;
  auto rows = flat(4);
  rows.back()[3] = 103;
  auto r = run(once("enter_long { qty = 10 }"), rows, cfg);
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades[0].exit_reason() == "end_of_data");
  CHECK(r.trades[0].exit_price == 103);
}

TEST_CASE("StormGuard HALT flattens with the risk_halt reason", "[unit][exec][order_flow][risk]") {
  backtest::BacktestConfig cfg;
  cfg.risk = risk::RiskConfig{};
  auto& g = cfg.risk->account.stormguard;
  g.enabled = true;
  g.warm = 0.001;
  g.storm = 0.002;
  g.halt = 0.003;
  auto rows = flat(2);
  rows.push_back({100, 101, 60, 60});  // -400 of 100000 on 10 shares
  rows.push_back({60, 61, 59, 60});
  rows.push_back({60, 61, 59, 60});
  auto r = run(once("enter_long { qty = 10 }"), rows, cfg);
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades[0].exit_reason() == "risk_halt");
  CHECK(r.stormguard_state == "HALT");
  CHECK(r.stormguard_changes >= 1);
}

TEST_CASE("entry orders: good for N bars expire, cancel_entry withdraws, adjust amends", "[unit][exec][order_flow]") {
  SECTION("an unfilled limit entry expires and the runner returns to Watch") {
    auto r = run(once("enter_long { qty = 10, limit = 90, bars = 2 }"), flat(6));
    CHECK(r.trades.empty());
    bool failed = false;
    for (const auto& t : r.transitions)
      if (t.event == runner::RunnerEvent::EntryFailed) {
        failed = true;
        CHECK_THAT(t.reason, Catch::Contains("expired"));
      }
    CHECK(failed);
  }
  SECTION("cancel_entry") {
    auto r = run(once("enter_long { qty = 10, limit = 90 }", "if ctx.bars_in_state >= 1 then return cancel_entry('tired') end"),
                 flat(6));
    CHECK(r.trades.empty());
    REQUIRE(r.transitions.size() >= 3);
    CHECK(r.transitions.back().event == runner::RunnerEvent::EntryFailed);
  }
  SECTION("adjust moves a working limit entry") {
    auto r = run(once("enter_long { qty = 10, limit = 90 }", "if ctx.position.qty == 0 then return adjust { limit = 99.5 } end"),
                 flat(6));
    REQUIRE(r.trades.size() == 1);
    CHECK(r.trades[0].entry_price == 99.5);
  }
}

TEST_CASE("prices are rounded to the tick and quantities to the lot before sending", "[unit][exec][order_flow]") {
  backtest::BacktestConfig cfg;
  cfg.tick_size = 0.05;
  cfg.lot_size = 10;
  auto rows = flat(2);
  rows.push_back({100, 101, 94, 95});
  auto r = run(once("enter_long { fraction = 0.0157, stop = 95.03 }"), rows, cfg);  // 15.7 shares -> 10; stop -> 95.05
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades[0].quantity == 10);
  CHECK(r.trades[0].exit_price == 95.05);
}

TEST_CASE("ohlc: an entry and its stop can fill on the same bar", "[unit][exec][order_flow]") {
  backtest::BacktestConfig cfg;
  cfg.exchange.fill = exec::FillModel::Ohlc;
  auto rows = flat(2);
  rows.push_back({100, 101, 94, 99});  // limit entry at 97 on the way down, stop 95 right after
  auto r = run(once("enter_long { qty = 10, limit = 97, stop = 95 }"), rows, cfg);
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades[0].entry_price == 97);
  CHECK(r.trades[0].exit_price == 95);
  CHECK(r.trades[0].entry_bar == r.trades[0].exit_bar);
}
