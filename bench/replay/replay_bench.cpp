// Session recording and replay benchmark (issue 7), Google Benchmark with the
// figures as counters (bench/run.sh reads them from the JSON output).
//
// BM_Record/<strategy>/<mode>: whole backtests over generated 1-minute bars
// (TE_BENCH_REPLAY_BARS, default 1,000,000, also with --quick, which `make
// bench` passes through bench/replay/bench.args), recording off and on
// run back to back in each repetition (so machine load hits both alike), timed
// from the start of the run to the journal closed on disk (a writer thread
// that falls behind is counted). Counters, medians over TE_BENCH_REPLAY_RUNS
// pairs per repetition (default 3; 1 with --quick):
//   bars_per_s, off_bars_per_s   wall-clock throughput recording on / off
//   loss_pct                     1 - on/off throughput (issue 7: full <= 30, delta <= 15)
//   thread_loss_pct              the same on the backtest thread's CPU clock
//   cpu_loss_pct                 the same on the process CPU clock (both threads)
//   thread_ns_per_bar, off_thread_ns_per_bar   backtest-thread CPU per bar
//   writer_ns_per_bar            CPU of the other threads (the journal writer) per bar, with the
//                                session's open and finish on the calling thread
//   writer_thread_ns_per_bar     the journal writer thread's own CPU clock per bar
//   events_per_bar, bytes_per_event (on disk)
//   open_ms, run_ms, close_ms     the recorded run's wall time: creating the session,
//                                the backtest, finishing the journal (off_ms: the off run)
// Recording settings are `backtest --record`'s defaults (no indicator values),
// but <mode>/uncompressed stores the journal's blocks uncompressed (`--record-compression
// none`; TE_BENCH_REPLAY_COMPRESSION=none does that in every case, for profiling;
// TE_BENCH_REPLAY_ACCELERATION=N sets LZ4's acceleration in every case,
// TE_BENCH_REPLAY_BLOCK_SIZE=N the writer's target raw block size);
// the backtest is `--cash 1000000 --commission 0.001`, as in bench/backtest.
// Wall-clock loss needs a free second core for the writer thread; on a loaded
// machine thread_loss_pct is what the trading thread pays.
//
// BM_Read/<mode>: open + index + verify + decode every event of a recorded
// journal (delta states rebuilt): events_per_s (issue 7: >= 5M). BM_Scan: the
// envelope-only scan. BM_SeekTime, BM_RunnerView: random seek and state
// reconstruction latency (us).
//
//   build/bench/replay/te_bench_replay [--quick] [--benchmark_filter=Record]
#include <benchmark/benchmark.h>

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/core/sha256.hpp"
#include "engine/data/bar_generator.hpp"
#include "engine/journal/journal_reader.hpp"
#include "engine/journal/replay_cursor.hpp"
#include "engine/runner/session_recorder.hpp"

