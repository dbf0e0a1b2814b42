#pragma once
// Error-free floating-point transformations and the accumulators built on them.
//
// Why: a rolling window sum kept as `sum += in - out` picks up a rounding error at
// every step, so after many bars it is no longer the sum of the window and SMA
// values drift by an ulp. That is enough to flip near-tie crossovers against the
// reference engine (backtrader computes math.fsum(window) / period, the exactly
// rounded sum). ExactSum keeps the sum as an unevaluated pair hi + lo whose value
// is the exact sum of everything added (TwoSum captures each rounding error), so
// value() is the correctly rounded window sum whenever the additions into `lo`
// are exact, which holds for any data whose magnitudes span less than ~2^50.
//
// Nothing here may be compiled with -ffast-math or FP contraction: the algorithms
// depend on every operation being rounded exactly once (engine/ta/CMakeLists.txt
// sets -ffp-contract=off; ISO C++ mode already implies it).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace te::ta {

// s + e == a + b exactly (Knuth's TwoSum; no precondition on magnitudes).
inline void two_sum(double a, double b, double& s, double& e) noexcept {
  s = a + b;
  const double bp = s - a;
  e = (a - (s - bp)) + (b - bp);
}

// p + e == a * b exactly (barring overflow/underflow).
inline void two_prod(double a, double b, double& p, double& e) noexcept {
  p = a * b;
#if defined(__FMA__)
  e = std::fma(a, b, -p);
#else
  // Dekker's product with Veltkamp splitting: std::fma without hardware FMA is a
  // slow library call, and the default x86-64 target has none.
  constexpr double kSplit = 134217729.0;  // 2^27 + 1
  const double ca = kSplit * a;
  const double ah = ca - (ca - a);
  const double al = a - ah;
  const double cb = kSplit * b;
  const double bh = cb - (cb - b);
  const double bl = b - bh;
  e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
#endif
}

// A double-double value hi + lo (|lo| <= ulp(hi)/2 after normalisation).
struct Dd {
  double hi = 0;
  double lo = 0;
};

inline Dd dd_normalize(double hi, double lo) noexcept {
  Dd r;
  two_sum(hi, lo, r.hi, r.lo);
  return r;
}

inline Dd dd_add(Dd a, Dd b) noexcept {
  double s, e;
  two_sum(a.hi, b.hi, s, e);
  return dd_normalize(s, e + (a.lo + b.lo));
}

inline Dd dd_sub(Dd a, Dd b) noexcept { return dd_add(a, Dd{-b.hi, -b.lo}); }

inline Dd dd_mul(Dd a, Dd b) noexcept {
  double p, e;
  two_prod(a.hi, b.hi, p, e);
  return dd_normalize(p, e + (a.hi * b.lo + a.lo * b.hi));
}

inline Dd dd_mul(Dd a, double b) noexcept { return dd_mul(a, Dd{b, 0}); }

// d[i] + de[i] == in[i] - out[i] exactly: add_diff()'s first TwoSum, for n
// window steps at once (a loop without a dependency between steps, which the
// compiler vectorises; the same operations on each step).
inline void split_diffs(const double* in, const double* out, std::size_t n, double* d, double* de) noexcept {
  for (std::size_t i = 0; i < n; ++i) two_sum(in[i], -out[i], d[i], de[i]);
}

// add_pair_diff()'s split for n window steps: d[i] + de[i] is what it adds of
// pair in[i] (+ in_lo[i]) less pair out[i] (+ out_lo[i]) (the same operations).
inline void split_pair_diffs(const double* in, const double* in_lo, const double* out, const double* out_lo,
                             std::size_t n, double* d, double* de) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    double e;
    two_sum(in[i], -out[i], d[i], e);
    de[i] = e + (in_lo[i] - out_lo[i]);
  }
}

// Exact running sum of doubles (see the header comment). add() is a TwoSum on the
// `hi` chain only, so the loop-carried latency stays one addition per input; the
// pair is renormalised every 64 operations to keep |lo| small.
class ExactSum {
 public:
  // (Always inlined: out of line, a call per window step costs as much as
  // the step, and the pair would round-trip through memory.)
  [[gnu::always_inline]] void add(double x) noexcept {
    double s, e;
    two_sum(hi_, x, s, e);
    hi_ = s;
    lo_ += e;
    maybe_normalize();
  }

  // Adds `in` and subtracts `out` (a window step). The difference is formed
  // exactly first, off the hi_ dependency chain.
  [[gnu::always_inline]] void add_diff(double in, double out) noexcept {
    double d, de;
    two_sum(in, -out, d, de);
    double s, e;
    two_sum(hi_, d, s, e);
    hi_ = s;
    lo_ += e + de;
    maybe_normalize();
  }

  // Adds an exact pair (e.g. a TwoProduct result) and subtracts another.
  [[gnu::always_inline]] void add_pair_diff(double in_hi, double in_lo, double out_hi, double out_lo) noexcept {
    double d, de;
    two_sum(in_hi, -out_hi, d, de);
    double s, e;
    two_sum(hi_, d, s, e);
    hi_ = s;
    lo_ += e + (de + (in_lo - out_lo));
    maybe_normalize();
  }

