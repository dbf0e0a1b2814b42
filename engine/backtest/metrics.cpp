#include "engine/backtest/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/core/assert.hpp"
#include "engine/core/time.hpp"

namespace te::backtest {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kDaysPerYear = 365.25;

std::int64_t next_month_start_ns(std::int64_t year, unsigned month) {
  if (month == 12) return days_from_civil(year + 1, 1, 1) * kNsPerDay;
  return days_from_civil(year, month + 1, 1) * kNsPerDay;
}

double trade_return(const portfolio::Trade& t) {
  const double value = std::fabs(t.entry_price * t.quantity);
  return value > 0 ? t.pnl_net() / value : kNaN;
}

}  // namespace

MetricsAccumulator::MetricsAccumulator(double initial_cash, std::size_t expected_bars, std::size_t blocks,
                                       bool monthly)
    : initial_cash_(initial_cash),
      prev_equity_(initial_cash),
      peak_(initial_cash),
      monthly_(monthly),
      month_start_equity_(initial_cash),
      last_equity_(initial_cash),
      expected_bars_(expected_bars) {
  if (blocks > 0 && expected_bars > 0) {
    blocks_.sum.assign(blocks, 0.0);
    blocks_.sum_sq.assign(blocks, 0.0);
    blocks_.count.assign(blocks, 0);
    next_block_at_ = (expected_bars + blocks - 1) / blocks;
  }
}

void MetricsAccumulator::add(std::int64_t ts_ns, double position_value, double equity) noexcept {
  const std::size_t i = n_++;
  if (i == 0) first_ts_ = peak_ts_ = ts_ns;  // the initial cash is the first peak
  last_ts_ = ts_ns;

  const double ret = prev_equity_ != 0 ? equity / prev_equity_ - 1.0 : 0.0;
  prev_equity_ = equity;
  moments_.add(ret);
  if (ret < 0) down_sq_ += ret * ret;
  if (position_value != 0) ++exposed_;
  if (!blocks_.sum.empty()) {
    // Block b holds bars i with b <= i * nb / n < b + 1: advance at each boundary
    // instead of dividing every bar.
    const std::size_t nb = blocks_.sum.size();
    while (block_ + 1 < nb && i >= next_block_at_) {
      ++block_;
      next_block_at_ = ((block_ + 1) * expected_bars_ + nb - 1) / nb;
    }
    blocks_.sum[block_] += ret;
    blocks_.sum_sq[block_] += ret * ret;
    ++blocks_.count[block_];
  }

  // Drawdown depth, and the longest time spent below a previous peak.
  track_peak(i, ts_ns, equity);
  const double dd_money = peak_ - equity;
  if (dd_money > max_dd_money_) max_dd_money_ = dd_money;
  // Divide only when the fraction may be a new maximum (most bars are not).
  if (peak_ > 0 && equity < peak_ * (1 - max_dd_) * (1 + 1e-12)) {
    const double dd = dd_money / peak_;
    if (dd > max_dd_) max_dd_ = dd;
  }

  if (monthly_) {
    if (i == 0 || ts_ns >= month_end_ns_) {
      if (i > 0) months_.push_back({month_year_, month_, last_equity_ / month_start_equity_ - 1.0});
      if (i > 0) month_start_equity_ = last_equity_;
      const CivilDate d = civil_from_days(floor_days(ts_ns));
      month_year_ = d.year;
      month_ = d.month;
      month_end_ns_ = next_month_start_ns(d.year, d.month);
    }
    last_equity_ = equity;
  }
}

std::vector<MonthReturn> MetricsAccumulator::monthly() const {
  std::vector<MonthReturn> out = months_;
  if (monthly_ && n_ > 0) out.push_back({month_year_, month_, last_equity_ / month_start_equity_ - 1.0});
  return out;
}

