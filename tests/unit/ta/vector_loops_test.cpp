// The loops of engine/ta/vector_loops.cpp give the same bits whichever build
// runs: the one picked for this machine (AVX2 where it has it) against the
// baseline x86-64 one, on values mixing NaN, +0/-0, infinities, magnitudes
// from 1e-9 to 1e9 and flat stretches: CCI's lane sums over windows of 1 to
// 300 slots, Bollinger Bands from the exact sums of such windows, ADX's, RSI's and MACD's steps
// and Wilder's true ranges against the value-by-value steps. On a machine
// without AVX2 both are the baseline: the cases then check the baseline
// against the value-by-value steps. Where two NaNs meet, which one a result
// keeps (its sign) is held equal between the builds only where a case says so
// (ADX): strategies read a NaN indicator value as nil.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "engine/ta/exact_sum.hpp"
#include "engine/ta/oscillators.hpp"
#include "engine/ta/talib_rules.hpp"
#include "tests/unit/ta/block_fixture.hpp"
#include "engine/ta/vector_loops.hpp"
#include "engine/ta/volatility.hpp"

using te::test::bits;
using te::test::edge_value;

TEST_CASE("CCI lane sums: the dispatched loop equals the baseline one bit for bit", "[ta][cci]") {
  INFO("dispatched loop: " << te::ta::vector_loops_isa());
  std::mt19937_64 rng(20261207);
  constexpr std::size_t kL = te::ta::kCciLanes;
  std::size_t mismatches = 0;
  for (std::size_t slots : {1, 2, 3, 7, 8, 9, 14, 20, 21, 64, 65, 255, 256, 300})
    for (int round = 0; round < 40; ++round) {
      std::vector<double> v(slots * kL);
      double x = 100.0;
      const bool plain = round % 4 == 0;  // no NaN/inf: sums that are all finite
      for (double& slot : v) {
        x = plain ? 100.0 + static_cast<double>(rng() % 1000) * 0.01 : edge_value(rng, x);
        slot = x;
      }
      double avg[kL], dev[kL], avg0[kL], dev0[kL];
      const double n = static_cast<double>(slots);
      te::ta::cci_lane_sums(v.data(), slots, n, avg, dev);
      te::ta::cci_lane_sums_baseline(v.data(), slots, n, avg0, dev0);
      for (std::size_t k = 0; k < kL; ++k) {
        double want_avg = 0.0;  // lane k's sum in storage order, written out here as well
        for (std::size_t j = 0; j < slots; ++j) want_avg += v[j * kL + k];
        want_avg /= n;
        if (bits(avg[k]) != bits(avg0[k]) || bits(dev[k]) != bits(dev0[k])) ++mismatches;
        if (bits(avg0[k]) != bits(want_avg) && !(want_avg != want_avg && avg0[k] != avg0[k])) ++mismatches;
      }
    }
  CHECK(mismatches == 0);
}

TEST_CASE("Bollinger Bands from exact sums: the dispatched loop equals the baseline one and write()", "[ta][ahead]") {
  INFO("dispatched loop: " << te::ta::vector_loops_isa());
  std::mt19937_64 rng(20261208);
  std::size_t mismatches = 0, valid = 0;
  for (int period : {1, 2, 3, 20, 64, 300})
    for (int round = 0; round < 20; ++round) {
      // Sums of real windows of an edge series: the block pass (the
      // dispatched build) and the baseline build from the same chunk sums,
      // both against update() and write() bar by bar.
      te::ta::Bbands by_bar(period, 2.0, 1.5), by_chunk(period, 2.0, 1.5);
      constexpr std::size_t kBars = 150;
      std::vector<double> in(kBars);
      double x = 100.0;
      for (double& v : in) v = x = round % 3 == 0 ? 100.0 + static_cast<double>(rng() % 1000) * 0.01 : edge_value(rng, x);
      std::vector<double> got(3 * kBars), base(3 * kBars);
      by_chunk.update_values(in.data(), kBars, got.data(), kBars);
      te::ta::RollingMoments m(period);
      std::vector<double> hi1(kBars), lo1(kBars), hi2(kBars), lo2(kBars);
      for (std::size_t done = 0; done < kBars;) {
        const std::size_t c = std::min(te::ta::RollingMoments::kChunk, kBars - done);
        te::ta::RollingMoments::ChunkSums sums;
        m.push_chunk(in.data() + done, c, sums);
        std::copy_n(sums.hi1, c, hi1.data() + done);
        std::copy_n(sums.lo1, c, lo1.data() + done);
        std::copy_n(sums.hi2, c, hi2.data() + done);
        std::copy_n(sums.lo2, c, lo2.data() + done);
        done += c;
      }
      te::ta::bbands_from_sums_baseline(hi1.data(), lo1.data(), hi2.data(), lo2.data(), kBars,
                                        static_cast<double>(period), 2.0, 1.5, base.data(), kBars);
      for (std::size_t i = 0; i < kBars; ++i) {
        double want[3];
        by_bar.update(in[i]);
        by_bar.write(want);
        for (std::size_t o = 0; o < 3; ++o) {
          const double g = got[o * kBars + i], b = base[o * kBars + i];
          if (want[o] == want[o]) {
            ++valid;
            if (bits(g) != bits(want[o]) || bits(b) != bits(want[o])) ++mismatches;
          } else if (g == g) {
            ++mismatches;  // NaN (warming up, or from the data) in both
          }
        }
      }
    }
  CHECK(mismatches == 0);
  CHECK(valid > 5000);
}

