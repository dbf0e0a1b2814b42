#pragma once
// Small rules shared by the kernels that reproduce TA-Lib's arithmetic.
#include <cmath>
#include <limits>

namespace te::ta {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// TA-Lib's TA_IS_ZERO: a sum of smoothed gains/losses or ranges that is "zero"
// yields 0 instead of a division. TA-Lib 0.4 used 1e-8, which zeroes RSI/ADX on
// assets priced below about 1e-6 (common in crypto); TA-Lib 0.6 narrowed it to
// 1e-14, and so do we. Both give identical results on the golden files.
inline constexpr double kTaEpsilon = 1e-14;
inline bool ta_is_zero(double v) noexcept { return -kTaEpsilon < v && v < kTaEpsilon; }

// Wilder's true range with TA-Lib's evaluation order (TRUE_RANGE macro).
inline double true_range(double high, double low, double prev_close) noexcept {
  double r = high - low;
  const double a = std::fabs(high - prev_close);
  if (a > r) r = a;
  const double b = std::fabs(low - prev_close);
  if (b > r) r = b;
  return r;
}

}  // namespace te::ta
