// Property tests over every native indicator on seeded random series:
//  - the incremental value equals a straightforward batch recomputation
//    (tests/unit/ta/reference.hpp) and the first valid index is the lookback;
//  - reset and re-feed reproduces the same values bit for bit;
//  - adding an indicator late (warmed from the bars already seen) gives the same
//    values and history as adding it before the first bar.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "engine/core/numbers.hpp"
#include "engine/ta/indicator_set.hpp"
#include "engine/ta/registry.hpp"
#include "tests/support/random_bars.hpp"
#include "tests/unit/ta/reference.hpp"

using namespace te;
using namespace te::ta;
using ref::Vec;

namespace {

struct Case {
  std::string spec;
  std::function<std::vector<Vec>(const ref::Series&)> reference;
};

Vec src(const ref::Series& s, const char* which) {
  Vec out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const model::Bar& b = s.bars[i];
    const std::string w = which;
    out[i] = w == "open" ? b.open : w == "high" ? b.high : w == "low" ? b.low : w == "typical" ? (b.high + b.low + b.close) / 3.0 : b.close;
  }
  return out;
}

std::vector<Vec> one(Vec v) { return {std::move(v)}; }

std::vector<Case> cases() {
  using S = const ref::Series&;
  return {
      {"sma(7)", [](S s) { return one(ref::sma(s.close, 7)); }},
      {"sma(30,high)", [](S s) { return one(ref::sma(src(s, "high"), 30)); }},
      {"ema(10)", [](S s) { return one(ref::ema(s.close, 10)); }},
      {"ema(3,typical)", [](S s) { return one(ref::ema(src(s, "typical"), 3)); }},
      {"wma(9)", [](S s) { return one(ref::wma(s.close, 9)); }},
      {"dema(8)", [](S s) { return one(ref::dema(s.close, 8)); }},
      {"tema(6)", [](S s) { return one(ref::tema(s.close, 6)); }},
      {"rsi(14)", [](S s) { return one(ref::rsi(s.close, 14)); }},
      {"rsi(3,open)", [](S s) { return one(ref::rsi(src(s, "open"), 3)); }},
      {"macd(12,26,9)", [](S s) { return ref::macd(s.close, 12, 26, 9); }},
      {"macd(5,13,4)", [](S s) { return ref::macd(s.close, 5, 13, 4); }},
      {"bbands(20,2,2)", [](S s) { return ref::bbands(s.close, 20, 2, 2); }},
      {"bbands(11,1.5,2.5)", [](S s) { return ref::bbands(s.close, 11, 1.5, 2.5); }},
      {"atr(14)", [](S s) { return one(ref::atr(s, 14)); }},
      {"atr(1)", [](S s) { return one(ref::atr(s, 1)); }},
      {"trange()", [](S s) { return one(ref::trange(s)); }},
      {"stoch(14,3,3)", [](S s) { return ref::stoch(s, 14, 3, 3); }},
      {"stoch(5,1,2)", [](S s) { return ref::stoch(s, 5, 1, 2); }},
      {"stochrsi(14,5,3)", [](S s) { return ref::stochrsi(s.close, 14, 5, 3); }},
      {"willr(14)", [](S s) { return one(ref::willr(s, 14)); }},
      {"cci(20)", [](S s) { return one(ref::cci(s, 20)); }},
      {"adx(14)", [](S s) { return one(ref::dmi(s, 14).adx); }},
      {"adx(5)", [](S s) { return one(ref::dmi(s, 5).adx); }},
      {"plus_di(14)", [](S s) { return one(ref::dmi(s, 14).plus); }},
      {"minus_di(9)", [](S s) { return one(ref::dmi(s, 9).minus); }},
      {"obv()", [](S s) { return one(ref::obv(s.close, s.volume)); }},
      {"obv(typical)", [](S s) { return one(ref::obv(src(s, "typical"), s.volume)); }},
      {"vwap()", [](S s) { return one(ref::vwap(s, 0, false)); }},
      {"vwap(25)", [](S s) { return one(ref::vwap(s, 25, false)); }},
      {"vwap(reset=1)", [](S s) { return one(ref::vwap(s, 0, true)); }},
      {"roc(10)", [](S s) { return one(ref::roc(s.close, 10)); }},
      {"mom(10)", [](S s) { return one(ref::mom(s.close, 10)); }},
      {"highest(20)", [](S s) { return one(ref::highest(s.high, 20)); }},
      {"highest(5,close)", [](S s) { return one(ref::highest(s.close, 5)); }},
      {"lowest(20)", [](S s) { return one(ref::lowest(s.low, 20)); }},
      {"donchian(20)", [](S s) { return ref::donchian(s, 20); }},
      {"stddev(20)", [](S s) { return one(ref::stddev(s.close, 20, 1)); }},
      {"stddev(10,2)", [](S s) { return one(ref::stddev(s.close, 10, 2)); }},
      {"zscore(20)", [](S s) { return one(ref::zscore(s.close, 20)); }},
      {"rvol(20)", [](S s) { return one(ref::rvol(s.close, 20, 1)); }},
      {"rvol(10,252)", [](S s) { return one(ref::rvol(s.close, 10, 252)); }},
      {"linreg_slope(14)", [](S s) { return one(ref::linreg_slope(s.close, 14)); }},
      {"mid()", [](S s) { Vec v; for (auto& b : s.bars) v.push_back((b.bid + b.ask) / 2); return one(v); }},
      {"spread()", [](S s) { Vec v; for (auto& b : s.bars) v.push_back(b.ask - b.bid); return one(v); }},
      {"spread_bps()", [](S s) { Vec v; for (auto& b : s.bars) v.push_back((b.ask - b.bid) / ((b.bid + b.ask) / 2) * 1e4); return one(v); }},
      {"imbalance()", [](S s) {
         Vec v;
         for (auto& b : s.bars) v.push_back(b.bid_size + b.ask_size > 0 ? (b.bid_size - b.ask_size) / (b.bid_size + b.ask_size) : ref::kNaN);
         return one(v);
       }},
  };
}

