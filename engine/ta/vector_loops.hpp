#pragma once
// Block-pass loops compiled twice: for the baseline x86-64 the build targets
// (SSE2: two doubles per instruction; no -march) and for AVX2 (four), the AVX2
// one picked once at run time on a machine that has it. Each loop does the
// same IEEE operations in the same order on each value either way (this
// library is built with -ffp-contract=off and AVX2 brings no FMA), so the
// choice never changes a bit; vector_loops_test compares the two.
#include <cstddef>

namespace te::ta {

inline constexpr int kCciLanes = 8;

// CCI's eight windows side by side (Cci::sum_lanes): slot j of window k at
// v[j * 8 + k]; avg[k] = (sum over j of v[j * 8 + k]) / n and dev[k] = sum
// over j of |v[j * 8 + k] - avg[k]|, j from 0 to `slots` - 1 in order.
void cci_lane_sums(const double* v, std::size_t slots, double n, double* avg, double* dev) noexcept;

// Bollinger Bands of m bars from their window sums, kept as exact pairs
// (RollingMoments::push_chunk): bar i's mean and population variance
// (RollingMoments::mean() and population_variance() for sums hi1[i] + lo1[i]
// and hi2[i] + lo2[i] over a window of n), then upper, middle, lower to
// out[i], out[stride + i], out[2 * stride + i] (Bbands::write).
void bbands_from_sums(const double* hi1, const double* lo1, const double* hi2, const double* lo2, std::size_t m,
                      double n, double up, double down, double* out, std::size_t stride) noexcept;

// Exact-sum block passes (exact_sum.hpp, Sma::steady, RollingMoments::push_chunk):
// split_diffs(), split_pair_diffs(), TwoProduct of each value with itself
// (sq[i] + sq_err[i] == in[i] * in[i]) and each sum's value divided by
// `divisor` (out[i] = (hi[i] + lo[i]) / divisor, ExactSum::value() / divisor).
void vector_split_diffs(const double* in, const double* out, std::size_t n, double* d, double* de) noexcept;
void vector_split_pair_diffs(const double* in, const double* in_lo, const double* out, const double* out_lo,
                             std::size_t n, double* d, double* de) noexcept;
void vector_squares(const double* in, std::size_t n, double* sq, double* sq_err) noexcept;
void vector_sum_values(const double* hi, const double* lo, std::size_t n, double divisor, double* out) noexcept;

// The baseline builds of the loops above (what runs on a machine without
// AVX2; tests compare them with the dispatched ones).
void cci_lane_sums_baseline(const double* v, std::size_t slots, double n, double* avg, double* dev) noexcept;
void bbands_from_sums_baseline(const double* hi1, const double* lo1, const double* hi2, const double* lo2,
                               std::size_t m, double n, double up, double down, double* out,
                               std::size_t stride) noexcept;
void vector_split_diffs_baseline(const double* in, const double* out, std::size_t n, double* d, double* de) noexcept;
void vector_split_pair_diffs_baseline(const double* in, const double* in_lo, const double* out, const double* out_lo,
                                      std::size_t n, double* d, double* de) noexcept;
void vector_squares_baseline(const double* in, std::size_t n, double* sq, double* sq_err) noexcept;
void vector_sum_values_baseline(const double* hi, const double* lo, std::size_t n, double divisor,
                                double* out) noexcept;

// Rates of change in percent (Roc): out[i] = old[i] != 0 ? ((x[i] / old[i]) - 1)
// * 100 : 0, the same operations as the scalar expression; two values per
// instruction (SSE2; four with AVX2; the compiler does not vectorise the
// select itself: with trapping math it keeps the comparison a branch).
void vector_rates(const double* x, const double* old, std::size_t n, double* out) noexcept;
void vector_rates_baseline(const double* x, const double* old, std::size_t n, double* out) noexcept;

// Whether any of a[0..n) or b[0..n) is NaN (Stoch's block pass), two values
// per comparison (SSE2; four with AVX2).
bool vector_any_nan(const double* a, const double* b, std::size_t n) noexcept;
bool vector_any_nan_baseline(const double* a, const double* b, std::size_t n) noexcept;

// Raw %K of n bars (Stoch): out[i] = percent_k(x[i], hh[i], ll[i]), that is
// d = (hh[i] - ll[i]) / 100, d != 0 ? (x[i] - ll[i]) / d : 0, the same
// operations per value, two values per instruction (SSE2; four with AVX2; as
// vector_rates, the select by a mask instead of a branch).
void vector_percent_k(const double* x, const double* hh, const double* ll, std::size_t n, double* out) noexcept;
void vector_percent_k_baseline(const double* x, const double* hh, const double* ll, std::size_t n,
                               double* out) noexcept;

// Stoch's block pass without NaN (Stoch::chunk): the highest high and lowest
// low of each of m bars' n-value windows, bar i's window hs[i, i + n) (and
// ls), len = n - 1 + m values. hs[i] becomes the fold `a > b ? a : b` of
// [i, i + w) for w = 2, 4, ... <= n, in place (entry i + w is still the
// previous span's when i is updated), then hh[i] is the fold of the two
// overlapping spans starting at i and i + n - w (ls, ll with `<`). The fold is
// maxpd's (minpd's) operand order in either build; hs and ls are overwritten.
void stoch_span_folds(double* hs, double* ls, std::size_t len, std::size_t n, std::size_t m, double* hh,
                      double* ll) noexcept;
void stoch_span_folds_baseline(double* hs, double* ls, std::size_t len, std::size_t n, std::size_t m, double* hh,
                               double* ll) noexcept;

// ADX's steps once its sums are smoothed and its first value seeded
// (Adx::update_block): for each of n bars, from high, low and close columns,
// +DM/-DM/TR smoothed as x = x - x / dn + today, then if TR and the DI sum are
// not zero (ta_is_zero), adx = (adx * nm1 + 100 * (|-DI - +DI| / sum)) / an with
// -DI = 100 * (mdm / trs), +DI = 100 * (pdm / trs); out[i] = adx. The
// movements and true ranges of a chunk are taken first, two bars per
// instruction (four with AVX2), then the recursions run with -DM and +DM side by side in one
// register: the operations of Adx::update() in its order on each value.
struct AdxRun {
  double ph, pl, pc;      // the previous bar's high, low and close
  double mdm, pdm, trs;  // smoothed -DM, +DM, TR
  double adx;
};
void adx_steps(AdxRun& s, const double* hi, const double* lo, const double* cl, std::size_t n, double dn,
               double nm1, double an, double* out) noexcept;
void adx_steps_baseline(AdxRun& s, const double* hi, const double* lo, const double* cl, std::size_t n, double dn,
                        double nm1, double an, double* out) noexcept;

// Wilder's true ranges of bars 1..m-1 against the close before each (Atr's
// block pass): tr[j] = true_range(h[j], l[j], c[j - 1]), TA-Lib's order of
// comparisons (maxpd keeps its second operand unless the first is greater, as
// `if (a > r) r = a` does); tr[0] is left alone.
void vector_true_ranges(const double* h, const double* l, const double* c, std::size_t m, double* tr) noexcept;
void vector_true_ranges_baseline(const double* h, const double* l, const double* c, std::size_t m,
                                 double* tr) noexcept;

// Wilder's RSI past its warm-up (Rsi::update_values): for each of n values
// the change d = x[i] - prev (prev then x[i]), loss = (loss * nm1 - (d < 0 ?
// d : 0)) / nn, gain = (gain * nm1 + (d < 0 ? 0 : d)) / nn, then out[i] =
// ta_is_zero(gain + loss) ? 0 : 100 * (gain / (gain + loss)). The changes of
// a chunk first (four per instruction with AVX2), then both averages in one
// register; the same operations on each value.
struct RsiRun {
  double prev, loss, gain;
};
void rsi_steps(RsiRun& s, const double* x, std::size_t n, double nm1, double nn, double* out) noexcept;
void rsi_steps_baseline(RsiRun& s, const double* x, std::size_t n, double nm1, double nn, double* out) noexcept;

// MACD past its seeds (Macd::update_values): for each of n values slow =
// ((x - slow) * ks) + slow, fast = ((x - fast) * kf) + fast, macd = fast -
// slow, sig = ((macd - sig) * kg) + sig, then macd, sig and macd - sig to
// out[i], out[stride + i], out[2 * stride + i]. The two EMAs of x step in one
// register; the same operations on each value.
struct MacdRun {
  double slow, fast, sig, macd;
};
void macd_steps(MacdRun& s, const double* x, std::size_t n, double ks, double kf, double kg, double* out,
                std::size_t stride) noexcept;
void macd_steps_baseline(MacdRun& s, const double* x, std::size_t n, double ks, double kf, double kg, double* out,
                         std::size_t stride) noexcept;

// Which build runs ("avx2" or "baseline").
const char* vector_loops_isa() noexcept;

}  // namespace te::ta
