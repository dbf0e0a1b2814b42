// Stoch (engine/ta/oscillators.hpp) has a block pass (update_block) that folds
// every bar's window of highs and lows side by side from a ring it keeps next
// to its deques from its first block pass on, and rebuilds the deques from that
// ring when update() follows a block. This checks both paths against the kernel as it was (RollingMax/
// RollingMin alone) bit for bit, on series built to hit the folds' edges: flat
// runs, NaN highs and lows, 0 and -0, new extremes at the window's edges; fastk
// 1 to 300 (past the block pass's per-bar limit of 64), blocks of 1 to 70 bars
// with stretches of update() between them, and reset().
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

// The kernel before the change, kept as the reference.
class StochByDeque {
 public:
  StochByDeque(int fastk, int slowk, int slowd)
      : hh_(static_cast<std::size_t>(fastk)), ll_(static_cast<std::size_t>(fastk)), slowk_(slowk), slowd_(slowd), fastk_(fastk) {}
  void update(const te::model::Bar& b) {
    hh_.push(b.high);
    ll_.push(b.low);
    if (seen_ < fastk_ && ++seen_ < fastk_) return;
    slowk_.update(te::ta::percent_k(b.close, hh_.value(), ll_.value()));
    if (slowk_.ready()) slowd_.update(slowk_.value());
  }
  void write(double* out) const {
    const bool r = slowd_.ready();
    out[0] = r ? slowk_.value() : te::ta::kNaN;
    out[1] = r ? slowd_.value() : te::ta::kNaN;
  }

 private:
  te::ta::RollingMax hh_;
  te::ta::RollingMin ll_;
  te::ta::Sma slowk_, slowd_;
  int fastk_;
  int seen_ = 0;
};

// Bars built to hit the folds' edges: repeated bars (flat windows, equal
// extremes), runs about as long as the window, NaN in the high, the low or
// both (the first one turns both SMAs NaN for good, as it did before, so only
// some series have them; after it the outputs compare NaN with NaN, and the
// NaN branch of the block fold is checked only up to there: loaders refuse
// non-finite prices, so it is reached only through the engine's API), highs
// and lows of 0 and -0 (equal, but not the same bits), a spike that is the
// extreme for a whole window, and a random walk in quarter steps.
te::test::BarColumns edge_series(std::mt19937_64& rng, int fastk, int count, bool with_nan) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  te::test::BarColumns s;
  double price = 100.0;
  int repeat = 0;
  for (int i = 0; i < count; ++i) {
    const std::uint64_t pick = rng() % 100;
    double high = price + 0.5, low = price - 0.5, close = price;
    if (repeat > 0) {
      --repeat;
      high = s.high.back();
      low = s.low.back();
      close = s.close.back();
    } else if (pick < 6) {
      repeat = fastk - 2 + static_cast<int>(rng() % 12);  // a run of bars with high == low (zero range)
      high = low = price;
    } else if (pick < 7 && with_nan) {
      high = nan;
    } else if (pick < 8 && with_nan) {
      low = nan;
    } else if (pick < 9 && with_nan) {
      high = low = close = nan;
    } else if (pick < 17) {
      const double z = (rng() & 1) ? 0.0 : -0.0;
      high = (rng() & 1) ? z : high;
      low = (rng() & 1) ? -z : (rng() & 1) ? 0.0 : -0.0;
      if (rng() & 1) close = z;
    } else if (pick < 19) {
      high = price + 50.0;  // a spike
    } else if (pick < 21) {
      low = price - 50.0;
    } else if (pick < 45) {
      // the same price again
    } else {
      price += static_cast<double>(static_cast<std::int64_t>(rng() % 7) - 3) * 0.25;
      high = price + static_cast<double>(rng() % 3) * 0.25;
      low = price - static_cast<double>(rng() % 3) * 0.25;
      close = price;
    }
    s.push(close, high, low, close, 0.0);
  }
  return s;
}

}  // namespace

