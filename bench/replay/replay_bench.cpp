// Session recording and replay benchmark (issue 7).
//
// 1. Backtest throughput with recording off, and on in full and delta storage
//    mode, under both state policies (activity: the default; every_bar). Each
//    case is a whole backtest over generated 1-minute bars, timed from the
//    start of the run to the journal closed on disk (so a writer thread that
//    falls behind is counted). Reported per case, as the median of --runs:
//      bars/s          wall-clock throughput, and its loss against "off"
//      thread ns/bar   CPU time of the backtest (trading) thread per bar
//      total ns/bar    CPU time of the whole process (trading + writer threads)
//      events/bar, bytes/event (on disk), MB written
//    Wall-clock figures depend on a free second core for the writer thread;
//    the CPU figures do not (on a loaded machine they are the honest ones).
// 2. Reading the journals: open + index + verify + decode every event (with
//    delta states rebuilt), as events/s; the envelope-only scan; seek by time
//    and runner-state reconstruction latency.
//
//   te_bench_replay [--bars N] [--runs R] [--strategy F.lua]... [--quick]
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
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
};

const Case kCases[] = {
    {"off", false, journal::StorageMode::Full, runner::StateEvents::Activity},
    {"full", true, journal::StorageMode::Full, runner::StateEvents::Activity},
    {"delta", true, journal::StorageMode::Delta, runner::StateEvents::Activity},
    {"full/every_bar", true, journal::StorageMode::Full, runner::StateEvents::EveryBar},
    {"delta/every_bar", true, journal::StorageMode::Delta, runner::StateEvents::EveryBar},
};

struct Sample {
  double wall = 0, thread_cpu = 0, process_cpu = 0;
  std::uint64_t events = 0, bytes = 0, states = 0;
  std::string journal;  // kept for the reading benchmark
};

Sample run_case(const Case& c, const model::BarSeries& bars, const script::StrategySource& src,
                const std::string& dir, int index) {
  Sample s;
  backtest::BacktestConfig cfg;
  cfg.keep_transitions = false;
  cfg.exchange.commission.rate = 0.001;
  std::unique_ptr<runner::SessionRecorder> session;
  const double w0 = wall_seconds();
  const double p0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  if (c.record) {
    runner::SessionRecorderOptions o = runner::SessionRecorderOptions::for_backtest();
    o.base_dir = dir;
    o.session_id = "bench-" + std::to_string(index);
    o.writer.storage_mode = c.mode;
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
  auto r = backtest::run_backtest(cfg, bars, src);
  s.thread_cpu = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
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
    s.bytes = ws.file_bytes;
    s.states = ws.state_full + ws.state_delta;
    s.journal = session->dir().journal_path();
  }
  s.wall = wall_seconds() - w0;
  s.process_cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - p0;
  return s;
}

