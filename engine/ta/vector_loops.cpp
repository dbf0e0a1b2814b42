#include "engine/ta/vector_loops.hpp"

#include <cmath>

#include "engine/core/cpu_features.hpp"
#include "engine/ta/exact_sum.hpp"
#include "engine/ta/volatility.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#define TE_TA_AVX2_BUILD 1
#include <immintrin.h>
#endif

namespace te::ta {
namespace {

#if defined(__SSE2__)
// A pair register's lanes into the two fields of a run's state (at its end).
[[gnu::always_inline]] inline void store_lanes(__m128d v, double& low, double& high) noexcept {
  alignas(16) double lanes[2];
  _mm_store_pd(lanes, v);
  low = lanes[0];
  high = lanes[1];
}
#endif

// The loops' bodies, inlined into each build's entry point below, which
// compiles them for its own instruction set.
[[gnu::always_inline]] inline void lane_sums(const double* v, std::size_t slots, double n, double* avg_out,
                                             double* dev_out) noexcept {
  constexpr std::size_t kL = kCciLanes;
  double avg[kL] = {};
  for (std::size_t j = 0; j < slots; ++j)
    for (std::size_t k = 0; k < kL; ++k) avg[k] += v[j * kL + k];
  for (double& a : avg) a /= n;
  double dev[kL] = {};
  for (std::size_t j = 0; j < slots; ++j)
    for (std::size_t k = 0; k < kL; ++k) dev[k] += std::fabs(v[j * kL + k] - avg[k]);
  for (std::size_t k = 0; k < kL; ++k) {
    avg_out[k] = avg[k];
    dev_out[k] = dev[k];
  }
}

[[gnu::always_inline]] inline void split_diffs_body(const double* in, const double* out, std::size_t n, double* d,
                                                    double* de) noexcept {
  split_diffs(in, out, n, d, de);
}
[[gnu::always_inline]] inline void split_pair_diffs_body(const double* in, const double* in_lo, const double* out,
                                                         const double* out_lo, std::size_t n, double* d,
                                                         double* de) noexcept {
  split_pair_diffs(in, in_lo, out, out_lo, n, d, de);
}
[[gnu::always_inline]] inline void squares_body(const double* in, std::size_t n, double* sq, double* sq_err) noexcept {
  for (std::size_t i = 0; i < n; ++i) two_prod(in[i], in[i], sq[i], sq_err[i]);
}
[[gnu::always_inline]] inline void sum_values_body(const double* hi, const double* lo, std::size_t n, double divisor,
                                                   double* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = (hi[i] + lo[i]) / divisor;
}

[[gnu::always_inline]] inline void span_folds(double* hs, double* ls, std::size_t len, std::size_t n,
                                              std::size_t m, double* hh, double* ll) noexcept {
  std::size_t w = 1;
  for (; 2 * w <= n; w *= 2)
    for (std::size_t i = 0; i + 2 * w <= len; ++i) {
      hs[i] = hs[i] > hs[i + w] ? hs[i] : hs[i + w];
      ls[i] = ls[i] < ls[i + w] ? ls[i] : ls[i + w];
    }
  const std::size_t k = n - w;  // the newer span of bar i's window starts at i + k
  for (std::size_t i = 0; i < m; ++i) {
    hh[i] = hs[i] > hs[i + k] ? hs[i] : hs[i + k];
    ll[i] = ls[i] < ls[i + k] ? ls[i] : ls[i + k];
  }
}

// One bar's directional movements and true range (DirectionalMovement::update's
// choice of side: down wins when -DM > 0 and +DM < -DM; up needs +DM > 0 and
// +DM > -DM; the side not taken adds +0.0, which leaves its sum as it is).
[[gnu::always_inline]] inline void adx_move(double h, double l, double ph, double pl, double pc, double* inc,
                                            double* tr) noexcept {
  const double diff_p = h - ph;
  const double diff_m = pl - l;
  const bool down = diff_m > 0 && diff_p < diff_m;
  const bool up = !down && diff_p > 0 && diff_p > diff_m;
  inc[0] = down ? diff_m : 0.0;
  inc[1] = up ? diff_p : 0.0;
  *tr = true_range(h, l, pc);
}

constexpr std::size_t kAdxChunk = 64;

// The movements and true ranges of bars 1..m-1 of a chunk against the bar
// before each (adx_move's values), bar j's increments to inc[2j], inc[2j + 1]
// and its range to tr[j]. Two bars per instruction here, four in the AVX2
// build; a chunk's last bars that do not fill a vector are done again in one
// that ends at its last bar (the same values rewritten) when it has one.
void adx_moves_sse2(const double* h, const double* l, const double* c, std::size_t m, double* inc,
                    double* tr) noexcept {
  std::size_t j = 1;
#if defined(__SSE2__)
  const __m128d zero = _mm_setzero_pd(), abs_mask = _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffff));
  for (; j + 2 <= m; j += 2) {
    const __m128d hj = _mm_loadu_pd(h + j), lj = _mm_loadu_pd(l + j);
    const __m128d dp = _mm_sub_pd(hj, _mm_loadu_pd(h + j - 1));
    const __m128d dmv = _mm_sub_pd(_mm_loadu_pd(l + j - 1), lj);
    const __m128d down = _mm_and_pd(_mm_cmpgt_pd(dmv, zero), _mm_cmplt_pd(dp, dmv));
    const __m128d up = _mm_andnot_pd(down, _mm_and_pd(_mm_cmpgt_pd(dp, zero), _mm_cmpgt_pd(dp, dmv)));
    const __m128d im = _mm_and_pd(down, dmv), ip = _mm_and_pd(up, dp);  // the value or +0.0
    _mm_store_pd(inc + 2 * j, _mm_unpacklo_pd(im, ip));
    _mm_store_pd(inc + 2 * j + 2, _mm_unpackhi_pd(im, ip));
    // true_range: r = h - l, then r = a > r ? a : r for |h - pc| and |l - pc|
    // (maxpd returns its second operand unless the first is greater).
    const __m128d pcj = _mm_loadu_pd(c + j - 1);
    __m128d r = _mm_sub_pd(hj, lj);
    r = _mm_max_pd(_mm_and_pd(_mm_sub_pd(hj, pcj), abs_mask), r);
    r = _mm_max_pd(_mm_and_pd(_mm_sub_pd(lj, pcj), abs_mask), r);
    _mm_storeu_pd(tr + j, r);
  }
#endif
  for (; j < m; ++j) adx_move(h[j], l[j], h[j - 1], l[j - 1], c[j - 1], inc + 2 * j, tr + j);
}

