#include "engine/backtest/optimizer_guards.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/backtest/stats.hpp"

namespace te::backtest {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Sharpe ratio of the bar returns in the blocks selected by `mask`. A run
// without variance (never traded) counts as 0.
double sharpe_of(const ReturnBlocks& b, std::uint64_t mask) {
  double sum = 0, sq = 0, n = 0;
  for (std::size_t k = 0; k < b.sum.size(); ++k) {
    if (!(mask >> k & 1)) continue;
    sum += b.sum[k];
    sq += b.sum_sq[k];
    n += static_cast<double>(b.count[k]);
  }
  if (n < 2) return 0;
  const double mean = sum / n;
  const double var = (sq - n * mean * mean) / (n - 1);
  return var > 0 ? mean / std::sqrt(var) : 0;
}

double binomial(std::size_t n, std::size_t k) {
  double r = 1;
  for (std::size_t i = 1; i <= k; ++i) r = r * static_cast<double>(n - k + i) / static_cast<double>(i);
  return r;
}

}  // namespace

DeflatedSharpe deflated_sharpe(std::span<const double> trial_srs, double best_sr, double bars, double skewness,
                               double kurtosis) {
  DeflatedSharpe d;
  Moments m;
  for (const double sr : trial_srs)
    if (std::isfinite(sr)) m.add(sr);
  d.trials = static_cast<double>(m.count());
  d.sr_variance = m.count() >= 2 ? m.variance() : 0.0;
  d.best_sr = best_sr;
  d.expected_max_sr = expected_max_sharpe(d.trials, d.sr_variance);
  d.dsr = d.trials >= 1 ? probabilistic_sharpe(best_sr, d.expected_max_sr, bars, skewness, kurtosis) : kNaN;
  return d;
}

PboResult probability_of_overfitting(std::span<const ReturnBlocks* const> combos, std::size_t max_splits,
                                     std::uint64_t seed) {
  PboResult out;
  out.combinations = combos.size();
  if (combos.size() < 2) return out;
  const std::size_t s = combos[0]->sum.size();
  out.blocks = s;
  if (s < 4 || s % 2 || s > 62) return out;
  for (const ReturnBlocks* b : combos)
    if (b->sum.size() != s) return out;

  // The in-sample halves: every subset of s/2 blocks, or a seeded sample.
  std::vector<std::uint64_t> masks;
  const double all = binomial(s, s / 2);
  if (all <= static_cast<double>(max_splits)) {
    for (std::uint64_t mask = 0; mask < (1ULL << s); ++mask)
      if (static_cast<std::size_t>(__builtin_popcountll(mask)) == s / 2) masks.push_back(mask);
  } else {
    out.sampled = true;
    data::Xoshiro256 rng = stream_rng(seed, 0);
    std::vector<std::size_t> idx(s);
    for (std::size_t i = 0; i < max_splits; ++i) {
      for (std::size_t k = 0; k < s; ++k) idx[k] = k;
      std::uint64_t mask = 0;
      for (std::size_t k = 0; k < s / 2; ++k) {  // partial Fisher-Yates
        const std::size_t j = k + uniform_below(rng, s - k);
        std::swap(idx[k], idx[j]);
        mask |= 1ULL << idx[k];
      }
      masks.push_back(mask);
    }
  }
  const std::uint64_t full = (1ULL << s) - 1;
  const std::size_t n = combos.size();
  std::vector<double> oos(n);
  double below = 0, loss = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const std::uint64_t mask : masks) {
    std::size_t best = 0;
    double best_is = -std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < n; ++c) {
      const double is = sharpe_of(*combos[c], mask);
      if (is > best_is) {
        best_is = is;
        best = c;
      }
      oos[c] = sharpe_of(*combos[c], full & ~mask);
    }
    double less = 0, ties = 0;
    for (std::size_t c = 0; c < n; ++c) {
      if (c == best) continue;
      if (oos[c] < oos[best]) ++less;
      else if (oos[c] == oos[best]) ++ties;
    }
    const double rank = 1 + less + ties / 2;  // 1..n
    const double w = rank / static_cast<double>(n + 1);
    const double logit = std::log(w / (1 - w));
    out.logits.push_back(logit);
    if (logit <= 0) ++below;
    if (oos[best] < 0) ++loss;
    sx += best_is;
    sy += oos[best];
    sxx += best_is * best_is;
    sxy += best_is * oos[best];
  }
  const double k = static_cast<double>(masks.size());
  out.splits = masks.size();
  out.pbo = below / k;
  out.prob_oos_loss = loss / k;
  out.mean_is_sr = sx / k;
  out.mean_oos_sr = sy / k;
  const double var_x = sxx - sx * sx / k;
  out.degradation_slope = var_x > 0 ? (sxy - sx * sy / k) / var_x : kNaN;
  return out;
}

}  // namespace te::backtest
