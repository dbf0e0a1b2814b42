#include "engine/journal/bar_run.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <numeric>
#include <cstring>
#include <vector>

#if defined(__SSE2__) && defined(__x86_64__)  // (_mm_cvtsi128_si64 is x86-64 only)
#include <emmintrin.h>
#include <immintrin.h>  // the AVX2 kernels below (target attribute, chosen at run time)
#define TE_BAR_RUN_AVX2 1
#endif

#include "engine/core/assert.hpp"
#include "engine/core/cpu_features.hpp"
#include "engine/journal/event_codec.hpp"
#include "engine/journal/msgpack_cursor.hpp"
#include "engine/journal/record_format.hpp"

namespace te::journal {
namespace {

constexpr double kPow10[kMaxBarRunDecimals + 1] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

// Out::sint's forms by sign and bit width (of v, or of ~v when v < 0): the
// header byte, the number of big-endian bytes after it (0: a fixint, the
// value's own byte) and the right shift that leaves those bytes lowest in a
// byte-swapped v.
struct SintForm {
  std::uint8_t header, len, shift;
};
constexpr std::array<std::array<SintForm, 65>, 2> make_sint_forms() {
  std::array<std::array<SintForm, 65>, 2> t{};
  for (unsigned bits = 0; bits <= 64; ++bits) {
    // v >= 0: fixint to 127, then uint 8/16/32/64.
    SintForm pos{0, 0, 56};
    if (bits > 32) pos = {0xcf, 8, 0};
    else if (bits > 16) pos = {0xce, 4, 32};
    else if (bits > 8) pos = {0xcd, 2, 48};
    else if (bits > 7) pos = {0xcc, 1, 56};
    // v < 0 (bits of ~v = -v - 1): fixint from -32, then int 8/16/32/64.
    SintForm neg{0, 0, 56};
    if (bits > 31) neg = {0xd3, 8, 0};
    else if (bits > 15) neg = {0xd2, 4, 32};
    else if (bits > 7) neg = {0xd1, 2, 48};
    else if (bits > 5) neg = {0xd0, 1, 56};
    t[0][bits] = pos;
    t[1][bits] = neg;
  }
  return t;
}
constexpr auto kSintForm = make_sint_forms();

// msgpack's shortest forms, as msgpack-cxx's packer writes them (positive
// values in the unsigned forms): the encoding rules of section 5.
struct Out {
  char* p;
  void byte(unsigned v) { *p++ = static_cast<char>(v); }
  // Big-endian, one store (a byte loop was a fifth of the bar run's cost).
  static_assert(std::endian::native == std::endian::little, "the byte swaps below assume a little-endian host");
  void be(std::uint64_t v, int n) {
    TE_ASSERT(n == 1 || n == 2 || n == 4 || n == 8, "bar run: a %d-byte big-endian field", n);
    switch (n) {
      case 1:
        *p = static_cast<char>(v);
        break;
      case 2: {
        const auto w = __builtin_bswap16(static_cast<std::uint16_t>(v));
        std::memcpy(p, &w, 2);
        break;
      }
      case 4: {
        const auto w = __builtin_bswap32(static_cast<std::uint32_t>(v));
        std::memcpy(p, &w, 4);
        break;
      }
      default: {
        const auto w = __builtin_bswap64(v);
        std::memcpy(p, &w, 8);
        break;
      }
    }
    p += n;
  }
  void uint(std::uint64_t v) {
    if (v < 0x80) {
      byte(static_cast<unsigned>(v));
    } else if (v <= 0xff) {
      byte(0xcc);
      be(v, 1);
    } else if (v <= 0xffff) {
      byte(0xcd);
      be(v, 2);
    } else if (v <= 0xffffffffu) {
      byte(0xce);
      be(v, 4);
    } else {
      byte(0xcf);
      be(v, 8);
    }
  }
  void sint(std::int64_t v) {
    // -32..127, a fixint either way (most tick differences): one test.
    if (static_cast<std::uint64_t>(v) + 32 < 160) return byte(static_cast<unsigned>(static_cast<std::uint64_t>(v) & 0xff));
    if (v >= 0) return uint(static_cast<std::uint64_t>(v));
    const auto u = static_cast<std::uint64_t>(v);
    if (v >= -128) {
      byte(0xd0);
      be(u, 1);
    } else if (v >= -32768) {
      byte(0xd1);
      be(u, 2);
    } else if (v >= INT32_MIN) {
      byte(0xd2);
      be(u, 4);
    } else {
      byte(0xd3);
      be(u, 8);
    }
  }
  // sint's bytes without a branch on the value: a column whose differences
  // are not fixints (a volume column's, mostly) has sizes no predictor
  // guesses, and a wrong guess per value cost more than the whole encoding.
  // The form comes from the value's sign and bit width (kSintForm), the
  // header byte and the big-endian bytes are stored whatever the form (the
  // fixint's byte is its own header), and p moves by the form's length. It
  // stores nine bytes at p: the room every value of a bar run has.
  void sint_flat(std::int64_t v) {
    const bool neg = v < 0;
    const std::uint64_t u = neg ? ~static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    const unsigned bits = 64 - static_cast<unsigned>(__builtin_clzll(u | 1));  // 1..64
    const SintForm f = kSintForm[neg][bits];
    *p = static_cast<char>(f.len != 0 ? f.header : static_cast<unsigned>(static_cast<std::uint64_t>(v) & 0xff));
    const std::uint64_t w = __builtin_bswap64(static_cast<std::uint64_t>(v)) >> f.shift;
    std::memcpy(p + 1, &w, 8);
    p += 1 + f.len;
  }
  void array(std::uint32_t n) {
    if (n < 16) {
      byte(0x90 | n);
    } else if (n <= 0xffff) {
      byte(0xdc);
      be(n, 2);
    } else {
      byte(0xdd);
      be(n, 4);
    }
  }
  void nil() { byte(0xc0); }
  void dbl(double d) {
    byte(0xcb);
    be(std::bit_cast<std::uint64_t>(d), 8);
  }
};

constexpr double kTwo51 = 2251799813685248.0;
// Adding and subtracting 1.5 * 2^52 rounds a double below 2^51 in magnitude
// to the nearest integer (ties to even), exactly, without a libm call.
constexpr double kRound = 6755399441055744.0;

// Every x[i] is exactly k[i] / 10^d (the division of two exact doubles,
// correctly rounded) for an integer |k[i]| < 2^51; the k are left in `k`.
// Stops at the first value that is not: for the searches below, where the
// first value usually says no.
bool column_fits_early(const double* x, std::uint32_t n, int d, std::int64_t* k) noexcept {
  const double p = kPow10[d];
  for (std::uint32_t i = 0; i < n; ++i) {
    const double y = x[i] * p;
    if (!(std::fabs(y) < kTwo51)) return false;  // also NaN and infinities
    const double r = (y + kRound) - kRound;
    if (std::bit_cast<std::uint64_t>(r / p) != std::bit_cast<std::uint64_t>(x[i])) return false;
    k[i] = static_cast<std::int64_t>(r);
  }
  return true;
}

// The same answer and the same k as column_fits_early for the whole column,
// two values per instruction (SSE2, baseline x86-64), without a branch per
// value: for the common case, a column that fits the exponent of the run
// before, where every value is checked anyway and the division is most of
// the cost. k is read from the rounding sum's low mantissa bits (for
// |y| < 2^51, y + 1.5 * 2^52 is 1.5 * 2^52 + r exactly, in [2^52, 2^53]); a
// value that does not fit leaves garbage there, and the column is refused.
bool column_fits(const double* x, std::uint32_t n, int d, std::int64_t* k) noexcept {
  const double p = kPow10[d];
  std::uint32_t i = 0;
  std::uint64_t bad = 0;
#if defined(__SSE2__) && defined(__x86_64__)
  const __m128d vp = _mm_set1_pd(p);
  const __m128d vround = _mm_set1_pd(kRound);
  const __m128d vlimit = _mm_set1_pd(kTwo51);
  const __m128d vabs = _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffff));
  __m128i vbad = _mm_setzero_si128();
  for (; i + 2 <= n; i += 2) {
    const __m128d vx = _mm_loadu_pd(x + i);
    const __m128d y = _mm_mul_pd(vx, vp);
    const __m128d t = _mm_add_pd(y, vround);
    const __m128d r = _mm_sub_pd(t, vround);
    // !(|y| < 2^51): also NaN (unordered) and infinities
    vbad = _mm_or_si128(vbad, _mm_castpd_si128(_mm_cmpnlt_pd(_mm_and_pd(y, vabs), vlimit)));
    vbad = _mm_or_si128(vbad, _mm_xor_si128(_mm_castpd_si128(_mm_div_pd(r, vp)), _mm_castpd_si128(vx)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(k + i), _mm_sub_epi64(_mm_castpd_si128(t), _mm_castpd_si128(vround)));
  }
  vbad = _mm_or_si128(vbad, _mm_unpackhi_epi64(vbad, vbad));
  bad = static_cast<std::uint64_t>(_mm_cvtsi128_si64(vbad));
#endif
  for (; i < n; ++i) {
    const double y = x[i] * p;
    const double t = y + kRound;
    const double r = t - kRound;
    bad |= static_cast<std::uint64_t>(!(std::fabs(y) < kTwo51));
    bad |= std::bit_cast<std::uint64_t>(r / p) ^ std::bit_cast<std::uint64_t>(x[i]);
    k[i] = static_cast<std::int64_t>(std::bit_cast<std::uint64_t>(t) - std::bit_cast<std::uint64_t>(kRound));
  }
  return bad == 0;
}

#if defined(TE_BAR_RUN_AVX2)
// column_fits with four values per instruction (AVX2, not FMA: the same
// multiplication, additions and division per value, so the same k and the
// same answer, bit for bit; bar_run_test compares the two). Writes k up to
// the next multiple of four past n (put_column's k has room).
// Four values of column_fits_avx2: their k into `k`, what does not fit into `bad`.
[[gnu::target("avx2"), gnu::always_inline]] inline void fits4_avx2(__m256d vx, __m256d vp, std::int64_t* k,
                                                                   __m256i& bad) noexcept {
  const __m256d vround = _mm256_set1_pd(kRound);
  const __m256d vabs = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffff));
  const __m256d y = _mm256_mul_pd(vx, vp);
  const __m256d t = _mm256_add_pd(y, vround);
  const __m256d r = _mm256_sub_pd(t, vround);
  // !(|y| < 2^51): also NaN (unordered) and infinities
  bad = _mm256_or_si256(bad, _mm256_castpd_si256(_mm256_cmp_pd(_mm256_and_pd(y, vabs), _mm256_set1_pd(kTwo51), _CMP_NLT_UQ)));
  bad = _mm256_or_si256(bad, _mm256_xor_si256(_mm256_castpd_si256(_mm256_div_pd(r, vp)), _mm256_castpd_si256(vx)));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(k), _mm256_sub_epi64(_mm256_castpd_si256(t), _mm256_castpd_si256(vround)));
}

