#include "engine/backtest/monte_carlo.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

#include <fmt/core.h>

#include "engine/backtest/report_html.hpp"
#include "engine/backtest/stats.hpp"
#include "engine/core/json_writer.hpp"

namespace te::backtest {
namespace {

constexpr std::size_t kFanPoints = 100;
constexpr double kFanPercentiles[] = {5, 25, 50, 75, 95};

struct Path {
  double final_equity = 0, max_drawdown = 0;
  std::vector<double> checkpoints;
};

// Walks `steps` returns chosen by `pick(k)`, tracking drawdown and sampling
// equity at the fan checkpoints.
template <class Pick>
Path walk(std::size_t steps, double initial, Pick pick) {
  Path p;
  double eq = initial, peak = initial, dd = 0;
  const std::size_t every = std::max<std::size_t>(1, (steps + kFanPoints - 1) / kFanPoints);
  p.checkpoints.push_back(eq);
  for (std::size_t k = 0; k < steps; ++k) {
    eq *= 1 + pick(k);
    if (eq > peak) peak = eq;
    else if (peak > 0 && (peak - eq) / peak > dd) dd = (peak - eq) / peak;
    if ((k + 1) % every == 0 || k + 1 == steps) p.checkpoints.push_back(eq);
  }
  p.final_equity = eq;
  p.max_drawdown = dd;
  return p;
}

template <class Sim>
MonteCarloMethod simulate(const MonteCarloConfig& cfg, std::size_t steps, double initial, double observed_dd, Sim sim) {
  std::vector<Path> paths(cfg.runs);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < cfg.runs; i = next++) paths[i] = sim(i);
  };
  std::vector<std::thread> pool;
  const unsigned threads = std::max(1u, std::min<unsigned>(cfg.threads, static_cast<unsigned>(cfg.runs)));
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();

  MonteCarloMethod m;
  std::size_t loss = 0, worse = 0;
  for (const Path& p : paths) {
    m.final_equity.push_back(p.final_equity);
    m.max_drawdown.push_back(p.max_drawdown);
    if (p.final_equity < initial) ++loss;
    if (p.max_drawdown > observed_dd) ++worse;
  }
  std::sort(m.final_equity.begin(), m.final_equity.end());
  std::sort(m.max_drawdown.begin(), m.max_drawdown.end());
  m.prob_loss = cfg.runs ? static_cast<double>(loss) / static_cast<double>(cfg.runs) : 0;
  m.prob_worse_drawdown = cfg.runs ? static_cast<double>(worse) / static_cast<double>(cfg.runs) : 0;
  const std::size_t points = paths.empty() ? 0 : paths[0].checkpoints.size();
  const std::size_t every = std::max<std::size_t>(1, (steps + kFanPoints - 1) / kFanPoints);
  for (std::size_t k = 0; k < points; ++k) m.fan_x.push_back(static_cast<double>(std::min(steps, k * every)));
  std::vector<double> column(paths.size());
  m.fan.assign(std::size(kFanPercentiles), std::vector<double>(points));
  for (std::size_t k = 0; k < points; ++k) {
    for (std::size_t i = 0; i < paths.size(); ++i) column[i] = paths[i].checkpoints[k];
    std::sort(column.begin(), column.end());
    for (std::size_t q = 0; q < std::size(kFanPercentiles); ++q) m.fan[q][k] = percentile_sorted(column, kFanPercentiles[q]);
  }
  return m;
}

}  // namespace

MonteCarloResult run_monte_carlo(std::span<const double> trades, std::span<const double> bars, double initial_cash,
                                 double observed_final, double observed_dd, const MonteCarloConfig& cfg) {
  MonteCarloResult r;
  r.initial_cash = initial_cash;
  r.observed_final = observed_final;
  r.observed_max_drawdown = observed_dd;
  r.trades = trades.size();
  r.bars = bars.size();
  r.config = cfg;
  r.block = cfg.block ? cfg.block : std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(std::sqrt(static_cast<double>(bars.size())))));
  const std::size_t n = trades.size();
  if (n >= 2) {
    MonteCarloMethod m = simulate(cfg, n, initial_cash, observed_dd, [&](std::size_t i) {
      data::Xoshiro256 rng = stream_rng(cfg.seed, i * 3 + 0);
      std::vector<double> order(trades.begin(), trades.end());
      for (std::size_t k = n - 1; k > 0; --k) std::swap(order[k], order[uniform_below(rng, k + 1)]);
      return walk(n, initial_cash, [&](std::size_t k) { return order[k]; });
    });
    m.id = "trade-shuffle";
    m.title = "Trade order shuffled";
    m.note = fmt::format("{} closed trades in random order: the final equity cannot change, the path and its drawdowns do.", n);
    r.methods.push_back(std::move(m));
    MonteCarloMethod b = simulate(cfg, n, initial_cash, observed_dd, [&](std::size_t i) {
      data::Xoshiro256 rng = stream_rng(cfg.seed, i * 3 + 1);
      return walk(n, initial_cash, [&](std::size_t) { return trades[uniform_below(rng, n)]; });
    });
    b.id = "trade-bootstrap";
    b.title = "Trades resampled with replacement";
    b.note = fmt::format("{} trades drawn with replacement from the closed trades, per simulation.", n);
    r.methods.push_back(std::move(b));
  }
  const std::size_t nb = bars.size();
  if (nb >= 2) {
    const std::size_t block = std::min(r.block, nb);
    MonteCarloMethod m = simulate(cfg, nb, initial_cash, observed_dd, [&](std::size_t i) {
      data::Xoshiro256 rng = stream_rng(cfg.seed, i * 3 + 2);
      std::size_t at = 0;
      return walk(nb, initial_cash, [&](std::size_t k) {
        if (k % block == 0) at = uniform_below(rng, nb);  // a new block starts
        else at = at + 1 == nb ? 0 : at + 1;              // circular
        return bars[at];
      });
    });
    m.id = "bar-bootstrap";
    m.title = "Bar returns resampled in blocks";
    m.note = fmt::format("{} bar returns per simulation, drawn in circular blocks of {} bars (keeps short-range dependence).", nb, block);
    r.methods.push_back(std::move(m));
  }
  return r;
}

