#pragma once
// Performance metrics of a backtest; definitions in docs/metrics.md.
// Undefined values (e.g. a Sharpe ratio without variance) are NaN and are
// written as JSON null.
#include <cstdint>

#include "engine/backtest/backtest_engine.hpp"

namespace te::backtest {

struct Metrics {
  std::size_t bars = 0;
  std::size_t trades = 0;       // closed round trips
  std::size_t open_trades = 0;  // still open at the end of the data
  std::size_t fills = 0;
  double initial_cash = 0;
  double final_equity = 0;
  double total_return = 0;
  double annualized_return = 0;
  double years = 0;              // calendar span of the data
  double periods_per_year = 0;   // bar frequency observed in the data
  double sharpe = 0;
  double sortino = 0;
  double volatility = 0;         // annualised standard deviation of bar returns
  double max_drawdown = 0;       // fraction of the peak, >= 0
  std::int64_t max_drawdown_duration = 0;  // bars from a peak until it was regained (or the end)
  double max_drawdown_duration_days = 0;
  double win_rate = 0;
  double profit_factor = 0;
  double avg_win = 0;
  double avg_loss = 0;           // <= 0
  double avg_trade = 0;
  double commission_paid = 0;
  double exposure = 0;           // fraction of bars with a position
};

Metrics compute_metrics(const BacktestResult& result);

}  // namespace te::backtest
