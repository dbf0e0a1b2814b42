#pragma once
// Statistics shared by the metrics, the optimiser's overfitting guards and the
// Monte Carlo simulation: normal distribution, percentiles, the probabilistic
// and deflated Sharpe ratios, and an unbiased seeded integer draw. Definitions
// (with references) are in docs/metrics.md and docs/optimization.md.
#include <cstdint>
#include <span>
#include <vector>

#include "engine/data/random.hpp"

namespace te::backtest {

// Standard normal cumulative distribution Φ(x).
double normal_cdf(double x) noexcept;
// Φ⁻¹(p) for 0 < p < 1 (Acklam's rational approximation refined by one Halley
// step: |error| < 1e-15). NaN outside (0, 1).
double normal_quantile(double p) noexcept;

// Sample percentile with linear interpolation between order statistics (the
// "type 7" definition of R and NumPy): `sorted` must be ascending. q in [0, 100].
double percentile_sorted(std::span<const double> sorted, double q) noexcept;

// Running moments of a sample (Welford / Terriberry updates: stable for long
// series of small numbers such as bar returns).
class Moments {
 public:
  void add(double x) noexcept {
    // Converted as signed (one instruction; the same value below 2^63).
    const double n1 = static_cast<double>(static_cast<std::int64_t>(n_));
    ++n_;
    const double n = static_cast<double>(static_cast<std::int64_t>(n_));
    const double delta = x - mean_;
    const double delta_n = delta / n;
    const double delta_n2 = delta_n * delta_n;
    const double term1 = delta * delta_n * n1;
    mean_ += delta_n;
    m4_ += term1 * delta_n2 * (n * n - 3 * n + 3) + 6 * delta_n2 * m2_ - 4 * delta_n * m3_;
    m3_ += term1 * delta_n * (n - 2) - 3 * delta_n * m2_;
    m2_ += term1;
  }
  std::uint64_t count() const noexcept { return n_; }
  double mean() const noexcept { return mean_; }
  // Sample variance (n - 1); NaN below two values.
  double variance() const noexcept;
  double stdev() const noexcept;
  // Population skewness m3 / m2^1.5 and (non-excess) kurtosis m4 / m2², as the
  // probabilistic Sharpe ratio uses them; NaN without variance.
  double skewness() const noexcept;
  double kurtosis() const noexcept;

 private:
  std::uint64_t n_ = 0;
  double mean_ = 0, m2_ = 0, m3_ = 0, m4_ = 0;
};

// Probabilistic Sharpe ratio (Bailey & López de Prado 2012): the probability
// that the true per-period Sharpe ratio exceeds `benchmark_sr`, given the
// observed per-period `sr` over `n` returns with that skewness and (non-excess)
// kurtosis. NaN when undefined (n < 2, non-finite inputs).
double probabilistic_sharpe(double sr, double benchmark_sr, double n, double skewness, double kurtosis) noexcept;

// Expected maximum of `trials` independent per-period Sharpe ratios whose
// variance across trials is `sr_variance`, under the null of no skill (the
// benchmark of the deflated Sharpe ratio, Bailey & López de Prado 2014).
double expected_max_sharpe(double trials, double sr_variance) noexcept;

// Uniform integer in [0, bound) without modulo bias (Lemire 2019). bound > 0.
std::uint64_t uniform_below(data::Xoshiro256& rng, std::uint64_t bound) noexcept;

// The independent generator of item `index` of a seeded run: results do not
// depend on which thread computes which item, nor in what order.
data::Xoshiro256 stream_rng(std::uint64_t seed, std::uint64_t index) noexcept;

}  // namespace te::backtest
