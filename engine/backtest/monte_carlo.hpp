#pragma once
// Monte Carlo resampling of a finished backtest (docs/optimization.md):
// - trade shuffle: the closed trades' returns in a random order (same final
//   equity, different paths: the spread of drawdowns the order could have given);
// - trade bootstrap: as many trades drawn with replacement;
// - bar bootstrap: the equity curve's bar returns resampled in circular blocks
//   (keeps short-range dependence), as many bars as the run had.
// Each simulation i draws from its own stream (seed, method, i): results are
// identical for any thread count.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace te::backtest {

struct MonteCarloConfig {
  std::size_t runs = 1000;
  std::uint64_t seed = 1;
  std::size_t block = 0;   // bar bootstrap block length; 0 = round(sqrt(bars))
  unsigned threads = 1;
  std::vector<double> percentiles = {1, 5, 10, 25, 50, 75, 90, 95, 99};
};

struct MonteCarloMethod {
  std::string id, title, note;
  std::vector<double> final_equity;  // one per run, ascending
  std::vector<double> max_drawdown;  // one per run, ascending (fractions)
  double prob_loss = 0;              // runs ending below the initial cash
  double prob_worse_drawdown = 0;    // runs with a deeper max drawdown than observed
  // Percentile bands of the equity path: fan[p][k] at checkpoint k (p over 5, 25, 50, 75, 95).
  std::vector<double> fan_x;
  std::vector<std::vector<double>> fan;
};

struct MonteCarloResult {
  double initial_cash = 0;
  double observed_final = 0;
  double observed_max_drawdown = 0;
  std::size_t trades = 0, bars = 0;
  std::size_t block = 0;
  MonteCarloConfig config;
  std::vector<MonteCarloMethod> methods;  // trade_shuffle, trade_bootstrap, bar_bootstrap (those with data)
};

// `trade_returns`: each closed trade's net pnl over the equity before it;
// `bar_returns`: equity_i / equity_{i-1} - 1 of every bar.
MonteCarloResult run_monte_carlo(std::span<const double> trade_returns, std::span<const double> bar_returns,
                                 double initial_cash, double observed_final, double observed_max_drawdown,
                                 const MonteCarloConfig& config);

// The inputs of run_monte_carlo from closed trades' net pnl (in exit order)
// and an equity curve: trade return = pnl / (initial cash + pnl of the trades before).
std::vector<double> trade_returns_of(std::span<const double> pnl_net, double initial_cash);
std::vector<double> bar_returns_of(std::span<const double> equity, double initial_cash);

std::string monte_carlo_json(const MonteCarloResult& r);
std::string monte_carlo_html(const MonteCarloResult& r, const std::string& subtitle);

}  // namespace te::backtest
