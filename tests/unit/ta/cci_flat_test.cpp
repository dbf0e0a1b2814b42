// Cci's flat-window rule (engine/ta/oscillators.hpp) is decided by the length
// of the run of equal typical prices instead of comparing every window value
// with the first: this checks the two agree bit for bit, on series built to
// hit the rule's edges (long flat runs, runs one short of the period, runs
// broken by NaN, 0 and -0, period 1) and on plain random walks.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "engine/ta/oscillators.hpp"
#include "engine/ta/window.hpp"

namespace {

// The kernel as it was before the change (the comparison loop), kept here as
// the reference.
class CciByComparison {
 public:
  explicit CciByComparison(int period)
      : window_(static_cast<std::size_t>(period)), n_(static_cast<double>(period)), period_(period) {}
  double update(const te::model::Bar& b) {
    const double tp = (b.high + b.low + b.close) / 3.0;
    window_.push(tp);
    if (seen_ < period_) ++seen_;
    if (seen_ < period_) return std::numeric_limits<double>::quiet_NaN();
    const std::size_t n = window_.size();
    const double first = window_.slot(0);
    double avg = 0.0;
    bool flat = true;
    for (std::size_t j = 0; j < n; ++j) {
      avg += window_.slot(j);
      flat = flat && window_.slot(j) == first;
    }
    if (flat) return 0.0;
    avg /= n_;
    double dev = 0.0;
    for (std::size_t j = 0; j < n; ++j) dev += std::fabs(window_.slot(j) - avg);
    const double d = tp - avg;
    return (d != 0.0 && dev != 0.0) ? d / (0.015 * (dev / n_)) : 0.0;
  }

 private:
  te::ta::Window window_;
  double n_;
  int period_;
  int seen_ = 0;
};

bool same_bits(double a, double b) {
  std::uint64_t x, y;
  std::memcpy(&x, &a, 8);
  std::memcpy(&y, &b, 8);
  return x == y || (std::isnan(a) && std::isnan(b));
}

}  // namespace

TEST_CASE("Cci's run-length flat rule equals the comparison of every window value", "[ta][cci]") {
  std::mt19937_64 rng(20261206);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int period : {1, 2, 3, 5, 14, 20}) {
    for (int series = 0; series < 40; ++series) {
      te::ta::Cci fast(period);
      CciByComparison slow(period);
      double price = 100.0;
      int repeat = 0;
      std::size_t mismatches = 0, flat_outputs = 0;
      for (int i = 0; i < 3000; ++i) {
        te::model::Bar b;
        const std::uint64_t pick = rng() % 100;
        if (repeat > 0) {
          --repeat;  // the same bar again
        } else if (pick < 8) {
          // a flat run one short of the period, exactly it, or one longer
          repeat = period - 2 + static_cast<int>(rng() % 3);
        } else if (pick < 35) {
          // repeat the bar once
        } else if (pick < 37) {
          price = nan;
        } else if (pick < 39) {
          price = (rng() & 1) ? 0.0 : -0.0;
        } else if (pick < 41) {
          price = 100.0;  // back to a level seen before
        } else {
          price = (std::isnan(price) ? 100.0 : price) + static_cast<double>(static_cast<std::int64_t>(rng() % 7) - 3) * 0.25;
        }
        b.high = b.low = b.close = price;
        const double want = slow.update(b);
        fast.update(b);
        const double got = fast.value();
        if (!same_bits(want, got)) ++mismatches;
        if (want == 0.0) ++flat_outputs;
      }
      INFO("period " << period << " series " << series);
      CHECK(mismatches == 0);
      CHECK(flat_outputs > 0);  // flat windows were reached
    }
  }
  // reset() starts the run again.
  te::ta::Cci a(3);
  te::model::Bar b;
  b.high = b.low = b.close = 5;
  for (int i = 0; i < 5; ++i) a.update(b);
  CHECK(a.value() == 0.0);
  a.reset();
  a.update(b);
  CHECK(std::isnan(a.value()));
}