#if TE_TA_AVX2_BUILD
[[gnu::target("avx2")]] void adx_moves_avx2(const double* h, const double* l, const double* c, std::size_t m,
                                              double* inc, double* tr) noexcept {
  if (m < 5) {  // no four bars after the first
    for (std::size_t j = 1; j < m; ++j) adx_move(h[j], l[j], h[j - 1], l[j - 1], c[j - 1], inc + 2 * j, tr + j);
    return;
  }
  const __m256d zero = _mm256_setzero_pd();
  const __m256d abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffff));
  for (std::size_t next = 1; next < m;) {
    const std::size_t j = next + 4 <= m ? next : m - 4;
    next = j + 4;
    const __m256d hj = _mm256_loadu_pd(h + j), lj = _mm256_loadu_pd(l + j);
    const __m256d dp = _mm256_sub_pd(hj, _mm256_loadu_pd(h + j - 1));
    const __m256d dmv = _mm256_sub_pd(_mm256_loadu_pd(l + j - 1), lj);
    const __m256d down =
        _mm256_and_pd(_mm256_cmp_pd(dmv, zero, _CMP_GT_OS), _mm256_cmp_pd(dp, dmv, _CMP_LT_OS));
    const __m256d up = _mm256_andnot_pd(
        down, _mm256_and_pd(_mm256_cmp_pd(dp, zero, _CMP_GT_OS), _mm256_cmp_pd(dp, dmv, _CMP_GT_OS)));
    const __m256d im = _mm256_and_pd(down, dmv), ip = _mm256_and_pd(up, dp);
    const __m256d lo_pairs = _mm256_unpacklo_pd(im, ip), hi_pairs = _mm256_unpackhi_pd(im, ip);  // bars 0, 2 / 1, 3
    _mm256_storeu_pd(inc + 2 * j, _mm256_permute2f128_pd(lo_pairs, hi_pairs, 0x20));
    _mm256_storeu_pd(inc + 2 * j + 4, _mm256_permute2f128_pd(lo_pairs, hi_pairs, 0x31));
    const __m256d pcj = _mm256_loadu_pd(c + j - 1);
    __m256d r = _mm256_sub_pd(hj, lj);
    r = _mm256_max_pd(_mm256_and_pd(_mm256_sub_pd(hj, pcj), abs_mask), r);
    r = _mm256_max_pd(_mm256_and_pd(_mm256_sub_pd(lj, pcj), abs_mask), r);
    _mm256_storeu_pd(tr + j, r);
  }
}
#endif

// true_range(h[j], l[j], c[j - 1]) for j in [1, m) (vector_true_ranges).
void true_ranges_sse2(const double* h, const double* l, const double* c, std::size_t m, double* tr) noexcept {
  std::size_t j = 1;
#if defined(__SSE2__)
  const __m128d abs_mask = _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffff));
  for (; j + 2 <= m; j += 2) {
    const __m128d hj = _mm_loadu_pd(h + j), lj = _mm_loadu_pd(l + j), pcj = _mm_loadu_pd(c + j - 1);
    __m128d r = _mm_sub_pd(hj, lj);
    r = _mm_max_pd(_mm_and_pd(_mm_sub_pd(hj, pcj), abs_mask), r);
    r = _mm_max_pd(_mm_and_pd(_mm_sub_pd(lj, pcj), abs_mask), r);
    _mm_storeu_pd(tr + j, r);
  }
#endif
  for (; j < m; ++j) tr[j] = true_range(h[j], l[j], c[j - 1]);
}

#if TE_TA_AVX2_BUILD
[[gnu::target("avx2")]] void true_ranges_avx2(const double* h, const double* l, const double* c, std::size_t m,
                                                double* tr) noexcept {
  if (m < 5) {
    for (std::size_t j = 1; j < m; ++j) tr[j] = true_range(h[j], l[j], c[j - 1]);
    return;
  }
  const __m256d abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffff));
  for (std::size_t next = 1; next < m;) {
    const std::size_t j = next + 4 <= m ? next : m - 4;  // the last four again (same values) for a tail
    next = j + 4;
    const __m256d hj = _mm256_loadu_pd(h + j), lj = _mm256_loadu_pd(l + j), pcj = _mm256_loadu_pd(c + j - 1);
    __m256d r = _mm256_sub_pd(hj, lj);
    r = _mm256_max_pd(_mm256_and_pd(_mm256_sub_pd(hj, pcj), abs_mask), r);
    r = _mm256_max_pd(_mm256_and_pd(_mm256_sub_pd(lj, pcj), abs_mask), r);
    _mm256_storeu_pd(tr + j, r);
  }
}
#endif