[[gnu::target("avx2")]] bool column_fits_avx2(const double* x, std::uint32_t n, int d, std::int64_t* k) noexcept {
  const __m256d vp = _mm256_set1_pd(kPow10[d]);
  __m256i bad = _mm256_setzero_si256();
  std::uint32_t i = 0;
  for (; i + 4 <= n; i += 4) fits4_avx2(_mm256_loadu_pd(x + i), vp, k + i, bad);
  if (i < n) {
    // The last one to three values the same way, the lanes past them loaded
    // as +0.0 (which fits, with k 0): k has room for them (put_column).
    const __m256i lanes = _mm256_cmpgt_epi64(_mm256_set1_epi64x(n - i), _mm256_setr_epi64x(0, 1, 2, 3));
    fits4_avx2(_mm256_maskload_pd(x + i, lanes), vp, k + i, bad);
  }
  return _mm256_testz_si256(bad, bad) != 0;
}
#endif

bool all_tens(const std::int64_t* k, std::uint32_t n) noexcept {
  for (std::uint32_t i = 0; i < n; ++i)
    if (k[i] % 10 != 0) return false;
  return true;
}

// The per-value loops of a column, as the CPU runs them best: the baseline
// x86-64 builds above, or AVX2's (same bytes; picked once, at first use).
struct ColumnKernels {
  bool (*fits)(const double* x, std::uint32_t n, int d, std::int64_t* k) noexcept;
  char* (*deltas)(char* p, const std::int64_t* k, std::uint32_t n) noexcept;
};