bool close_enough(double got, double want) {
  if (std::isnan(got) || std::isnan(want)) return std::isnan(got) && std::isnan(want);
  const double diff = std::fabs(got - want);
  return diff <= 1e-9 || diff <= 1e-9 * std::max(std::fabs(got), std::fabs(want));
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b)); }

// Runs `spec` through a fresh IndicatorSet; returns outputs[k][bar].
std::vector<Vec> run(const IndicatorSpec& spec, const std::vector<model::Bar>& bars, IndicatorSet& set) {
  auto slot = set.add(spec);
  REQUIRE(slot.ok());
  const int outputs = static_cast<int>(spec_info(spec).outputs.size());
  std::vector<Vec> out(static_cast<std::size_t>(outputs));
  for (const auto& b : bars) {
    set.update(b);
    for (int k = 0; k < outputs; ++k) out[static_cast<std::size_t>(k)].push_back(set.value(*slot + k));
  }
  return out;
}

}  // namespace

TEST_CASE("every indicator equals its batch recomputation on random series", "[unit][ta]") {
  std::set<std::string> covered;
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const auto bars = test::random_bars(1500, seed);
    const ref::Series series = ref::make_series(bars);
    for (const Case& c : cases()) {
      INFO("spec " << c.spec << " seed " << seed);
      auto spec = parse_spec(c.spec);
      REQUIRE(spec.ok());
      covered.insert(spec->name);
      IndicatorSet set;
      const std::vector<Vec> got = run(*spec, bars, set);
      const std::vector<Vec> want = c.reference(series);
      REQUIRE(got.size() == want.size());
      const bool quote_feature = spec_info(*spec).takes_source == false && spec_lookback(*spec) == 0 && spec->name != "vwap";
      for (std::size_t k = 0; k < got.size(); ++k) {
        std::size_t first = 0;
        while (first < got[k].size() && std::isnan(got[k][first])) ++first;
        if (!quote_feature && spec->name != "vwap") CHECK(first == static_cast<std::size_t>(spec_lookback(*spec)));
        std::size_t bad = 0, at = 0;
        for (std::size_t i = 0; i < bars.size(); ++i)
          if (!close_enough(got[k][i], want[k][i]) && bad++ == 0) at = i;
        INFO("output " << k << " first mismatch at bar " << at << ": got " << format_double(got[k][at]) << ", want "
                       << format_double(want[k][at]));
        CHECK(bad == 0);
      }
    }
  }
  for (const IndicatorInfo& info : indicator_registry()) {
    INFO("indicator without a property case: " << info.name);
    CHECK(covered.count(std::string(info.name)) == 1);
  }
}