namespace {

using namespace te;

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Case {
  const char* name;
  bool record;
  journal::StorageMode mode;
  runner::StateEvents states;
  bool compress = true;  // false: the journal's blocks stored uncompressed ([event_sourcing] compression = "none")
};

const Case kOff = {"off", false, journal::StorageMode::Full, runner::StateEvents::Activity};
const Case kCases[] = {
    {"full", true, journal::StorageMode::Full, runner::StateEvents::Activity},
    {"delta", true, journal::StorageMode::Delta, runner::StateEvents::Activity},
    {"full/every_bar", true, journal::StorageMode::Full, runner::StateEvents::EveryBar},
    {"delta/every_bar", true, journal::StorageMode::Delta, runner::StateEvents::EveryBar},
    {"full/uncompressed", true, journal::StorageMode::Full, runner::StateEvents::Activity, false},
    {"delta/uncompressed", true, journal::StorageMode::Delta, runner::StateEvents::Activity, false},
};

struct Sample {
  double wall = 0, thread_cpu = 0, process_cpu = 0;
  double writer_thread_cpu = 0;  // the writer thread's own clock
  double open_wall = 0, run_wall = 0, close_wall = 0;  // recording: create / backtest / finish
  std::uint64_t events = 0, bytes = 0, states = 0;
  std::string journal;  // kept for the reading benchmark
};

Sample run_case(const Case& c, const model::BarSeries& bars, const script::StrategySource& src,
                const std::string& dir, int index) {
  Sample s;
  backtest::BacktestConfig cfg;
  cfg.keep_transitions = false;
  cfg.exchange.commission.rate = 0.001;
  // As bench/backtest: enough cash for the strategies' fixed 1,000-share
  // stake, so the run trades instead of having every entry refused.
  cfg.initial_cash = 1'000'000;
  std::unique_ptr<runner::SessionRecorder> session;
  const double w0 = wall_seconds();
  const double p0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  if (c.record) {
    runner::SessionRecorderOptions o = runner::SessionRecorderOptions::for_backtest();
    o.base_dir = dir;
    o.session_id = "bench-" + std::to_string(index);
    o.writer.storage_mode = c.mode;
    o.writer.compress = c.compress;
    // TE_BENCH_REPLAY_COMPRESSION=none: every case's blocks stored uncompressed (for profiling).
    if (const char* z = std::getenv("TE_BENCH_REPLAY_COMPRESSION")) o.writer.compress = std::string(z) != "none";
    // TE_BENCH_REPLAY_ACCELERATION=N: LZ4's acceleration in every case (for profiling).
    if (const char* a = std::getenv("TE_BENCH_REPLAY_ACCELERATION")) o.writer.acceleration = std::atoi(a);
    // TE_BENCH_REPLAY_BLOCK_SIZE=N: the writer's target raw block size in every case (for profiling).
    if (const char* b = std::getenv("TE_BENCH_REPLAY_BLOCK_SIZE")) {
      o.writer.block_size = static_cast<std::uint32_t>(std::strtoul(b, nullptr, 10));
    }
    // As `backtest --record` records by default: indicator values are not
    // stored (inspect-event recomputes them from the recorded bars).
    o.writer.include_indicators = false;
    o.recorder.state_events = c.states;
    o.recorder.timeframe = "1m";
    journal::SessionMeta meta;
    meta.mode = "backtest";
    meta.strategies.push_back({"bench", src.path, "", {bars.symbol()}, Value()});
    auto rec = runner::SessionRecorder::create(o, meta, {src.code});
    if (!rec) {
      std::fprintf(stderr, "error: %s\n", rec.error().message.c_str());
      std::exit(1);
    }
    session = std::move(*rec);
    cfg.observer = &session->add_runner();
  }
  const double t0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  const double w1 = wall_seconds();
  auto r = backtest::run_backtest(cfg, bars, src);
  s.thread_cpu = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
  const double w2 = wall_seconds();
  s.open_wall = w1 - w0;
  s.run_wall = w2 - w1;
  if (!r) {
    std::fprintf(stderr, "error: %s\n", r.error().message.c_str());
    std::exit(1);
  }
  if (session) {
    if (auto st = session->finish("end_of_data", Value(), Value()); !st) {
      std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
      std::exit(1);
    }
    const auto ws = session->writer_stats();
    s.events = ws.written;
    s.writer_thread_cpu = static_cast<double>(ws.writer_thread_cpu_ns) / 1e9;
    s.bytes = ws.file_bytes;
    s.states = ws.state_full + ws.state_delta;
    s.journal = session->dir().journal_path();
  }
  s.wall = wall_seconds() - w0;
  s.close_wall = s.wall - (w2 - w0);
  s.process_cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - p0;
  return s;
}

// --quick: one pair per repetition. (It also ran 200,000 bars until session 14:
// there the runs' fixed costs, the JIT's warm-up above all, were a third of the
// unrecorded run's time and made the recording's share look smaller: 35 % of
// loss at 200k bars was 40-56 % at 1M.)
bool g_quick = false;

struct Setup {
  std::size_t nbars = 1'000'000;
  int runs = 3;
  std::string dir;
  std::string only;  // TE_BENCH_REPLAY_ONLY
  model::BarSeries bars;
  std::vector<std::pair<std::string, std::string>> journals;  // mode -> a kept journal (sma_cross)
};

Setup& setup() {
  static Setup s = [] {
    Setup st;
    if (g_quick) st.runs = 1;
    if (const char* b = std::getenv("TE_BENCH_REPLAY_BARS")) st.nbars = std::stoull(b);
    if (const char* r = std::getenv("TE_BENCH_REPLAY_RUNS")) st.runs = std::max(1, std::atoi(r));
    if (const char* o = std::getenv("TE_BENCH_REPLAY_ONLY")) st.only = o;
    const char* env_dir = std::getenv("TE_BENCH_DIR");
    st.dir = (std::filesystem::path(env_dir ? env_dir : std::filesystem::temp_directory_path().string()) /
              ("te-bench-replay-" + std::to_string(::getpid())))
                 .string();
    data::GeneratorOptions go;
    go.seed = 7;
    auto gen = data::BarGenerator::create(go);
    model::BarSeriesBuilder b;
    b.reserve(st.nbars);
    for (std::size_t i = 0; i < st.nbars; ++i) b.push(gen->next());
    st.bars = std::move(b).build("SIM", 0);
    return st;
  }();
  return s;
}

void remove_session(const std::string& journal) {
  if (journal.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(journal).parent_path(), ec);
}

void BM_Record(benchmark::State& state, std::string strategy, Case c) {
  Setup& st = setup();
  auto src = script::read_strategy(std::string(TE_SOURCE_DIR) + "/strategies/" + strategy + ".lua");
  if (!src) {
    state.SkipWithError(src.error().message.c_str());
    return;
  }
  static int index = 0;
  std::vector<double> off_wall, on_wall, off_thread, on_thread, off_total, on_total, opens, runs, closes, wthread;
  Sample last;
  for (auto _ : state) {
    for (int r = 0; r < st.runs; ++r) {
      remove_session(last.journal);
      // TE_BENCH_REPLAY_ONLY=on|off runs one side only (for profiling one of them).
      const Sample off = st.only == "on" ? Sample{} : run_case(kOff, st.bars, *src, st.dir, index++);
      last = st.only == "off" ? Sample{} : run_case(c, st.bars, *src, st.dir, index++);
      off_wall.push_back(off.wall), on_wall.push_back(last.wall);
      off_thread.push_back(off.thread_cpu), on_thread.push_back(last.thread_cpu);
      off_total.push_back(off.process_cpu), on_total.push_back(last.process_cpu);
      wthread.push_back(last.writer_thread_cpu);
      opens.push_back(last.open_wall), runs.push_back(last.run_wall), closes.push_back(last.close_wall);
    }
    state.SetIterationTime(median(on_wall));
  }
  const double n = static_cast<double>(st.nbars);
  const double w = median(on_wall), w0 = median(off_wall);
  state.counters["bars_per_s"] = n / w;
  state.counters["off_bars_per_s"] = n / w0;
  state.counters["loss_pct"] = (1 - w0 / w) * 100;
  state.counters["thread_loss_pct"] = (1 - median(off_thread) / median(on_thread)) * 100;
  state.counters["cpu_loss_pct"] = (1 - median(off_total) / median(on_total)) * 100;
  state.counters["thread_ns_per_bar"] = median(on_thread) * 1e9 / n;
  state.counters["off_thread_ns_per_bar"] = median(off_thread) * 1e9 / n;
  std::vector<double> writer;
  for (std::size_t i = 0; i < on_total.size(); ++i) writer.push_back(on_total[i] - on_thread[i]);
  state.counters["writer_ns_per_bar"] = median(writer) * 1e9 / n;
  state.counters["writer_thread_ns_per_bar"] = median(wthread) * 1e9 / n;
  // Where the recorded run's wall time goes: creating the session (meta.json,
  // sources), the backtest itself, and finishing (the writer draining its
  // queue, the last block, the final sync, meta.json).
  state.counters["open_ms"] = median(opens) * 1e3;
  state.counters["run_ms"] = median(runs) * 1e3;
  state.counters["close_ms"] = median(closes) * 1e3;
  state.counters["off_ms"] = w0 * 1e3;
  state.counters["events_per_bar"] = static_cast<double>(last.events) / n;
  state.counters["bytes_per_event"] = last.events ? static_cast<double>(last.bytes) / static_cast<double>(last.events) : 0;
  if (strategy == "sma_cross" && c.states == runner::StateEvents::Activity && c.compress) {
    st.journals.emplace_back(c.name, last.journal);  // read below
  } else {
    remove_session(last.journal);
  }
}

const std::string* journal_of(const char* mode) {
  for (const auto& [m, p] : setup().journals)
    if (m == mode) return &p;
  return nullptr;
}

void BM_Read(benchmark::State& state, const char* mode) {
  const std::string* path = journal_of(mode);
  if (path == nullptr) {
    state.SkipWithError("run BM_Record/sma_cross first (no journal recorded)");
    return;
  }
  journal::NullReporter quiet;
  std::uint64_t n = 0;
  double cpu = 0;
  for (auto _ : state) {
    const double c0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    auto r = journal::JournalReader::open(*path, quiet);
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    journal::Event e;
    n = 0;
    while (*(*r)->next(e)) ++n;
    cpu += cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  state.counters["events_per_s"] =
      benchmark::Counter(static_cast<double>(n) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["cpu_events_per_s"] = static_cast<double>(n) * static_cast<double>(state.iterations()) / cpu;
  state.counters["events"] = static_cast<double>(n);
}

void BM_Scan(benchmark::State& state, const char* mode) {
  const std::string* path = journal_of(mode);
  if (path == nullptr) {
    state.SkipWithError("no journal recorded");
    return;
  }
  journal::NullReporter quiet;
  auto r = journal::JournalReader::open(*path, quiet);
  std::uint64_t k = 0;
  for (auto _ : state) (void)(*r)->scan_envelopes([&k](const journal::EventEnvelope&) { ++k; });
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(k), benchmark::Counter::kIsRate);
}

void BM_SeekTime(benchmark::State& state, const char* mode, bool view) {
  const std::string* path = journal_of(mode);
  if (path == nullptr) {
    state.SkipWithError("no journal recorded");
    return;
  }
  journal::NullReporter quiet;
  auto cursor = journal::ReplayCursor::open(*path, quiet);
  auto idx = (*cursor)->index();
  std::mt19937_64 rng(7);
  const std::int64_t lo = (*idx)->min_ts_ns, hi = (*idx)->max_ts_ns;
  for (auto _ : state) {
    (void)(*cursor)->seek_time(lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1)));
    if (view) benchmark::DoNotOptimize((*cursor)->runner_view(0));
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Our own flag, taken out before Google Benchmark sees the arguments.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      g_quick = true;
    } else if (std::strcmp(argv[i], "--help") == 0) {
      std::printf("te_bench_replay [--quick] [Google Benchmark flags]\n"
                  "  --quick   one off/on pair per repetition (make bench)\n"
                  "Environment: TE_BENCH_REPLAY_BARS, TE_BENCH_REPLAY_RUNS, TE_BENCH_REPLAY_ONLY, TE_BENCH_DIR.\n");
      argv[kept++] = argv[i];
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  for (const char* strategy : {"sma_cross", "rsi_mean_reversion"}) {
    for (const Case& c : kCases) {
      benchmark::RegisterBenchmark((std::string("BM_Record/") + strategy + "/" + c.name).c_str(), BM_Record,
                                   std::string(strategy), c)
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  for (const char* mode : {"full", "delta"}) {
    benchmark::RegisterBenchmark((std::string("BM_Read/") + mode).c_str(), BM_Read, mode)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("BM_Scan/") + mode).c_str(), BM_Scan, mode)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("BM_SeekTime/") + mode).c_str(), BM_SeekTime, mode, false)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("BM_RunnerView/") + mode).c_str(), BM_SeekTime, mode, true)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  std::filesystem::remove_all(setup().dir, ec);
  return 0;
}