Metrics MetricsAccumulator::finish(const BacktestResult& r) const {
  Metrics m;
  m.bars = r.bars;
  m.fills = r.fills;
  m.initial_cash = r.initial_cash;
  m.final_equity = r.final_equity;
  m.net_profit = r.final_equity - r.initial_cash;
  m.commission_paid = r.commission_paid;
  m.total_return = r.initial_cash > 0 ? r.final_equity / r.initial_cash - 1.0 : kNaN;

  const std::size_t n = n_;
  m.years = n >= 2 ? static_cast<double>(last_ts_ - first_ts_) / static_cast<double>(kNsPerDay) / kDaysPerYear : 0.0;
  m.periods_per_year = m.years > 0 ? static_cast<double>(n - 1) / m.years : kNaN;
  m.annualized_return = m.years > 0 && r.final_equity > 0 && r.initial_cash > 0
                            ? std::pow(r.final_equity / r.initial_cash, 1.0 / m.years) - 1.0
                            : kNaN;
  m.exposure = n ? static_cast<double>(exposed_) / static_cast<double>(n) : 0.0;

  const double sd = moments_.stdev();
  m.skewness = moments_.skewness();
  m.kurtosis = moments_.kurtosis();
  m.sharpe_per_bar = sd > 0 ? moments_.mean() / sd : kNaN;
  m.psr = probabilistic_sharpe(m.sharpe_per_bar, 0.0, static_cast<double>(n), m.skewness, m.kurtosis);
  if (n >= 2 && std::isfinite(m.periods_per_year)) {
    const double ann = std::sqrt(m.periods_per_year);
    m.volatility = sd * ann;
    m.sharpe = sd > 0 ? m.sharpe_per_bar * ann : kNaN;
    const double dd = std::sqrt(down_sq_ / static_cast<double>(n));
    m.sortino = dd > 0 ? moments_.mean() / dd * ann : kNaN;
  } else {
    m.volatility = kNaN;
    m.sharpe = kNaN;
    m.sortino = kNaN;
  }

  m.max_drawdown = max_dd_;
  m.max_drawdown_money = max_dd_money_;
  m.max_drawdown_duration = longest_;
  m.max_drawdown_duration_days = static_cast<double>(longest_ns_) / static_cast<double>(kNsPerDay);
  m.calmar = max_dd_ > 0 ? m.annualized_return / max_dd_ : kNaN;
  m.recovery_factor = max_dd_money_ > 0 ? m.net_profit / max_dd_money_ : kNaN;

  double wins = 0, losses = 0, total = 0, ret_sum = 0, held = 0, held_ns = 0;
  std::size_t n_win = 0, n_loss = 0, n_ret = 0;
  std::int64_t streak_w = 0, streak_l = 0;
  m.best_trade = m.worst_trade = m.best_trade_return = m.worst_trade_return = kNaN;
  for (const auto& t : r.trades) {
    if (t.open()) {
      ++m.open_trades;
      continue;
    }
    ++m.trades;
    const double pnl = t.pnl_net();
    total += pnl;
    held += static_cast<double>(t.exit_bar - t.entry_bar);
    held_ns += static_cast<double>(t.exit_ts_ns - t.entry_ts_ns);
    if (!(pnl <= m.best_trade)) m.best_trade = pnl;  // also replaces the initial NaN
    if (!(pnl >= m.worst_trade)) m.worst_trade = pnl;
    const double tr = trade_return(t);
    if (std::isfinite(tr)) {
      ret_sum += tr;
      ++n_ret;
      if (!(tr <= m.best_trade_return)) m.best_trade_return = tr;
      if (!(tr >= m.worst_trade_return)) m.worst_trade_return = tr;
    }
    if (pnl > 0) {
      wins += pnl;
      ++n_win;
      ++streak_w;
      streak_l = 0;
    } else if (pnl < 0) {
      losses += pnl;
      ++n_loss;
      ++streak_l;
      streak_w = 0;
    } else {
      streak_w = streak_l = 0;  // a scratch trade breaks both streaks
    }
    m.max_consecutive_wins = std::max(m.max_consecutive_wins, streak_w);
    m.max_consecutive_losses = std::max(m.max_consecutive_losses, streak_l);
  }
  const double closed = static_cast<double>(m.trades);
  m.win_rate = m.trades ? static_cast<double>(n_win) / closed : kNaN;
  m.profit_factor = losses < 0 ? wins / -losses : kNaN;
  m.avg_win = n_win ? wins / static_cast<double>(n_win) : kNaN;
  m.avg_loss = n_loss ? losses / static_cast<double>(n_loss) : kNaN;
  m.avg_trade = m.trades ? total / closed : kNaN;
  m.expectancy = m.trades ? (static_cast<double>(n_win) / closed) * (n_win ? m.avg_win : 0.0) +
                                (static_cast<double>(n_loss) / closed) * (n_loss ? m.avg_loss : 0.0)
                          : kNaN;
  m.expectancy_ratio = n_loss && m.avg_loss < 0 ? m.expectancy / -m.avg_loss : kNaN;
  m.avg_trade_return = n_ret ? ret_sum / static_cast<double>(n_ret) : kNaN;
  m.avg_bars_held = m.trades ? held / closed : kNaN;
  m.avg_holding_days = m.trades ? held_ns / closed / static_cast<double>(kNsPerDay) : kNaN;
  return m;
}