// RSI's increments for bars 0..m-1 of a chunk: the change d = x[j] - x[j - 1]
// (x[-1] is `prev`) to the loss as -d when d < 0, else -0.0, and to the gain
// as +0.0 when d < 0, else d; bar j's pair at inc[2j], inc[2j + 1]. The
// recursions add them: loss * nm1 + (-d) is loss * nm1 - d (IEEE subtraction
// is the addition of the negation), + (-0.0) is - 0.0, as Rsi::update_values.
[[gnu::always_inline]] inline void rsi_inc(double d, double* inc) noexcept {
  const bool down = d < 0.0;
  inc[0] = down ? -d : -0.0;
  inc[1] = down ? 0.0 : d;
}
void rsi_incs_sse2(const double* x, double prev, std::size_t m, double* inc) noexcept {
  rsi_inc(x[0] - prev, inc);
  std::size_t j = 1;
#if defined(__SSE2__)
  const __m128d zero = _mm_setzero_pd(), neg0 = _mm_set1_pd(-0.0);
  for (; j + 2 <= m; j += 2) {
    const __m128d d = _mm_sub_pd(_mm_loadu_pd(x + j), _mm_loadu_pd(x + j - 1));
    const __m128d down = _mm_cmplt_pd(d, zero);
    // down: -d (d with its sign flipped) else -0.0; the gain: d unless down
    const __m128d loss = _mm_or_pd(_mm_and_pd(down, _mm_xor_pd(d, neg0)), _mm_andnot_pd(down, neg0));
    const __m128d gain = _mm_andnot_pd(down, d);
    _mm_store_pd(inc + 2 * j, _mm_unpacklo_pd(loss, gain));
    _mm_store_pd(inc + 2 * j + 2, _mm_unpackhi_pd(loss, gain));
  }
#endif
  for (; j < m; ++j) rsi_inc(x[j] - x[j - 1], inc + 2 * j);
}
#if TE_TA_AVX2_BUILD
[[gnu::target("avx2")]] void rsi_incs_avx2(const double* x, double prev, std::size_t m, double* inc) noexcept {
  rsi_inc(x[0] - prev, inc);
  if (m < 5) {
    for (std::size_t j = 1; j < m; ++j) rsi_inc(x[j] - x[j - 1], inc + 2 * j);
    return;
  }
  const __m256d zero = _mm256_setzero_pd(), neg0 = _mm256_set1_pd(-0.0);
  for (std::size_t next = 1; next < m;) {
    const std::size_t j = next + 4 <= m ? next : m - 4;  // the last four again (same values) for a tail
    next = j + 4;
    const __m256d d = _mm256_sub_pd(_mm256_loadu_pd(x + j), _mm256_loadu_pd(x + j - 1));
    const __m256d down = _mm256_cmp_pd(d, zero, _CMP_LT_OS);
    const __m256d loss = _mm256_or_pd(_mm256_and_pd(down, _mm256_xor_pd(d, neg0)), _mm256_andnot_pd(down, neg0));
    const __m256d gain = _mm256_andnot_pd(down, d);
    const __m256d lo_pairs = _mm256_unpacklo_pd(loss, gain), hi_pairs = _mm256_unpackhi_pd(loss, gain);
    _mm256_storeu_pd(inc + 2 * j, _mm256_permute2f128_pd(lo_pairs, hi_pairs, 0x20));
    _mm256_storeu_pd(inc + 2 * j + 4, _mm256_permute2f128_pd(lo_pairs, hi_pairs, 0x31));
  }
}
#endif

// |v| < kTaEpsilon is ta_is_zero(v) (false for NaN either way), one
// comparison instead of two.
[[gnu::always_inline]] inline bool near_zero(double v) noexcept { return std::fabs(v) < kTaEpsilon; }

template <class Moves>
[[gnu::always_inline]] inline void adx_steps_body(AdxRun& s, const double* hi, const double* lo, const double* cl,
                                                  std::size_t n, double dn, double nm1, double an, double* out,
                                                  Moves moves) noexcept {
  double ph = s.ph, pl = s.pl, pc = s.pc, trs = s.trs, adx = s.adx;
#if defined(__SSE2__)
  // -DM in the low lane, +DM in the high one, so one division, subtraction
  // and addition step both (the same operations on each as the scalar steps).
  __m128d dm = _mm_set_pd(s.pdm, s.mdm);
  const __m128d dn2 = _mm_set1_pd(dn), hundred = _mm_set1_pd(100.0);
  const __m128d abs_mask = _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffff));
#else
  double mdm = s.mdm, pdm = s.pdm;
#endif
  alignas(32) double inc[2 * kAdxChunk];  // bar j's -DM and +DM increments at 2j, 2j + 1
  alignas(32) double tr[kAdxChunk];
  for (std::size_t done = 0; done < n;) {
    const std::size_t m = std::min(kAdxChunk, n - done);
    const double* h = hi + done;
    const double* l = lo + done;
    const double* c = cl + done;
    // Movements and true ranges first: none depends on the smoothed sums.
    adx_move(h[0], l[0], ph, pl, pc, inc, tr);
    moves(h, l, c, m, inc, tr);
    ph = h[m - 1];
    pl = l[m - 1];
    pc = c[m - 1];
    double* o = out + done;
    for (std::size_t j = 0; j < m; ++j) {
#if defined(__SSE2__)
      dm = _mm_add_pd(_mm_sub_pd(dm, _mm_div_pd(dm, dn2)), _mm_load_pd(inc + 2 * j));
      trs = trs - trs / dn + tr[j];
      if (!near_zero(trs)) {
        const __m128d di = _mm_mul_pd(hundred, _mm_div_pd(dm, _mm_set1_pd(trs)));  // -DI, +DI
        const __m128d plus = _mm_unpackhi_pd(di, di);
        const double sum = _mm_cvtsd_f64(_mm_add_sd(di, plus));
        if (!near_zero(sum)) {
          const double diff = _mm_cvtsd_f64(_mm_and_pd(_mm_sub_sd(di, plus), abs_mask));
          // adx * nm1 first, as in the scalar steps: GCC may swap an
          // addition's operands in a VEX (AVX2) build when it is written in C,
          // and which NaN an addition of two NaNs keeps depends on that order
          // (the builds then differ in a NaN's sign after overflowing prices).
          const __m128d term = _mm_set_sd(100.0 * (diff / sum));
          adx = _mm_cvtsd_f64(
              _mm_div_sd(_mm_add_sd(_mm_mul_sd(_mm_set_sd(adx), _mm_set_sd(nm1)), term), _mm_set_sd(an)));
        }
      }
#else
      mdm -= mdm / dn;
      pdm -= pdm / dn;
      mdm += inc[2 * j];
      pdm += inc[2 * j + 1];
      trs = trs - trs / dn + tr[j];
      if (!ta_is_zero(trs)) {
        const double minus = 100.0 * (mdm / trs);
        const double plus = 100.0 * (pdm / trs);
        const double sum = minus + plus;
        if (!ta_is_zero(sum)) adx = (adx * nm1 + 100.0 * (std::fabs(minus - plus) / sum)) / an;
      }
#endif
      o[j] = adx;
    }
    done += m;
  }
  s.ph = ph;
  s.pl = pl;
  s.pc = pc;
