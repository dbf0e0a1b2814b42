#pragma once
// Shared by the [live] tests: specs for the engine, polling without timing
// assertions, and exact comparison of a runner's outcome with a backtest.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/live/live_engine.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::live::test {

inline script::StrategySource strategy(const std::string& name) {
  auto s = script::read_strategy(std::string(TE_SOURCE_DIR) + "/strategies/" + name);
  REQUIRE(s.ok());
  return *s;
}

inline script::StrategySource inline_strategy(const std::string& name, const std::string& code) {
  auto s = script::make_strategy_source(name, code);
  REQUIRE(s.ok());
  return *s;
}

inline backtest::BacktestConfig trading(std::vector<std::pair<std::string, std::string>> params) {
  backtest::BacktestConfig t;
  t.params = std::move(params);
  t.seed = 42;
  t.exchange.commission.rate = 0.001;
  t.keep_transitions = false;
  return t;
}

// Waits for `done` (a guard against hangs, not a timing assertion).
inline bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(120)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// The one-code-path invariant: same bars, same settings => same trades,
// equity curve and account, to the last bit.
inline void require_same_outcome(const backtest::BacktestResult& live, const backtest::BacktestResult& bt) {
  REQUIRE(live.bars == bt.bars);
  REQUIRE(live.trades.size() == bt.trades.size());
  for (std::size_t i = 0; i < bt.trades.size(); ++i) {
    INFO("trade " << i);
    CHECK(live.trades[i].entry_ts_ns == bt.trades[i].entry_ts_ns);
    CHECK(live.trades[i].exit_ts_ns == bt.trades[i].exit_ts_ns);
    CHECK(live.trades[i].entry_price == bt.trades[i].entry_price);
    CHECK(live.trades[i].exit_price == bt.trades[i].exit_price);
    CHECK(live.trades[i].quantity == bt.trades[i].quantity);
    CHECK(live.trades[i].pnl_net() == bt.trades[i].pnl_net());
  }
  CHECK(live.fills == bt.fills);
  CHECK(live.final_cash == bt.final_cash);
  CHECK(live.final_equity == bt.final_equity);
  CHECK(live.commission_paid == bt.commission_paid);
  REQUIRE(live.equity.equity.size() == bt.equity.equity.size());
  for (std::size_t i = 0; i < bt.equity.equity.size(); ++i) {
    if (live.equity.ts_ns[i] != bt.equity.ts_ns[i] || live.equity.equity[i] != bt.equity.equity[i]) {
      FAIL("equity differs at row " << i);
    }
  }
  CHECK(live.rejections == bt.rejections);
  CHECK(live.stats.orders == bt.stats.orders);
  CHECK(live.stats.transitions == bt.stats.transitions);
}

}  // namespace te::live::test
