// A 1,000-combination grid of strategies/sma_cross.lua (fast = 2..51, slow =
// 60..174 step 6: 50 x 20) over 1,000,000 generated 1-minute bars, through
// run_search exactly as `trading-engine optimize` runs it (every core, one
// runner and VM per combination, the series shared read-only, no equity
// curve), results streamed to a CSV in a scratch directory.
// Reports: wall time, combinations/s, bars/s over all combinations, peak RSS,
// and the RSS after 10 % of the combinations (flat memory: it should not grow).
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "engine/backtest/optimizer.hpp"
#include "engine/core/clock.hpp"
#include "engine/data/bar_generator.hpp"

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
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t bars = 1'000'000, combos = 1000;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--bars")) bars = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--threads")) threads = static_cast<unsigned>(std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--combos")) combos = std::strtoull(argv[i + 1], nullptr, 10);
  }
  // As `trading-engine optimize` does (engine/app/optimize_command.cpp): keep
  // freed memory in the process rather than faulting it in again per combination.
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  using namespace te;
  data::GeneratorOptions g;
  g.seed = 7;
  const std::int64_t t_gen = monotonic_ns();
  auto series = data::generate_bars(g, bars, "SIM");
  if (!series) {
    std::fprintf(stderr, "generate: %s\n", series.error().message.c_str());
    return 1;
  }
  const double gen_s = static_cast<double>(monotonic_ns() - t_gen) / 1e9;
  auto strategy = script::read_strategy(TE_SOURCE_DIR "/strategies/sma_cross.lua");
  if (!strategy) {
    std::fprintf(stderr, "%s\n", strategy.error().message.c_str());
    return 1;
  }

  backtest::SearchJob job;
  // 50 x 20 = 1,000 combinations; --combos N keeps the first N (a smaller fast axis).
  const std::size_t fast_values = std::max<std::size_t>(1, (combos + 19) / 20);
  job.plan.space.axes.push_back(*backtest::parse_axis("fast=2:" + std::to_string(1 + fast_values) + ":1"));
  job.plan.space.axes.push_back(*backtest::parse_axis("slow=60:174:6"));
  job.objective = backtest::Objective::Sharpe;
  job.base.params = {{"stake", "10"}};
  job.base.exchange.commission.rate = 0.0005;
  job.base.keep_transitions = false;
  job.data = &*series;
  job.strategy = &*strategy;
  job.threads = threads;
  const std::string dir = std::filesystem::temp_directory_path() / ("te-optimize-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  job.results_path = dir + "/results.csv";
  const std::uint64_t total = *backtest::space_size(job.plan);
  long rss_at_10 = 0;
  job.progress = [&](std::uint64_t done, std::uint64_t all, const backtest::ComboResult*) {
    if (!rss_at_10 && done * 10 >= all) rss_at_10 = current_rss_kb();
  };
  const long rss_before = current_rss_kb();
  const std::int64_t t0 = monotonic_ns();
  const double cpu0 = cpu_seconds();
  auto r = backtest::run_search(job);
  const double secs = static_cast<double>(monotonic_ns() - t0) / 1e9;
  const double cpu = cpu_seconds() - cpu0;
  std::filesystem::remove_all(dir);
  if (!r) {
    std::fprintf(stderr, "run_search: %s\n", r.error().message.c_str());
    return 1;
  }
  double load[3] = {0, 0, 0};
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = load[1] = load[2] = 0;
    std::fclose(f);
  }
  const double bar_evals = static_cast<double>(bars) * static_cast<double>(total);
  std::printf("optimize bench: %llu combinations of sma_cross x %zu bars on %u threads\n",
              static_cast<unsigned long long>(total), bars, threads);
  std::printf("  wall time        %.2f s (budget 60 s)\n", secs);
  std::printf("  combinations/s   %.1f\n", static_cast<double>(total) / secs);
  std::printf("  bars/s (all)     %.1f M\n", bar_evals / secs / 1e6);
  std::printf("  CPU time         %.2f s (user + system, all threads: %.1f ms and %.1f ns per bar per combination)\n",
              cpu, cpu / static_cast<double>(total) * 1e3, cpu / bar_evals * 1e9);
  std::printf("  peak RSS         %.1f MB (series alone %.1f MB; RSS before %.1f MB, at 10%% %.1f MB, after %.1f MB)\n",
              static_cast<double>(peak_rss_kb()) / 1024, static_cast<double>(bars) * 48 / 1048576,
              static_cast<double>(rss_before) / 1024, static_cast<double>(rss_at_10) / 1024,
              static_cast<double>(current_rss_kb()) / 1024);
  std::printf("  data generation  %.2f s (not timed above)\n", gen_s);
  std::printf("  machine load     %.2f %.2f %.2f (1/5/15 min) at the end\n", load[0], load[1], load[2]);
  if (r->best) std::printf("  best             fast=%s slow=%s sharpe=%.4f\n", r->best->values[0].c_str(), r->best->values[1].c_str(), r->best->objective);
  return secs <= 60 ? 0 : 2;
}
