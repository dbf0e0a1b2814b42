#include "engine/backtest/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/core/time.hpp"

namespace te::backtest {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kDaysPerYear = 365.25;
}  // namespace

Metrics compute_metrics(const BacktestResult& r) {
  Metrics m;
  m.bars = r.bars;
  m.fills = r.fills;
  m.initial_cash = r.initial_cash;
  m.final_equity = r.final_equity;
  m.commission_paid = r.commission_paid;
  m.total_return = r.initial_cash > 0 ? r.final_equity / r.initial_cash - 1.0 : kNaN;

  const EquityCurve& eq = r.equity;
  const std::size_t n = eq.equity.size();
  m.years = n >= 2 ? static_cast<double>(eq.ts_ns[n - 1] - eq.ts_ns[0]) / static_cast<double>(kNsPerDay) / kDaysPerYear
                   : 0.0;
  m.periods_per_year = m.years > 0 ? static_cast<double>(n - 1) / m.years : kNaN;
  m.annualized_return = m.years > 0 && r.final_equity > 0 && r.initial_cash > 0
                            ? std::pow(r.final_equity / r.initial_cash, 1.0 / m.years) - 1.0
                            : kNaN;

  // Bar returns of the equity curve (the first against the initial cash).
  double sum = 0, sum_sq = 0, down_sq = 0;
  std::size_t exposed = 0;
  double prev = r.initial_cash;
  for (std::size_t i = 0; i < n; ++i) {
    const double ret = prev != 0 ? eq.equity[i] / prev - 1.0 : 0.0;
    prev = eq.equity[i];
    sum += ret;
    sum_sq += ret * ret;
    if (ret < 0) down_sq += ret * ret;
    if (eq.position_value[i] != 0) ++exposed;
  }
  m.exposure = n ? static_cast<double>(exposed) / static_cast<double>(n) : 0.0;
  if (n >= 2 && m.periods_per_year == m.periods_per_year) {
    const double mean = sum / static_cast<double>(n);
    const double var = (sum_sq - static_cast<double>(n) * mean * mean) / static_cast<double>(n - 1);
    const double sd = var > 0 ? std::sqrt(var) : 0.0;
    const double ann = std::sqrt(m.periods_per_year);
    m.volatility = sd * ann;
    m.sharpe = sd > 0 ? mean / sd * ann : kNaN;
    const double dd = std::sqrt(down_sq / static_cast<double>(n));
    m.sortino = dd > 0 ? mean / dd * ann : kNaN;
  } else {
    m.volatility = kNaN;
    m.sharpe = kNaN;
    m.sortino = kNaN;
  }

  // Drawdown depth and the longest time spent below a previous peak.
  std::int64_t longest = 0, longest_ns = 0;
  std::size_t peak_i = 0;
  double peak = r.initial_cash;
  for (std::size_t i = 0; i < n; ++i) {
    m.max_drawdown = std::max(m.max_drawdown, eq.drawdown[i]);
    if (eq.equity[i] >= peak) {
      peak = eq.equity[i];
      peak_i = i;
    } else {
      const auto bars = static_cast<std::int64_t>(i - peak_i);
      if (bars > longest) {
        longest = bars;
        longest_ns = eq.ts_ns[i] - eq.ts_ns[peak_i];
      }
    }
  }
  m.max_drawdown_duration = longest;
  m.max_drawdown_duration_days = static_cast<double>(longest_ns) / static_cast<double>(kNsPerDay);

  double wins = 0, losses = 0, total = 0;
  std::size_t n_win = 0, n_loss = 0;
  for (const auto& t : r.trades) {
    if (t.open()) {
      ++m.open_trades;
      continue;
    }
    ++m.trades;
    const double pnl = t.pnl_net();
    total += pnl;
    if (pnl > 0) {
      wins += pnl;
      ++n_win;
    } else if (pnl < 0) {
      losses += pnl;
      ++n_loss;
    }
  }
  m.win_rate = m.trades ? static_cast<double>(n_win) / static_cast<double>(m.trades) : kNaN;
  m.profit_factor = losses < 0 ? wins / -losses : kNaN;
  m.avg_win = n_win ? wins / static_cast<double>(n_win) : kNaN;
  m.avg_loss = n_loss ? losses / static_cast<double>(n_loss) : kNaN;
  m.avg_trade = m.trades ? total / static_cast<double>(m.trades) : kNaN;
  return m;
}

}  // namespace te::backtest
