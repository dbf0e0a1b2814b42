// Backtest throughput (issue 3), single thread unless stated:
//   pipeline/<strategy>   run_backtest over 1M preloaded generated 1-minute bars:
//                         indicators, Lua callbacks, state machine, simulated
//                         exchange, portfolio and the equity curve every bar
//                         (what `backtest` does after loading). Strategies:
//                         sma_cross, ema_cross, rsi_mean_reversion (strategies/),
//                         ten_indicators and noop (bench/backtest/strategies/);
//                         sma_cross_per_call: one host call per callback
//                         (the live path) instead of the batch loop;
//                         sma_cross_quiet: sma_cross's crossover read every
//                         bar, never trading (sma_cross minus it = trade path)
//   pipeline_threads/2    two backtests of sma_cross at once on two threads:
//                         bars_per_s is the sum (ideal: 2x pipeline/sma_cross)
//   command/csv           the whole `trading-engine backtest` process on a 1M-bar
//                         CSV with --no-cache: start, parse, run, write reports
//   command/cache         the same with the binary cache present (mmap, no parse)
//   command/csv_no_html   as command/csv without report.html
//   lua_callback/noop     one host->Lua call of an empty detect_opportunity
//                         (pcall, dispatch, bar refresh), no runner around it
//   lua_callback/one_indicator  the same reading ind.sma(20) (issue 4)
//   transitions           flip_flop.lua through the runner: two state-machine
//                         transitions per bar (Watch -> CloseWatch -> Watch)
// Counters: bars_per_s (rate), per_bar (time per bar), trades (to show the
// strategy traded), transitions_per_s, per_call.
// Scratch files go to $TE_BENCH_DIR (default /tmp/te-bench-data).
#include <benchmark/benchmark.h>

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/data/bar_generator.hpp"
#include "engine/runner/bar_history.hpp"
#include "engine/runner/runner_indicators.hpp"
#include "engine/script/strategy_host.hpp"

extern char** environ;

namespace {

using namespace te;

constexpr std::size_t kBars = 1'000'000;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "backtest bench: %s\n", what.c_str());
  std::exit(1);
}

std::string bench_dir() {
  const char* env = std::getenv("TE_BENCH_DIR");
  const std::string dir = env && *env ? env : "/tmp/te-bench-data";
  std::filesystem::create_directories(dir);
  return dir;
}

const model::BarSeries& bars() {
  static const model::BarSeries series = [] {
    // TE_BENCH_PIPELINE_BARS: fewer bars for instruction counts under
    // callgrind (docs/performance.md, "Profile-driven changes").
    const char* env = std::getenv("TE_BENCH_PIPELINE_BARS");
    const std::size_t count = env && *env ? std::strtoull(env, nullptr, 10) : kBars;
    auto s = data::generate_bars(data::GeneratorOptions{}, count, "SIM");
    if (!s) die(s.error().message);
    return std::move(*s);
  }();
  return series;
}

const script::StrategySource& strategy(const std::string& name) {
  static std::map<std::string, script::StrategySource> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  const std::string root = TE_SOURCE_DIR;
  std::string path = root + "/strategies/" + name + ".lua";
  if (!std::filesystem::exists(path)) path = root + "/bench/backtest/strategies/" + name + ".lua";
  auto s = script::read_strategy(path);
  if (!s) die(s.error().message);
  return cache.emplace(name, std::move(*s)).first->second;
}

const std::vector<script::StrategySource>& lua_indicators() {
  static const std::vector<script::StrategySource> files = [] {
    auto f = script::find_indicator_files(std::string(TE_SOURCE_DIR) + "/indicators");
    if (!f) die(f.error().message);
    return std::move(*f);
  }();
  return files;
}

// The configuration of `trading-engine backtest --cash 1000000 --commission 0.001`
// (the peers' setting: 0.1 % commission; enough cash that sma_cross's fixed
// 1,000-share stake at ~100 is never refused, so every cross trades).
constexpr double kCash = 1'000'000;
backtest::BacktestConfig cli_config() {
  backtest::BacktestConfig cfg;
  cfg.initial_cash = kCash;
  cfg.exchange.commission.rate = 0.001;
  cfg.keep_transitions = false;
  cfg.indicator_files = lua_indicators();
  return cfg;
}

