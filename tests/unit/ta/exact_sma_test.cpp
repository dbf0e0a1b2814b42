// SMA must equal fsum(window) / period bit for bit (backtrader's SMA, our
// fill-parity reference), on long series where a plain running sum drifts.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/ta/exact_sum.hpp"
#include "engine/ta/moving_average.hpp"
#include "engine/ta/window.hpp"

using namespace te::ta;

namespace {

// Correctly rounded sum of doubles: Shewchuk's partials with CPython's
// math.fsum final rounding (half-way cases resolved by the next partial).
double fsum(const double* x, std::size_t n) {
  std::vector<double> p;
  for (std::size_t k = 0; k < n; ++k) {
    double v = x[k];
    std::size_t i = 0;
    for (double y : p) {
      if (std::fabs(v) < std::fabs(y)) std::swap(v, y);
      const double hi = v + y;
      const double lo = y - (hi - v);
      if (lo != 0.0) p[i++] = lo;
      v = hi;
    }
    p.resize(i);
    p.push_back(v);
  }
  std::size_t m = p.size();
  double hi = 0.0;
  if (m > 0) {
    hi = p[--m];
    double lo = 0.0;
    while (m > 0) {
      const double xx = hi;
      const double y = p[--m];
      hi = xx + y;
      const double yr = hi - xx;
      lo = y - yr;
      if (lo != 0.0) break;
    }
    if (m > 0 && ((lo < 0.0 && p[m - 1] < 0.0) || (lo > 0.0 && p[m - 1] > 0.0))) {
      const double y = lo * 2.0;
      const double xx = hi + y;
      const double yr = xx - hi;
      if (y == yr) hi = xx;
    }
  }
  return hi;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::vector<double> price_series(std::size_t n, std::uint64_t seed, double start, double decimals_scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> ret(0.0, 0.02);
  std::vector<double> x;
  double p = start;
  for (std::size_t i = 0; i < n; ++i) {
    p *= std::exp(ret(rng));
    if (p < 1e-3 * start) p = start;
    x.push_back(std::round(p * decimals_scale) / decimals_scale);
  }
  return x;
}

}  // namespace

TEST_CASE("fsum reference is exact on classic cases", "[unit][ta]") {
  const double a[] = {1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50};
  CHECK(fsum(a, 7) == 1e-100);
  const double b[] = {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1};
  CHECK(fsum(b, 10) == 1.0);
}

TEST_CASE("sma equals fsum(window)/period bit for bit on long random series", "[unit][ta]") {
  struct Scenario {
    std::size_t n;
    std::uint64_t seed;
    double start, scale;
  };
  // Cent prices near 100, 8-decimal crypto prices near 30000, sub-cent prices.
  const Scenario scenarios[] = {{300000, 7, 100.0, 100.0}, {200000, 8, 30000.0, 1e8}, {200000, 9, 0.05, 1e6}};
  std::size_t naive_mismatches = 0;
  for (const Scenario& sc : scenarios) {
    const std::vector<double> x = price_series(sc.n, sc.seed, sc.start, sc.scale);
    for (int period : {2, 10, 30, 200}) {
      INFO("seed " << sc.seed << " period " << period);
      Sma sma(period);
      double naive = 0.0;
      std::size_t bad = 0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        sma.update(x[i]);
        naive += x[i];
        if (i >= static_cast<std::size_t>(period)) naive -= x[i - static_cast<std::size_t>(period)];
        if (i + 1 < static_cast<std::size_t>(period)) {
          REQUIRE(std::isnan(sma.value()));
          continue;
        }
        // The expensive reference is checked on a stride plus the last 2000 bars.
        if (i % 7 != 0 && i + 2000 < x.size()) continue;
        const double want = fsum(&x[i + 1 - static_cast<std::size_t>(period)], static_cast<std::size_t>(period)) / period;
        if (!same_bits(sma.value(), want)) ++bad;
        if (!same_bits(naive / period, want)) ++naive_mismatches;
      }
      CHECK(bad == 0);
    }
  }
  // The test has teeth: a plain running sum does drift on these series.
  CHECK(naive_mismatches > 0);
}

TEST_CASE("exact sum survives catastrophic cancellation and long runs", "[unit][ta]") {
  ExactSum s;
  s.add(1e16);
  s.add(1.0);
  s.add(-1e16);
  CHECK(s.value() == 1.0);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-1e6, 1e6);
  std::vector<double> xs;
  ExactSum t;
  for (int i = 0; i < 100000; ++i) {
    const double v = u(rng) * (i % 3 == 0 ? 1e-9 : 1.0);
    xs.push_back(v);
    t.add(v);
  }
  CHECK(same_bits(t.value(), fsum(xs.data(), xs.size())));
  double p, e;
  two_prod(0.1, 0.3, p, e);
  CHECK(p == 0.1 * 0.3);
  CHECK(e != 0.0);
}

TEST_CASE("rolling max/min deques match a naive scan", "[unit][ta]") {
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> v(0, 20);  // many ties
  for (std::size_t n : {1u, 2u, 3u, 7u, 64u}) {
    RollingMax mx(n);
    RollingMin mn(n);
    std::vector<double> x;
    for (int i = 0; i < 5000; ++i) {
      x.push_back(v(rng));
      mx.push(x.back());
      mn.push(x.back());
      const std::size_t lo = x.size() > n ? x.size() - n : 0;
      double want_max = x[lo], want_min = x[lo];
      for (std::size_t j = lo; j < x.size(); ++j) want_max = std::max(want_max, x[j]), want_min = std::min(want_min, x[j]);
      REQUIRE(mx.value() == want_max);
      REQUIRE(mn.value() == want_min);
    }
  }
}