// The smallest d with every value k / 10^d (their k in `k`), or -1. The
// exponents that fit one value form an interval (a value that is k / 10^d is
// 10k / 10^(d+1) while that stays below 2^51), so those that fit a column do
// too, and the search ends at its lower end whichever hint it starts from.
int column_decimals(const ColumnKernels& kern, const double* x, std::uint32_t n, int& hint, std::int64_t* k) noexcept {
  int d = hint;
  if (!kern.fits(x, n, d, k)) {
    d = -1;
    for (int t = 0; t <= kMaxBarRunDecimals; ++t) {
      if (t != hint && column_fits_early(x, n, t, k)) {
        d = t;
        break;
      }
    }
    if (d < 0) return -1;
  }
  // A column that fits d > 0 fits d - 1 exactly when every k is a multiple
  // of 10, and then its k there are these k / 10: x is the correctly rounded
  // quotient of the same number either way (k / 10^d = (k / 10) / 10^(d-1),
  // both divisors exact), and for |k| < 2^51 rounding x * 10^(d-1) gives
  // k / 10 back (its error is below 0.05). So integer tests instead of
  // column_fits_early's division per value; usually the first value already
  // says no (prices rarely all end in 0).
  while (d > 0 && all_tens(k, n)) {
    for (std::uint32_t i = 0; i < n; ++i) k[i] /= 10;
    --d;
  }
  hint = d;
  return d;
}