TEST_CASE("Stoch's block pass and the deques rebuilt after it give the deque kernel's values", "[ta][stoch][ahead]") {
  std::mt19937_64 rng(20261206);
  struct Params {
    int fastk, slowk, slowd;
  };
  const Params params[] = {{1, 1, 1}, {2, 1, 3}, {3, 3, 3}, {5, 2, 4}, {14, 3, 3}, {20, 5, 1},
                           {63, 3, 3}, {64, 3, 3}, {65, 2, 2}, {120, 3, 3}, {300, 4, 2}};
  for (const Params& p : params) {
    for (int series = 0; series < 10; ++series) {
      const bool with_nan = series % 3 == 2;
      const te::test::BarColumns s = edge_series(rng, p.fastk, 3000, with_nan);
      const te::model::BarSeries::Columns c = s.columns();
      StochByDeque want(p.fastk, p.slowk, p.slowd);
      te::ta::Stoch by_bar(p.fastk, p.slowk, p.slowd), by_block(p.fastk, p.slowk, p.slowd);
      std::vector<double> out(2 * 70);
      std::size_t mismatches = 0, valid = 0, zeros = 0;
      const std::size_t lead = static_cast<std::size_t>(series) * 41 % 200;
      std::size_t i = 0;
      while (i < s.close.size()) {
        const std::size_t len = std::min<std::size_t>(1 + rng() % 70, s.close.size() - i);
        // The first `lead` bars one by one: a kernel that starts keeping its
        // ring at its first block pass, mid series.
        const bool per_bar = i < lead || rng() % 8 == 0;
        if (!per_bar) by_block.update_block(c, i, len, out.data(), 70);
        for (std::size_t k = 0; k < len; ++k) {
          const te::model::Bar bar = c.at(i + k);
          double w[2], a[2], b[2];
          want.update(bar);
          want.write(w);
          by_bar.update(bar);
          by_bar.write(a);
          if (per_bar) {
            by_block.update(bar);
            by_block.write(b);
          } else {
            b[0] = out[k];
            b[1] = out[70 + k];
          }
          for (int j = 0; j < 2; ++j)
            if (!te::test::same_bits(w[j], a[j]) || !te::test::same_bits(w[j], b[j])) ++mismatches;
          if (w[0] == w[0]) ++valid;
          if (w[0] == 0.0) ++zeros;
        }
        double a[2], b[2];
        by_bar.write(a);
        by_block.write(b);
        if (!te::test::same_bits(a[0], b[0]) || !te::test::same_bits(a[1], b[1])) ++mismatches;  // the state after the block
        i += len;
      }
      INFO("fastk " << p.fastk << " slowk " << p.slowk << " slowd " << p.slowd << " series " << series);
      CHECK(mismatches == 0);
      if (!with_nan) {
        CHECK(valid > 100);                 // the outputs were not all warm-up
        if (p.fastk > 1) CHECK(zeros > 0);  // flat windows were reached
      }
    }
  }
}

TEST_CASE("Stoch's reset starts the window and the smoothing again", "[ta][stoch]") {
  std::mt19937_64 rng(7);
  const te::test::BarColumns s = edge_series(rng, 5, 400, false);
  const te::model::BarSeries::Columns c = s.columns();
  te::ta::Stoch used(5, 3, 3), fresh(5, 3, 3);
  std::vector<double> out(2 * 64);
  used.update_block(c, 0, 64, out.data(), 64);
  for (std::size_t i = 64; i < 100; ++i) used.update(c.at(i));
  used.reset();
  for (std::size_t i = 100; i < 400; ++i) {
    double a[2], b[2];
    used.update(c.at(i));
    fresh.update(c.at(i));
    used.write(a);
    fresh.write(b);
    CHECK((te::test::same_bits(a[0], b[0]) && te::test::same_bits(a[1], b[1])));
  }
}
