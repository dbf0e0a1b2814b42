#pragma once
// Performance metrics of a backtest; definitions in docs/metrics.md.
// Undefined values (e.g. a Sharpe ratio without variance) are NaN and are
// written as JSON null.
//
// Everything that depends on the equity curve is computed by one streaming
// MetricsAccumulator fed a point per bar, so a run that keeps its curve
// (compute_metrics over BacktestResult::equity) and a run that does not (the
// optimiser: the accumulator listens to the engine) get bit-identical numbers.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/backtest/stats.hpp"

namespace te::backtest {

struct Metrics {
  std::size_t bars = 0;
  std::size_t trades = 0;       // closed round trips
  std::size_t open_trades = 0;  // still open at the end of the data
  std::size_t fills = 0;
  double initial_cash = 0;
  double final_equity = 0;
  double net_profit = 0;         // final_equity - initial_cash
  double total_return = 0;
  double annualized_return = 0;
  double years = 0;              // calendar span of the data
  double periods_per_year = 0;   // bar frequency observed in the data
  double sharpe = 0;
  double sortino = 0;
  double volatility = 0;         // annualised standard deviation of bar returns
  double sharpe_per_bar = 0;     // mean / stdev of bar returns, not annualised (PSR, DSR)
  double skewness = 0;           // of bar returns
  double kurtosis = 0;           // of bar returns, non-excess (normal = 3)
  double psr = 0;                // probabilistic Sharpe ratio against a Sharpe of 0
  double max_drawdown = 0;       // fraction of the peak, >= 0
  double max_drawdown_money = 0; // largest peak - equity, >= 0
  std::int64_t max_drawdown_duration = 0;  // bars from a peak until it was regained (or the end)
  double max_drawdown_duration_days = 0;
  double calmar = 0;             // annualized_return / max_drawdown
  double recovery_factor = 0;    // net_profit / max_drawdown_money
  double win_rate = 0;
  double profit_factor = 0;
  double avg_win = 0;
  double avg_loss = 0;           // <= 0
  double avg_trade = 0;
  double expectancy = 0;         // win_rate * avg_win + loss_rate * avg_loss (money per trade)
  double expectancy_ratio = 0;   // expectancy / |avg_loss| (in units of the average loss)
  double best_trade = 0;         // largest pnl_net of a closed trade
  double worst_trade = 0;        // smallest pnl_net of a closed trade
  double best_trade_return = 0;  // largest pnl_net / entry value
  double worst_trade_return = 0;
  double avg_trade_return = 0;
  std::int64_t max_consecutive_wins = 0;
  std::int64_t max_consecutive_losses = 0;
  double avg_bars_held = 0;      // closed trades
  double avg_holding_days = 0;   // closed trades, entry to exit in calendar days
  double commission_paid = 0;
  double exposure = 0;           // fraction of bars with a position
};

// One calendar month (UTC) of the equity curve.
struct MonthReturn {
  std::int64_t year = 0;
  unsigned month = 0;    // 1..12
  double ret = 0;        // equity at the month's last bar / at the previous month's last bar (or initial cash) - 1
};

// Sum and sum of squares of bar returns over equal slices of the run (by bar
// index): enough to recompute a Sharpe ratio over any union of slices, which is
// what the probability of backtest overfitting needs (docs/optimization.md).
struct ReturnBlocks {
  std::vector<double> sum, sum_sq;
  std::vector<std::uint64_t> count;
};

class MetricsAccumulator final : public EquityListener {
 public:
  // `expected_bars` sizes the return blocks (0 blocks: none kept).
  explicit MetricsAccumulator(double initial_cash, std::size_t expected_bars = 0, std::size_t blocks = 0,
                              bool monthly = true);

  void on_equity(std::int64_t ts_ns, double /*cash*/, double position_value, double equity) noexcept override {
    if (repeats(ts_ns, equity)) [[likely]] {
      add_repeat(ts_ns, position_value, equity);
    } else {
      add(ts_ns, position_value, equity);
    }
  }