void per_bar_counters(benchmark::State& state, double bars_done) {
  state.counters["bars_per_s"] = benchmark::Counter(bars_done, benchmark::Counter::kIsRate);
  state.counters["per_bar"] =
      benchmark::Counter(bars_done, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_pipeline(benchmark::State& state, const std::string& name) {
  const auto& data = bars();
  // "<strategy>_per_call": one host call per callback (SymbolRunner::on_bar,
  // the live path) instead of the batch loop, for the same-run comparison.
  const std::string suffix = "_per_call";
  const bool per_call = name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  const auto& src = strategy(per_call ? name.substr(0, name.size() - suffix.size()) : name);
  auto cfg = cli_config();
  cfg.batch = !per_call;
  double done = 0, trades = 0;
  for (auto _ : state) {
    auto r = backtest::run_backtest(cfg, data, src);
    if (!r) die(r.error().message);
    if (r->fault) die(name + ": " + r->fault->message);
    done += static_cast<double>(r->bars);
    trades = static_cast<double>(r->trades.size());
    benchmark::DoNotOptimize(r->final_equity);
  }
  per_bar_counters(state, done);
  state.counters["trades"] = trades;
}

// Rates are per CPU second of the benchmark thread (the default): on a shared
// machine wall time also counts other processes' time slices. Compare the
// "time" and "CPU" columns to see how busy the machine was.
BENCHMARK_CAPTURE(BM_pipeline, sma_cross, std::string("sma_cross"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_pipeline, ema_cross, std::string("ema_cross"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_pipeline, rsi_mean_reversion, std::string("rsi_mean_reversion"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_pipeline, ten_indicators, std::string("ten_indicators"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_pipeline, noop, std::string("noop"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_pipeline, sma_cross_quiet, std::string("sma_cross_quiet"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_pipeline, ema_cross_quiet, std::string("ema_cross_quiet"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_pipeline, ten_indicators_quiet, std::string("ten_indicators_quiet"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_pipeline, sma_cross_per_call, std::string("sma_cross_per_call"))->Unit(benchmark::kMillisecond);

// Two independent backtests at once: each thread runs its own (its own VM,
// exchange and portfolio); the data is shared read-only.
void BM_pipeline_threads(benchmark::State& state) {
  const auto& data = bars();
  const auto& src = strategy("sma_cross");
  const auto cfg = cli_config();
  const int threads = static_cast<int>(state.range(0));
  double done = 0;
  for (auto _ : state) {
    std::vector<std::size_t> counts(static_cast<std::size_t>(threads));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        auto r = backtest::run_backtest(cfg, data, src);
        if (!r) die(r.error().message);
        counts[static_cast<std::size_t>(t)] = r->bars;
      });
    for (auto& th : pool) th.join();
    for (auto c : counts) done += static_cast<double>(c);
  }
  state.counters["bars_per_s"] = benchmark::Counter(done, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_pipeline_threads)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// --- the whole command ----------------------------------------------------------

std::string csv_path() {
  static const std::string path = [] {
    const std::string p = bench_dir() + "/backtest-1m-" + std::to_string(kBars) + ".csv";
    if (!std::filesystem::exists(p)) {
      const std::string tmp = p + ".partial";
      if (auto st = data::generate_csv(data::GeneratorOptions{}, kBars, tmp); !st) die(st.error().message);
      std::filesystem::rename(tmp, p);
    }
    return p;
  }();
  return path;
}

struct CommandTime {
  double wall = 0;  // fork to exit
  double cpu = 0;   // user + system time of the child (all its threads)
};

// Runs the engine binary and returns its times.
CommandTime run_command(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(TE_ENGINE_BINARY));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, TE_ENGINE_BINARY, nullptr, nullptr, argv.data(), environ) != 0)
    die(std::string("cannot start ") + TE_ENGINE_BINARY);
  int status = 0;
  struct rusage usage {};
  if (wait4(pid, &status, 0, &usage) != pid) die("wait4 failed");
  const auto t1 = std::chrono::steady_clock::now();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    die(std::string("trading-engine") + cmd + " failed (exit " + std::to_string(WEXITSTATUS(status)) + ")");
  }
  const auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return {std::chrono::duration<double>(t1 - t0).count(), secs(usage.ru_utime) + secs(usage.ru_stime)};
}

enum class Load { Csv, Cache, CsvNoHtml };

void BM_command(benchmark::State& state, Load load) {
  const std::string csv = csv_path();
  const std::string out = bench_dir() + "/backtest-command-out";
  std::vector<std::string> args = {"backtest", "--strategy", std::string(TE_SOURCE_DIR) + "/strategies/sma_cross.lua",
                                   "--data", csv, "--out", out, "--quiet", "--cash", "1000000", "--commission", "0.001",
                                   "--indicators-dir", std::string(TE_SOURCE_DIR) + "/indicators"};
  if (load != Load::Cache) args.push_back("--no-cache");
  if (load == Load::CsvNoHtml) args.push_back("--no-html");
  if (load == Load::Cache) {
    // A fresh cache written by this build (older ones lack the source's SHA-256,
    // which would make every run rehash the CSV): made by the warm-up run.
    std::filesystem::remove(csv + ".tebars");
    run_command(args);
  }
  double done = 0, cpu = 0;
  for (auto _ : state) {
    const CommandTime t = run_command(args);
    state.SetIterationTime(t.wall);
    cpu += t.cpu;
    done += static_cast<double>(kBars);
  }
  per_bar_counters(state, done);  // per wall second (manual time)
  // Per CPU second of the child, all threads (the command hashes the data file
  // on a second thread): what the command costs, whatever the machine's load.
  state.counters["bars_per_cpu_s"] = done / cpu;
}
// Seven repetitions, not make bench's three: a whole process (fork, exec, page
// faults on fresh memory, a second thread) has outliers a median of three does
// not absorb (session 19: repetitions of 92-98 ms and one of 115 ms; two slow
// ones of three put the median 8 % off, a spread of 28-52 %).
BENCHMARK_CAPTURE(BM_command, csv, Load::Csv)->Unit(benchmark::kMillisecond)->UseManualTime()->Repetitions(7);
BENCHMARK_CAPTURE(BM_command, cache, Load::Cache)->Unit(benchmark::kMillisecond)->UseManualTime()->Repetitions(7);
BENCHMARK_CAPTURE(BM_command, csv_no_html, Load::CsvNoHtml)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime()
    ->Repetitions(7);

// --- components -------------------------------------------------------------------

// One host->Lua call per iteration, a new bar each time. With one_indicator the
// callback also reads ind.sma(20) (updated natively every bar, as the runner does).
void BM_lua_callback(benchmark::State& state, const std::string& name) {
  runner::GrowingHistory history;
  runner::RunnerIndicators indicators(history);
  script::HostOptions ho;
  ho.symbol = "SIM";
  ho.limits = script::make_limits(script::RunMode::Backtest);
  auto host = script::StrategyHost::create(strategy(name), ho, indicators, nullptr);
  if (!host) die(host.error().message);
  te_frame& f = (*host)->frame();
  const auto& data = bars();
  std::size_t i = 0;
  double calls = 0;
  for (auto _ : state) {
    const model::Bar& bar = data.at(i);
    if (++i == data.size()) i = 0;
    indicators.update(bar);
    f.bar_index = calls + 1;  // a new bar each call, so the bar view is refreshed too
    f.bar.close = bar.close;
    const int kind = (*host)->call(script::Callback::DetectOpportunity);
    if (kind < 0) die(name + ": " + (*host)->last_error().message);
    benchmark::DoNotOptimize(kind);
    ++calls;
  }
  state.counters["per_call"] = benchmark::Counter(calls, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK_CAPTURE(BM_lua_callback, noop, std::string("noop"));
BENCHMARK_CAPTURE(BM_lua_callback, one_indicator, std::string("one_indicator"));

void BM_transitions(benchmark::State& state) {
  const auto& data = bars();
  const auto& src = strategy("flip_flop");
  const auto cfg = cli_config();
  double transitions = 0, done = 0;
  for (auto _ : state) {
    auto r = backtest::run_backtest(cfg, data, src);
    if (!r) die(r.error().message);
    if (r->fault) die("flip_flop: " + r->fault->message);
    transitions += static_cast<double>(r->transition_count);
    done += static_cast<double>(r->bars);
  }
  state.counters["transitions_per_s"] = benchmark::Counter(transitions, benchmark::Counter::kIsRate);
  per_bar_counters(state, done);
}
BENCHMARK(BM_transitions)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
