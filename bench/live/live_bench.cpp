// te_bench_live: the live engine's costs (issue 8 targets, bench/targets.tsv).
//
//   latency/bar_to_order   a bar posted by the feed thread to a runner's strand
//                          until the strategy's order is accepted by the
//                          execution engine: p50/p99/max in microseconds
//   simulated/100_symbols  100 runners on simulated live feeds at 10 bars/s
//                          each: process CPU per symbol, % of one core
//   historical/symbols/100/<threads>  100 historical runners (sma_cross, one
//                          symbol each) replayed immediately on 1 or 2 worker
//                          threads: the bars/s of a 100-symbol backtest
//   memory/1000_runners    1000 runners started (each with its own Lua VM,
//                          account, exchange): process RSS in MiB
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/common/fresh_process.hpp"
#include "engine/core/clock.hpp"
#include "engine/data/bar_generator.hpp"
#include "engine/live/live_engine.hpp"
#include "engine/live/runner_unit.hpp"
#include "engine/script/vm_pool.hpp"

namespace {

using namespace te;

// Enters on one bar, leaves on the next: an order every bar.
constexpr const char* kFlipFlop = R"(
params = {}
function detect_opportunity(bar, ctx, ind) return { reason = "go" } end
function filter_commitment(bar, ctx, ind) return enter_long { qty = 1, reason = "in" } end
function manage_position(bar, ctx, ind) return exit_position("out") end
)";

script::StrategySource source(const char* name, const char* code) {
  auto s = script::make_strategy_source(name, code);
  if (!s) std::abort();
  return *s;
}