std::vector<double> trade_returns_of(std::span<const double> pnl_net, double initial_cash) {
  std::vector<double> out;
  double equity = initial_cash;
  for (const double p : pnl_net) {
    if (equity > 0) out.push_back(p / equity);
    equity += p;
  }
  return out;
}

std::vector<double> bar_returns_of(std::span<const double> equity, double initial_cash) {
  std::vector<double> out;
  out.reserve(equity.size());
  double prev = initial_cash;
  for (const double e : equity) {
    out.push_back(prev != 0 ? e / prev - 1 : 0.0);
    prev = e;
  }
  return out;
}

std::string monte_carlo_json(const MonteCarloResult& r) {
  JsonWriter j;
  j.begin_object();
  j.field("runs", static_cast<std::uint64_t>(r.config.runs));
  j.field("seed", r.config.seed);
  j.field("initial_cash", r.initial_cash);
  j.field("observed_final_equity", r.observed_final);
  j.field("observed_max_drawdown", r.observed_max_drawdown);
  j.field("trades", static_cast<std::uint64_t>(r.trades));
  j.field("bars", static_cast<std::uint64_t>(r.bars));
  j.field("bar_block", static_cast<std::uint64_t>(r.block));
  j.key("methods").begin_object();
  for (const MonteCarloMethod& m : r.methods) {
    j.key(m.id).begin_object();
    j.field("probability_of_loss", m.prob_loss);
    j.field("probability_of_deeper_drawdown", m.prob_worse_drawdown);
    j.key("percentiles").begin_array();
    for (const double q : r.config.percentiles) {
      j.begin_object();
      j.field("percentile", q);
      const double fe = percentile_sorted(m.final_equity, q);
      j.field("final_equity", fe);
      j.field("total_return", r.initial_cash > 0 ? fe / r.initial_cash - 1 : 0.0);
      j.field("max_drawdown", percentile_sorted(m.max_drawdown, q));
      j.end_object();
    }
    j.end_array();
    j.end_object();
  }
  j.end_object();
  j.end_object();
  return j.str();
}

std::string monte_carlo_html(const MonteCarloResult& r, const std::string& subtitle) {
  JsonWriter j(0);
  j.begin_object();
  j.field("kind", "monte_carlo");
  j.field("initial_cash", r.initial_cash);
  j.field("observed_final", r.observed_final);
  j.field("observed_max_drawdown", r.observed_max_drawdown);
  j.key("summary").begin_array();
  auto pair = [&j](const std::string& k, const std::string& v) {
    j.begin_array();
    j.value(k);
    j.value(v);
    j.end_array();
  };
  pair("Simulations per method", std::to_string(r.config.runs));
  pair("Seed", std::to_string(r.config.seed));
  pair("Closed trades", std::to_string(r.trades));
  pair("Bars", std::to_string(r.bars));
  pair("Observed final equity", fmt::format("{:.2f}", r.observed_final));
  pair("Observed max drawdown", fmt::format("{:.2f} %", r.observed_max_drawdown * 100));
  for (const MonteCarloMethod& m : r.methods) {
    pair(m.title + ": P(loss)", fmt::format("{:.1f} %", m.prob_loss * 100));
    pair(m.title + ": P(deeper drawdown)", fmt::format("{:.1f} %", m.prob_worse_drawdown * 100));
  }
  j.end_array();
  j.key("methods").begin_array();
  for (const MonteCarloMethod& m : r.methods) {
    j.begin_object();
    j.field("id", m.id);
    j.field("title", m.title);
    j.field("note", m.note);
    j.field("xlabel", m.id == "bar-bootstrap" ? "bar" : "trade");
    j.key("percentiles").begin_array();
    for (const double q : r.config.percentiles) {
      const double fe = percentile_sorted(m.final_equity, q);
      j.begin_array();
      j.value(fmt::format("{:g}", q));
      j.value(fe);
      j.value(r.initial_cash > 0 ? fe / r.initial_cash - 1 : 0.0);
      j.value(percentile_sorted(m.max_drawdown, q));
      j.end_array();
    }
    j.end_array();
    j.key("final_equity").begin_array();
    for (const double v : m.final_equity) j.value(std::round(v * 100) / 100);
    j.end_array();
    j.key("max_drawdown").begin_array();
    for (const double v : m.max_drawdown) j.value(std::round(v * 1e6) / 1e6);
    j.end_array();
    j.key("fan").begin_array();
    const char* names[] = {"5th", "25th", "median", "75th", "95th"};
    for (std::size_t q = 0; q < m.fan.size(); ++q) {
      j.begin_object();
      j.field("name", names[q]);
      j.key("t").begin_array();
      for (const double x : m.fan_x) j.value(x);
      j.end_array();
      j.key("v").begin_array();
      for (const double v : m.fan[q]) j.value(std::round(v * 100) / 100);
      j.end_array();
      if (q == 2) j.field("width", 2.5);
      else j.field("dash", q == 0 || q == 4 ? "4 3" : "");
      j.end_object();
    }
    j.end_array();
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return html_page("Monte Carlo", subtitle, j.str());
}

}  // namespace te::backtest