TEST_CASE("exact-sum block loops: the dispatched builds equal the baseline ones and the scalar steps", "[ta][ahead]") {
  INFO("dispatched loop: " << te::ta::vector_loops_isa());
  std::mt19937_64 rng(20261209);
  std::size_t mismatches = 0;
  for (std::size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 31, 64}) {
    for (int round = 0; round < 50; ++round) {
      std::vector<double> a(n), b(n), c(n), e(n);
      double x = 100.0;
      for (std::size_t i = 0; i < n; ++i) {
        a[i] = x = edge_value(rng, x);
        b[i] = edge_value(rng, a[i]);
        c[i] = edge_value(rng, b[i]) * 1e-17;
        e[i] = edge_value(rng, a[i]) * 1e-17;
      }
      std::vector<double> r1(n), r2(n), s1(n), s2(n);
      auto check = [&](const char* what) {
        for (std::size_t i = 0; i < n; ++i)
          if (bits(r1[i]) != bits(s1[i]) || bits(r2[i]) != bits(s2[i])) {
            ++mismatches;
            UNSCOPED_INFO(what << " n " << n << " i " << i);
          }
      };
      te::ta::vector_split_diffs(a.data(), b.data(), n, r1.data(), r2.data());
      te::ta::vector_split_diffs_baseline(a.data(), b.data(), n, s1.data(), s2.data());
      check("split_diffs/baseline");
      for (std::size_t i = 0; i < n; ++i) te::ta::two_sum(a[i], -b[i], s1[i], s2[i]);  // ExactSum::add_diff's split
      check("split_diffs/two_sum");
      te::ta::vector_split_pair_diffs(a.data(), c.data(), b.data(), e.data(), n, r1.data(), r2.data());
      te::ta::vector_split_pair_diffs_baseline(a.data(), c.data(), b.data(), e.data(), n, s1.data(), s2.data());
      check("split_pair_diffs/baseline");
      te::ta::vector_squares(a.data(), n, r1.data(), r2.data());
      te::ta::vector_squares_baseline(a.data(), n, s1.data(), s2.data());
      check("squares/baseline");
      for (std::size_t i = 0; i < n; ++i) te::ta::two_prod(a[i], a[i], s1[i], s2[i]);
      check("squares/two_prod");
      te::ta::vector_sum_values(a.data(), c.data(), n, 3.0, r1.data());
      te::ta::vector_sum_values_baseline(a.data(), c.data(), n, 3.0, s1.data());
      r2 = s2;
      check("sum_values/baseline");
    }
  }
  CHECK(mismatches == 0);
}

