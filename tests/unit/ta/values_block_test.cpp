// The block pass of kernels fed one series (KernelIndicator::update_columns
// calling the kernel's update_values: Sma, Bbands, Roc, Rsi, Macd; and Atr's and Adx's
// update_block over the high, low and close columns) gives update()'s values bit
// for bit: on series built to hit the exact sums' edges (flat runs, NaN, 0 and
// -0, magnitudes from 1e-9 to 1e9 side by side, returns to an earlier level),
// for raw and derived sources (typical and median price are computed from the
// columns), periods 1 to 300, blocks of 1 to 70 bars with stretches of update()
// between them.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string_view>
#include <vector>

#include "engine/model/bar_series.hpp"
#include "engine/ta/indicator.hpp"
#include "engine/ta/registry.hpp"
#include "engine/ta/source.hpp"
#include "tests/unit/ta/block_fixture.hpp"

namespace {

const te::ta::IndicatorInfo& info_of(std::string_view name) {
  for (const te::ta::IndicatorInfo& info : te::ta::indicator_registry())
    if (info.name == name) return info;
  FAIL("no indicator " << name);
  throw 0;
}

te::test::BarColumns edge_series(std::mt19937_64& rng, int period, int count, bool with_nan) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  te::test::BarColumns s;
  double price = 100.0;
  int repeat = 0;
  for (int i = 0; i < count; ++i) {
    const std::uint64_t pick = rng() % 100;
    if (repeat > 0) {
      --repeat;  // the same price again
    } else if (pick < 6) {
      repeat = period - 2 + static_cast<int>(rng() % 6);
    } else if (pick < 7 && with_nan) {
      price = nan;
    } else if (pick < 10) {
      price = (rng() & 1) ? 0.0 : -0.0;
    } else if (pick < 12) {
      price = (rng() & 1) ? 1e9 + 0.125 : 1e-9;  // magnitudes far apart in one window
    } else if (pick < 15) {
      price = 100.0;  // back to a level seen before
    } else if (pick < 40) {
      // the same price again
    } else {
      price = (std::isnan(price) ? 100.0 : price) + static_cast<double>(static_cast<std::int64_t>(rng() % 7) - 3) * 0.25;
    }
    const double spread = static_cast<double>(rng() % 3) * 0.25;
    s.push(price, price + spread, price - spread, price, static_cast<double>(rng() % 1000));
  }
  return s;
}

}  // namespace

TEST_CASE("update_values block passes (sma, bbands, roc, atr, adx, rsi, macd) give update()'s values", "[ta][ahead]") {
  using te::ta::Source;
  std::mt19937_64 rng(20261206);
  struct Case {
    std::string_view name;
    double params[3];
  };
  const Case cases[] = {{"sma", {1, 0, 0}},    {"sma", {2, 0, 0}},    {"sma", {3, 0, 0}},      {"sma", {20, 0, 0}},
                        {"sma", {65, 0, 0}},   {"sma", {300, 0, 0}},  {"bbands", {2, 2, 2}},   {"bbands", {3, 2, 2}},
                        {"bbands", {20, 2, 2}}, {"bbands", {21, 1.5, 3}}, {"bbands", {64, 2, 2}}, {"bbands", {300, 2, 1}},
                        {"roc", {1, 0, 0}},    {"roc", {2, 0, 0}},    {"roc", {10, 0, 0}},     {"roc", {64, 0, 0}},
                        {"roc", {65, 0, 0}},   {"roc", {300, 0, 0}},  {"atr", {1, 0, 0}},      {"atr", {2, 0, 0}},
                        {"atr", {14, 0, 0}},   {"atr", {65, 0, 0}},   {"atr", {300, 0, 0}},
                        {"adx", {2, 0, 0}},    {"adx", {5, 0, 0}},    {"adx", {14, 0, 0}},     {"adx", {65, 0, 0}},
                        {"rsi", {2, 0, 0}},    {"rsi", {14, 0, 0}},   {"rsi", {65, 0, 0}},
                        {"macd", {12, 26, 9}}, {"macd", {2, 3, 2}},   {"macd", {5, 70, 3}}};
  const Source sources[] = {Source::close, Source::typical, Source::median, Source::high, Source::volume};
  for (const Case& k : cases) {
    const te::ta::IndicatorInfo& info = info_of(k.name);
    for (int series = 0; series < 6; ++series) {
      const Source source = sources[static_cast<std::size_t>(series) % std::size(sources)];
      const bool with_nan = series == 5;
      const te::test::BarColumns s = edge_series(rng, static_cast<int>(k.params[0]), 2500, with_nan);
      const te::model::BarSeries::Columns c = s.columns();
      const auto by_bar = info.make(info, k.params, source);
      const auto by_block = info.make(info, k.params, source);
      const int outputs = by_bar->output_count();
      constexpr std::size_t kStride = 70;
      std::vector<double> out(static_cast<std::size_t>(outputs) * kStride);
      std::size_t mismatches = 0, valid = 0;
      std::size_t i = 0;
      while (i < s.close.size()) {
        const std::size_t len = std::min<std::size_t>(1 + rng() % 70, s.close.size() - i);
        const bool per_bar = rng() % 8 == 0;
        if (!per_bar) by_block->update_columns(c, i, len, out.data(), kStride);
        for (std::size_t b = 0; b < len; ++b) {
          double want[3], got[3];
          by_bar->update(c.at(i + b), want);
          if (per_bar)
            by_block->update(c.at(i + b), got);
          else
            for (int o = 0; o < outputs; ++o) got[o] = out[static_cast<std::size_t>(o) * kStride + b];
          for (int o = 0; o < outputs; ++o)
            if (!te::test::same_bits(want[o], got[o])) ++mismatches;
          if (want[0] == want[0]) ++valid;
        }
        i += len;
      }
      INFO(k.name << "(" << k.params[0] << ") source " << static_cast<int>(source) << " series " << series);
      CHECK(mismatches == 0);
      if (!with_nan) CHECK(valid > 1000);
    }
  }
}