// The column's differences k[i] - k[i - 1] (k[-1] = 0), each msgpack's
// shortest signed form. |k| < 2^51: no overflow.
char* put_deltas(char* p, const std::int64_t* k, std::uint32_t n) noexcept {
  Out o{p};
  std::int64_t prev = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    o.sint(k[i] - prev);
    prev = k[i];
  }
  return o.p;
}

#if defined(TE_BAR_RUN_AVX2)
// put_deltas, eight differences at a time: when all eight are fixints
// (-32..127, a price column's ticks mostly) they are their own low bytes,
// gathered with two in-lane shuffles and written with one 8-byte store; a
// group of eight that is not goes through Out::sint_flat.
// Eight differences of put_deltas_avx2, k[i] - k[i - 1] for the lanes `in`
// selects (all ones: every lane): when each of them is a fixint, their low
// bytes go to `p` in one 8-byte store and it returns true.
[[gnu::target("avx2"), gnu::always_inline]] inline bool fixints8_avx2(const std::int64_t* k, __m256i in0, __m256i in1,
                                                                      char* p) noexcept {
  // Low bytes of the four 64-bit lanes: of the first vector to bytes 0, 1
  // (lane 0) and 2, 3 (lane 1); of the second to bytes 4, 5 and 6, 7.
  const __m256i first = _mm256_setr_epi8(0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                         -1, -1, 0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i second = _mm256_setr_epi8(-1, -1, -1, -1, 0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                          -1, -1, -1, -1, -1, -1, 0, 8, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i d0 = _mm256_sub_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(k)),
                                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k - 1)));
  const __m256i d1 = _mm256_sub_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + 4)),
                                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + 3)));
  const __m256i hi = _mm256_set1_epi64x(127), lo = _mm256_set1_epi64x(-32);
  const __m256i big = _mm256_or_si256(
      _mm256_and_si256(in0, _mm256_or_si256(_mm256_cmpgt_epi64(d0, hi), _mm256_cmpgt_epi64(lo, d0))),
      _mm256_and_si256(in1, _mm256_or_si256(_mm256_cmpgt_epi64(d1, hi), _mm256_cmpgt_epi64(lo, d1))));
  if (!_mm256_testz_si256(big, big)) return false;
  const __m256i b = _mm256_or_si256(_mm256_shuffle_epi8(d0, first), _mm256_shuffle_epi8(d1, second));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_or_si128(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1)));
  return true;
}

// Four differences of a group of eight that are not all fixints (a volume
// column's, mostly: its differences are hundreds) without sint_flat's chain
// per value, when each of them is in -32768..65535 (msgpack's forms of one to
// three bytes: fixint, cc/d0 and a byte, cd/d1 and two): every lane's header
// and bytes are made at once in a 32-bit word (header, then the big-endian
// bytes), and one byte shuffle, picked by which lanes take one, two or three
// bytes, packs the four words' bytes together. False (nothing written) when a
// difference is outside that range.
struct Pack4 {
  std::uint8_t shuffle[16];
  std::uint8_t size;
};
constexpr std::array<Pack4, 256> make_pack4() {
  std::array<Pack4, 256> t{};
  for (unsigned m = 0; m < 256; ++m) {
    Pack4 e{};
    for (std::uint8_t& b : e.shuffle) b = 0x80;  // zero
    unsigned at = 0;
    for (unsigned lane = 0; lane < 4; ++lane) {
      // bit `lane` of the low four: a fixint; of the high four: two bytes
      const unsigned len = (m >> lane & 1) != 0 ? 1 : (m >> (4 + lane) & 1) != 0 ? 2 : 3;
      for (unsigned b = 0; b < len; ++b) e.shuffle[at++] = static_cast<std::uint8_t>(4 * lane + b);
    }
    e.size = static_cast<std::uint8_t>(at);
    t[m] = e;
  }
  return t;
}
constexpr std::array<Pack4, 256> kPack4 = make_pack4();