// Stoch's block pass (Stoch::chunk) takes %K and its NaN test from these two
// loops: the same bits as percent_k() and the same answer as the value-by-value
// test, for ranges that are zero (+0/-0 highs and lows), NaN or infinite, at
// every position of the SSE2 pairs and in the odd last value.
TEST_CASE("Stoch's loops: vector_percent_k equals percent_k, vector_any_nan finds every NaN", "[ta][stoch]") {
  INFO("dispatched loop: " << te::ta::vector_loops_isa());
  std::mt19937_64 rng(20261208);
  std::size_t mismatches = 0;
  for (std::size_t n : {0, 1, 2, 3, 7, 8, 63, 64, 77})
    for (int round = 0; round < 60; ++round) {
      std::vector<double> x(n), hh(n), ll(n), out(n, -1.0);
      double v = 100.0;
      for (std::size_t i = 0; i < n; ++i) {
        v = edge_value(rng, v);
        x[i] = v;
        ll[i] = rng() % 5 == 0 ? v : edge_value(rng, v);
        hh[i] = rng() % 4 == 0 ? ll[i] : rng() % 6 == 0 ? -ll[i] : edge_value(rng, v);  // zero ranges, +0/-0
      }
      std::vector<double> base(n, -1.0);
      te::ta::vector_percent_k(x.data(), hh.data(), ll.data(), n, out.data());
      te::ta::vector_percent_k_baseline(x.data(), hh.data(), ll.data(), n, base.data());
      for (std::size_t i = 0; i < n; ++i) {
        if (bits(out[i]) != bits(te::ta::percent_k(x[i], hh[i], ll[i]))) ++mismatches;
        if (bits(out[i]) != bits(base[i])) ++mismatches;  // the dispatched build against the baseline one
      }
      bool nan = false;
      for (std::size_t i = 0; i < n; ++i) nan = nan || x[i] != x[i] || ll[i] != ll[i];
      CHECK(te::ta::vector_any_nan(x.data(), ll.data(), n) == nan);
      CHECK(te::ta::vector_any_nan_baseline(x.data(), ll.data(), n) == nan);
    }
  CHECK(mismatches == 0);
  for (std::size_t n : {1, 2, 3, 4, 5, 8, 77})  // one NaN at each position of either array
    for (std::size_t at = 0; at < n; ++at) {
      std::vector<double> a(n, 1.0), b(n, -0.0);
      (at % 2 == 0 ? a : b)[at] = std::numeric_limits<double>::quiet_NaN();
      CHECK(te::ta::vector_any_nan(a.data(), b.data(), n));
      CHECK(te::ta::vector_any_nan_baseline(a.data(), b.data(), n));
      (at % 2 == 0 ? a : b)[at] = 0.0;
      CHECK_FALSE(te::ta::vector_any_nan(a.data(), b.data(), n));
      CHECK_FALSE(te::ta::vector_any_nan_baseline(a.data(), b.data(), n));
    }
}

// Stoch's span folds: the dispatched build against the baseline one and
// against each window folded value by value, oldest first (RollingMax's
// value without NaN), for windows of 1 to 64 values over chunks of 1 to 64
// bars, with ties of +0/-0 and repeated values (the fold keeps the newest).
TEST_CASE("Stoch's span folds: the dispatched loop equals the baseline one and the value-by-value fold", "[ta][stoch]") {
  INFO("dispatched loop: " << te::ta::vector_loops_isa());
  std::mt19937_64 rng(20261210);
  std::size_t mismatches = 0;
  for (std::size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 14, 16, 17, 31, 33, 64})
    for (std::size_t m : {1, 2, 3, 5, 8, 13, 63, 64})
      for (int round = 0; round < 6; ++round) {
        const std::size_t len = n - 1 + m;
        std::vector<double> hs(len), ls(len);
        for (std::size_t i = 0; i < len; ++i) {
          const int r = static_cast<int>(rng() % 7);
          hs[i] = r == 0 ? 0.0 : r == 1 ? -0.0 : static_cast<double>(rng() % 9) - 4.0;
          ls[i] = r == 2 ? -0.0 : r == 3 ? 0.0 : static_cast<double>(rng() % 9) - 4.0;
        }
        std::vector<double> h1 = hs, l1 = ls, h2 = hs, l2 = ls, hh1(m), ll1(m), hh2(m), ll2(m);
        te::ta::stoch_span_folds(h1.data(), l1.data(), len, n, m, hh1.data(), ll1.data());
        te::ta::stoch_span_folds_baseline(h2.data(), l2.data(), len, n, m, hh2.data(), ll2.data());
        for (std::size_t i = 0; i < m; ++i) {
          double h = hs[i], l = ls[i];
          for (std::size_t j = 1; j < n; ++j) {
            h = h > hs[i + j] ? h : hs[i + j];
            l = l < ls[i + j] ? l : ls[i + j];
          }
          if (bits(hh1[i]) != bits(h) || bits(ll1[i]) != bits(l)) ++mismatches;
          if (bits(hh2[i]) != bits(h) || bits(ll2[i]) != bits(l)) ++mismatches;
        }
      }
  CHECK(mismatches == 0);
}