#if defined(__SSE2__)
  store_lanes(dm, s.mdm, s.pdm);
#else
  s.mdm = mdm;
  s.pdm = pdm;
#endif
  s.trs = trs;
  s.adx = adx;
}

constexpr std::size_t kRsiChunk = 64;

template <class Incs>
[[gnu::always_inline]] inline void rsi_steps_body(RsiRun& s, const double* x, std::size_t n, double nm1, double nn,
                                                  double* out, Incs incs) noexcept {
  alignas(32) double inc[2 * kRsiChunk];  // bar j's loss and gain increments at 2j, 2j + 1
  double prev = s.prev;
#if defined(__SSE2__)
  __m128d lg = _mm_set_pd(s.gain, s.loss);  // the loss in the low lane, the gain in the high one
  const __m128d nm1v = _mm_set1_pd(nm1), nnv = _mm_set1_pd(nn);
#else
  double loss = s.loss, gain = s.gain;
#endif
  for (std::size_t done = 0; done < n;) {
    const std::size_t m = std::min(kRsiChunk, n - done);
    const double* xs = x + done;
    incs(xs, prev, m, inc);
    prev = xs[m - 1];
    double* o = out + done;
    for (std::size_t j = 0; j < m; ++j) {
#if defined(__SSE2__)
      lg = _mm_div_pd(_mm_add_pd(_mm_mul_pd(lg, nm1v), _mm_load_pd(inc + 2 * j)), nnv);
      const __m128d g = _mm_unpackhi_pd(lg, lg);
      const double gain = _mm_cvtsd_f64(g);
      const double sum = _mm_cvtsd_f64(_mm_add_sd(g, lg));  // gain + loss
      o[j] = near_zero(sum) ? 0.0 : 100.0 * (gain / sum);
#else
      loss = (loss * nm1 + inc[2 * j]) / nn;
      gain = (gain * nm1 + inc[2 * j + 1]) / nn;
      const double sum = gain + loss;
      o[j] = ta_is_zero(sum) ? 0.0 : 100.0 * (gain / sum);
#endif
    }
    done += m;
  }
  s.prev = prev;
#if defined(__SSE2__)
  store_lanes(lg, s.loss, s.gain);
#else
  s.loss = loss;
  s.gain = gain;
#endif
}

[[gnu::always_inline]] inline void macd_steps_body(MacdRun& s, const double* x, std::size_t n, double ks, double kf,
                                                   double kg, double* out, std::size_t stride) noexcept {
  double sig = s.sig, macd = s.macd;
  double* o1 = out + stride;
  double* o2 = out + 2 * stride;
#if defined(__SSE2__)
  // The slow EMA in the low lane, the fast one in the high lane: one
  // subtraction, multiplication and addition step both.
  __m128d e = _mm_set_pd(s.fast, s.slow);
  const __m128d k = _mm_set_pd(kf, ks);
  for (std::size_t i = 0; i < n; ++i) {
    e = _mm_add_pd(_mm_mul_pd(_mm_sub_pd(_mm_set1_pd(x[i]), e), k), e);
    macd = _mm_cvtsd_f64(_mm_sub_sd(_mm_unpackhi_pd(e, e), e));  // fast - slow
    sig = ((macd - sig) * kg) + sig;
    out[i] = macd;
    o1[i] = sig;
    o2[i] = macd - sig;
  }
  store_lanes(e, s.slow, s.fast);
#else
  double slow = s.slow, fast = s.fast;
  for (std::size_t i = 0; i < n; ++i) {
    slow = ((x[i] - slow) * ks) + slow;
    fast = ((x[i] - fast) * kf) + fast;
    macd = fast - slow;
    sig = ((macd - sig) * kg) + sig;
    out[i] = macd;
    o1[i] = sig;
    o2[i] = macd - sig;
  }
  s.slow = slow;
  s.fast = fast;
#endif
  s.sig = sig;
  s.macd = macd;
}

bool any_nan_sse2(const double* a, const double* b, std::size_t n) noexcept {
  std::size_t i = 0;
  bool nan = false;
#if defined(__SSE2__)
  __m128d bad = _mm_setzero_pd();
  for (; i + 2 <= n; i += 2) {
    const __m128d x = _mm_loadu_pd(a + i), y = _mm_loadu_pd(b + i);
    bad = _mm_or_pd(bad, _mm_or_pd(_mm_cmpunord_pd(x, x), _mm_cmpunord_pd(y, y)));
  }
  nan = _mm_movemask_pd(bad) != 0;
#endif
  for (; i < n; ++i) nan = nan || a[i] != a[i] || b[i] != b[i];
  return nan;
}
void percent_k_sse2(const double* x, const double* hh, const double* ll, std::size_t n, double* out) noexcept {
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128d zero = _mm_setzero_pd(), hundred = _mm_set1_pd(100.0);
  for (; i + 2 <= n; i += 2) {
    const __m128d l = _mm_loadu_pd(ll + i);
    const __m128d d = _mm_div_pd(_mm_sub_pd(_mm_loadu_pd(hh + i), l), hundred);
    const __m128d k = _mm_div_pd(_mm_sub_pd(_mm_loadu_pd(x + i), l), d);
    // cmpneq is true for NaN too, as `d != 0` is: k where d != 0, else +0.
    _mm_storeu_pd(out + i, _mm_and_pd(k, _mm_cmpneq_pd(d, zero)));
  }
#endif
  for (; i < n; ++i) {
    const double d = (hh[i] - ll[i]) / 100.0;
    out[i] = d != 0.0 ? (x[i] - ll[i]) / d : 0.0;
  }
}