[[gnu::target("avx2"), gnu::always_inline]] inline bool short4_avx2(const std::int64_t* k, char*& p) noexcept {
  const __m256i d = _mm256_sub_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(k)),
                                     _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k - 1)));
  const __m256i out = _mm256_or_si256(_mm256_cmpgt_epi64(d, _mm256_set1_epi64x(65535)),
                                      _mm256_cmpgt_epi64(_mm256_set1_epi64x(-32768), d));
  if (!_mm256_testz_si256(out, out)) return false;
  const __m256i ones = _mm256_set1_epi64x(-1);
  const __m256i fix = _mm256_andnot_si256(_mm256_or_si256(_mm256_cmpgt_epi64(d, _mm256_set1_epi64x(127)),
                                                          _mm256_cmpgt_epi64(_mm256_set1_epi64x(-32), d)),
                                          ones);
  const __m256i neg = _mm256_cmpgt_epi64(_mm256_setzero_si256(), d);
  // two bytes: 128..255 (cc) or -128..-33 (d0); else (not a fixint) three
  const __m256i two = _mm256_andnot_si256(
      _mm256_blendv_epi8(_mm256_cmpgt_epi64(d, _mm256_set1_epi64x(255)),
                         _mm256_cmpgt_epi64(_mm256_set1_epi64x(-128), d), neg),
      ones);
  const __m256i low = _mm256_and_si256(d, _mm256_set1_epi64x(0xff));
  // header: cc / cd for d >= 0, d0 / d1 below (the two-byte form one less)
  __m256i header = _mm256_sub_epi64(_mm256_blendv_epi8(_mm256_set1_epi64x(0xcd), _mm256_set1_epi64x(0xd1), neg),
                                    _mm256_and_si256(two, _mm256_set1_epi64x(1)));
  header = _mm256_blendv_epi8(header, low, fix);
  const __m256i high = _mm256_and_si256(_mm256_srli_epi64(d, 8), _mm256_set1_epi64x(0xff));
  const __m256i first = _mm256_blendv_epi8(high, low, two);  // the byte after the header
  const __m256i word = _mm256_or_si256(header, _mm256_or_si256(_mm256_slli_epi64(first, 8), _mm256_slli_epi64(low, 16)));
  const __m128i words =
      _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(word, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6)));
  const unsigned m = static_cast<unsigned>(_mm256_movemask_pd(_mm256_castsi256_pd(fix))) |
                     static_cast<unsigned>(_mm256_movemask_pd(_mm256_castsi256_pd(two))) << 4;
  const Pack4& e = kPack4[m];
  const __m128i bytes = _mm_shuffle_epi8(words, _mm_loadu_si128(reinterpret_cast<const __m128i*>(e.shuffle)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), bytes);  // within the four values' 36 bytes of room
  p += e.size;
  return true;
}

[[gnu::target("avx2")]] char* put_deltas_avx2(char* p, const std::int64_t* k, std::uint32_t n) noexcept {
  Out o{p};
  if (n == 0) return o.p;
  o.sint(k[0]);
  std::uint32_t i = 1;
  const __m256i all = _mm256_set1_epi64x(-1);
  for (; i + 8 <= n; i += 8) {
    if (fixints8_avx2(k + i, all, all, o.p)) {
      o.p += 8;
      continue;
    }
    for (std::uint32_t h = i; h < i + 8; h += 4) {
      if (short4_avx2(k + h, o.p)) continue;
      for (std::uint32_t j = h; j < h + 4; ++j) o.sint_flat(k[j] - k[j - 1]);
    }
  }
  if (i < n) {
    // The last one to seven: the same eight-wide test on the lanes that
    // are differences (k has room for eight past n, see put_column), and
    // the store's bytes past them are written over by what follows (a value
    // has room for nine bytes, so the store stays within the record's room).
    const auto left = static_cast<std::int64_t>(n - i);
    const __m256i lanes = _mm256_set1_epi64x(left);
    if (fixints8_avx2(k + i, _mm256_cmpgt_epi64(lanes, _mm256_setr_epi64x(0, 1, 2, 3)),
                      _mm256_cmpgt_epi64(lanes, _mm256_setr_epi64x(4, 5, 6, 7)), o.p)) {
      o.p += left;
    } else {
      for (; i < n; ++i) o.sint_flat(k[i] - k[i - 1]);
    }
  }
  return o.p;
}
#endif

