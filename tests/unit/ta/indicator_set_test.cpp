#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "engine/ta/batch.hpp"
#include "engine/ta/indicator_set.hpp"
#include "engine/ta/listing.hpp"
#include "engine/ta/registry.hpp"
#include "tests/support/random_bars.hpp"

using namespace te;
using namespace te::ta;

TEST_CASE("te_ind_view exposes current values and history with the documented layout", "[unit][ta]") {
  static_assert(offsetof(te_ind_view, current) == 0 && offsetof(te_ind_view, history) == 8 &&
                offsetof(te_ind_view, updates) == 16 && offsetof(te_ind_view, history_mask) == 24 &&
                offsetof(te_ind_view, head) == 28 && offsetof(te_ind_view, slot_count) == 32 &&
                offsetof(te_ind_view, slot_capacity) == 36 && offsetof(te_ind_view, history_max) == 40 &&
                offsetof(te_ind_view, reserved) == 44 && sizeof(te_ind_view) == 48);
  IndicatorSet set(4, 8);
  const te_ind_view* v = set.view();
  // 8 bars kept; the ring holds them and a block ahead (8 + 64, rounded up).
  CHECK(v->history_max == 7);
  CHECK(v->history_mask == 127);
  CHECK(set.history_length() == 8);
  CHECK(v->slot_capacity == 12);
  CHECK(v->slot_count == 0);
  const double* hist = v->history;
  CHECK(v->current == hist);  // the ring at head 0

  const int mom = *set.add(*parse_spec("mom(1)"));
  CHECK(mom == 0);
  const int macd = *set.add(*parse_spec("macd(2,3,2)"));
  CHECK(macd == 1);
  CHECK(v->slot_count == 4);
  CHECK(*set.add(*parse_spec("mom(1,close)")) == mom);  // same key: same indicator
  CHECK(set.indicator_count() == 2);
  CHECK(set.find("macd_2_3_2") == 1);
  CHECK(set.find("nope") == -1);

  for (int i = 0; i < 20; ++i) {
    model::Bar b;
    b.ts_ns = i;
    b.open = b.high = b.low = b.close = i * i;
    set.update(b);
    CHECK(v->updates == static_cast<std::uint64_t>(i + 1));
    CHECK(v->head == static_cast<std::uint32_t>(i & 127));
    // The current values are the ring's entries at head; mom(1) of i^2 is 2i - 1.
    CHECK(v->current == hist + v->head);
    const std::size_t ring = v->history_mask + 1;
    if (i >= 1) CHECK(v->current[static_cast<std::size_t>(mom) * ring] == 2 * i - 1);
    for (int slot = 0; slot < 4; ++slot) {
      const double now = v->current[static_cast<std::size_t>(slot) * ring], c = set.value(slot, 0);
      CHECK((now == c || (std::isnan(now) && std::isnan(c))));
    }
  }
  // The history never moved, and the Lua formula reads the same as value().
  CHECK(v->history == hist);
  for (int slot = 0; slot < 4; ++slot)
    for (std::uint32_t k = 0; k <= v->history_max; ++k) {
      const double lua = hist[static_cast<std::size_t>(slot) * (v->history_mask + 1) + ((v->head - k) & v->history_mask)];
      const double c = set.value(slot, static_cast<int>(k));
      CHECK((lua == c || (std::isnan(lua) && std::isnan(c))));
    }
  CHECK(set.value(mom, 3) == 2 * 16 - 1);
  CHECK(std::isnan(set.value(mom, 8)));   // beyond the history kept
  CHECK(std::isnan(set.value(mom, -1)));
  CHECK(std::isnan(set.value(4)));        // beyond slot_count
  CHECK(std::isnan(set.value(-1)));

  // Adding later keeps the arrays in place, and the new indicator's current
  // values (its warm-up over the bars seen) are at head.
  const double* at_head = v->current;
  REQUIRE(set.add(*parse_spec("bbands(3,2,2)")).ok());
  CHECK(v->current == at_head);
  CHECK(v->history == hist);
  const double added = v->current[4 * static_cast<std::size_t>(v->history_mask + 1)], c = set.value(4, 0);
  CHECK((added == c || (std::isnan(added) && std::isnan(c))));  // (no bar seen: NaN)
  CHECK(v->slot_count == 7);
}

TEST_CASE("indicator set caps and errors", "[unit][ta]") {
  IndicatorSet set(2, 4);
  REQUIRE(set.add(*parse_spec("sma(5)")).ok());
  REQUIRE(set.add(*parse_spec("sma(6)")).ok());
  auto third = set.add(*parse_spec("sma(7)"));
  REQUIRE_FALSE(third.ok());
  CHECK(third.error().code == Errc::limit);
  CHECK(third.error().message.find("at most 2 indicators") != std::string::npos);
  CHECK(set.add(*parse_spec("sma(5)")).ok());  // existing ones are still found

  IndicatorSpec hand;
  hand.name = "sma";
  hand.params = {0};
  auto bad = set.add(hand);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == Errc::invalid_argument);
  hand.name = "nope";
  CHECK_FALSE(set.add(hand).ok());
  IndicatorSet other;
  CHECK_FALSE(other.add(*parse_spec("sma(5)"), 3, {}).ok());
}

