#include "engine/data/portable_math.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace te::data {
namespace {

// Constants from fdlibm (Sun Microsystems, freely redistributable): e_exp.c, e_log.c.
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kInvLn2 = 1.44269504088896338700e+00;
constexpr double kP1 = 1.66666666666666019037e-01;
constexpr double kP2 = -2.77777777770155933842e-03;
constexpr double kP3 = 6.61375632143793436117e-05;
constexpr double kP4 = -1.65339022054652515390e-06;
constexpr double kP5 = 4.13813679705723846039e-08;
constexpr double kLg1 = 6.666666666666735130e-01;
constexpr double kLg2 = 3.999999999940941908e-01;
constexpr double kLg3 = 2.857142874366239149e-01;
constexpr double kLg4 = 2.222219843214978396e-01;
constexpr double kLg5 = 1.818357216161805012e-01;
constexpr double kLg6 = 1.531383769920937332e-01;
constexpr double kLg7 = 1.479819860511658591e-01;
constexpr double kTwo54 = 1.80143985094819840000e+16;

std::uint32_t high_word(double x) noexcept { return static_cast<std::uint32_t>(std::bit_cast<std::uint64_t>(x) >> 32); }

double with_high_word(double x, std::uint32_t hi) noexcept {
  const std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
  return std::bit_cast<double>((static_cast<std::uint64_t>(hi) << 32) | (bits & 0xffffffffULL));
}

}  // namespace

double portable_exp(double x) noexcept {
  if (std::isnan(x)) return x;
  if (x > 709.78) return std::numeric_limits<double>::infinity();
  if (x < -745.13) return 0.0;
  // x = k*ln2 + r with |r| <= ln2/2; exp(x) = 2^k * exp(r).
  const int k = static_cast<int>(kInvLn2 * x + (x < 0 ? -0.5 : 0.5));
  const double dk = static_cast<double>(k);
  const double hi = x - dk * kLn2Hi;
  const double lo = dk * kLn2Lo;
  const double r = hi - lo;
  const double t = r * r;
  const double c = r - t * (kP1 + t * (kP2 + t * (kP3 + t * (kP4 + t * kP5))));
  const double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
  return std::ldexp(y, k);  // exact scaling by a power of two
}

double portable_log(double x) noexcept {
  if (!(x > 0) || std::isinf(x)) return std::numeric_limits<double>::quiet_NaN();
  int k = 0;
  std::uint32_t hx = high_word(x);
  if (hx < 0x00100000) {  // subnormal: scale into the normal range
    k -= 54;
    x *= kTwo54;
    hx = high_word(x);
  }
  k += static_cast<int>(hx >> 20) - 1023;
  hx &= 0x000fffff;
  const std::uint32_t i = (hx + 0x95f64) & 0x100000;
  x = with_high_word(x, hx | (i ^ 0x3ff00000));  // x or x/2 into [sqrt(2)/2, sqrt(2))
  k += static_cast<int>(i >> 20);
  const double f = x - 1.0;
  const double dk = static_cast<double>(k);
  if ((0x000fffff & (2 + hx)) < 3) {  // |f| < 2^-20
    if (f == 0.0) return k == 0 ? 0.0 : dk * kLn2Hi + dk * kLn2Lo;
    const double r = f * f * (0.5 - 0.33333333333333333 * f);
    return k == 0 ? f - r : dk * kLn2Hi - ((r - dk * kLn2Lo) - f);
  }
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
  const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
  const double r = t2 + t1;
  const auto ii = static_cast<std::int32_t>(hx) - 0x6147a;
  const auto jj = 0x6b851 - static_cast<std::int32_t>(hx);
  if ((ii | jj) > 0) {
    const double hfsq = 0.5 * f * f;
    return k == 0 ? f - (hfsq - s * (hfsq + r)) : dk * kLn2Hi - ((hfsq - (s * (hfsq + r) + dk * kLn2Lo)) - f);
  }
  return k == 0 ? f - s * (f - r) : dk * kLn2Hi - ((s * (f - r) - dk * kLn2Lo) - f);
}

}  // namespace te::data