constexpr ColumnKernels kBaselineKernels = {&column_fits, &put_deltas};

const ColumnKernels& column_kernels() noexcept {
#if defined(TE_BAR_RUN_AVX2)
  static constexpr ColumnKernels kAvx2 = {&column_fits_avx2, &put_deltas_avx2};
  static const ColumnKernels& k = cpu_avx2() ? kAvx2 : kBaselineKernels;
  return k;
#else
  return kBaselineKernels;
#endif
}

void put_column(const ColumnKernels& kern, Out& out, const double* x, std::uint32_t n, int& hint) {
  // A local writer: the caller's, passed by reference, had its pointer
  // stored back after every byte (a char store may alias it).
  Out o{out.p};
  o.array(n + 1);
  // Eight past the column: column_fits_avx2's last group writes up to three
  // of them (zeros) and put_deltas_avx2's reads them (and ignores them; zero,
  // so nothing it reads is unset).
  std::int64_t k[kMaxBarRun + 8];
  std::memset(k + n, 0, 8 * sizeof k[0]);
  const int d = column_decimals(kern, x, n, hint, k);
  if (d < 0) {
    o.nil();
    for (std::uint32_t i = 0; i < n; ++i) o.dbl(x[i]);
    out.p = o.p;
    return;
  }
  o.uint(static_cast<std::uint64_t>(d));
  out.p = kern.deltas(o.p, k, n);
}

std::size_t encode_with(const ColumnKernels& kern, const BarRun& run, int hints[5], char* out, bool time_units,
                        TsRange* range) noexcept;

}  // namespace

void BarRun::ts_range(std::int64_t& lo, std::int64_t& hi) const noexcept {
  std::int64_t a = ts[0], b = ts[0];
  for (std::uint32_t i = 1; i < count; ++i) {
    a = ts[i] < a ? ts[i] : a;
    b = ts[i] > b ? ts[i] : b;
  }
  lo = a;
  hi = b;
}

std::size_t encode_bar_run(const BarRun& run, int hints[5], char* out, bool time_units, TsRange* range) noexcept {
  return encode_with(column_kernels(), run, hints, out, time_units, range);
}

std::size_t encode_bar_run_baseline(const BarRun& run, int hints[5], char* out, bool time_units,
                                    TsRange* range) noexcept {
  return encode_with(kBaselineKernels, run, hints, out, time_units, range);
}

bool bar_run_uses_avx2() noexcept { return &column_kernels() != &kBaselineKernels; }