TEST_CASE("indicators CSV: time column for intraday data, empty warm-up cells", "[unit][ta]") {
  const auto bars = test::random_bars(30, 4);
  model::BarSeriesBuilder b;
  for (const auto& x : bars) b.push(x);
  const model::BarSeries series = std::move(b).build("X", 1);
  auto csv = indicators_csv(series, "sma(3),mid()");
  REQUIRE(csv.ok());
  CHECK(csv->rfind("time,sma_3,mid\n", 0) == 0);
  CHECK(csv->find("\n2020-09-13T12:26:40Z,,") != std::string::npos);  // first bar: no SMA yet
  std::size_t lines = 0;
  for (char c : *csv) lines += c == '\n';
  CHECK(lines == 31);

  auto cols = compute_indicators(series, std::vector<IndicatorSpec>{*parse_spec("sma(3)"), *parse_spec("macd(2,4,2)")});
  REQUIRE(cols.ok());
  CHECK(cols->names == std::vector<std::string>{"sma_3", "macd_2_4_2_macd", "macd_2_4_2_signal", "macd_2_4_2_hist"});
  CHECK(std::isnan(cols->values[0][1]));
  CHECK(!std::isnan(cols->values[0][2]));

  auto bad = indicators_csv(series, "sma(3),smaa(4)");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("valid names") != std::string::npos);
  const Status failing = write_indicators_csv(series, "sma(3)", [](std::string_view) { return false; });
  REQUIRE_FALSE(failing.ok());
  CHECK(failing.error().code == Errc::io);
}

TEST_CASE("listing names every indicator with parameters, outputs and warm-up", "[unit][ta]") {
  const std::string text = list_indicators();
  for (const IndicatorInfo& info : indicator_registry()) {
    std::string row(1, '\n');
    row.append(info.name).push_back(' ');
    CHECK(text.find(row) != std::string::npos);
  }
  CHECK(text.find("fast=12 slow=26 signal=9 [source=close]") != std::string::npos);
  CHECK(text.find("macd signal hist") != std::string::npos);
  CHECK(text.find("33 ((slow - 1) + (signal - 1))") != std::string::npos);
  CHECK(text.find("27 (2 * period - 1)") != std::string::npos);
}

namespace {

// ind.crossover's rule as lua/indicators.lua computed it before the set kept
// it (a walk back through the history): the value `offset` bars ago.
double crossover_by_lookback(const IndicatorSet& set, int a, int b, int offset, int mask) {
  const double d = set.value(a, offset) - set.value(b, offset);
  if (d != d) return d;
  if (d == 0) return 0;
  for (int k = 1; k <= mask; ++k) {
    const double pd = set.value(a, offset + k) - set.value(b, offset + k);
    if (pd != pd) return 0;
    if (pd != 0) {
      if (pd < 0 && d > 0) return 1;
      if (pd > 0 && d < 0) return -1;
      return 0;
    }
  }
  return 0;
}

// What the prelude reads from the crossover's two slots `offset` bars ago.
double crossover_read(const IndicatorSet& set, int c, int offset, int mask) {
  const double v = set.value(c, offset);
  if (v != v) return v;
  if (v != 0 && set.value(c + 1, offset) + offset > mask) return 0;
  return v;
}

}  // namespace

TEST_CASE("add_crossover keeps ind.crossover's look-back rule at every offset, ties and warm-up included",
          "[unit][ta][indicators]") {
  // A ring of 8 bars and prices that stay flat for 0..11 bars at a time: the
  // close and sma(2) tie on every flat bar after the first, often for longer
  // than the ring, and sma(3) ties sma(2) on the longer runs.
  constexpr int kMask = 7;
  IndicatorSet set(8, kMask + 1);
  const int close = *set.add(*parse_spec("highest(1,close)"));
  const int sma2 = *set.add(*parse_spec("sma(2)"));
  const int sma3 = *set.add(*parse_spec("sma(3)"));
  const int early = *set.add_crossover(close, sma2);  // from the first bar
  CHECK(*set.add_crossover(close, sma2) == early);     // same pair: same slots
  CHECK_FALSE(set.add_crossover(close, 99).ok());
  int late = -1;  // sma(2) x sma(3), added after 40 bars (warmed over the ring)
  std::uint64_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int>((seed >> 33) % 1000);
  };
  double price = 100;
  int flat = 0;
  int crosses = 0, ties = 0, limited = 0;
  for (int i = 0; i < 3000; ++i) {
    if (flat > 0) {
      --flat;
    } else {
      price += (next() - 500) / 100.0;
      if (next() < 300) flat = next() % 12;
    }
    model::Bar b;
    b.ts_ns = i;
    b.open = b.high = b.low = b.close = price;
    set.update(b);
    if (i == 40) late = *set.add_crossover(sma2, sma3);
    for (int o = 0; o <= kMask; ++o) {
      const double want = crossover_by_lookback(set, close, sma2, o, kMask);
      const double got = crossover_read(set, early, o, kMask);
      INFO("bar " << i << " offset " << o);
      CHECK((got == want || (std::isnan(got) && std::isnan(want))));
      if (late >= 0) {
        const double w2 = crossover_by_lookback(set, sma2, sma3, o, kMask);
        const double g2 = crossover_read(set, late, o, kMask);
        CHECK((g2 == w2 || (std::isnan(g2) && std::isnan(w2))));
      }
      if (o == 0 && want != 0 && want == want) ++crosses;
      if (o == 0 && set.value(close) == set.value(sma2)) ++ties;
      if (want == 0 && set.value(early, o) != 0 && set.value(early, o) == set.value(early, o)) ++limited;
    }
  }
  // The data exercised what the rule is about.
  CHECK(crosses > 100);
  CHECK(ties > 300);
  CHECK(limited > 0);  // a cross k bars ago whose look-back no longer fits the ring

  set.reset();
  model::Bar b;
  b.close = b.open = b.high = b.low = 1;
  set.update(b);
  CHECK(std::isnan(set.value(early)));  // sma(2) is warming up again
  // The look-back count starts again as in a new set (it counted from an
  // update number of before the reset, a negative count).
  IndicatorSet fresh(8, kMask + 1);
  const int fc = *fresh.add(*parse_spec("highest(1,close)"));
  const int fe = *fresh.add_crossover(fc, *fresh.add(*parse_spec("sma(2)")));
  fresh.update(b);
  CHECK(set.value(early + 1) == fresh.value(fe + 1));
}