#if TE_TA_AVX2_BUILD
// The two loops above four values per instruction. Neither has an addition or
// a product, whose operands a compiler may swap (which changes which NaN a
// NaN-with-NaN operation keeps): only subtractions, divisions, compares and
// masks, so each value gets the same bits as in the SSE2 loops.
[[gnu::target("avx2")]] bool any_nan_avx2(const double* a, const double* b, std::size_t n) noexcept {
  std::size_t i = 0;
  __m256d bad = _mm256_setzero_pd();
  for (; i + 4 <= n; i += 4) {
    const __m256d x = _mm256_loadu_pd(a + i), y = _mm256_loadu_pd(b + i);
    bad = _mm256_or_pd(bad, _mm256_or_pd(_mm256_cmp_pd(x, x, _CMP_UNORD_Q), _mm256_cmp_pd(y, y, _CMP_UNORD_Q)));
  }
  bool nan = _mm256_movemask_pd(bad) != 0;
  for (; i < n; ++i) nan = nan || a[i] != a[i] || b[i] != b[i];
  return nan;
}
[[gnu::target("avx2")]] void percent_k_avx2(const double* x, const double* hh, const double* ll, std::size_t n,
                                              double* out) noexcept {
  std::size_t i = 0;
  const __m256d zero = _mm256_setzero_pd(), hundred = _mm256_set1_pd(100.0);
  for (; i + 4 <= n; i += 4) {
    const __m256d l = _mm256_loadu_pd(ll + i);
    const __m256d d = _mm256_div_pd(_mm256_sub_pd(_mm256_loadu_pd(hh + i), l), hundred);
    const __m256d k = _mm256_div_pd(_mm256_sub_pd(_mm256_loadu_pd(x + i), l), d);
    // _CMP_NEQ_UQ is true for NaN too, as `d != 0` is: k where d != 0, else +0.
    _mm256_storeu_pd(out + i, _mm256_and_pd(k, _mm256_cmp_pd(d, zero, _CMP_NEQ_UQ)));
  }
  percent_k_sse2(x + i, hh + i, ll + i, n - i, out + i);
}
#endif

void rates_sse2(const double* x, const double* old, std::size_t n, double* out) noexcept {
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128d zero = _mm_setzero_pd(), one = _mm_set1_pd(1.0), hundred = _mm_set1_pd(100.0);
  for (; i + 2 <= n; i += 2) {
    const __m128d o = _mm_loadu_pd(old + i);
    const __m128d r = _mm_mul_pd(_mm_sub_pd(_mm_div_pd(_mm_loadu_pd(x + i), o), one), hundred);
    // cmpneq is true for NaN too, as `old != 0` is: r where old != 0, else +0.
    _mm_storeu_pd(out + i, _mm_and_pd(r, _mm_cmpneq_pd(o, zero)));
  }
#endif
  for (; i < n; ++i) out[i] = old[i] != 0.0 ? ((x[i] / old[i]) - 1.0) * 100.0 : 0.0;
}

#if TE_TA_AVX2_BUILD
// rates_sse2's operations four values per instruction: one product, by the
// constant 100 (never NaN, so which operand comes first cannot change a NaN
// result), the rest subtractions, divisions and masks.
[[gnu::target("avx2")]] void rates_avx2(const double* x, const double* old, std::size_t n, double* out) noexcept {
  std::size_t i = 0;
  const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0), hundred = _mm256_set1_pd(100.0);
  for (; i + 4 <= n; i += 4) {
    const __m256d o = _mm256_loadu_pd(old + i);
    const __m256d r = _mm256_mul_pd(_mm256_sub_pd(_mm256_div_pd(_mm256_loadu_pd(x + i), o), one), hundred);
    _mm256_storeu_pd(out + i, _mm256_and_pd(r, _mm256_cmp_pd(o, zero, _CMP_NEQ_UQ)));
  }
  rates_sse2(x + i, old + i, n - i, out + i);
}
#endif

constexpr std::size_t kBandsChunk = 64;

// `SqrtAll` takes the square roots of a chunk of variances in place: the
// vector instruction of each build (std::sqrt's errno check keeps the compiler
// from vectorising it; a variance here is never negative, RollingMoments'
// threshold gives +0 below it, NaN included, so the roots are the same).
template <class SqrtAll>
[[gnu::always_inline]] inline void bands(const double* hi1, const double* lo1, const double* hi2, const double* lo2,
                                         std::size_t m, double n, double up, double down, double* out,
                                         std::size_t stride, SqrtAll sqrt_all) noexcept {
  for (std::size_t done = 0; done < m;) {
    const std::size_t c = std::min(kBandsChunk, m - done);
    double mid[kBandsChunk], sd[kBandsChunk];
    for (std::size_t i = 0; i < c; ++i) {
      const std::size_t b = done + i;
      mid[i] = (hi1[b] + lo1[b]) / n;
      sd[i] = RollingMoments::scaled_m2(dd_normalize(hi1[b], lo1[b]), dd_normalize(hi2[b], lo2[b]), n) / (n * n);
    }
    sqrt_all(sd, c);
    double* o = out + done;
    for (std::size_t i = 0; i < c; ++i) {
      o[i] = mid[i] + sd[i] * up;
      o[stride + i] = mid[i];
      o[2 * stride + i] = mid[i] - sd[i] * down;
    }
    done += c;
  }
}

