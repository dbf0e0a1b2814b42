// The block-ahead pass (IndicatorSet::set_ahead: the base-timeframe indicators
// computed kAheadBlock bars at a time from preloaded columns) gives exactly the
// values of the per-bar path live trading uses, for every indicator of the
// registry, bar by bar and in the history: with indicators added late (mid
// block), a feed that releases bars a few at a time, a reset, crossovers and
// higher-timeframe indicators in the same set.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engine/ta/indicator_set.hpp"
#include "engine/ta/registry.hpp"
#include "engine/ta/spec.hpp"
#include "tests/support/random_bars.hpp"

using namespace te;
using namespace te::ta;

namespace {

bool same_bits(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

// Slot s's current value as the prelude reads it (ind_view.h: the ring at head).
double current(const IndicatorSet& set, int s) {
  const te_ind_view* v = set.view();
  return v->current[static_cast<std::size_t>(s) * (v->history_mask + 1)];
}

struct ColumnStore {
  std::vector<std::int64_t> ts;
  std::vector<double> open, high, low, close, volume, bid, ask, bid_size, ask_size;
  explicit ColumnStore(const std::vector<model::Bar>& bars) {
    for (const model::Bar& b : bars) {
      ts.push_back(b.ts_ns);
      open.push_back(b.open);
      high.push_back(b.high);
      low.push_back(b.low);
      close.push_back(b.close);
      volume.push_back(b.volume);
      bid.push_back(b.bid);
      ask.push_back(b.ask);
      bid_size.push_back(b.bid_size);
      ask_size.push_back(b.ask_size);
    }
  }
  model::BarSeries::Columns columns() const {
    model::BarSeries::Columns c;
    c.ts_ns = ts.data();
    c.open = open.data();
    c.high = high.data();
    c.low = low.data();
    c.close = close.data();
    c.volume = volume.data();
    c.bid = bid.data();
    c.ask = ask.data();
    c.bid_size = bid_size.data();
    c.ask_size = ask_size.data();
    return c;
  }
};

// Every indicator at its defaults, plus a non-default source where one is taken.
std::vector<IndicatorSpec> every_indicator() {
  std::vector<IndicatorSpec> specs;
  for (const IndicatorInfo& info : indicator_registry()) {
    auto s = make_spec(info.name, {});
    REQUIRE(s);
    specs.push_back(*s);
    if (info.takes_source) {
      auto t = make_spec(info.name, {}, Source::typical);
      REQUIRE(t);
      specs.push_back(*t);
    }
  }
  return specs;
}

void check_same(const IndicatorSet& a, const IndicatorSet& b, std::size_t bar) {
  REQUIRE(a.slot_count() == b.slot_count());
  for (int s = 0; s < static_cast<int>(a.slot_count()); ++s)
    for (int k : {0, 1, 5, 63, 64, 100, 127}) {  // 127: the oldest kept (the block ahead is beyond it)
      if (!same_bits(a.value(s, k), b.value(s, k))) {
        FAIL_CHECK("bar " << bar << " slot " << s << " offset " << k << ": " << a.value(s, k) << " vs " << b.value(s, k));
        return;
      }
    }
}

}  // namespace

TEST_CASE("block-ahead indicator values equal the per-bar path for every indicator", "[unit][ta][ahead]") {
  const auto bars = te::test::random_bars(1500, 42);
  const ColumnStore store(bars);
  const auto specs = every_indicator();
  const std::size_t start = GENERATE(0, 7);  // bars before the first update (a backtest's warm-up bars)
  std::size_t readable = bars.size();
  const bool gated = GENERATE(false, true);  // a feed releasing bars a few at a time (a checked cache)
  if (gated) readable = start + 1;

  IndicatorSet live(64, 128), ahead(64, 128);
  ahead.set_ahead(store.columns(), start, &readable);
  auto seen = [&](std::size_t i) { return bars[i]; };
  const auto daily_tf = parse_timeframe("1d");
  REQUIRE(daily_tf);
  // Half the indicators from the start, the rest later, mid block.
  std::size_t added = 0;
  auto add_some = [&](std::size_t upto, std::size_t seen_count) {
    for (; added < upto && added < specs.size(); ++added) {
      auto a = live.add(specs[added], seen_count, seen);
      auto b = ahead.add(specs[added], seen_count, seen);
      REQUIRE(a);
      REQUIRE(b);
      CHECK(*a == *b);
    }
  };
  add_some(specs.size() / 2, start);
  IndicatorSpec daily = *parse_spec("ema(3)");
  daily.timeframe = *daily_tf;
  REQUIRE(live.add(daily, start, seen));
  REQUIRE(ahead.add(daily, start, seen));
  const int sma = live.find("sma_20");
  const int ema = live.find("ema_20");
  REQUIRE(sma >= 0);
  REQUIRE(ema >= 0);
  REQUIRE(*live.add_crossover(sma, ema) == *ahead.add_crossover(sma, ema));

  for (std::size_t i = start; i < bars.size(); ++i) {
    if (gated && readable < bars.size() && (i % 3 == 0 || readable == i)) readable = std::max(readable, std::min(bars.size(), i + 1 + i % 5));
    const std::size_t n = i - start;
    if (n == 100) add_some(specs.size(), i);  // 100 is inside the second block
    if (n == 700) {
      live.reset();
      ahead.reset();
    }
    live.update(bars[i]);
    ahead.update(bars[i]);
    check_same(live, ahead, i);
  }
  CHECK(added == specs.size());
}

// Crossovers of two indicators computed ahead are computed ahead too
// (IndicatorSet::cross_block: a dependency-free pass over blocks whose
// differences are all non-zero and not NaN, step_cross bar by bar otherwise).
// Same values as the per-bar step, on edge series: ties (flat stretches make
// the SMAs equal), NaN closes (NaN differences), a ring shorter than the
// look-backs (16 bars: ages past the ring, wrap-around), crossovers added
// mid block and after a reset, one of them over a crossover's own slot, and a
// feed releasing bars a few at a time.
TEST_CASE("crossovers computed ahead equal the per-bar step on ties, NaN and ring wrap", "[unit][ta][ahead]") {
  auto bars = te::test::random_bars(1200, 7);
  for (std::size_t i = 300; i < 340; ++i) bars[i].close = bars[300].close;  // long tie: ages beyond the ring
  for (std::size_t i = 500; i < 504; ++i) bars[i].close = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 900; i < 990; i += 3) bars[i].close = bars[i - 1].close;  // short ties
  const ColumnStore store(bars);
  const bool gated = GENERATE(false, true);
  const std::size_t start = GENERATE(0, 5);
  std::size_t readable = gated ? start + 1 : bars.size();
  IndicatorSet live(32, 16), ahead(32, 16);
  ahead.set_ahead(store.columns(), start, &readable);
  auto seen = [&](std::size_t i) { return bars[i]; };
  auto add = [&](const char* spec, std::size_t seen_count) {
    auto a = live.add(*parse_spec(spec), seen_count, seen);
    auto b = ahead.add(*parse_spec(spec), seen_count, seen);
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(*a == *b);
    return *a;
  };
  auto cross = [&](int x, int y) {
    auto a = live.add_crossover(x, y);
    auto b = ahead.add_crossover(x, y);
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(*a == *b);
    return *a;
  };
  const int s2 = add("sma(2)", start), s3 = add("sma(3)", start);
  cross(s2, s3);  // from the first bar
  for (std::size_t i = start; i < bars.size(); ++i) {
    if (gated && readable < bars.size() && (i % 3 == 0 || readable == i))
      readable = std::max(readable, std::min(bars.size(), i + 1 + i % 5));
    const std::size_t n = i - start;
    if (n == 90) {  // mid block: a new pair, a pair with a new indicator, a crossover of a crossover
      const int s5 = add("sma(5)", i);
      const int c = cross(s3, s5);
      cross(c, s2);
      cross(s2, add("wma(4)", i));
      cross(s5, add("ema(4)", i));  // EMA is computed ahead too (a recursive kernel's block pass)
      cross(s5, add("rsi(4)", i));  // and RSI (its block pass without the sign branch)
      cross(s5, add("atr(4)", i));  // ATR too (update_columns' generic loop)
      cross(s5, add("dema(4)", i));  // an input stepped per bar: the crossover stays per bar
    }
    if (n == 777) {
      live.reset();
      ahead.reset();
    }
    if (n == 800) cross(s3, s2);  // the reverse pair, after the reset
    live.update(bars[i]);
    ahead.update(bars[i]);
    REQUIRE(live.slot_count() == ahead.slot_count());
    for (int s = 0; s < static_cast<int>(live.slot_count()); ++s) {
      REQUIRE(same_bits(current(live, s), current(ahead, s)));
      for (int k = 0; k < 16; ++k)
        if (!same_bits(live.value(s, k), ahead.value(s, k))) {
          FAIL("bar " << i << " slot " << s << " offset " << k << ": " << live.value(s, k) << " vs " << ahead.value(s, k));
        }
    }
  }
  CHECK(live.crossovers_ahead() == 0);
  CHECK(ahead.crossovers_ahead() == 8);  // all nine but the one with the DEMA
}