namespace {
// Adx::update()'s steps once smoothed and seeded, value by value (the
// reference for adx_steps: its SSE2 pairs and chunking must not change a bit).
void adx_reference(te::ta::AdxRun& s, const double* hi, const double* lo, const double* cl, std::size_t n, double dn,
                   double nm1, double an, double* out) {
  for (std::size_t i = 0; i < n; ++i) {
    const double diff_p = hi[i] - s.ph;
    const double diff_m = s.pl - lo[i];
    s.ph = hi[i];
    s.pl = lo[i];
    s.mdm -= s.mdm / dn;
    s.pdm -= s.pdm / dn;
    if (diff_m > 0 && diff_p < diff_m)
      s.mdm += diff_m;
    else if (diff_p > 0 && diff_p > diff_m)
      s.pdm += diff_p;
    s.trs = s.trs - s.trs / dn + te::ta::true_range(s.ph, s.pl, s.pc);
    s.pc = cl[i];
    if (!te::ta::ta_is_zero(s.trs)) {
      const double minus = 100.0 * (s.mdm / s.trs);
      const double plus = 100.0 * (s.pdm / s.trs);
      const double sum = minus + plus;
      if (!te::ta::ta_is_zero(sum)) s.adx = (s.adx * nm1 + 100.0 * (std::fabs(minus - plus) / sum)) / an;
    }
    out[i] = s.adx;
  }
}
bool same_run(const te::ta::AdxRun& a, const te::ta::AdxRun& b, bool exact) {
  const double x[] = {a.ph, a.pl, a.pc, a.mdm, a.pdm, a.trs, a.adx};
  const double y[] = {b.ph, b.pl, b.pc, b.mdm, b.pdm, b.trs, b.adx};
  for (std::size_t i = 0; i < std::size(x); ++i)
    if (exact ? bits(x[i]) != bits(y[i]) : !te::test::same_bits(x[i], y[i])) return false;
  return true;
}
}  // namespace

TEST_CASE("ADX steps: the dispatched loop equals the baseline one and the value-by-value steps", "[ta][ahead]") {
  INFO("dispatched loop: " << te::ta::vector_loops_isa());
  std::mt19937_64 rng(20261211);
  std::size_t mismatches = 0, checked = 0;
  for (std::size_t n : {1, 2, 3, 4, 63, 64, 65, 66, 127, 128, 129, 300})
    for (int round = 0; round < 30; ++round) {
      // Plain rounds: finite prices on a tick grid with flat stretches (zero
      // true ranges and DI sums, ties between the movements); the others mix
      // NaN, infinities, +0/-0 and far magnitudes.
      const bool plain = round % 3 != 0;
      std::vector<double> hi(n), lo(n), cl(n);
      double x = 100.0;
      for (std::size_t i = 0; i < n; ++i) {
        if (plain) {
          if (rng() % 4 != 0) x += static_cast<double>(static_cast<std::int64_t>(rng() % 9) - 4) * 0.25;
          const double up = static_cast<double>(rng() % 3) * 0.25, down = static_cast<double>(rng() % 3) * 0.25;
          hi[i] = x + up;
          lo[i] = x - down;
          cl[i] = x;
        } else {
          hi[i] = edge_value(rng, hi[i > 0 ? i - 1 : 0]);
          lo[i] = edge_value(rng, lo[i > 0 ? i - 1 : 0]);
          cl[i] = edge_value(rng, cl[i > 0 ? i - 1 : 0]);
        }
      }
      const double period = static_cast<double>(2 + rng() % 30);
      te::ta::AdxRun start{100.0, 99.5, 99.75, 0.0, 0.0, 0.0, 25.0};
      if (rng() % 2) {
        start.mdm = static_cast<double>(rng() % 100) * 0.125;
        start.pdm = static_cast<double>(rng() % 100) * 0.125;
        start.trs = static_cast<double>(rng() % 100) * 0.125;
      }
      te::ta::AdxRun a = start, b = start, r = start;
      std::vector<double> oa(n), ob(n), orf(n);
      te::ta::adx_steps(a, hi.data(), lo.data(), cl.data(), n, period, period - 1, period, oa.data());
      te::ta::adx_steps_baseline(b, hi.data(), lo.data(), cl.data(), n, period, period - 1, period, ob.data());
      adx_reference(r, hi.data(), lo.data(), cl.data(), n, period, period - 1, period, orf.data());
      for (std::size_t i = 0; i < n; ++i) {
        if (bits(oa[i]) != bits(ob[i]) || !te::test::same_bits(oa[i], orf[i])) ++mismatches;
        if (plain && bits(oa[i]) != bits(orf[i])) ++mismatches;
        ++checked;
      }
      if (!same_run(a, b, true) || !same_run(a, r, !plain ? false : true)) ++mismatches;
    }
  CHECK(checked > 10000);
  CHECK(mismatches == 0);
}