  // Completes the metrics with the run's trades and counters. `r.equity` is not read.
  Metrics finish(const BacktestResult& r) const;
  // Closed months plus the month in progress.
  std::vector<MonthReturn> monthly() const;
  const ReturnBlocks& blocks() const noexcept { return blocks_; }

 private:
  // A point whose equity is the previous point's, bit for bit and finite (most
  // bars of a strategy that is often flat): its return is exactly 0 (e / e is
  // 1 for any finite non-zero e, and a zero previous equity gives 0 anyway),
  // and the peak, the drawdown's money and fraction, and the month's equity
  // are what the previous point left them, so add_repeat updates only what
  // still moves (the moments, the exposure, the time below the peak). Not
  // with return blocks, nor at a month's end (add does those).
  bool repeats(std::int64_t ts_ns, double equity) const noexcept {
    std::uint64_t a, b;
    std::memcpy(&a, &equity, sizeof a);
    std::memcpy(&b, &prev_equity_, sizeof b);
    return a == b && n_ > 0 && std::isfinite(equity) && blocks_.sum.empty() && (!monthly_ || ts_ns < month_end_ns_);
  }
  void add_repeat(std::int64_t ts_ns, double position_value, double equity) noexcept {
    const std::size_t i = n_++;
    last_ts_ = ts_ns;
    moments_.add(0.0);
    if (position_value != 0) ++exposed_;
    track_peak(i, ts_ns, equity);
  }
  // The running peak, and the longest time spent below a previous peak.
  void track_peak(std::size_t i, std::int64_t ts_ns, double equity) noexcept {
    if (equity >= peak_) {
      peak_ = equity;
      peak_i_ = i;
      peak_ts_ = ts_ns;
    } else {
      const auto bars = static_cast<std::int64_t>(i - peak_i_);
      if (bars > longest_) {
        longest_ = bars;
        longest_ns_ = ts_ns - peak_ts_;
      }
    }
  }
  // Any point (the definition; add_repeat is its shortcut).
  void add(std::int64_t ts_ns, double position_value, double equity) noexcept;

  double initial_cash_;
  std::size_t n_ = 0;
  std::int64_t first_ts_ = 0, last_ts_ = 0;
  double prev_equity_;
  Moments moments_;
  double down_sq_ = 0;
  std::size_t exposed_ = 0;
  // drawdown
  double peak_;
  std::size_t peak_i_ = 0;
  std::int64_t peak_ts_ = 0;
  double max_dd_ = 0, max_dd_money_ = 0;
  std::int64_t longest_ = 0, longest_ns_ = 0;
  // months
  bool monthly_;
  std::int64_t month_end_ns_ = 0;  // first instant of the next month
  std::int64_t month_year_ = 0;
  unsigned month_ = 0;
  double month_start_equity_;
  double last_equity_;
  std::vector<MonthReturn> months_;
  // blocks
  std::size_t expected_bars_;
  ReturnBlocks blocks_;
  std::size_t block_ = 0, next_block_at_ = 0;
};

// Metrics of a run that kept its equity curve.
Metrics compute_metrics(const BacktestResult& result);
// Calendar-month returns of a run that kept its equity curve.
std::vector<MonthReturn> monthly_returns(const BacktestResult& result);

// Trade statistics of one symbol (or of all of them), for the per-symbol
// breakdown of multi-symbol runs.
struct SymbolBreakdown {
  std::string symbol;
  std::size_t trades = 0;       // closed
  std::size_t open_trades = 0;
  double net_pnl = 0;           // Σ pnl_net of closed trades
  double commission = 0;        // entry and exit commissions, closed and open trades
  double win_rate = 0;
  double profit_factor = 0;
  double avg_trade = 0;
  double best_trade = 0;
  double worst_trade = 0;
  double avg_bars_held = 0;
};

// One entry per distinct instrument id in `trades`, ordered by id;
// `symbol_of(id)` gives the display name.
std::vector<SymbolBreakdown> symbol_breakdown(std::span<const portfolio::Trade> trades,
                                              const std::vector<std::string>& symbol_by_instrument);

}  // namespace te::backtest