// The all-ahead update copies each row to its current slot and nothing else
// (the history rows were written with the block, IndicatorSet::ring_block):
// rows in slot order (the usual case) and rows out of slot order (a
// crossover added before a later indicator, then set_ahead: rows 0, 1, 4, 2, 3)
// give the per-bar path's values and the whole history kept, for a ring of 8
// bars (the ring's length is 128: a block ahead of the history) and of 256.
TEST_CASE("all-ahead updates with rows in and out of slot order keep the per-bar values and history", "[unit][ta][ahead]") {
  const auto bars = te::test::random_bars(900, 11);
  const ColumnStore store(bars);
  const bool out_of_order = GENERATE(false, true);
  const std::size_t hist = GENERATE(std::size_t{8}, std::size_t{256});
  std::size_t readable = bars.size();
  IndicatorSet live(8, hist), ahead(8, hist);
  if (!out_of_order) ahead.set_ahead(store.columns(), 0, &readable);
  for (IndicatorSet* set : {&live, &ahead}) {
    const int a = *set->add(*parse_spec("sma(2)"));
    const int b = *set->add(*parse_spec("ema(3)"));
    REQUIRE(*set->add_crossover(a, b) == 2);
    REQUIRE(*set->add(*parse_spec("stoch(5,3,3)")) == 4);
  }
  if (out_of_order) ahead.set_ahead(store.columns(), 0, &readable);
  REQUIRE(ahead.crossovers_ahead() == 1);
  for (std::size_t i = 0; i < bars.size(); ++i) {
    live.update(bars[i]);
    ahead.update(bars[i]);
    for (int s = 0; s < 6; ++s) {
      REQUIRE(same_bits(current(live, s), current(ahead, s)));
      for (int k = 0; k < static_cast<int>(hist); ++k)
        if (!same_bits(live.value(s, k), ahead.value(s, k))) {
          FAIL("bar " << i << " slot " << s << " offset " << k << ": " << live.value(s, k) << " vs " << ahead.value(s, k));
        }
    }
  }
}

