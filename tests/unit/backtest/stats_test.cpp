// Statistics, metrics and overfitting guards against hand-computed values.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <vector>

#include "engine/backtest/metrics.hpp"
#include "engine/backtest/monte_carlo.hpp"
#include "engine/backtest/optimizer_guards.hpp"
#include "engine/backtest/stats.hpp"
#include "engine/core/time.hpp"

using namespace te::backtest;

TEST_CASE("normal distribution and its quantile", "[backtest][stats]") {
  CHECK(normal_cdf(0) == Approx(0.5));
  CHECK(normal_cdf(1.959963984540054) == Approx(0.975).epsilon(1e-12));
  for (const double p : {1e-10, 0.001, 0.02425, 0.1, 0.5, 0.9, 0.97575, 0.999, 1 - 1e-10}) {
    INFO(p);
    CHECK(normal_cdf(normal_quantile(p)) == Approx(p).epsilon(1e-9));
  }
  CHECK(std::isnan(normal_quantile(0)));
  CHECK(std::isnan(normal_quantile(1)));
}

TEST_CASE("percentiles interpolate between order statistics", "[backtest][stats]") {
  const std::vector<double> v = {1, 2, 3, 4, 5};
  CHECK(percentile_sorted(v, 0) == 1);
  CHECK(percentile_sorted(v, 50) == 3);
  CHECK(percentile_sorted(v, 100) == 5);
  CHECK(percentile_sorted(v, 10) == Approx(1.4));  // numpy.percentile([1..5], 10)
  CHECK(percentile_sorted(v, 95) == Approx(4.8));
}