namespace {

std::size_t encode_with(const ColumnKernels& kern, const BarRun& run, int hints[5], char* out, bool time_units,
                        TsRange* range) noexcept {
  Out o{out};
  const std::uint32_t n = run.count;
  o.array(12);
  o.uint(kBarRunType);
  o.uint(run.first_sequence);
  o.sint(run.ts[0]);
  o.uint(run.runner);
  o.uint(n);
  // Times: a step when they are evenly spaced (wrapping differences, so any
  // int64 times round-trip), else the differences.
  const std::uint64_t step_bits = n > 1 ? static_cast<std::uint64_t>(run.ts[1]) - static_cast<std::uint64_t>(run.ts[0]) : 0;
  const auto step = static_cast<std::int64_t>(step_bits);
  // Every difference compared, no early exit: a loop the compiler
  // vectorises (the early-exit loop cost 11 instructions a bar; runs are
  // evenly spaced almost always, so it went to the end anyway).
  std::uint64_t uneven = 0;
  for (std::uint32_t i = 2; i < n; ++i) {
    uneven |= (static_cast<std::uint64_t>(run.ts[i]) - static_cast<std::uint64_t>(run.ts[i - 1])) ^ step_bits;
  }
  const bool even = uneven == 0;
  // Uneven times: whether they never go back, noted in the passes below
  // that read them anyway (then the ends are the range, else ts_range's pass).
  bool rising = true;
  if (range != nullptr && even) {
    std::int64_t span = 0, last = 0;
    // ts[i] = ts[0] + i * step without wrapping when the last one does not
    // wrap (none before it does then): monotonic.
    if (!__builtin_mul_overflow(step, static_cast<std::int64_t>(n - 1), &span) &&
        !__builtin_add_overflow(run.ts[0], span, &last)) {
      range->lo = step >= 0 ? run.ts[0] : last;
      range->hi = step >= 0 ? last : run.ts[0];
    } else {
      run.ts_range(range->lo, range->hi);
    }
  }
  if (even) {
    o.sint(step);
    o.nil();
  } else if (time_units) {
    // Format 5: the differences as multiples of their greatest common
    // divisor (a daily run's 1, 3 or 4 days: a byte each, not nine).
    std::int64_t d[kMaxBarRun];
    std::uint64_t unit = 0;
    for (std::uint32_t i = 1; i < n; ++i) {
      d[i] = static_cast<std::int64_t>(static_cast<std::uint64_t>(run.ts[i]) - static_cast<std::uint64_t>(run.ts[i - 1]));
      rising &= run.ts[i] >= run.ts[i - 1];
      const std::uint64_t m = d[i] < 0 ? 0 - static_cast<std::uint64_t>(d[i]) : static_cast<std::uint64_t>(d[i]);
      unit = std::gcd(unit, m);
    }
    if (unit > static_cast<std::uint64_t>(INT64_MAX)) unit = 1;  // only 2^63 (INT64_MIN differences)
    o.nil();
    o.array(n);
    o.uint(unit);
    for (std::uint32_t i = 1; i < n; ++i) o.sint(d[i] / static_cast<std::int64_t>(unit));
  } else {
    o.nil();
    o.array(n - 1);
    for (std::uint32_t i = 1; i < n; ++i) {
      o.sint(static_cast<std::int64_t>(static_cast<std::uint64_t>(run.ts[i]) -
                                       static_cast<std::uint64_t>(run.ts[i - 1])));
      rising &= run.ts[i] >= run.ts[i - 1];
    }
  }
  if (range != nullptr && !even) {
    if (rising) {
      range->lo = run.ts[0];
      range->hi = run.ts[n - 1];
    } else {
      run.ts_range(range->lo, range->hi);
    }
  }
  for (int c = 0; c < 5; ++c) put_column(kern, o, run.col[c], n, hints[c]);
  return static_cast<std::size_t>(o.p - out);
}

}  // namespace

namespace {

// Decodes a bar_run record into `ts` and `cols` (5 columns of count values).
bool decode_bar_run(std::string_view rec, std::uint64_t& first, std::uint32_t& runner, std::uint32_t& count,
                    std::vector<std::int64_t>& ts, std::vector<double>& cols, bool time_units) {
  detail::MsgpackCursor c(rec);
  std::uint32_t fields = 0;
  std::uint64_t type = 0, u = 0;
  std::int64_t ts0 = 0;
  if (!c.read_array(fields) || fields != 12 || !c.read_uint(type) || type != kBarRunType || !c.read_uint(first) ||
      !c.read_int(ts0) || !c.read_uint(u) || u > 0xffffffffu) {
    return false;
  }
  runner = static_cast<std::uint32_t>(u);
  if (!c.read_uint(u) || u == 0 || u > 0xffff) return false;
  count = static_cast<std::uint32_t>(u);
  if (first > UINT64_MAX - count) return false;
  ts.resize(count);
  cols.resize(5 * std::size_t{count});
  ts[0] = ts0;
  if (!c.next_is_nil()) {
    std::int64_t step = 0;
    if (!c.read_int(step) || !c.read_nil()) return false;
    for (std::uint32_t i = 1; i < count; ++i)
      ts[i] = static_cast<std::int64_t>(static_cast<std::uint64_t>(ts[i - 1]) + static_cast<std::uint64_t>(step));
  } else {
    std::uint32_t n = 0;
    if (!c.read_nil() || !c.read_array(n) || n != (time_units ? count : count - 1)) return false;
    std::uint64_t unit = 1;
    if (time_units && (!c.read_uint(unit) || unit == 0)) return false;
    for (std::uint32_t i = 1; i < count; ++i) {
      std::int64_t delta = 0;
      if (!c.read_int(delta)) return false;
      ts[i] = static_cast<std::int64_t>(static_cast<std::uint64_t>(ts[i - 1]) + static_cast<std::uint64_t>(delta) * unit);
    }
  }
  for (int col = 0; col < 5; ++col) {
    double* x = cols.data() + static_cast<std::size_t>(col) * count;
    std::uint32_t n = 0;
    if (!c.read_array(n) || n != count + 1) return false;
    if (c.next_is_nil()) {
      c.read_nil();
      for (std::uint32_t i = 0; i < count; ++i)
        if (!c.read_double(x[i])) return false;
      continue;
    }
    std::uint64_t d = 0;
    if (!c.read_uint(d) || d > static_cast<std::uint64_t>(kMaxBarRunDecimals)) return false;
    const double p = kPow10[d];
    std::uint64_t k = 0;  // (wrapping: a damaged record must not overflow)
    for (std::uint32_t i = 0; i < count; ++i) {
      std::int64_t delta = 0;
      if (!c.read_int(delta)) return false;
      k += static_cast<std::uint64_t>(delta);
      x[i] = static_cast<double>(static_cast<std::int64_t>(k)) / p;
    }
  }
  return c.ok() && c.at_end();
}

}  // namespace