TEST_CASE("ADX steps: the builds keep the same NaN where two NaNs meet", "[ta][ahead]") {
  // Prices near the double's range overflow the sums to infinities and their
  // differences to NaNs of either sign; where the running ADX and the new term
  // are both NaN, an addition keeps its first operand's, so the builds must
  // add in the same order (a VEX build written in C had them swapped).
  INFO("dispatched loop: " << te::ta::vector_loops_isa());
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const double values[] = {nan, -nan, inf, -inf, 1e308, -1e308, 100.0, 101.5, 0.0, -0.0};
  std::mt19937_64 rng(20261207);
  std::size_t mismatches = 0, nans = 0, negative_nans = 0;
  for (int round = 0; round < 4000; ++round) {
    const std::size_t n = 1 + rng() % 70;
    std::vector<double> hi(n), lo(n), cl(n);
    for (std::size_t i = 0; i < n; ++i) {
      hi[i] = values[rng() % std::size(values)];
      lo[i] = values[rng() % std::size(values)];
      cl[i] = values[rng() % std::size(values)];
    }
    te::ta::AdxRun start{values[rng() % 10], values[rng() % 10], values[rng() % 10], values[rng() % 10],
                         values[rng() % 10], values[rng() % 10], values[rng() % 10]};
    te::ta::AdxRun a = start, b = start;
    std::vector<double> oa(n), ob(n);
    const double period = static_cast<double>(2 + rng() % 14);
    te::ta::adx_steps(a, hi.data(), lo.data(), cl.data(), n, period, period - 1, period, oa.data());
    te::ta::adx_steps_baseline(b, hi.data(), lo.data(), cl.data(), n, period, period - 1, period, ob.data());
    for (std::size_t i = 0; i < n; ++i) {
      if (bits(oa[i]) != bits(ob[i])) ++mismatches;
      if (std::isnan(ob[i])) {
        ++nans;
        if (std::signbit(ob[i])) ++negative_nans;
      }
    }
    if (!same_run(a, b, true)) ++mismatches;
  }
  CHECK(nans > 1000);
  CHECK(negative_nans > 100);  // both signs were there to keep
  CHECK(mismatches == 0);
}