// update() runs the base-timeframe indicators from a flat list and the others
// (higher timeframe) after them: the order of updates must not change any
// value. Each slot of a set mixing both kinds, in interleaved creation order
// and with one indicator added late (warmed over the bars seen), equals bit
// for bit the same indicator alone in its own set, at every bar and offset.
TEST_CASE("indicator set: mixed base and higher-timeframe indicators equal each one alone", "[unit][ta]") {
  const auto bars = te::test::random_bars(600, 17, 1'600'000'000LL * 1'000'000'000LL, 60'000'000'000LL);
  const char* specs[] = {"sma(10)", "rsi(14)@5m", "ema(7,high)", "bbands(5,2,2)@15m", "macd(3,6,2)", "atr(5)@5m"};
  constexpr std::size_t kLate = 3;   // specs[kLate] is added after this many bars
  constexpr std::size_t kAddAt = 250;
  IndicatorSet mixed(16, 64, 60'000'000'000LL);
  std::vector<std::unique_ptr<IndicatorSet>> alone;
  std::vector<int> slot(std::size(specs), -1), outs(std::size(specs), 0);
  auto seen = [&](std::size_t i) { return bars[i]; };
  for (std::size_t k = 0; k < std::size(specs); ++k) {
    alone.push_back(std::make_unique<IndicatorSet>(16, 64, 60'000'000'000LL));
    auto spec = parse_spec(specs[k]);
    REQUIRE(spec.ok());
    REQUIRE(alone.back()->add(*spec).ok());
    outs[k] = static_cast<int>(alone.back()->slot_count());
    if (k != kLate) slot[k] = *mixed.add(*spec);
  }
  for (std::size_t i = 0; i < bars.size(); ++i) {
    if (i == kAddAt) slot[kLate] = *mixed.add(*parse_spec(specs[kLate]), i, seen);
    mixed.update(bars[i]);
    for (auto& a : alone) a->update(bars[i]);
    for (std::size_t k = 0; k < std::size(specs); ++k) {
      if (slot[k] < 0) continue;
      for (int o = 0; o < outs[k]; ++o)
        for (int off : {0, 1, 7}) {
          const double m = mixed.value(slot[k] + o, off), a = alone[k]->value(o, off);
          INFO(specs[k] << " output " << o << " offset " << off << " bar " << i);
          CHECK((m == a || (std::isnan(m) && std::isnan(a))));
        }
    }
  }
}

// The view's current values are the ring's entries at head (ind_view.h), also
// for an indicator added before the set's first update over bars already
// seen (its warm-up result): the value the prelude reads then is the one
// update() would have given, not the ring's NaN.
TEST_CASE("an indicator added before the first update reads its warm-up value as current", "[unit][ta]") {
  IndicatorSet set(4, 8);
  auto seen = [](std::size_t i) {
    model::Bar b;
    b.ts_ns = static_cast<std::int64_t>(i);
    b.open = b.high = b.low = b.close = 10.0 + static_cast<double>(i);
    return b;
  };
  const int sma = *set.add(*parse_spec("sma(2)"), 3, seen);  // bars 10, 11, 12 seen
  const te_ind_view* v = set.view();
  const std::size_t ring = v->history_mask + 1;
  CHECK(v->updates == 0);
  CHECK(v->current[static_cast<std::size_t>(sma) * ring] == 11.5);
  const int macd = *set.add(*parse_spec("macd(2,3,2)"), 0, seen);  // nothing seen: no value
  CHECK(std::isnan(v->current[static_cast<std::size_t>(macd) * ring]));
  set.update(seen(3));
  CHECK(v->current[static_cast<std::size_t>(sma) * ring] == 12.5);
  CHECK(set.value(sma, 0) == 12.5);
}
