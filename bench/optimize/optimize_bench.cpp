// The optimiser at scale, through run_search exactly as `trading-engine
// optimize` runs it (every core, one runner and VM per combination, the series
// shared read-only, no equity curve, results streamed to a CSV in a scratch
// directory).
//
//   optimize_grid/acceptance  the acceptance run: 1,000 combinations of
//       strategies/sma_cross.lua (fast = 2..51 x slow = 60..174 step 6) over
//       1,000,000 generated 1-minute bars; budget 60 s on the 2-core machine.
//       `--combos N` / `--bars N` (before the Google Benchmark flags) shrink
//       it for quick runs (bench/optimize/bench.args); the counters say what ran.
//   optimize_grid/100k_x100/own_indicators and .../shared_indicators: a
//       100-combination grid without and with shared indicator series
//       (ta::SeriesCache): what sharing saves.
//   one_combination/1M  one combination alone, single thread.
//
// Counters (read by bench/run.sh from --benchmark_format=json):
//   wall_s, combos_per_s, bar_evals_per_s (bars x combinations per second),
//   cpu_ns_per_bar_combo (user + system CPU of all threads per bar per
//   combination), peak_rss_mb (process peak), rss_growth_mb (RSS at the end
//   minus RSS after 10 % of the combinations: flat memory means ~0),
//   cache_computed / cache_hits (indicator series computed once / reused),
//   within_budget (1 when wall_s <= 60 for the acceptance run).
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "engine/backtest/optimizer.hpp"
#include "engine/core/clock.hpp"
#include "engine/data/bar_generator.hpp"

using namespace te;

namespace {

long current_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

const model::BarSeries& series(std::size_t bars) {
  static std::map<std::size_t, model::BarSeries> cache;
  auto it = cache.find(bars);
  if (it != cache.end()) return it->second;
  data::GeneratorOptions g;
  g.seed = 7;
  auto s = data::generate_bars(g, bars, "SIM");
  if (!s) {
    std::fprintf(stderr, "generate: %s\n", s.error().message.c_str());
    std::exit(1);
  }
  return cache.emplace(bars, std::move(*s)).first->second;
}

const script::StrategySource& sma_cross() {
  static const script::StrategySource s = [] {
    auto r = script::read_strategy(TE_SOURCE_DIR "/strategies/sma_cross.lua");
    if (!r) {
      std::fprintf(stderr, "%s\n", r.error().message.c_str());
      std::exit(1);
    }
    return std::move(*r);
  }();
  return s;
}

backtest::SearchJob grid_job(const model::BarSeries& data, std::size_t combos, unsigned threads) {
  backtest::SearchJob job;
  // 20 slow values; the fast axis has combos / 20 values (50 for 1,000).
  const std::size_t fast_values = std::max<std::size_t>(1, (combos + 19) / 20);
  job.plan.space.axes.push_back(*backtest::parse_axis("fast=2:" + std::to_string(1 + fast_values) + ":1"));
  job.plan.space.axes.push_back(*backtest::parse_axis("slow=60:174:6"));
  job.objective = backtest::Objective::Sharpe;
  job.base.params = {{"stake", "10"}};
  job.base.exchange.commission.rate = 0.0005;
  job.base.keep_transitions = false;
  job.data = &data;
  job.strategy = &sma_cross();
  job.threads = threads;
  return job;
}

// bars, combinations, shared indicator series
void BM_OptimizeGrid(benchmark::State& state, std::size_t bars, std::size_t combos, bool share) {
  // As `trading-engine optimize` does: keep freed memory in the process.
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  const model::BarSeries& data = series(bars);
  const std::string dir = std::filesystem::temp_directory_path() / ("te-bench-optimize-" + std::to_string(::getpid()));
  for (auto _ : state) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    backtest::SearchJob job = grid_job(data, combos, threads);
    job.results_path = dir + "/results.csv";
    job.indicator_cache_bytes = share ? std::size_t{256} << 20 : 0;
    long rss_at_10 = 0;
    job.progress = [&](std::uint64_t done, std::uint64_t all, const backtest::ComboResult*) {
      if (!rss_at_10 && done * 10 >= all) rss_at_10 = current_rss_kb();
    };
    const std::int64_t t0 = monotonic_ns();
    const double cpu0 = cpu_seconds();
    auto r = backtest::run_search(job);
    const double secs = static_cast<double>(monotonic_ns() - t0) / 1e9;
    const double cpu = cpu_seconds() - cpu0;
    std::filesystem::remove_all(dir);
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    state.SetIterationTime(secs);
    const double evals = static_cast<double>(bars) * static_cast<double>(r->total);
    state.counters["wall_s"] = secs;
    state.counters["combos_per_s"] = static_cast<double>(r->total) / secs;
    state.counters["bar_evals_per_s"] = evals / secs;
    state.counters["cpu_ns_per_bar_combo"] = cpu / evals * 1e9;
    state.counters["peak_rss_mb"] = static_cast<double>(peak_rss_kb()) / 1024;
    state.counters["rss_growth_mb"] = static_cast<double>(current_rss_kb() - rss_at_10) / 1024;
    state.counters["cache_computed"] = static_cast<double>(r->indicator_cache.computed);
    state.counters["cache_hits"] = static_cast<double>(r->indicator_cache.hits);
    state.counters["threads"] = threads;
    state.counters["bars"] = static_cast<double>(bars);
    state.counters["combinations"] = static_cast<double>(r->total);
    // The 60 s budget is for 1,000 combinations over 1M bars; a smaller run is
    // scaled to it (same per-combination cost).
    state.counters["projected_1000x1M_s"] = secs * 1e9 / evals;
    state.counters["within_budget"] = secs * 1e9 / evals <= 60 ? 1 : 0;
  }
}

// One combination on one thread: the per-bar cost without parallelism.
void BM_OneCombination(benchmark::State& state, std::size_t bars) {
  const model::BarSeries& data = series(bars);
  for (auto _ : state) {
    backtest::SearchJob job = grid_job(data, 1, 1);
    job.plan.space.axes = {*backtest::parse_axis("fast=10"), *backtest::parse_axis("slow=60")};
    const double cpu0 = cpu_seconds();
    const backtest::ComboResult r = backtest::evaluate_combination(job, 0);
    const double cpu = cpu_seconds() - cpu0;
    benchmark::DoNotOptimize(r.objective);
    state.counters["cpu_ns_per_bar"] = cpu / static_cast<double>(bars) * 1e9;
    state.counters["trades"] = static_cast<double>(r.metrics.trades);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Our own flags first (bench/optimize/bench.args), the rest to Google Benchmark.
  std::size_t bars = 1'000'000, combos = 1000;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--bars") && i + 1 < argc) bars = std::strtoull(argv[++i], nullptr, 10);
    else if (!std::strcmp(argv[i], "--combos") && i + 1 < argc) combos = std::strtoull(argv[++i], nullptr, 10);
    else rest.push_back(argv[i]);
  }
  benchmark::RegisterBenchmark("optimize_grid/acceptance", BM_OptimizeGrid, bars, combos, true)
      ->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
  benchmark::RegisterBenchmark("optimize_grid/100k_x100/own_indicators", BM_OptimizeGrid, std::size_t{100'000},
                               std::size_t{100}, false)
      ->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
  benchmark::RegisterBenchmark("optimize_grid/100k_x100/shared_indicators", BM_OptimizeGrid, std::size_t{100'000},
                               std::size_t{100}, true)
      ->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
  benchmark::RegisterBenchmark("one_combination/1M", BM_OneCombination, std::size_t{1'000'000})
      ->Iterations(1)->Unit(benchmark::kMillisecond);
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
