#pragma once
// Overfitting guards over the combinations a search tried (docs/optimization.md):
// - the deflated Sharpe ratio (Bailey & López de Prado 2014): the probability
//   that the best combination's Sharpe ratio beats the best one expected from
//   that many trials of a strategy without skill;
// - the probability of backtest overfitting by combinatorially symmetric
//   cross-validation (Bailey, Borwein, López de Prado, Zhu 2015): how often the
//   in-sample winner ranks in the bottom half out of sample.
#include <cstdint>
#include <span>
#include <vector>

#include "engine/backtest/metrics.hpp"

namespace te::backtest {

struct DeflatedSharpe {
  double trials = 0;           // valid combinations
  double sr_variance = 0;      // variance of their per-bar Sharpe ratios
  double expected_max_sr = 0;  // per bar, under the null of no skill
  double best_sr = 0;          // per bar
  double dsr = 0;              // probability in [0, 1]; NaN when undefined
};

// `trial_srs`: per-bar Sharpe ratios of every valid combination (the best
// included); the best one's bar count, skewness and kurtosis.
DeflatedSharpe deflated_sharpe(std::span<const double> trial_srs, double best_sr, double bars, double skewness,
                               double kurtosis);

struct PboResult {
  std::size_t combinations = 0;
  std::size_t blocks = 0;
  std::size_t splits = 0;            // in-sample / out-of-sample partitions evaluated
  bool sampled = false;              // true when splits were drawn at random (too many to enumerate)
  double pbo = 0;                    // fraction of splits whose in-sample winner ranks <= median out of sample
  double prob_oos_loss = 0;          // fraction of splits whose in-sample winner has an OOS Sharpe < 0
  double degradation_slope = 0;      // regression slope of OOS on IS Sharpe of the winners
  double mean_is_sr = 0, mean_oos_sr = 0;  // of the winners, per bar
  std::vector<double> logits;        // log(ω / (1 - ω)) of the winner's OOS relative rank ω, per split
};

// `combos`: the return blocks of every valid combination (all with the same
// block count, even, >= 4). Deterministic: splits are enumerated in order, or
// drawn from `seed` when there are more than `max_splits`.
PboResult probability_of_overfitting(std::span<const ReturnBlocks* const> combos, std::size_t max_splits,
                                     std::uint64_t seed);

}  // namespace te::backtest
