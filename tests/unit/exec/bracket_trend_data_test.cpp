// strategies/bracket_trend.lua (a stop entry valid for a few bars, risk-based
// sizing, an exit bracket of a trailing stop and a target) on real daily data
// from ../shared/data, under each bar-range fill model. Every trade is checked
// against the bars it traded on: the fills obey the order type's price rule,
// the size is the one the risk fraction gives, one leg of the bracket never
// fills together with the other, and every fill is attributed to its order,
// runner and strategy. docs/execution.md shows this backtest's figures.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/core/sha256.hpp"
#include "engine/core/time.hpp"
#include "tests/support/yahoo_csv.hpp"

using namespace te;

namespace {

// The example strategy, plus a wrapper that logs what filter_commitment
// decided and the equity it sized against (the strategy file is not changed).
script::StrategySource bracket_trend_with_plan_log() {
  script::StrategySource s;
  s.path = std::string(TE_SOURCE_DIR) + "/strategies/bracket_trend.lua";
  s.code = test::read_text_file(s.path) + R"(
local decide = filter_commitment
function filter_commitment(bar, ctx, ind)
  local a = decide(bar, ctx, ind)
  if type(a) == "table" then
    log(string.format("plan %.17g %.17g %.17g %.17g %.17g", bar.time, a.stop_entry, a.stop, a.risk, ctx.account.equity))
  end
  return a
end
)";
  s.sha256 = sha256_hex(s.code);
  return s;
}

struct Plan {
  double entry = 0, stop = 0, risk = 0, equity = 0;
};

// Fills and order events as the runner reports them.
struct Recorder final : runner::RunnerObserver {
  std::map<model::OrderId, model::Order> orders;  // last event of each order
  std::vector<model::Fill> fills;
  std::size_t unattributed = 0;
  void on_order_event(const runner::SymbolRunner& r, const model::Order& o, std::string_view, const model::Fill*,
                      const model::Rejection*) override {
    if (o.id == 0 || o.runner != r.config().id || o.strategy != r.config().strategy_id) ++unattributed;
    orders[o.id] = o;
  }
  void on_fill(const runner::SymbolRunner& r, const model::Fill& f) override {
    if (f.order == 0 || f.runner != r.config().id || f.strategy != r.config().strategy_id) ++unattributed;
    fills.push_back(f);
  }
};

constexpr double kEps = 1e-9;

}  // namespace

TEST_CASE("bracket_trend on NVDA: every fill obeys its order's rule on the real bars", "[unit][exec]") {
  const model::BarSeries data = test::load_yahoo_csv(test::shared_path("data/nvda-1999-2014.txt"));
  const auto strategy = bracket_trend_with_plan_log();
  for (const exec::FillModel model : {exec::FillModel::NextOpen, exec::FillModel::Ohlc}) {
    DYNAMIC_SECTION(exec::to_string(model)) {
      Recorder rec;
      backtest::BacktestConfig cfg;
      cfg.initial_cash = 100000;
      cfg.exchange.fill = model;
      cfg.exchange.commission.rate = 0.001;
      cfg.observer = &rec;
      auto r = backtest::run_backtest(cfg, data, strategy);
      REQUIRE(r.ok());
      if (r->fault) FAIL(r->fault->message);
      CHECK(rec.unattributed == 0);
      CHECK(r->rejections.empty());

      // The plans, by the time (epoch ms) of the bar they were made on.
      std::map<std::int64_t, Plan> plans;
      for (const auto& line : r->strategy_log) {
        double time_ms = 0;
        Plan p;
        if (std::sscanf(line.c_str(), "plan %lf %lf %lf %lf %lf", &time_ms, &p.entry, &p.stop, &p.risk, &p.equity) == 5)
          plans[static_cast<std::int64_t>(time_ms)] = p;
      }
      REQUIRE(plans.size() >= r->trades.size());

      // Real data gives a real mix: dozens of trades, exits by trailing stop and by target.
      REQUIRE(r->trades.size() >= 40);
      std::map<std::string, int> reasons;
      double net = 0;
      for (const auto& t : r->trades) {
        INFO("trade " << t.id << " entry bar " << t.entry_bar << " exit bar " << t.exit_bar << " exit "
                      << t.exit_reason());
        REQUIRE_FALSE(t.open());
        ++reasons[std::string(t.exit_reason())];
        net += t.pnl_net();
        const model::Bar in = data.at(static_cast<std::size_t>(t.entry_bar));
        const model::Bar out = data.at(static_cast<std::size_t>(t.exit_bar));
        // A buy stop fills at its trigger, or at the open when the bar opened above it.
        CHECK(t.entry_price >= in.open - kEps);
        CHECK(t.entry_price <= in.high + kEps);
        if (t.exit_reason() == "trailing") {
          // A sell stop: the trigger, or a lower open. Placed when the entry filled
          // inside the bar, it watches the rest of that bar: on a range (next_open)
          // from below the entry price; along the ohlc path it may first trail the
          // bar's high and fill on the way down to the close.
          if (t.exit_bar > t.entry_bar)
            CHECK(t.exit_price <= out.open + kEps);
          else if (model == exec::FillModel::NextOpen)
            CHECK(t.exit_price < t.entry_price);
          else
            CHECK(t.exit_price <= out.high + kEps);
          CHECK(t.exit_price >= out.low - kEps);
        } else if (t.exit_reason() == "target") {  // a sell limit: the limit, or a higher open
          CHECK(t.exit_price >= out.open - kEps);
          CHECK(t.exit_price <= out.high + kEps);
          CHECK(t.exit_price > t.entry_price);
        } else {
          CHECK(t.exit_reason() == "signal");  // "trend turned": a market order at the next open
          CHECK(t.exit_price == out.open);
        }
        // Risk-based sizing: the whole shares that lose `risk` of equity at the initial stop.
        // (the plan made on the latest bar before the entry bar)
        auto plan = plans.lower_bound(in.ts_ns / kNsPerMs);
        REQUIRE(plan != plans.begin());
        --plan;
        const Plan& p = plan->second;
        CHECK(t.entry_price >= p.entry - kEps);
        CHECK(t.quantity == std::floor(p.risk * p.equity / (p.entry - p.stop) + 1e-9));
      }
      CHECK(reasons["trailing"] > 0);
      CHECK(reasons["target"] > 0);
      // Nothing is open at the end, so the trades account for every cent.
      CHECK(r->final_equity - r->initial_cash == Approx(net).margin(1e-6));
      // Each trade is one entry fill and one exit fill: the bracket's legs never both fill.
      CHECK(r->fills == 2 * r->trades.size());
      std::map<model::OrderId, int> fills_per_order;
      for (const auto& f : rec.fills) ++fills_per_order[f.order];
      for (const auto& [id, n] : fills_per_order) CHECK(n == 1);
      // The legs that did not fill were cancelled by their sibling (oco) or by the exit.
      for (const auto& [id, o] : rec.orders)
        if (o.purpose == model::OrderPurpose::TakeProfit || o.purpose == model::OrderPurpose::Trailing)
          CHECK((o.status == model::OrderStatus::Filled || o.status == model::OrderStatus::Cancelled));
    }
  }
}
