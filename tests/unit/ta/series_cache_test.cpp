// Shared indicator series (ta::SeriesCache): a set reading cached values gives
// exactly the values of a set computing them, whether the indicator is asked
// for at the start or late (warm-up), on the base timeframe or a higher one;
// a set fed another series does not use the cache; the budget evicts series no
// set holds.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine/data/bar_generator.hpp"
#include "engine/ta/indicator_set.hpp"
#include "engine/ta/series_cache.hpp"

using namespace te;

namespace {

model::BarSeries bars(std::size_t n, std::uint64_t seed) {
  data::GeneratorOptions g;
  g.seed = seed;
  auto s = data::generate_bars(g, n, "SIM");
  REQUIRE(s.ok());
  return std::move(*s);
}

bool same(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }  // NaN == NaN, bit for bit

struct Run {
  std::vector<std::vector<double>> values;  // per bar, every slot with 3 bars of history
  std::size_t cached = 0;
};

// Feeds `data` to a set; adds `late` specs at bar `late_at` (with warm-up from
// the bars seen), the others before the first bar.
Run run(const model::BarSeries& data, ta::SeriesCache* cache, const std::vector<std::string>& early,
        const std::vector<std::string>& late, std::size_t late_at) {
  ta::IndicatorSet set;
  set.set_series_cache(cache);
  std::vector<int> slots;
  auto add = [&](const std::string& text, std::size_t seen) {
    auto spec = ta::parse_spec(text);
    REQUIRE(spec.ok());
    auto slot = set.add(*spec, seen, [&](std::size_t i) { return data.at(i); });
    REQUIRE(slot.ok());
    slots.push_back(*slot);
  };
  for (const auto& t : early) add(t, 0);
  Run r;
  for (std::size_t i = 0; i < data.size(); ++i) {
    set.update(data.at(i));
    if (i + 1 == late_at)
      for (const auto& t : late) add(t, i + 1);
    std::vector<double> row;
    for (std::size_t s = 0; s < set.slot_count(); ++s)
      for (int k = 0; k < 3; ++k) row.push_back(set.value(static_cast<int>(s), k));
    r.values.push_back(std::move(row));
  }
  r.cached = set.cached_indicators();
  return r;
}

}  // namespace

TEST_CASE("cached indicator series equal computed ones bit for bit", "[ta][optimize]") {
  const model::BarSeries data = bars(3000, 5);
  const std::vector<std::string> early = {"sma(20)", "macd(12,26,9)", "rsi(14)", "sma(5,tf=1h)"};
  const std::vector<std::string> late = {"ema(30)", "bbands(20,2,2)", "atr(14)", "sma(3,tf=15m)"};
  ta::SeriesCache cache(data, std::size_t{64} << 20);
  const Run computed = run(data, nullptr, early, late, 1234);
  const Run shared = run(data, &cache, early, late, 1234);
  CHECK(shared.cached == early.size() + late.size());
  CHECK(computed.cached == 0);
  REQUIRE(shared.values.size() == computed.values.size());
  std::size_t mismatches = 0, finite = 0;
  for (std::size_t i = 0; i < computed.values.size(); ++i) {
    REQUIRE(shared.values[i].size() == computed.values[i].size());
    for (std::size_t k = 0; k < computed.values[i].size(); ++k) {
      mismatches += !same(shared.values[i][k], computed.values[i][k]);
      finite += std::isfinite(computed.values[i][k]);
    }
  }
  CHECK(mismatches == 0);
  CHECK(finite > 50000);  // the comparison saw real values, not only warm-up NaNs
  // A second set asking for the same specs reuses them.
  (void)run(data, &cache, early, late, 1234);
  const auto st = cache.stats();
  CHECK(st.computed == early.size() + late.size());
  CHECK(st.hits >= early.size() + late.size());
}

TEST_CASE("a set fed another series computes its own values", "[ta][optimize]") {
  const model::BarSeries data = bars(500, 5);
  const model::BarSeries other = bars(500, 6);
  ta::SeriesCache cache(data, std::size_t{64} << 20);
  // Late add on `other`: its last seen bar is not the cache's, so no sharing.
  const Run r = run(other, &cache, {}, {"sma(10)"}, 100);
  CHECK(r.cached == 0);
  const Run plain = run(other, nullptr, {}, {"sma(10)"}, 100);
  CHECK(r.values == plain.values);
}

TEST_CASE("the cache stays within its budget by evicting series nobody holds", "[ta][optimize]") {
  const model::BarSeries data = bars(1000, 5);
  const std::size_t one = 1000 * sizeof(double);
  ta::SeriesCache cache(data, 3 * one);  // room for three single-output series
  for (int p = 2; p < 12; ++p) {
    auto spec = ta::parse_spec("sma(" + std::to_string(p) + ")");
    REQUIRE(spec.ok());
    auto s = cache.get(*spec, "sma_" + std::to_string(p));
    REQUIRE(s != nullptr);
    CHECK(cache.stats().bytes <= 3 * one);
  }
  CHECK(cache.stats().evicted == 7);
  auto macd = ta::parse_spec("macd(12,26,9)");
  REQUIRE(macd.ok());
  ta::SeriesCache tiny(data, one);  // three outputs do not fit: refused, computed by the set instead
  CHECK(tiny.get(*macd, "macd_12_26_9") == nullptr);
  CHECK(tiny.stats().refused == 1);
}
