// Cci's flat-window rule (engine/ta/oscillators.hpp) is decided by the length
// of the run of equal typical prices instead of comparing every window value
// with the first: this checks the two agree bit for bit, on series built to
// hit the rule's edges (long flat runs, runs one short of the period, runs
// broken by NaN, 0 and -0, period 1) and on plain random walks. The same
// series check the block pass (Cci::update_block, eight windows summed side by
// side) against update() bar by bar.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "engine/model/bar_series.hpp"
#include "engine/ta/oscillators.hpp"
#include "engine/ta/window.hpp"
#include "tests/unit/ta/block_fixture.hpp"

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

// Typical prices built to hit the flat rule's edges: flat runs one short of the
// period, exactly it and one longer, single repeats, NaN, 0 and -0, returns to
// an earlier level, and a random walk in quarter steps.
std::vector<double> edge_series(std::mt19937_64& rng, int period, int count) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> out;
  double price = 100.0;
  int repeat = 0;
  for (int i = 0; i < count; ++i) {
    const std::uint64_t pick = rng() % 100;
    if (repeat > 0) {
      --repeat;  // the same bar again
    } else if (pick < 8) {
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
    out.push_back(price);
  }
  return out;
}

}  // namespace

TEST_CASE("Cci's run-length flat rule equals the comparison of every window value", "[ta][cci]") {
  std::mt19937_64 rng(20261206);
  for (int period : {1, 2, 3, 5, 14, 20}) {
    for (int series = 0; series < 40; ++series) {
      te::ta::Cci fast(period);
      CciByComparison slow(period);
      std::size_t mismatches = 0, flat_outputs = 0;
      for (const double price : edge_series(rng, period, 3000)) {
        te::model::Bar b;
        b.high = b.low = b.close = price;
        const double want = slow.update(b);
        fast.update(b);
        const double got = fast.value();
        if (!te::test::same_bits(want, got)) ++mismatches;
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

TEST_CASE("Cci's block pass gives update()'s values bar by bar", "[ta][cci][ahead]") {
  std::mt19937_64 rng(20261207);
  // 300 is past the block pass's window limit of 256 (it then goes bar by bar).
  for (int period : {1, 2, 3, 5, 7, 8, 9, 14, 20, 64, 300}) {
    for (int series = 0; series < 12; ++series) {
      const std::vector<double> tp = edge_series(rng, period, 4000);
      // Columns with high = low = close = the price (typical price == it), and
      // a second kind with distinct high/low so the division by 3 matters.
      te::test::BarColumns bars;
      for (const double price : tp)
        bars.push(price, series % 2 == 1 ? price + 0.5 : price, series % 2 == 1 ? price - 0.75 : price, price, 0.0);
      const te::model::BarSeries::Columns c = bars.columns();
      te::ta::Cci by_bar(period), by_block(period);
      std::vector<double> out(tp.size());
      std::size_t mismatches = 0, computed = 0;
      std::size_t i = 0;
      while (i < tp.size()) {
        // Blocks of 1 to 70 bars, and now and then a few bars through update()
        // in between (the set switches paths when a feed stops being preloaded).
        const std::size_t len = std::min<std::size_t>(1 + rng() % 70, tp.size() - i);
        const bool per_bar = rng() % 8 == 0;
        if (!per_bar) by_block.update_block(c, i, len, out.data());
        for (std::size_t k = 0; k < len; ++k) {
          by_bar.update(c.at(i + k));
          const double want = by_bar.value();
          if (per_bar) {
            by_block.update(c.at(i + k));
            if (!te::test::same_bits(want, by_block.value())) ++mismatches;
          } else if (!te::test::same_bits(want, out[k])) {
            ++mismatches;
          }
          if (want == want && want != 0.0) ++computed;
        }
        if (!te::test::same_bits(by_bar.value(), by_block.value())) ++mismatches;  // the state after the block
        i += len;
      }
      INFO("period " << period << " series " << series);
      CHECK(mismatches == 0);
      if (period > 1) CHECK(computed > 100);  // non-flat windows were summed
    }
  }
}