  // add_diff() for each of `n` window steps whose differences are already
  // split (d[i] + de[i] == in - out exactly: split_diffs), the pair after
  // step i to his[i], los[i] (value() of step i is his[i] + los[i]). The same
  // operations in the same order as n add_diff() calls, with the
  // renormalisation's test once per stretch instead of once per step; a block
  // pass computes the splits and the values vectorised around this loop, the
  // only part with a dependency from one step to the next.
  void add_split_diffs(const double* d, const double* de, std::size_t n, double* his, double* los) noexcept {
    double hi = hi_, lo = lo_;
    std::uint32_t ops = ops_;
    std::size_t i = 0;
    while (i < n) {
      const std::uint32_t to_normalize = 64u - (ops & 63u);  // steps up to the next renormalisation
      const std::size_t k = std::min<std::size_t>(to_normalize, n - i);
      // (Unrolled twice: the loop's counter and branch were 3 of a step's ~17 instructions.)
#pragma GCC unroll 2
      for (const std::size_t end = i + k; i < end; ++i) {
        double s, e;
        two_sum(hi, d[i], s, e);
        hi = s;
        lo += e + de[i];
        his[i] = hi;
        los[i] = lo;
      }
      ops += static_cast<std::uint32_t>(k);
      if ((ops & 63u) == 0) {
        double s, e;
        two_sum(hi, lo, s, e);
        hi = his[i - 1] = s;
        lo = los[i - 1] = e;
      }
    }
    hi_ = hi;
    lo_ = lo;
    ops_ = ops;
  }

  // add_split_diffs() of two sums side by side (their chains overlap; each
  // renormalised after its own 64th operation as in add_diff()), in one SSE2
  // register where there is one.
  static void add_split_diffs(ExactSum& a, const double* ad, const double* ade, double* ahis, double* alos,
                              ExactSum& b, const double* bd, const double* bde, double* bhis, double* blos,
                              std::size_t n) noexcept {
    double ahi = a.hi_, alo = a.lo_, bhi = b.hi_, blo = b.lo_;
    std::uint32_t aops = a.ops_, bops = b.ops_;
    std::size_t i = 0;
    while (i < n) {
      const std::uint32_t to_normalize = std::min(64u - (aops & 63u), 64u - (bops & 63u));
      const std::size_t k = std::min<std::size_t>(to_normalize, n - i);
#if defined(__SSE2__)
      // Both sums in one register (a low, b high): the TwoSum's six
      // operations and the two additions into lo once for the pair, the same
      // operations on each sum as the scalar steps below.
      __m128d hi = _mm_set_pd(bhi, ahi), lo = _mm_set_pd(blo, alo);
#pragma GCC unroll 2
      for (const std::size_t end = i + k; i < end; ++i) {
        const __m128d d = _mm_loadh_pd(_mm_load_sd(ad + i), bd + i);
        const __m128d s = _mm_add_pd(hi, d);
        const __m128d bp = _mm_sub_pd(s, hi);
        const __m128d e = _mm_add_pd(_mm_sub_pd(hi, _mm_sub_pd(s, bp)), _mm_sub_pd(d, bp));
        hi = s;
        lo = _mm_add_pd(lo, _mm_add_pd(e, _mm_loadh_pd(_mm_load_sd(ade + i), bde + i)));
        _mm_storel_pd(ahis + i, hi);
        _mm_storeh_pd(bhis + i, hi);
        _mm_storel_pd(alos + i, lo);
        _mm_storeh_pd(blos + i, lo);
      }
      ahi = _mm_cvtsd_f64(hi);
      bhi = _mm_cvtsd_f64(_mm_unpackhi_pd(hi, hi));
      alo = _mm_cvtsd_f64(lo);
      blo = _mm_cvtsd_f64(_mm_unpackhi_pd(lo, lo));
#else
#pragma GCC unroll 2
      for (const std::size_t end = i + k; i < end; ++i) {
        double s, e;
        two_sum(ahi, ad[i], s, e);
        ahi = s;
        alo += e + ade[i];
        ahis[i] = ahi;
        alos[i] = alo;
        two_sum(bhi, bd[i], s, e);
        bhi = s;
        blo += e + bde[i];
        bhis[i] = bhi;
        blos[i] = blo;
      }
#endif
      aops += static_cast<std::uint32_t>(k);
      bops += static_cast<std::uint32_t>(k);
      double s, e;
      if ((aops & 63u) == 0) {
        two_sum(ahi, alo, s, e);
        ahi = ahis[i - 1] = s;
        alo = alos[i - 1] = e;
      }
      if ((bops & 63u) == 0) {
        two_sum(bhi, blo, s, e);
        bhi = bhis[i - 1] = s;
        blo = blos[i - 1] = e;
      }
    }
    a.hi_ = ahi;
    a.lo_ = alo;
    a.ops_ = aops;
    b.hi_ = bhi;
    b.lo_ = blo;
    b.ops_ = bops;
  }

  // The correctly rounded sum (one rounding of hi + lo).
  double value() const noexcept { return hi_ + lo_; }
  Dd dd() const noexcept { return dd_normalize(hi_, lo_); }

  void reset() noexcept {
    hi_ = lo_ = 0;
    ops_ = 0;
  }

 private:
  [[gnu::always_inline]] void maybe_normalize() noexcept {
    if ((++ops_ & 63u) == 0) {
      double s, e;
      two_sum(hi_, lo_, s, e);
      hi_ = s;
      lo_ = e;
    }
  }

  double hi_ = 0;
  double lo_ = 0;
  std::uint32_t ops_ = 0;
};

}  // namespace te::ta