script::StrategySource sma_cross() {
  auto s = script::read_strategy(std::string(TE_SOURCE_DIR) + "/strategies/sma_cross.lua");
  if (!s) std::abort();
  return *s;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

// Stamps the moment an order reaches the exchange (accepted: the observer is
// told synchronously from inside ExecutionEngine::submit).
class OrderStamp final : public runner::RunnerObserver {
 public:
  void on_order_event(const runner::SymbolRunner&, const model::Order& o, std::string_view reason,
                      const model::Fill* fill, const model::Rejection* rejection) override {
    if (fill == nullptr && rejection == nullptr && reason.empty() && o.filled_qty == 0 && at_ns == 0)
      at_ns = monotonic_ns();
  }
  std::int64_t at_ns = 0;
};

void BM_BarToOrder(benchmark::State& state) {
  script::VmPool pool(script::make_limits(script::RunMode::Live));
  live::RunnerSpec spec;
  spec.name = "latency";
  spec.symbol = "LAT";
  spec.strategy = source("flipflop.lua", kFlipFlop);
  spec.source.kind = live::SourceKind::Live;
  spec.trading.keep_equity_curve = false;
  OrderStamp stamp;
  auto unit = live::RunnerUnit::create(spec, 0, pool, &stamp);
  if (!unit) return state.SkipWithError(unit.error().message.c_str());
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  auto strand = boost::asio::make_strand(io);
  std::thread worker([&] { io.run(); });
  std::atomic<bool> done{false};
  boost::asio::post(strand, [&] {
    (*unit)->start();
    done = true;
  });
  while (!done) std::this_thread::yield();

  std::vector<double> us;
  model::Bar bar;
  bar.ts_ns = 1'700'000'000'000'000'000;
  double price = 100;
  for (auto _ : state) {
    bar.ts_ns += 60'000'000'000;
    price += (bar.ts_ns / 60'000'000'000) % 2 ? 0.5 : -0.5;
    bar.open = bar.high = bar.low = bar.close = price;
    bar.high += 0.25;
    bar.low -= 0.25;
    bar.volume = 1000;
    stamp.at_ns = 0;
    done = false;
    const std::int64_t t0 = monotonic_ns();  // the feed hands the bar over
    boost::asio::post(strand, [&, b = bar] {
      (*unit)->on_bar(b);
      done.store(true, std::memory_order_release);
    });
    while (!done.load(std::memory_order_acquire)) {
    }
    if (stamp.at_ns) us.push_back(static_cast<double>(stamp.at_ns - t0) / 1e3);
  }
  work.reset();
  worker.join();
  state.counters["p50_us"] = percentile(us, 0.50);
  state.counters["p99_us"] = percentile(us, 0.99);
  state.counters["max_us"] = us.empty() ? 0 : *std::max_element(us.begin(), us.end());
  state.counters["orders"] = static_cast<double>(us.size());
}
BENCHMARK(BM_BarToOrder)->Name("latency/bar_to_order")->Iterations(20000)->Unit(benchmark::kMicrosecond);

std::vector<live::RunnerSpec> simulated_runners(std::size_t n, double bars_per_second) {
  const auto strategy = sma_cross();
  std::vector<live::RunnerSpec> specs;
  for (std::size_t i = 0; i < n; ++i) {
    live::RunnerSpec r;
    r.name = "sim" + std::to_string(i);
    r.symbol = "SIM" + std::to_string(i);
    r.strategy = strategy;
    r.trading.params = {{"fast", "5"}, {"slow", "20"}, {"stake", "10"}};
    r.trading.keep_equity_curve = false;
    r.source.kind = live::SourceKind::Simulated;
    r.source.generator.seed = i + 1;
    r.source.bars_per_second = bars_per_second;
    specs.push_back(std::move(r));
  }
  return specs;
}

void BM_SimulatedSymbols(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const double seconds = 5;
  double cpu_pct = 0;
  std::int64_t bars = 0;
  for (auto _ : state) {
    live::EngineOptions eo;
    eo.threads = 2;
    auto eng = live::LiveEngine::create(eo, simulated_runners(n, 10));
    if (!eng) return state.SkipWithError(eng.error().message.c_str());
    if (!(*eng)->start()) return state.SkipWithError("start failed");
    std::this_thread::sleep_for(std::chrono::seconds(1));  // warm-up: VMs, indicators
    const double c0 = cpu_seconds();
    const std::int64_t w0 = monotonic_ns();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const double cpu = cpu_seconds() - c0;
    const double wall = static_cast<double>(monotonic_ns() - w0) / 1e9;
    for (const auto& s : (*eng)->status()) bars += s.bars;
    (*eng)->shutdown();
    cpu_pct = 100.0 * cpu / wall / static_cast<double>(n);
  }
  state.counters["cpu_pct_per_symbol"] = cpu_pct;
  state.counters["bars"] = static_cast<double>(bars);
}
BENCHMARK(BM_SimulatedSymbols)->Name("simulated/symbols_10_bars_per_s")->Arg(100)->Iterations(1)
    ->Unit(benchmark::kSecond);

// Issue 3, scaling: a backtest of many symbols at once, as `trading-engine run`
// runs one (a portfolio of runners, each its own symbol, strategy VM and
// account, on the engine's worker threads): `symbols` historical runners of
// sma_cross replayed immediately, each over 100,000 generated 1-minute
// bars (one series shared read-only; the runners do not depend on each other's
// data), with the backtest command's trading settings. bars_per_s is the sum of
// every runner's bars over the wall time from start() to the last runner's
// end; CPU time is the process's (all threads).
// TE_BENCH_HISTORICAL_BARS: fewer bars per runner for instruction counts under callgrind.
std::size_t historical_bars() {
  static const std::size_t n = [] {
    const char* env = std::getenv("TE_BENCH_HISTORICAL_BARS");
    return env && *env ? static_cast<std::size_t>(std::strtoull(env, nullptr, 10)) : std::size_t{100'000};
  }();
  return n;
}

void BM_HistoricalSymbols(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  static const auto series = [] {
    auto s = data::generate_bars(data::GeneratorOptions{}, historical_bars(), "SIM");
    if (!s) std::abort();
    return std::make_shared<const model::BarSeries>(std::move(*s));
  }();
  const auto strategy = sma_cross();
  double bars = 0, cpu = 0;
  for (auto _ : state) {
    std::vector<live::RunnerSpec> specs;
    for (std::size_t i = 0; i < n; ++i) {
      live::RunnerSpec r;
      r.name = "hist" + std::to_string(i);
      r.symbol = "SIM" + std::to_string(i);
      r.strategy = strategy;
      r.trading.initial_cash = 1'000'000;
      r.trading.exchange.commission.rate = 0.001;
      r.source.kind = live::SourceKind::Historical;
      r.source.bars = series;
      specs.push_back(std::move(r));
    }
    live::EngineOptions eo;
    eo.threads = threads;
    eo.hot_reload = false;
    auto eng = live::LiveEngine::create(eo, std::move(specs));
    if (!eng) return state.SkipWithError(eng.error().message.c_str());
    const double c0 = cpu_seconds();
    const std::int64_t w0 = monotonic_ns();
    if (!(*eng)->start()) return state.SkipWithError("start failed");
    while (!(*eng)->finished()) std::this_thread::sleep_for(std::chrono::microseconds(200));
    const double wall = static_cast<double>(monotonic_ns() - w0) / 1e9;
    cpu += cpu_seconds() - c0;
    std::int64_t done = 0;
    for (const auto& s : (*eng)->status()) done += s.bars;
    (*eng)->shutdown();
    if (static_cast<std::size_t>(done) != n * historical_bars()) return state.SkipWithError("a runner did not finish its bars");
    bars += static_cast<double>(done);
    state.SetIterationTime(wall);
  }
  state.counters["bars_per_s"] = benchmark::Counter(bars, benchmark::Counter::kIsRate);
  state.counters["bars_per_cpu_s"] = bars / cpu;
}
BENCHMARK(BM_HistoricalSymbols)->Name("historical/symbols")->Args({100, 1})->Args({100, 2})->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// In a fresh process of its own (bench/common/fresh_process.hpp): after the
// other cases, the process's RSS also held what they left resident.
void BM_RunnerMemory(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  if (!bench::in_child()) return bench::run_in_fresh_process(state, "^memory/runners/" + std::to_string(n) + "/");
  double rss = 0, before = 0;
  for (auto _ : state) {
    before = rss_mib();
    live::EngineOptions eo;
    eo.threads = 2;
    auto eng = live::LiveEngine::create(eo, simulated_runners(n, 1));
    if (!eng) return state.SkipWithError(eng.error().message.c_str());
    if (!(*eng)->start()) return state.SkipWithError("start failed");
    std::this_thread::sleep_for(std::chrono::seconds(3));  // every runner started and trading
    rss = rss_mib();
    (*eng)->shutdown();
  }
  state.counters["rss_mib"] = rss;
  state.counters["rss_mib_per_runner"] = (rss - before) / static_cast<double>(n);
  bench::report_to_parent(state);
}
BENCHMARK(BM_RunnerMemory)->Name("memory/runners")->Arg(1000)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
