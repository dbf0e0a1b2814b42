#include "engine/backtest/stats.hpp"

#include <cmath>
#include <limits>
#include <numbers>

namespace te::backtest {
namespace {
__extension__ typedef unsigned __int128 U128;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEulerGamma = 0.5772156649015329;
constexpr double kE = 2.718281828459045;
}  // namespace

double normal_cdf(double x) noexcept { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double normal_quantile(double p) noexcept {
  if (!(p > 0 && p < 1)) return kNaN;
  // P. J. Acklam's coefficients.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01,  -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  constexpr double lo = 0.02425, hi = 1 - lo;
  double x;
  if (p < lo) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= hi) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // One Halley step against the exact CDF.
  const double e = normal_cdf(x) - p;
  const double u = e * std::sqrt(2 * std::numbers::pi) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

double percentile_sorted(std::span<const double> sorted, double q) noexcept {
  if (sorted.empty()) return kNaN;
  const double h = (static_cast<double>(sorted.size()) - 1) * q / 100.0;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  const double frac = h - static_cast<double>(lo);
  return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

double Moments::variance() const noexcept { return n_ >= 2 ? m2_ / static_cast<double>(n_ - 1) : kNaN; }

double Moments::stdev() const noexcept {
  const double v = variance();
  return v >= 0 ? std::sqrt(v) : kNaN;
}

double Moments::skewness() const noexcept {
  if (n_ < 2 || !(m2_ > 0)) return kNaN;
  const double n = static_cast<double>(n_);
  return std::sqrt(n) * m3_ / std::pow(m2_, 1.5);
}

double Moments::kurtosis() const noexcept {
  if (n_ < 2 || !(m2_ > 0)) return kNaN;
  const double n = static_cast<double>(n_);
  return n * m4_ / (m2_ * m2_);
}

double probabilistic_sharpe(double sr, double benchmark_sr, double n, double skewness, double kurtosis) noexcept {
  if (!(n >= 2) || !std::isfinite(sr) || !std::isfinite(benchmark_sr) || !std::isfinite(skewness) ||
      !std::isfinite(kurtosis))
    return kNaN;
  const double denom = 1 - skewness * sr + (kurtosis - 1) / 4 * sr * sr;
  if (!(denom > 0)) return kNaN;
  return normal_cdf((sr - benchmark_sr) * std::sqrt(n - 1) / std::sqrt(denom));
}

double expected_max_sharpe(double trials, double sr_variance) noexcept {
  if (!(trials >= 1) || !(sr_variance >= 0)) return kNaN;
  if (trials < 2) return 0;
  return std::sqrt(sr_variance) * ((1 - kEulerGamma) * normal_quantile(1 - 1 / trials) +
                                   kEulerGamma * normal_quantile(1 - 1 / (trials * kE)));
}

std::uint64_t uniform_below(data::Xoshiro256& rng, std::uint64_t bound) noexcept {
  U128 m = static_cast<U128>(rng.next()) * bound;
  auto low = static_cast<std::uint64_t>(m);
  if (low < bound) {
    const std::uint64_t threshold = (0 - bound) % bound;
    while (low < threshold) {
      m = static_cast<U128>(rng.next()) * bound;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

data::Xoshiro256 stream_rng(std::uint64_t seed, std::uint64_t index) noexcept {
  data::SplitMix64 mix(seed ^ (index * 0xd1b54a32d192ed03ULL));
  mix.next();
  return data::Xoshiro256(mix.next() ^ index);
}

}  // namespace te::backtest