void bench_reading(const std::string& label, const std::string& path) {
  journal::NullReporter quiet;
  // Full read: open (index + checksums) and decode every event.
  std::vector<double> rates, cpu_rates;
  std::uint64_t n = 0;
  for (int i = 0; i < 3; ++i) {
    const double w0 = wall_seconds(), c0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    auto r = journal::JournalReader::open(path, quiet);
    if (!r) return;
    journal::Event e;
    n = 0;
    while (*(*r)->next(e)) ++n;
    const double w = wall_seconds() - w0, c = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
    rates.push_back(static_cast<double>(n) / w);
    cpu_rates.push_back(static_cast<double>(n) / c);
  }
  // Envelope scan (what `sessions`, filters and the replay index use).
  std::vector<double> scan;
  for (int i = 0; i < 3; ++i) {
    auto r = journal::JournalReader::open(path, quiet);
    const double w0 = wall_seconds();
    std::uint64_t k = 0;
    (void)(*r)->scan_envelopes([&k](const journal::EventEnvelope&) { ++k; });
    scan.push_back(static_cast<double>(k) / (wall_seconds() - w0));
  }
  // Seek by time and state reconstruction at random points.
  auto cursor = journal::ReplayCursor::open(path, quiet);
  double seek_us = 0, view_us = 0;
  if (cursor) {
    auto idx = (*cursor)->index();
    std::mt19937_64 rng(7);
    const std::int64_t lo = (*idx)->min_ts_ns, hi = (*idx)->max_ts_ns;
    constexpr int kSeeks = 200;
    const double w0 = wall_seconds();
    for (int i = 0; i < kSeeks; ++i)
      (void)(*cursor)->seek_time(lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1)));
    seek_us = (wall_seconds() - w0) / kSeeks * 1e6;
    const double w1 = wall_seconds();
    for (int i = 0; i < kSeeks; ++i) {
      (void)(*cursor)->seek_time(lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1)));
      (void)(*cursor)->runner_view(0);
    }
    view_us = (wall_seconds() - w1) / kSeeks * 1e6 - seek_us;
  }
  std::printf("  %-16s %9.2f M events/s (%5.2f M/s CPU)  envelope scan %6.1f M/s  seek_time %7.1f us  runner_view %8.1f us  (%llu events)\n",
              label.c_str(), median(rates) / 1e6, median(cpu_rates) / 1e6, median(scan) / 1e6, seek_us, view_us,
              static_cast<unsigned long long>(n));
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t nbars = 1'000'000;
  int runs = 3;
  std::vector<std::string> strategies;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--bars") && i + 1 < argc) {
      nbars = std::stoull(argv[++i]);
    } else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--strategy") && i + 1 < argc) {
      strategies.push_back(argv[++i]);
    } else if (!std::strcmp(argv[i], "--quick")) {
      nbars = 200'000;
      runs = 1;
    } else {
      std::fprintf(stderr, "usage: te_bench_replay [--bars N] [--runs R] [--strategy F.lua]... [--quick]\n");
      return 2;
    }
  }
  if (strategies.empty()) {
    for (const char* s : {"sma_cross", "rsi_mean_reversion", "range_breakout"})
      strategies.push_back(std::string(TE_SOURCE_DIR) + "/strategies/" + s + ".lua");
  }
  const char* env_dir = std::getenv("TE_BENCH_DIR");
  const std::string dir = (std::filesystem::path(env_dir ? env_dir : std::filesystem::temp_directory_path().string()) /
                           ("te-bench-replay-" + std::to_string(::getpid())))
                              .string();

  data::GeneratorOptions go;
  go.seed = 7;
  auto gen = data::BarGenerator::create(go);
  model::BarSeriesBuilder b;
  b.reserve(nbars);
  for (std::size_t i = 0; i < nbars; ++i) b.push(gen->next());
  const model::BarSeries bars = std::move(b).build("SIM", 0);

  std::printf("recording benchmark: %zu one-minute bars, median of %d runs, %ld cores\n", nbars, runs,
              sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("%-20s %-16s %9s %8s %10s %8s %10s %8s %10s %11s %8s\n", "strategy", "recording", "bars/s", "loss",
              "thread ns", "+thread", "total ns", "+total", "events/bar", "bytes/event", "MB");
  int index = 0;
  std::vector<std::pair<std::string, std::string>> journals;
  for (const auto& path : strategies) {
    auto src = script::read_strategy(path);
    if (!src) {
      std::fprintf(stderr, "error: %s\n", src.error().message.c_str());
      return 1;
    }
    const std::string name = std::filesystem::path(path).stem().string();
    double base_wall = 0, base_thread = 0, base_total = 0;
    for (const Case& c : kCases) {
      std::vector<double> wall, thread, total;
      Sample last;
      const bool keep = c.record && path == strategies.front();
      for (int r = 0; r < runs; ++r) {
        if (!last.journal.empty()) {  // only the last run's journal is kept, for reading
          std::error_code ec;
          std::filesystem::remove_all(std::filesystem::path(last.journal).parent_path(), ec);
        }
        last = run_case(c, bars, *src, dir, index++);
        wall.push_back(last.wall);
        thread.push_back(last.thread_cpu);
        total.push_back(last.process_cpu);
      }
      if (!keep && !last.journal.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(std::filesystem::path(last.journal).parent_path(), ec);
      }
      const double w = median(wall), t = median(thread), p = median(total);
      const double per = 1e9 / static_cast<double>(nbars);
      if (!c.record) {
        base_wall = w;
        base_thread = t;
        base_total = p;
      }
      auto pct = [](double x, double base) { return base > 0 ? (x / base - 1) * 100 : 0.0; };
      std::printf("%-20s %-16s %8.2fM %7.1f%% %10.1f %7.1f%% %10.1f %7.1f%% %10.3f %11.1f %8.1f\n", name.c_str(),
                  c.name, static_cast<double>(nbars) / w / 1e6, c.record ? (1 - base_wall / w) * 100 : 0.0,
                  t * per, c.record ? pct(t, base_thread) : 0.0, p * per, c.record ? pct(p, base_total) : 0.0,
                  static_cast<double>(last.events) / static_cast<double>(nbars),
                  last.events ? static_cast<double>(last.bytes) / static_cast<double>(last.events) : 0.0,
                  static_cast<double>(last.bytes) / 1e6);
      std::fflush(stdout);
      if (keep) journals.emplace_back(c.name, last.journal);
    }
  }
  std::printf("\nreading (%s journals):\n", std::filesystem::path(strategies.front()).stem().string().c_str());
  for (const auto& [label, path] : journals) bench_reading(label, path);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