// A feed releasing a few bars at a time makes blocks that start anywhere, so
// some cross the history ring's end (the kernels then write a buffer copied
// into the ring, IndicatorSet::ring_block) instead of writing into the ring
// in place; indicators and crossovers added mid-block must get that copy too
// (review, session 23: the copy left out in fill_ahead_rest or add_crossover
// passed every other test). Several ring sizes, late adds, crossovers, a
// reset; history read at every age the ring keeps.
TEST_CASE("blocks that cross the history ring's end keep indicators and crossovers added mid-block exact",
          "[unit][ta][ahead]") {
  std::vector<IndicatorSpec> specs;
  for (const IndicatorInfo& info : indicator_registry()) {
    auto s = make_spec(info.name, {});
    REQUIRE(s);
    specs.push_back(*s);
  }
  const int seed = GENERATE(1, 2);
  const std::size_t start = GENERATE(0, 7);
  const std::size_t hist = GENERATE(16, 128);
  INFO("seed " << seed << " start " << start << " history " << hist);
  auto bars = te::test::random_bars(2000, static_cast<std::uint64_t>(seed));
  for (std::size_t i = 300; i < 380; ++i) bars[i].close = bars[300].close;  // ties for the crossovers
  const ColumnStore store(bars);
  std::size_t readable = start + 1;
  IndicatorSet live(64, hist), ahead(64, hist);
  ahead.set_ahead(store.columns(), start, &readable);
  auto seen = [&](std::size_t i) { return bars[i]; };
  std::size_t added = 0;
  auto add_some = [&](std::size_t upto, std::size_t seen_count) {
    for (; added < upto && added < specs.size(); ++added) {
      auto a = live.add(specs[added], seen_count, seen);
      auto b = ahead.add(specs[added], seen_count, seen);
      REQUIRE(a);
      REQUIRE(b);
      CHECK(*a == *b);
    }
  };
  add_some(specs.size() / 3, start);
  long mismatches = 0, checks = 0;
  for (std::size_t i = start; i < bars.size(); ++i) {
    if (readable < bars.size() && (i % 3 == 0 || readable == i))
      readable = std::max(readable, std::min(bars.size(), i + 1 + (i * 7 + static_cast<std::size_t>(seed)) % 70));
    const std::size_t n = i - start;
    if (n == 100 + static_cast<std::size_t>(seed) * 37) add_some(2 * specs.size() / 3, i);
    if (n == 511 + static_cast<std::size_t>(seed) * 3) add_some(specs.size(), i);
    if (n % 61 == 23 && n < 1700) {  // (many adds: some land in a block that crosses the ring's end)
      const int a = static_cast<int>((n * 3) % live.slot_count());
      const int b = static_cast<int>((n * 5 + 1) % live.slot_count());
      auto x = live.add_crossover(a, b);
      auto y = ahead.add_crossover(a, b);
      REQUIRE(static_cast<bool>(x) == static_cast<bool>(y));
      if (x) CHECK(*x == *y);
    }
    if (n == 1800) {
      live.reset();
      ahead.reset();
    }
    live.update(bars[i]);
    ahead.update(bars[i]);
    for (int s = 0; s < static_cast<int>(live.slot_count()); ++s)
      for (int k : {0, 1, 2, 5, 15, 16, 63, 64, 65, 100, 127, 128}) {
        ++checks;
        if (!same_bits(live.value(s, k), ahead.value(s, k)) && mismatches++ < 3)
          FAIL_CHECK("bar " << i << " slot " << s << " age " << k << ": " << live.value(s, k) << " vs "
                            << ahead.value(s, k));
      }
  }
  CHECK(mismatches == 0);
  CHECK(checks > 100000);
  CHECK(added == specs.size());
}