void sqrt_baseline(double* v, std::size_t c) noexcept {
  std::size_t i = 0;
#if defined(__SSE2__)
  for (; i + 2 <= c; i += 2) _mm_storeu_pd(v + i, _mm_sqrt_pd(_mm_loadu_pd(v + i)));
#endif
  for (; i < c; ++i) v[i] = std::sqrt(v[i]);
}

void lane_sums_baseline(const double* v, std::size_t slots, double n, double* avg, double* dev) noexcept {
  lane_sums(v, slots, n, avg, dev);
}
void split_diffs_baseline(const double* in, const double* out, std::size_t n, double* d, double* de) noexcept {
  split_diffs_body(in, out, n, d, de);
}
void split_pair_diffs_baseline(const double* in, const double* in_lo, const double* out, const double* out_lo,
                               std::size_t n, double* d, double* de) noexcept {
  split_pair_diffs_body(in, in_lo, out, out_lo, n, d, de);
}
void squares_baseline(const double* in, std::size_t n, double* sq, double* sq_err) noexcept {
  squares_body(in, n, sq, sq_err);
}
void sum_values_baseline(const double* hi, const double* lo, std::size_t n, double divisor, double* out) noexcept {
  sum_values_body(hi, lo, n, divisor, out);
}
void span_folds_baseline(double* hs, double* ls, std::size_t len, std::size_t n, std::size_t m, double* hh,
                         double* ll) noexcept {
  span_folds(hs, ls, len, n, m, hh, ll);
}
void adx_steps_base(AdxRun& s, const double* hi, const double* lo, const double* cl, std::size_t n, double dn,
                    double nm1, double an, double* out) noexcept {
  adx_steps_body(s, hi, lo, cl, n, dn, nm1, an, out, adx_moves_sse2);
}
void rsi_steps_base(RsiRun& s, const double* x, std::size_t n, double nm1, double nn, double* out) noexcept {
  rsi_steps_body(s, x, n, nm1, nn, out, rsi_incs_sse2);
}
void macd_steps_base(MacdRun& s, const double* x, std::size_t n, double ks, double kf, double kg, double* out,
                     std::size_t stride) noexcept {
  macd_steps_body(s, x, n, ks, kf, kg, out, stride);
}
void bands_baseline(const double* hi1, const double* lo1, const double* hi2, const double* lo2, std::size_t m,
                    double n, double up, double down, double* out, std::size_t stride) noexcept {
  bands(hi1, lo1, hi2, lo2, m, n, up, down, out, stride, sqrt_baseline);
}