TEST_CASE("true ranges: the dispatched loop equals the baseline one and true_range", "[ta][ahead]") {
  INFO("dispatched loop: " << te::ta::vector_loops_isa());
  std::mt19937_64 rng(20261212);
  std::size_t mismatches = 0, checked = 0;
  for (std::size_t m : {1, 2, 3, 4, 5, 6, 7, 8, 9, 63, 64, 65})
    for (int round = 0; round < 40; ++round) {
      std::vector<double> hi(m), lo(m), cl(m);
      double h = 100.0, l = 99.0, c = 99.5;
      for (std::size_t i = 0; i < m; ++i) {
        // ties between the three candidates (a flat bar, a close at the high)
        // and +0/-0, NaN and infinities among them
        h = hi[i] = edge_value(rng, h);
        l = lo[i] = rng() % 3 == 0 ? h : edge_value(rng, l);
        c = cl[i] = rng() % 3 == 0 ? h : edge_value(rng, c);
      }
      double a[66], b[66];
      std::fill(a, a + 66, -1.0);
      std::fill(b, b + 66, -1.0);
      te::ta::vector_true_ranges(hi.data(), lo.data(), cl.data(), m, a);
      te::ta::vector_true_ranges_baseline(hi.data(), lo.data(), cl.data(), m, b);
      if (bits(a[0]) != bits(-1.0) || bits(b[0]) != bits(-1.0) || bits(a[m]) != bits(-1.0) ||
          bits(b[m]) != bits(-1.0))
        ++mismatches;  // tr[0] is the caller's; nothing past m
      for (std::size_t j = 1; j < m; ++j) {
        const double want = te::ta::true_range(hi[j], lo[j], cl[j - 1]);
        if (bits(a[j]) != bits(b[j]) || !te::test::same_bits(a[j], want)) ++mismatches;
        if (want == want && bits(a[j]) != bits(want)) ++mismatches;
        ++checked;
      }
    }
  CHECK(checked > 5000);
  CHECK(mismatches == 0);
}

TEST_CASE("RSI steps: the dispatched loop equals the baseline one and the value-by-value steps", "[ta][ahead]") {
  INFO("dispatched loop: " << te::ta::vector_loops_isa());
  std::mt19937_64 rng(20261213);
  std::size_t mismatches = 0, checked = 0;
  for (std::size_t n : {1, 2, 3, 4, 5, 6, 63, 64, 65, 66, 127, 128, 129, 300})
    for (int round = 0; round < 30; ++round) {
      // Plain rounds: a tick grid with flat stretches (zero changes, so sums
      // that reach ta_is_zero's range after a flat run from a small start);
      // the others NaN, infinities, +0/-0 and far magnitudes.
      const bool plain = round % 3 != 0;
      std::vector<double> x(n);
      double v = 100.0;
      for (std::size_t i = 0; i < n; ++i) {
        if (plain) {
          if (rng() % 3 != 0) v += static_cast<double>(static_cast<std::int64_t>(rng() % 9) - 4) * 0.25;
        } else {
          v = edge_value(rng, v);
        }
        x[i] = v;
      }
      const double period = static_cast<double>(2 + rng() % 30);
      te::ta::RsiRun start{100.0, 0.0, 0.0};
      if (rng() % 2) {
        start.loss = static_cast<double>(rng() % 100) * 1e-15;  // near ta_is_zero's edge
        start.gain = static_cast<double>(rng() % 100) * (rng() % 2 ? 0.125 : 1e-15);
      }
      te::ta::RsiRun a = start, b = start, r = start;
      std::vector<double> oa(n), ob(n), orf(n);
      te::ta::rsi_steps(a, x.data(), n, period - 1, period, oa.data());
      te::ta::rsi_steps_baseline(b, x.data(), n, period - 1, period, ob.data());
      for (std::size_t i = 0; i < n; ++i) {  // Rsi::update()'s steps past the warm-up
        const double d = x[i] - r.prev;
        r.prev = x[i];
        r.loss *= period - 1;
        r.gain *= period - 1;
        if (d < 0.0)
          r.loss -= d;
        else
          r.gain += d;
        r.loss /= period;
        r.gain /= period;
        const double s = r.gain + r.loss;
        orf[i] = te::ta::ta_is_zero(s) ? 0.0 : 100.0 * (r.gain / s);
      }
      for (std::size_t i = 0; i < n; ++i) {
        if (bits(oa[i]) != bits(ob[i]) || !te::test::same_bits(oa[i], orf[i])) ++mismatches;
        if (plain && bits(oa[i]) != bits(orf[i])) ++mismatches;
        ++checked;
      }
      const double sa[] = {a.prev, a.loss, a.gain}, sb[] = {b.prev, b.loss, b.gain}, sr[] = {r.prev, r.loss, r.gain};
      for (int k = 0; k < 3; ++k)
        if (bits(sa[k]) != bits(sb[k]) || !te::test::same_bits(sa[k], sr[k])) ++mismatches;
    }
  CHECK(checked > 10000);
  CHECK(mismatches == 0);
}