TEST_CASE("running moments match the two-pass definitions", "[backtest][stats]") {
  const std::vector<double> x = {0.01, -0.02, 0.005, 0.03, -0.01, 0.0, 0.012, -0.004};
  Moments m;
  for (const double v : x) m.add(v);
  double mean = 0;
  for (const double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  double m2 = 0, m3 = 0, m4 = 0;
  for (const double v : x) {
    m2 += (v - mean) * (v - mean);
    m3 += std::pow(v - mean, 3);
    m4 += std::pow(v - mean, 4);
  }
  const double n = static_cast<double>(x.size());
  CHECK(m.mean() == Approx(mean).epsilon(1e-12));
  CHECK(m.variance() == Approx(m2 / (n - 1)).epsilon(1e-12));
  CHECK(m.skewness() == Approx((m3 / n) / std::pow(m2 / n, 1.5)).epsilon(1e-10));
  CHECK(m.kurtosis() == Approx((m4 / n) / std::pow(m2 / n, 2)).epsilon(1e-10));
}

TEST_CASE("probabilistic and deflated Sharpe ratios", "[backtest][stats]") {
  // Normal returns (skew 0, kurtosis 3): PSR = Φ(SR √(n-1) / √(1 + SR²/2)).
  const double sr = 0.1, n = 101;
  CHECK(probabilistic_sharpe(sr, 0, n, 0, 3) == Approx(normal_cdf(sr * 10 / std::sqrt(1 + sr * sr / 2))));
  CHECK(probabilistic_sharpe(sr, sr, n, 0, 3) == Approx(0.5));
  // Negative skew and fat tails make the same Sharpe ratio less convincing.
  CHECK(probabilistic_sharpe(sr, 0, n, -1, 8) < probabilistic_sharpe(sr, 0, n, 0, 3));
  // Expected maximum of N trials grows with N and with the spread of results.
  CHECK(expected_max_sharpe(1, 0.01) == 0);
  CHECK(expected_max_sharpe(100, 0.01) > expected_max_sharpe(10, 0.01));
  CHECK(expected_max_sharpe(100, 0.04) == Approx(2 * expected_max_sharpe(100, 0.01)));
  // N = 100: E[max] = √V × ((1 − γ) Φ⁻¹(0.99) + γ Φ⁻¹(1 − 1/(100 e))) = √V × 2.5305.
  CHECK(expected_max_sharpe(100, 0.5) == Approx(std::sqrt(0.5) * 2.5305).epsilon(1e-3));
  const std::vector<double> trials = {0.01, 0.02, 0.03, 0.05, 0.04};
  const DeflatedSharpe d = deflated_sharpe(trials, 0.05, 1000, 0, 3);
  CHECK(d.trials == 5);
  CHECK(d.dsr < probabilistic_sharpe(0.05, 0, 1000, 0, 3));
  CHECK(d.dsr > 0);
}

TEST_CASE("uniform draws are unbiased and seeded streams independent of order", "[backtest][stats]") {
  auto a = stream_rng(7, 3), b = stream_rng(7, 3), c = stream_rng(7, 4);
  CHECK(a.next() == b.next());
  CHECK(stream_rng(7, 3).next() != c.next());
  auto r = stream_rng(1, 0);
  std::vector<int> counts(6, 0);
  for (int i = 0; i < 60000; ++i) ++counts[uniform_below(r, 6)];
  for (const int k : counts) CHECK(std::abs(k - 10000) < 500);
}

namespace {
BacktestResult curve(const std::vector<double>& equity, double initial = 100) {
  BacktestResult r;
  r.initial_cash = initial;
  r.final_equity = equity.back();
  r.bars = equity.size();
  r.equity.ts_ns.reserve(equity.size());
  r.equity.cash.reserve(equity.size());
  r.equity.position_value.reserve(equity.size());
  r.equity.equity.reserve(equity.size());
  r.equity.drawdown.reserve(equity.size());
  double peak = initial;
  for (std::size_t i = 0; i < equity.size(); ++i) {
    peak = std::max(peak, equity[i]);
    // One bar per day from 2020-01-01.
    r.equity.ts_ns.push_back((te::days_from_civil(2020, 1, 1) + static_cast<std::int64_t>(i) * 10) * te::kNsPerDay);
    r.equity.cash.push_back(equity[i]);
    r.equity.position_value.push_back(i % 2 ? 1.0 : 0.0);
    r.equity.equity.push_back(equity[i]);
    r.equity.drawdown.push_back((peak - equity[i]) / peak);
  }
  return r;
}
te::portfolio::Trade trade(double pnl, std::int64_t entry_bar, std::int64_t bars) {
  te::portfolio::Trade t;
  t.entry_price = 10;
  t.quantity = 10;
  t.exit_price = 10 + pnl / 10;
  t.pnl_gross = pnl;
  t.entry_bar = entry_bar;
  t.exit_bar = entry_bar + bars;
  t.entry_ts_ns = entry_bar * te::kNsPerDay;
  t.exit_ts_ns = (entry_bar + bars) * te::kNsPerDay;
  return t;
}
}  // namespace

TEST_CASE("extended metrics: drawdown money, Calmar, recovery, streaks, best/worst, holding", "[backtest][metrics]") {
  BacktestResult r = curve({110, 120, 90, 95, 130, 125});
  for (const auto& [pnl, bars] : std::vector<std::pair<double, std::int64_t>>{{10, 2}, {5, 4}, {-3, 1}, {-4, 3}, {-1, 2}, {8, 6}, {0, 1}})
    r.trades.push_back(trade(pnl, static_cast<std::int64_t>(r.trades.size()) * 10, bars));
  const Metrics m = compute_metrics(r);
  CHECK(m.max_drawdown == Approx(0.25));        // 120 -> 90
  CHECK(m.max_drawdown_money == Approx(30));
  CHECK(m.net_profit == Approx(25));
  CHECK(m.recovery_factor == Approx(25.0 / 30));
  CHECK(m.calmar == Approx(m.annualized_return / 0.25));
  CHECK(m.trades == 7);
  CHECK(m.max_consecutive_wins == 2);
  CHECK(m.max_consecutive_losses == 3);
  CHECK(m.best_trade == 10);
  CHECK(m.worst_trade == -4);
  CHECK(m.best_trade_return == Approx(0.1));
  CHECK(m.worst_trade_return == Approx(-0.04));
  CHECK(m.avg_bars_held == Approx(19.0 / 7));
  CHECK(m.avg_holding_days == Approx(19.0 / 7));
  CHECK(m.win_rate == Approx(3.0 / 7));
  CHECK(m.expectancy == Approx(15.0 / 7));  // = mean pnl: 3/7 * 23/3 + 3/7 * -8/3
  CHECK(m.expectancy_ratio == Approx((15.0 / 7) / (8.0 / 3)));
  CHECK(m.exposure == Approx(0.5));
  CHECK(std::isfinite(m.psr));
  CHECK(m.max_drawdown_duration == 2);  // peak at bar 1, regained at bar 4
}

TEST_CASE("the streaming accumulator equals compute_metrics bit for bit", "[backtest][metrics]") {
  std::vector<double> eq;
  double e = 100;
  for (int i = 0; i < 500; ++i) {
    e *= 1 + 0.01 * std::sin(i * 0.37) + 0.002;
    eq.push_back(e);
  }
  BacktestResult r = curve(eq);
  r.trades.push_back(trade(3, 1, 4));
  MetricsAccumulator acc(r.initial_cash, eq.size(), 8, true);
  for (std::size_t i = 0; i < eq.size(); ++i)
    acc.on_equity(r.equity.ts_ns[i], r.equity.cash[i], r.equity.position_value[i], r.equity.equity[i]);
  const Metrics a = acc.finish(r), b = compute_metrics(r);
  CHECK(a.sharpe == b.sharpe);
  CHECK(a.sortino == b.sortino);
  CHECK(a.psr == b.psr);
  CHECK(a.max_drawdown == b.max_drawdown);
  CHECK(a.calmar == b.calmar);
  CHECK(a.kurtosis == b.kurtosis);
  // Blocks add up to the whole run.
  double sum = 0;
  std::uint64_t count = 0;
  for (std::size_t k = 0; k < 8; ++k) {
    sum += acc.blocks().sum[k];
    count += acc.blocks().count[k];
  }
  CHECK(count == eq.size());
  double direct = 0, prev = r.initial_cash;
  for (const double v : eq) {
    direct += v / prev - 1;
    prev = v;
  }
  CHECK(sum == Approx(direct).epsilon(1e-12));
  // Monthly returns compound to the total return.
  double growth = 1;
  for (const auto& mr : monthly_returns(r)) growth *= 1 + mr.ret;
  CHECK(growth - 1 == Approx(b.total_return).epsilon(1e-9));
}

TEST_CASE("per-symbol breakdown groups trades by instrument", "[backtest][metrics]") {
  std::vector<te::portfolio::Trade> trades = {trade(5, 0, 1), trade(-2, 2, 1), trade(7, 4, 1)};
  trades[1].instrument = 1;
  const auto b = symbol_breakdown(trades, {"AAA", "BBB"});
  REQUIRE(b.size() == 2);
  CHECK(b[0].symbol == "AAA");
  CHECK(b[0].trades == 2);
  CHECK(b[0].net_pnl == 12);
  CHECK(b[1].symbol == "BBB");
  CHECK(b[1].win_rate == 0);
}

TEST_CASE("probability of backtest overfitting: skill vs noise", "[backtest][guards]") {
  auto blocks = [](double drift, std::uint64_t seed) {
    ReturnBlocks b;
    auto rng = stream_rng(seed, 0);
    for (int k = 0; k < 8; ++k) {
      double s = 0, q = 0;
      for (int i = 0; i < 200; ++i) {
        const double x = drift + (rng.uniform() - 0.5) * 0.02;
        s += x;
        q += x * x;
      }
      b.sum.push_back(s);
      b.sum_sq.push_back(q);
      b.count.push_back(200);
    }
    return b;
  };
  // Pure noise: the in-sample winner is a coin flip out of sample.
  std::vector<ReturnBlocks> noise;
  for (std::uint64_t i = 0; i < 20; ++i) noise.push_back(blocks(0, i));
  std::vector<const ReturnBlocks*> p;
  for (const auto& b : noise) p.push_back(&b);
  const PboResult n = probability_of_overfitting(p, 100000, 1);
  CHECK(n.splits == 70);  // C(8, 4)
  CHECK(n.pbo > 0.2);
  // One combination with a real edge wins in and out of sample.
  std::vector<ReturnBlocks> skill = noise;
  skill[7] = blocks(0.002, 99);
  p.clear();
  for (const auto& b : skill) p.push_back(&b);
  const PboResult s = probability_of_overfitting(p, 100000, 1);
  CHECK(s.pbo == 0);
  CHECK(s.prob_oos_loss == 0);
  // Sampling the splits is deterministic.
  const PboResult a = probability_of_overfitting(p, 20, 5), b = probability_of_overfitting(p, 20, 5);
  CHECK(a.sampled);
  CHECK(a.logits == b.logits);
}

TEST_CASE("Monte Carlo: seeded, thread-independent, shuffling keeps the final equity", "[backtest][montecarlo]") {
  const std::vector<double> trades = {0.05, -0.02, 0.03, -0.04, 0.01, 0.02, -0.01, 0.06};
  std::vector<double> bars;
  for (int i = 0; i < 400; ++i) bars.push_back(0.001 * std::sin(i * 0.9) + 0.0003);
  MonteCarloConfig c;
  c.runs = 300;
  c.seed = 11;
  c.threads = 1;
  const auto a = run_monte_carlo(trades, bars, 1000, 1100, 0.05, c);
  c.threads = 3;
  const auto b = run_monte_carlo(trades, bars, 1000, 1100, 0.05, c);
  REQUIRE(a.methods.size() == 3);
  CHECK(monte_carlo_json(a) == monte_carlo_json(b));
  c.seed = 12;
  CHECK(monte_carlo_json(run_monte_carlo(trades, bars, 1000, 1100, 0.05, c)) != monte_carlo_json(a));
  const auto& shuffle = a.methods[0];
  CHECK(shuffle.final_equity.front() == Approx(shuffle.final_equity.back()).epsilon(1e-12));
  CHECK(shuffle.max_drawdown.front() < shuffle.max_drawdown.back());
  const auto& boot = a.methods[1];
  CHECK(boot.final_equity.front() < boot.final_equity.back());
  CHECK(trade_returns_of(std::vector<double>{10, -5}, 100) == std::vector<double>{0.1, -5.0 / 110});
}