#if TE_TA_AVX2_BUILD
[[gnu::target("avx2")]] void sqrt_avx2(double* v, std::size_t c) noexcept {
  std::size_t i = 0;
  for (; i + 4 <= c; i += 4) _mm256_storeu_pd(v + i, _mm256_sqrt_pd(_mm256_loadu_pd(v + i)));
  for (; i < c; ++i) v[i] = std::sqrt(v[i]);
}
// lane_sums' operations with the eight lanes in two registers, four slots per
// loop step (GCC's vectorisation of the loop body: one slot a step, and the
// sums stored to the stack and reloaded lane by lane at the end, ≈ 16
// instructions per slot and 50 per call). Each lane's sums are the same
// chains: 0 + the slots in storage order, divided by n, then 0 + |v - avg| in
// that order.
[[gnu::target("avx2")]] void lane_sums_avx2(const double* v, std::size_t slots, double n, double* avg,
                                              double* dev) noexcept {
  static_assert(kCciLanes == 8, "two registers of four lanes");
  const double* const end = v + slots * kCciLanes;
  const double* const quads_end = v + (slots & ~std::size_t{3}) * kCciLanes;
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  const double* p = v;
  for (; p != quads_end; p += 4 * kCciLanes) {
    a0 = _mm256_add_pd(a0, _mm256_loadu_pd(p));
    a1 = _mm256_add_pd(a1, _mm256_loadu_pd(p + 4));
    a0 = _mm256_add_pd(a0, _mm256_loadu_pd(p + 8));
    a1 = _mm256_add_pd(a1, _mm256_loadu_pd(p + 12));
    a0 = _mm256_add_pd(a0, _mm256_loadu_pd(p + 16));
    a1 = _mm256_add_pd(a1, _mm256_loadu_pd(p + 20));
    a0 = _mm256_add_pd(a0, _mm256_loadu_pd(p + 24));
    a1 = _mm256_add_pd(a1, _mm256_loadu_pd(p + 28));
  }
  for (; p != end; p += kCciLanes) {  // the last zero to three slots
    a0 = _mm256_add_pd(a0, _mm256_loadu_pd(p));
    a1 = _mm256_add_pd(a1, _mm256_loadu_pd(p + 4));
  }
  const __m256d nn = _mm256_set1_pd(n);
  a0 = _mm256_div_pd(a0, nn);
  a1 = _mm256_div_pd(a1, nn);
  const __m256d abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffff));
  __m256d d0 = _mm256_setzero_pd(), d1 = _mm256_setzero_pd();
  for (p = v; p != quads_end; p += 4 * kCciLanes) {
    d0 = _mm256_add_pd(d0, _mm256_and_pd(_mm256_sub_pd(_mm256_loadu_pd(p), a0), abs_mask));
    d1 = _mm256_add_pd(d1, _mm256_and_pd(_mm256_sub_pd(_mm256_loadu_pd(p + 4), a1), abs_mask));
    d0 = _mm256_add_pd(d0, _mm256_and_pd(_mm256_sub_pd(_mm256_loadu_pd(p + 8), a0), abs_mask));
    d1 = _mm256_add_pd(d1, _mm256_and_pd(_mm256_sub_pd(_mm256_loadu_pd(p + 12), a1), abs_mask));
    d0 = _mm256_add_pd(d0, _mm256_and_pd(_mm256_sub_pd(_mm256_loadu_pd(p + 16), a0), abs_mask));
    d1 = _mm256_add_pd(d1, _mm256_and_pd(_mm256_sub_pd(_mm256_loadu_pd(p + 20), a1), abs_mask));
    d0 = _mm256_add_pd(d0, _mm256_and_pd(_mm256_sub_pd(_mm256_loadu_pd(p + 24), a0), abs_mask));
    d1 = _mm256_add_pd(d1, _mm256_and_pd(_mm256_sub_pd(_mm256_loadu_pd(p + 28), a1), abs_mask));
  }
  for (; p != end; p += kCciLanes) {
    d0 = _mm256_add_pd(d0, _mm256_and_pd(_mm256_sub_pd(_mm256_loadu_pd(p), a0), abs_mask));
    d1 = _mm256_add_pd(d1, _mm256_and_pd(_mm256_sub_pd(_mm256_loadu_pd(p + 4), a1), abs_mask));
  }
  _mm256_storeu_pd(avg, a0);
  _mm256_storeu_pd(avg + 4, a1);
  _mm256_storeu_pd(dev, d0);
  _mm256_storeu_pd(dev + 4, d1);
}
[[gnu::target("avx2")]] void split_diffs_avx2(const double* in, const double* out, std::size_t n, double* d,
                                                double* de) noexcept {
  split_diffs_body(in, out, n, d, de);
}
[[gnu::target("avx2")]] void split_pair_diffs_avx2(const double* in, const double* in_lo, const double* out,
                                                     const double* out_lo, std::size_t n, double* d,
                                                     double* de) noexcept {
  split_pair_diffs_body(in, in_lo, out, out_lo, n, d, de);
}
[[gnu::target("avx2")]] void squares_avx2(const double* in, std::size_t n, double* sq, double* sq_err) noexcept {
  squares_body(in, n, sq, sq_err);
}
[[gnu::target("avx2")]] void sum_values_avx2(const double* hi, const double* lo, std::size_t n, double divisor,
                                               double* out) noexcept {
  sum_values_body(hi, lo, n, divisor, out);
}
[[gnu::target("avx2")]] void bands_avx2(const double* hi1, const double* lo1, const double* hi2, const double* lo2,
                                          std::size_t m, double n, double up, double down, double* out,
                                          std::size_t stride) noexcept {
  bands(hi1, lo1, hi2, lo2, m, n, up, down, out, stride, sqrt_avx2);
}
[[gnu::target("avx2")]] void span_folds_avx2(double* hs, double* ls, std::size_t len, std::size_t n,
                                               std::size_t m, double* hh, double* ll) noexcept {
  span_folds(hs, ls, len, n, m, hh, ll);
}
[[gnu::target("avx2")]] void adx_steps_avx2(AdxRun& s, const double* hi, const double* lo, const double* cl,
                                             std::size_t n, double dn, double nm1, double an, double* out) noexcept {
  adx_steps_body(s, hi, lo, cl, n, dn, nm1, an, out, adx_moves_avx2);
}
[[gnu::target("avx2")]] void rsi_steps_avx2(RsiRun& s, const double* x, std::size_t n, double nm1, double nn,
                                             double* out) noexcept {
  rsi_steps_body(s, x, n, nm1, nn, out, rsi_incs_avx2);
}
[[gnu::target("avx2")]] void macd_steps_avx2(MacdRun& s, const double* x, std::size_t n, double ks, double kf,
                                              double kg, double* out, std::size_t stride) noexcept {
  macd_steps_body(s, x, n, ks, kf, kg, out, stride);
}
bool has_avx2() noexcept { return cpu_avx2(); }  // (TE_NO_AVX2=1: the baseline loops)
#endif

struct Loops {
  decltype(&lane_sums_baseline) lane_sums;
  decltype(&bands_baseline) bands;
  decltype(&split_diffs_baseline) split_diffs;
  decltype(&split_pair_diffs_baseline) split_pair_diffs;
  decltype(&squares_baseline) squares;
  decltype(&sum_values_baseline) sum_values;
  decltype(&span_folds_baseline) span_folds;
  decltype(&adx_steps_base) adx_steps;
  decltype(&true_ranges_sse2) true_ranges;
  decltype(&rsi_steps_base) rsi_steps;
  decltype(&macd_steps_base) macd_steps;
  decltype(&any_nan_sse2) any_nan;
  decltype(&percent_k_sse2) percent_k;
  decltype(&rates_sse2) rates;
  const char* isa;
};

Loops pick() noexcept {
#if TE_TA_AVX2_BUILD
  if (has_avx2())
    return {lane_sums_avx2, bands_avx2,       split_diffs_avx2, split_pair_diffs_avx2, squares_avx2,
            sum_values_avx2, span_folds_avx2, adx_steps_avx2,   true_ranges_avx2,      rsi_steps_avx2,
            macd_steps_avx2, any_nan_avx2,    percent_k_avx2,   rates_avx2,            "avx2"};
#endif
  return {lane_sums_baseline,  bands_baseline,      split_diffs_baseline, split_pair_diffs_baseline,
          squares_baseline,    sum_values_baseline, span_folds_baseline,  adx_steps_base,
          true_ranges_sse2,    rsi_steps_base,      macd_steps_base,      any_nan_sse2,
          percent_k_sse2,      rates_sse2,          "baseline"};
}

// The baseline until this file's initialiser picks (constant-initialised, so
// valid even for a caller in an earlier static initialiser), then no test
// per call.
Loops chosen{lane_sums_baseline,  bands_baseline,      split_diffs_baseline, split_pair_diffs_baseline,
             squares_baseline,    sum_values_baseline, span_folds_baseline,  adx_steps_base,
             true_ranges_sse2,    rsi_steps_base,      macd_steps_base,      any_nan_sse2,
             percent_k_sse2,      rates_sse2,          "baseline"};