namespace {
MetricsAccumulator replay(const BacktestResult& r) {
  MetricsAccumulator acc(r.initial_cash);
  const EquityCurve& eq = r.equity;
  TE_ASSERT(eq.cash.size() == eq.equity.size() && eq.position_value.size() == eq.equity.size(),
            "compute_metrics on a curve without its cash and position_value columns");
  for (std::size_t i = 0; i < eq.equity.size(); ++i) acc.on_equity(eq.ts_ns[i], eq.cash[i], eq.position_value[i], eq.equity[i]);
  return acc;
}
}  // namespace

Metrics compute_metrics(const BacktestResult& r) { return replay(r).finish(r); }

std::vector<MonthReturn> monthly_returns(const BacktestResult& r) { return replay(r).monthly(); }

std::vector<SymbolBreakdown> symbol_breakdown(std::span<const portfolio::Trade> trades,
                                              const std::vector<std::string>& symbol_by_instrument) {
  std::vector<model::InstrumentId> ids;
  for (const auto& t : trades) ids.push_back(t.instrument);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<SymbolBreakdown> out;
  for (const model::InstrumentId id : ids) {
    SymbolBreakdown b;
    if (id < symbol_by_instrument.size()) {
      b.symbol = symbol_by_instrument[id];
    } else {
      b.symbol = "#";
      b.symbol += std::to_string(id);
    }
    double wins = 0, losses = 0, held = 0;
    std::size_t n_win = 0;
    b.best_trade = b.worst_trade = kNaN;
    for (const auto& t : trades) {
      if (t.instrument != id) continue;
      b.commission += t.entry_commission + t.exit_commission;
      if (t.open()) {
        ++b.open_trades;
        continue;
      }
      ++b.trades;
      const double pnl = t.pnl_net();
      b.net_pnl += pnl;
      held += static_cast<double>(t.exit_bar - t.entry_bar);
      if (!(pnl <= b.best_trade)) b.best_trade = pnl;
      if (!(pnl >= b.worst_trade)) b.worst_trade = pnl;
      if (pnl > 0) {
        wins += pnl;
        ++n_win;
      } else if (pnl < 0) {
        losses += pnl;
      }
    }
    const double closed = static_cast<double>(b.trades);
    b.win_rate = b.trades ? static_cast<double>(n_win) / closed : kNaN;
    b.profit_factor = losses < 0 ? wins / -losses : kNaN;
    b.avg_trade = b.trades ? b.net_pnl / closed : kNaN;
    b.avg_bars_held = b.trades ? held / closed : kNaN;
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace te::backtest
