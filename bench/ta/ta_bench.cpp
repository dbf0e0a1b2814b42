// ns per update of every native indicator: the bare kernel (inlined, what the
// 10 ns budget for SMA/EMA/RSI/ATR refers to), the same through the virtual
// Indicator interface, the block pass over preloaded columns a backtest runs
// (columns/, the ten indicators of the ten_indicators benchmark strategy), and a
// whole IndicatorSet of the `indicators` example list.
//   build/bench/ta/te_ta_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/ta/indicator_set.hpp"
#include "engine/ta/microstructure.hpp"
#include "engine/ta/moving_average.hpp"
#include "engine/ta/oscillators.hpp"
#include "engine/ta/registry.hpp"
#include "engine/ta/spec.hpp"
#include "engine/ta/trend.hpp"
#include "engine/ta/volatility.hpp"
#include "engine/ta/volume.hpp"

using namespace te;
using namespace te::ta;

namespace {

constexpr std::size_t kBlock = 4096;  // bars per benchmark iteration

const std::vector<model::Bar>& bars() {
  static const std::vector<model::Bar> b = [] {
    std::mt19937_64 rng(42);
    std::normal_distribution<double> ret(0.0, 0.01);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<model::Bar> v;
    double close = 100;
    for (std::size_t i = 0; i < kBlock; ++i) {
      model::Bar x;
      x.ts_ns = static_cast<std::int64_t>(i) * 60'000'000'000LL;
      x.open = close;
      close *= std::exp(ret(rng));
      x.close = close;
      x.high = std::max(x.open, x.close) * (1 + 0.002 * u(rng));
      x.low = std::min(x.open, x.close) * (1 - 0.002 * u(rng));
      x.volume = std::floor(1000 + 100000 * u(rng));
      x.bid = close - 0.01;
      x.ask = close + 0.01;
      x.bid_size = std::floor(1000 * u(rng));
      x.ask_size = std::floor(1000 * u(rng));
      v.push_back(x);
    }
    return v;
  }();
  return b;
}

void per_update(benchmark::State& state) {
  // Inverted rate = seconds per update; scaled to nanoseconds by the reporter.
  state.counters["per_update"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(kBlock),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

template <class K, class Feed>
void bench_kernel(benchmark::State& state, K kernel, Feed feed) {
  const auto& b = bars();
  double out[kMaxOutputs];
  for (auto _ : state) {
    for (const model::Bar& bar : b) {
      feed(kernel, bar);
      kernel.write(out);
      benchmark::DoNotOptimize(out[0]);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kBlock));
  per_update(state);
}

// The indicator `text` names, or null after marking the case skipped.
std::unique_ptr<Indicator> indicator_or_skip(benchmark::State& state, const std::string& text) {
  auto spec = parse_spec(text);
  if (!spec) {
    state.SkipWithError(spec.error().message.c_str());
    return nullptr;
  }
  return make_indicator(*spec);
}

void bench_virtual(benchmark::State& state, const std::string& text) {
  auto ind = indicator_or_skip(state, text);
  if (!ind) return;
  const auto& b = bars();
  double out[kMaxOutputs];
  for (auto _ : state) {
    for (const model::Bar& bar : b) {
      ind->update(bar, out);
      benchmark::DoNotOptimize(out[0]);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kBlock));
  per_update(state);
}

// The block pass over preloaded bars (Indicator::update_columns, what a
// backtest's IndicatorSet runs): IndicatorSet::kAheadBlock bars per call.
void bench_columns(benchmark::State& state, const std::string& text) {
  auto ind = indicator_or_skip(state, text);
  if (!ind) return;
  const auto& b = bars();
  static const std::vector<std::vector<double>> cols = [&b] {
    std::vector<std::vector<double>> c(5);
    for (const model::Bar& bar : b) {
      c[0].push_back(bar.open);
      c[1].push_back(bar.high);
      c[2].push_back(bar.low);
      c[3].push_back(bar.close);
      c[4].push_back(bar.volume);
    }
    return c;
  }();
  static const std::vector<std::int64_t> ts(b.size(), 0);
  model::BarSeries::Columns c;
  c.ts_ns = ts.data();
  c.open = cols[0].data();
  c.high = cols[1].data();
  c.low = cols[2].data();
  c.close = cols[3].data();
  c.volume = cols[4].data();
  constexpr std::size_t block = IndicatorSet::kAheadBlock;
  std::vector<double> out(block * kMaxOutputs);
  for (auto _ : state) {
    for (std::size_t i = 0; i < b.size(); i += block) {
      ind->update_columns(c, i, std::min(block, b.size() - i), out.data(), block);
      benchmark::DoNotOptimize(out[0]);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kBlock));
  per_update(state);
}

void bench_set(benchmark::State& state, const std::string& list) {
  auto specs = parse_spec_list(list);
  if (!specs) {
    state.SkipWithError(specs.error().message.c_str());
    return;
  }
  IndicatorSet set;
  for (const auto& s : *specs) (void)set.add(s);
  const auto& b = bars();
  for (auto _ : state) {
    for (const model::Bar& bar : b) set.update(bar);
    benchmark::DoNotOptimize(set.view()->current[0]);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kBlock));
  per_update(state);
}

const FeedSource kClose{Source::close};

void register_all() {
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("kernel/sma(20)", [](benchmark::State& s) { bench_kernel(s, Sma(20), kClose); });
  RegisterBenchmark("kernel/ema(20)", [](benchmark::State& s) { bench_kernel(s, Ema(20), kClose); });
  RegisterBenchmark("kernel/rsi(14)", [](benchmark::State& s) { bench_kernel(s, Rsi(14), kClose); });
  RegisterBenchmark("kernel/atr(14)", [](benchmark::State& s) { bench_kernel(s, Atr(14), FeedBar{}); });
  RegisterBenchmark("kernel/wma(20)", [](benchmark::State& s) { bench_kernel(s, Wma(20), kClose); });
  RegisterBenchmark("kernel/dema(20)", [](benchmark::State& s) { bench_kernel(s, Dema(20), kClose); });
  RegisterBenchmark("kernel/tema(20)", [](benchmark::State& s) { bench_kernel(s, Tema(20), kClose); });
  RegisterBenchmark("kernel/macd(12,26,9)", [](benchmark::State& s) { bench_kernel(s, Macd(12, 26, 9), kClose); });
  RegisterBenchmark("kernel/bbands(20,2,2)", [](benchmark::State& s) { bench_kernel(s, Bbands(20, 2, 2), kClose); });
  RegisterBenchmark("kernel/trange()", [](benchmark::State& s) { bench_kernel(s, TrueRange(), FeedBar{}); });
  RegisterBenchmark("kernel/stoch(14,3,3)", [](benchmark::State& s) { bench_kernel(s, Stoch(14, 3, 3), FeedBar{}); });
  RegisterBenchmark("kernel/stochrsi(14,5,3)", [](benchmark::State& s) { bench_kernel(s, StochRsi(14, 5, 3), kClose); });
  RegisterBenchmark("kernel/willr(14)", [](benchmark::State& s) { bench_kernel(s, Willr(14), FeedBar{}); });
  RegisterBenchmark("kernel/cci(20)", [](benchmark::State& s) { bench_kernel(s, Cci(20), FeedBar{}); });
  RegisterBenchmark("kernel/adx(14)", [](benchmark::State& s) { bench_kernel(s, Adx(14), FeedBar{}); });
  RegisterBenchmark("kernel/plus_di(14)", [](benchmark::State& s) { bench_kernel(s, PlusDi(14), FeedBar{}); });
  RegisterBenchmark("kernel/minus_di(14)", [](benchmark::State& s) { bench_kernel(s, MinusDi(14), FeedBar{}); });
  RegisterBenchmark("kernel/obv()", [](benchmark::State& s) { bench_kernel(s, Obv(), FeedSourceVolume{Source::close}); });
  RegisterBenchmark("kernel/vwap()", [](benchmark::State& s) { bench_kernel(s, Vwap(0, {}), FeedBar{}); });
  RegisterBenchmark("kernel/vwap(20)", [](benchmark::State& s) { bench_kernel(s, Vwap(20, {}), FeedBar{}); });
  RegisterBenchmark("kernel/vwap(reset=1)",
                    [](benchmark::State& s) { bench_kernel(s, Vwap(0, Timeframe{Timeframe::Unit::day, 1}), FeedBar{}); });
  RegisterBenchmark("kernel/roc(10)", [](benchmark::State& s) { bench_kernel(s, Roc(10), kClose); });
  RegisterBenchmark("kernel/mom(10)", [](benchmark::State& s) { bench_kernel(s, Mom(10), kClose); });
  RegisterBenchmark("kernel/highest(20)", [](benchmark::State& s) { bench_kernel(s, Highest(20), FeedSource{Source::high}); });
  RegisterBenchmark("kernel/lowest(20)", [](benchmark::State& s) { bench_kernel(s, Lowest(20), FeedSource{Source::low}); });
  RegisterBenchmark("kernel/donchian(20)", [](benchmark::State& s) { bench_kernel(s, Donchian(20), FeedBar{}); });
  RegisterBenchmark("kernel/stddev(20)", [](benchmark::State& s) { bench_kernel(s, StdDev(20, 1), kClose); });
  RegisterBenchmark("kernel/zscore(20)", [](benchmark::State& s) { bench_kernel(s, ZScore(20), kClose); });
  RegisterBenchmark("kernel/rvol(20,252)", [](benchmark::State& s) { bench_kernel(s, RealizedVol(20, 252), kClose); });
  RegisterBenchmark("kernel/linreg_slope(14)", [](benchmark::State& s) { bench_kernel(s, LinRegSlope(14), kClose); });
  RegisterBenchmark("kernel/mid()", [](benchmark::State& s) { bench_kernel(s, Mid(), FeedBar{}); });
  RegisterBenchmark("kernel/spread()", [](benchmark::State& s) { bench_kernel(s, Spread(), FeedBar{}); });
  RegisterBenchmark("kernel/spread_bps()", [](benchmark::State& s) { bench_kernel(s, SpreadBps(), FeedBar{}); });
  RegisterBenchmark("kernel/imbalance()", [](benchmark::State& s) { bench_kernel(s, Imbalance(), FeedBar{}); });

  // Every registry entry with its default parameters, through the virtual interface.
  for (const IndicatorInfo& info : indicator_registry()) {
    const std::string text = std::string(info.name) + "()";
    RegisterBenchmark(("virtual/" + text).c_str(), [text](benchmark::State& s) { bench_virtual(s, text); });
  }

  // The ten indicators of bench/backtest/strategies/ten_indicators.lua, as a
  // backtest computes them.
  for (const char* text : {"sma(50)", "ema(20)", "rsi(14)", "macd(12,26,9)", "bbands(20,2,2)", "atr(14)",
                           "stoch(14,3,3)", "cci(20)", "adx(14)", "roc(10)"})
    RegisterBenchmark((std::string("columns/") + text).c_str(),
                      [t = std::string(text)](benchmark::State& s) { bench_columns(s, t); });

  const std::string example =
      "sma(20),ema(20),rsi(14),macd(12,26,9),bbands(20,2,2),atr(14),stoch(14,3,3),willr(14),cci(20),adx(14),obv(),vwap()";
  RegisterBenchmark("set/12 indicators (indicators example)", [example](benchmark::State& s) { bench_set(s, example); });
  RegisterBenchmark("set/sma(10)+sma(30)", [](benchmark::State& s) { bench_set(s, "sma(10),sma(30)"); });
  RegisterBenchmark("set/sma(10)@1h+rsi(14)@1d on 1m bars",
                    [](benchmark::State& s) { bench_set(s, "sma(10)@1h,rsi(14)@1d"); });
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