[[maybe_unused]] const bool picked = (chosen = pick(), true);

}  // namespace

void cci_lane_sums(const double* v, std::size_t slots, double n, double* avg, double* dev) noexcept {
  chosen.lane_sums(v, slots, n, avg, dev);
}
void bbands_from_sums(const double* hi1, const double* lo1, const double* hi2, const double* lo2, std::size_t m,
                      double n, double up, double down, double* out, std::size_t stride) noexcept {
  chosen.bands(hi1, lo1, hi2, lo2, m, n, up, down, out, stride);
}
void cci_lane_sums_baseline(const double* v, std::size_t slots, double n, double* avg, double* dev) noexcept {
  lane_sums_baseline(v, slots, n, avg, dev);
}
void bbands_from_sums_baseline(const double* hi1, const double* lo1, const double* hi2, const double* lo2,
                               std::size_t m, double n, double up, double down, double* out,
                               std::size_t stride) noexcept {
  bands_baseline(hi1, lo1, hi2, lo2, m, n, up, down, out, stride);
}
void vector_split_diffs(const double* in, const double* out, std::size_t n, double* d, double* de) noexcept {
  chosen.split_diffs(in, out, n, d, de);
}
void vector_split_pair_diffs(const double* in, const double* in_lo, const double* out, const double* out_lo,
                             std::size_t n, double* d, double* de) noexcept {
  chosen.split_pair_diffs(in, in_lo, out, out_lo, n, d, de);
}
void vector_squares(const double* in, std::size_t n, double* sq, double* sq_err) noexcept {
  chosen.squares(in, n, sq, sq_err);
}
void vector_sum_values(const double* hi, const double* lo, std::size_t n, double divisor, double* out) noexcept {
  chosen.sum_values(hi, lo, n, divisor, out);
}
void vector_split_diffs_baseline(const double* in, const double* out, std::size_t n, double* d, double* de) noexcept {
  split_diffs_baseline(in, out, n, d, de);
}
void vector_split_pair_diffs_baseline(const double* in, const double* in_lo, const double* out, const double* out_lo,
                                      std::size_t n, double* d, double* de) noexcept {
  split_pair_diffs_baseline(in, in_lo, out, out_lo, n, d, de);
}
void vector_squares_baseline(const double* in, std::size_t n, double* sq, double* sq_err) noexcept {
  squares_baseline(in, n, sq, sq_err);
}
void vector_sum_values_baseline(const double* hi, const double* lo, std::size_t n, double divisor,
                                double* out) noexcept {
  sum_values_baseline(hi, lo, n, divisor, out);
}
void stoch_span_folds(double* hs, double* ls, std::size_t len, std::size_t n, std::size_t m, double* hh,
                      double* ll) noexcept {
  chosen.span_folds(hs, ls, len, n, m, hh, ll);
}
void stoch_span_folds_baseline(double* hs, double* ls, std::size_t len, std::size_t n, std::size_t m, double* hh,
                               double* ll) noexcept {
  span_folds_baseline(hs, ls, len, n, m, hh, ll);
}
void adx_steps(AdxRun& s, const double* hi, const double* lo, const double* cl, std::size_t n, double dn, double nm1,
               double an, double* out) noexcept {
  chosen.adx_steps(s, hi, lo, cl, n, dn, nm1, an, out);
}
void adx_steps_baseline(AdxRun& s, const double* hi, const double* lo, const double* cl, std::size_t n, double dn,
                        double nm1, double an, double* out) noexcept {
  adx_steps_base(s, hi, lo, cl, n, dn, nm1, an, out);
}
void vector_true_ranges(const double* h, const double* l, const double* c, std::size_t m, double* tr) noexcept {
  chosen.true_ranges(h, l, c, m, tr);
}
void vector_true_ranges_baseline(const double* h, const double* l, const double* c, std::size_t m,
                                 double* tr) noexcept {
  true_ranges_sse2(h, l, c, m, tr);
}
void rsi_steps(RsiRun& s, const double* x, std::size_t n, double nm1, double nn, double* out) noexcept {
  chosen.rsi_steps(s, x, n, nm1, nn, out);
}
void rsi_steps_baseline(RsiRun& s, const double* x, std::size_t n, double nm1, double nn, double* out) noexcept {
  rsi_steps_base(s, x, n, nm1, nn, out);
}
void macd_steps(MacdRun& s, const double* x, std::size_t n, double ks, double kf, double kg, double* out,
                std::size_t stride) noexcept {
  chosen.macd_steps(s, x, n, ks, kf, kg, out, stride);
}
void macd_steps_baseline(MacdRun& s, const double* x, std::size_t n, double ks, double kf, double kg, double* out,
                         std::size_t stride) noexcept {
  macd_steps_base(s, x, n, ks, kf, kg, out, stride);
}
bool vector_any_nan(const double* a, const double* b, std::size_t n) noexcept { return chosen.any_nan(a, b, n); }
void vector_percent_k(const double* x, const double* hh, const double* ll, std::size_t n, double* out) noexcept {
  chosen.percent_k(x, hh, ll, n, out);
}
bool vector_any_nan_baseline(const double* a, const double* b, std::size_t n) noexcept {
  return any_nan_sse2(a, b, n);
}
void vector_percent_k_baseline(const double* x, const double* hh, const double* ll, std::size_t n,
                               double* out) noexcept {
  percent_k_sse2(x, hh, ll, n, out);
}
void vector_rates(const double* x, const double* old, std::size_t n, double* out) noexcept {
  chosen.rates(x, old, n, out);
}
void vector_rates_baseline(const double* x, const double* old, std::size_t n, double* out) noexcept {
  rates_sse2(x, old, n, out);
}
const char* vector_loops_isa() noexcept { return chosen.isa; }

}  // namespace te::ta