TEST_CASE("reset and re-feed reproduce every indicator bit for bit", "[unit][ta]") {
  const auto bars = test::random_bars(600, 11);
  for (const Case& c : cases()) {
    INFO("spec " << c.spec);
    auto spec = parse_spec(c.spec);
    REQUIRE(spec.ok());
    IndicatorSet set;
    const std::vector<Vec> first = run(*spec, bars, set);
    set.reset();
    CHECK(set.updates() == 0);
    CHECK(std::isnan(set.value(0)));
    std::vector<Vec> second(first.size());
    for (const auto& b : bars) {
      set.update(b);
      for (std::size_t k = 0; k < first.size(); ++k) second[k].push_back(set.value(static_cast<int>(k)));
    }
    for (std::size_t k = 0; k < first.size(); ++k)
      for (std::size_t i = 0; i < bars.size(); ++i) REQUIRE(same_bits(first[k][i], second[k][i]));

    // The bare Indicator interface resets the same way.
    auto ind = make_indicator(*spec);
    double a[kMaxOutputs], b[kMaxOutputs];
    std::vector<double> trace;
    for (const auto& bar : bars) {
      ind->update(bar, a);
      trace.insert(trace.end(), a, a + ind->output_count());
    }
    ind->reset();
    std::size_t j = 0;
    for (const auto& bar : bars) {
      ind->update(bar, b);
      for (int k = 0; k < ind->output_count(); ++k) REQUIRE(same_bits(trace[j++], b[k]));
    }
  }
}

TEST_CASE("an indicator added late equals one added before the first bar", "[unit][ta]") {
  const auto bars = test::random_bars(700, 21, 1'600'000'000LL * 1'000'000'000LL, 86'400LL * 1'000'000'000LL);
  std::vector<std::string> specs;
  for (const Case& c : cases()) specs.push_back(c.spec);
  specs.push_back("sma(4)@1w");
  specs.push_back("rsi(5)@1M");
  specs.push_back("macd(3,6,2)@1w");
  for (const std::string& text : specs) {
    for (std::size_t late_at : {std::size_t{1}, std::size_t{45}, std::size_t{300}}) {
      INFO("spec " << text << " added after " << late_at << " bars");
      auto spec = parse_spec(text);
      REQUIRE(spec.ok());
      IndicatorSet early(8, 16), late(8, 16);
      auto e_slot = early.add(*spec);
      REQUIRE(e_slot.ok());
      REQUIRE(late.add(*parse_spec("sma(3)")).ok());  // something already in the set
      const int outputs = static_cast<int>(spec_info(*spec).outputs.size());
      int l_slot = -1;
      for (std::size_t i = 0; i < bars.size(); ++i) {
        if (i == late_at) {
          auto s = late.add(*spec, i, [&](std::size_t j) { return bars[j]; });
          REQUIRE(s.ok());
          l_slot = *s;
          for (int k = 0; k < outputs; ++k)
            for (int off = 0; off < 20; ++off) REQUIRE(same_bits(early.value(*e_slot + k, off), late.value(l_slot + k, off)));
        }
        early.update(bars[i]);
        late.update(bars[i]);
        if (l_slot < 0) continue;
        for (int k = 0; k < outputs; ++k)
          for (int off = 0; off < 17; ++off) REQUIRE(same_bits(early.value(*e_slot + k, off), late.value(l_slot + k, off)));
      }
    }
  }
}