std::size_t expand_bar_runs(std::string_view raw, std::string& out, std::uint32_t max_events,
                            std::string_view* runs) {
  thread_local std::vector<std::int64_t> ts;
  thread_local std::vector<double> cols;
  std::size_t bad = 0;
  std::size_t used = 0;
  std::uint64_t events = 0;  // records and bars so far (bounded by max_events)
  // Room for a block of bars (a bar is ≈ 15 bytes here, 61 expanded); more
  // is made as needed. Not the whole capacity: resize() zero-fills what it adds.
  out.resize(raw.size() * 4 + 1024);
  const char* p = raw.data();
  const char* end = p + raw.size();
  auto room = [&out, &used](std::size_t n) {
    if (used + n > out.size()) out.resize(std::max(used + n, out.size() * 2));
  };
  while (p < end) {
    std::uint32_t len = 0;
    std::size_t k = get_varint32(p, end, len);
    const char* src = p;  // the record, with its length (a run stored apart: there)
    const char* next = p + k + len;
    if (runs != nullptr && k == 1 && len == 0) {
      // A run's place (format 5): the next run stored apart.
      next = p + 1;
      const char* rp = runs->data();
      const char* rend = rp + runs->size();
      std::uint32_t rlen = 0;
      const std::size_t rk = get_varint32(rp, rend, rlen);
      if (rk == 0 || rlen == 0 || static_cast<std::size_t>(rend - rp - static_cast<std::ptrdiff_t>(rk)) < rlen) {
        ++bad;  // no run left for it
        runs->remove_prefix(runs->size());
        p = next;
        continue;
      }
      runs->remove_prefix(rk + rlen);
      src = rp;
      k = rk;
      len = rlen;
    } else if (k == 0 || len == 0 || static_cast<std::size_t>(end - p - static_cast<std::ptrdiff_t>(k)) < len) {
      // Broken framing: the rest as it is (the record splitter reports it).
      room(static_cast<std::size_t>(end - p));
      std::memcpy(out.data() + used, p, static_cast<std::size_t>(end - p));
      used += static_cast<std::size_t>(end - p);
      break;
    }
    const std::string_view rec(src + k, len);
    std::uint64_t first = 0;
    std::uint32_t runner = 0, count = 0;
    // A run standing for more events than the block says it holds is not
    // expanded (a damaged or crafted block would otherwise expand without a
    // bound): it is kept as it is and reads as an unknown event.
    if (is_bar_run(rec) && decode_bar_run(rec, first, runner, count, ts, cols, runs != nullptr) && events + count <= max_events) {
      events += count;
      room(std::size_t{count} * (1 + kMaxCompactMarketData));
      model::Bar bar;
      for (std::uint32_t i = 0; i < count; ++i) {
        bar.ts_ns = ts[i];
        bar.open = cols[i];
        bar.high = cols[count + i];
        bar.low = cols[2 * std::size_t{count} + i];
        bar.close = cols[3 * std::size_t{count} + i];
        bar.volume = cols[4 * std::size_t{count} + i];
        char* at = out.data() + used;
        const std::size_t n = encode_market_data_compact(first + i, ts[i], runner, bar, at + 1);
        at[0] = static_cast<char>(n);  // < 128: a one-byte length
        used += 1 + n;
      }
    } else {
      if (is_bar_run(rec)) ++bad;
      ++events;
      room(k + len);
      std::memcpy(out.data() + used, src, k + len);
      used += k + len;
    }
    p = next;
  }
  out.resize(used);
  return bad;
}

}  // namespace te::journal