TEST_CASE("MACD steps: the dispatched loop equals the baseline one and the value-by-value steps", "[ta][ahead]") {
  INFO("dispatched loop: " << te::ta::vector_loops_isa());
  std::mt19937_64 rng(20261214);
  std::size_t mismatches = 0, checked = 0;
  constexpr std::size_t kStride = 301;
  for (std::size_t n : {1, 2, 3, 63, 64, 65, 300})
    for (int round = 0; round < 30; ++round) {
      const bool plain = round % 3 != 0;  // a tick grid; the others NaN, ±inf, ±0, far magnitudes
      std::vector<double> x(n);
      double v = 100.0;
      for (std::size_t i = 0; i < n; ++i) {
        v = plain ? v + static_cast<double>(static_cast<std::int64_t>(rng() % 9) - 4) * 0.25 : edge_value(rng, v);
        x[i] = v;
      }
      const double ks = 2.0 / (27.0 + static_cast<double>(rng() % 5)), kf = 2.0 / 13.0, kg = 2.0 / 10.0;
      const te::ta::MacdRun start{100.25, 99.5, -0.125, 0.75};
      te::ta::MacdRun a = start, b = start, r = start;
      std::vector<double> oa(3 * kStride), ob(3 * kStride);
      te::ta::macd_steps(a, x.data(), n, ks, kf, kg, oa.data(), kStride);
      te::ta::macd_steps_baseline(b, x.data(), n, ks, kf, kg, ob.data(), kStride);
      for (std::size_t i = 0; i < n; ++i) {  // Macd::update() and write() past the seeds
        r.slow = ((x[i] - r.slow) * ks) + r.slow;
        r.fast = ((x[i] - r.fast) * kf) + r.fast;
        r.macd = r.fast - r.slow;
        r.sig = ((r.macd - r.sig) * kg) + r.sig;
        const double want[] = {r.macd, r.sig, r.macd - r.sig};
        for (std::size_t o = 0; o < 3; ++o) {
          const double got = oa[o * kStride + i];
          if (bits(got) != bits(ob[o * kStride + i]) || !te::test::same_bits(got, want[o])) ++mismatches;
          if (plain && bits(got) != bits(want[o])) ++mismatches;
          ++checked;
        }
      }
      const double sa[] = {a.slow, a.fast, a.sig, a.macd}, sb[] = {b.slow, b.fast, b.sig, b.macd},
                   sr[] = {r.slow, r.fast, r.sig, r.macd};
      for (int k = 0; k < 4; ++k)
        if (bits(sa[k]) != bits(sb[k]) || !te::test::same_bits(sa[k], sr[k])) ++mismatches;
    }
  CHECK(checked > 10000);
  CHECK(mismatches == 0);
}

TEST_CASE("ROC's rates: the dispatched loop equals the baseline one and the scalar expression", "[ta][ahead]") {
  INFO("dispatched loop: " << te::ta::vector_loops_isa());
  std::mt19937_64 rng(20261216);
  std::size_t mismatches = 0, checked = 0;
  for (std::size_t n : {0, 1, 2, 3, 4, 5, 7, 8, 63, 64})
    for (int round = 0; round < 60; ++round) {
      std::vector<double> x(n), old(n), a(n + 1, -1.0), b(n + 1, -1.0);
      double v = 100.0;
      for (std::size_t i = 0; i < n; ++i) {
        x[i] = v = edge_value(rng, v);
        old[i] = rng() % 5 == 0 ? (rng() & 1 ? 0.0 : -0.0) : edge_value(rng, v);  // zero bases, NaN, ±inf
      }
      te::ta::vector_rates(x.data(), old.data(), n, a.data());
      te::ta::vector_rates_baseline(x.data(), old.data(), n, b.data());
      for (std::size_t i = 0; i < n; ++i, ++checked) {
        const double want = old[i] != 0.0 ? ((x[i] / old[i]) - 1.0) * 100.0 : 0.0;
        if (bits(a[i]) != bits(b[i]) || !te::test::same_bits(a[i], want)) ++mismatches;
      }
      if (bits(a[n]) != bits(-1.0) || bits(b[n]) != bits(-1.0)) ++mismatches;  // nothing written past n
    }
  CHECK(checked > 9000);
  CHECK(mismatches == 0);
}
