// Load rates of bar files: what a backtest pays before its first bar.
//   csv_load/<rows>       load_csv of a generated 1-minute file (ISO datetimes)
//   csv_load_dates        daily file (YYYY-MM-DD, the Yahoo fast path)
//   csv_load_epoch_ms     Binance klines file (epoch ms, 11 columns)
//   cache_open/<rows>     open_bar_cache with the data checksum (default) ...
//   cache_open_nocheck    ... and without it (header checks only, pure mmap)
//   cache_open_and_read   open (checksummed) + summing the close column
//   load_bars_cached      the facade on a CSV whose cache is current
//   cache_write           write_bar_cache
//   generate              BarGenerator::next
// Items per second = rows per second. Files are generated once per row count
// and reused; each load maps a warm (page-cached) file.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "engine/core/time.hpp"
#include "engine/data/bar_cache.hpp"
#include "engine/data/bar_generator.hpp"
#include "engine/data/csv_format.hpp"
#include "engine/data/csv_loader.hpp"
#include "engine/data/load_bars.hpp"

namespace {

using namespace te;
using namespace te::data;

std::string bench_dir() {
  const char* env = std::getenv("TE_BENCH_DIR");
  const std::string dir = env && *env ? env : "/tmp/te-bench-data";
  std::filesystem::create_directories(dir);
  return dir;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "data bench: %s\n", what.c_str());
  std::exit(1);
}

// Writes to a temporary name and renames, so an interrupted run never leaves a
// short file behind to be mistaken for a complete one.
template <class Write>
std::string ensure_file(const std::string& name, Write write) {
  const std::string path = bench_dir() + "/" + name;
  if (std::filesystem::exists(path)) return path;
  const std::string tmp = path + ".partial";
  const Status st = write(tmp);
  if (!st.ok()) die(st.error().message);
  std::filesystem::rename(tmp, path);
  return path;
}

std::string minute_csv(std::size_t rows) {
  return ensure_file("gen-1m-" + std::to_string(rows) + ".csv",
                     [rows](const std::string& p) { return generate_csv(GeneratorOptions{}, rows, p); });
}

std::string daily_csv(std::size_t rows) {
  GeneratorOptions g;
  g.interval_ns = kNsPerDay;
  g.start_ns = days_from_civil(1700, 1, 1) * kNsPerDay;
  return ensure_file("gen-1d-" + std::to_string(rows) + ".csv",
                     [g, rows](const std::string& p) { return generate_csv(g, rows, p); });
}

std::string klines_csv(std::size_t rows) {
  return ensure_file("klines-" + std::to_string(rows) + ".csv", [rows](const std::string& p) -> Status {
    auto gen = BarGenerator::create(GeneratorOptions{});
    std::FILE* f = std::fopen(p.c_str(), "wb");
    if (!f) return make_error(Errc::io, p + ": cannot create");
    std::fprintf(f, "%s\n", std::string(kBinanceKlinesHeader).c_str());
    for (std::size_t i = 0; i < rows; ++i) {
      const model::Bar b = gen->next();
      const long long open_ms = b.ts_ns / kNsPerMs;
      std::fprintf(f, "%lld,%.2f,%.2f,%.2f,%.2f,%.0f,%lld,%.2f,%zu,%.0f,%.2f\n", open_ms, b.open, b.high, b.low,
                   b.close, b.volume, open_ms + 59999, b.volume * b.close, i % 500, b.volume / 2,
                   b.volume * b.close / 2);
    }
    return std::fclose(f) == 0 ? Status{} : make_error(Errc::io, p + ": write failed");
  });
}

std::string cache_of(const std::string& csv) {
  const std::string path = csv + ".tebars";
  if (!std::filesystem::exists(path)) {
    auto built = build_bar_cache(csv, path);
    if (!built) die(built.error().message);
  }
  return path;
}

void load_csv_rate(benchmark::State& state, const std::string& path) {
  std::size_t rows = 0;
  for (auto _ : state) {
    auto s = load_csv(path, {});
    if (!s) die(s.error().message);
    rows = s->size();
    benchmark::DoNotOptimize(s->close().data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rows) * state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(std::filesystem::file_size(path)) * state.iterations());
}

void BM_csv_load(benchmark::State& state) { load_csv_rate(state, minute_csv(static_cast<std::size_t>(state.range(0)))); }
void BM_csv_load_dates(benchmark::State& state) { load_csv_rate(state, daily_csv(static_cast<std::size_t>(state.range(0)))); }
void BM_csv_load_epoch_ms(benchmark::State& state) {
  load_csv_rate(state, klines_csv(static_cast<std::size_t>(state.range(0))));
}

void open_cache_rate(benchmark::State& state, bool verify, bool read) {
  const std::string path = cache_of(minute_csv(static_cast<std::size_t>(state.range(0))));
  std::size_t rows = 0;
  for (auto _ : state) {
    auto s = open_bar_cache(path, verify, "SIM", 0);
    if (!s) die(s.error().message);
    rows = s->size();
    if (read) {
      double sum = 0;
      for (double c : s->close()) sum += c;
      benchmark::DoNotOptimize(sum);
    }
    benchmark::DoNotOptimize(s->close().data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rows) * state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(std::filesystem::file_size(path)) * state.iterations());
}

void BM_cache_open(benchmark::State& state) { open_cache_rate(state, true, false); }
void BM_cache_open_nocheck(benchmark::State& state) { open_cache_rate(state, false, false); }
void BM_cache_open_and_read(benchmark::State& state) { open_cache_rate(state, true, true); }

void BM_load_bars_cached(benchmark::State& state) {
  const std::string csv = minute_csv(static_cast<std::size_t>(state.range(0)));
  cache_of(csv);
  std::size_t rows = 0;
  for (auto _ : state) {
    LoadReport rep;
    auto s = load_bars(csv, {}, &rep);
    if (!s || rep.source != LoadSource::csv_cache) die("cache not used: " + rep.cache_status);
    rows = s->size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rows) * state.iterations());
}

void BM_cache_write(benchmark::State& state) {
  auto s = load_csv(minute_csv(static_cast<std::size_t>(state.range(0))), {});
  if (!s) die(s.error().message);
  const std::string out = bench_dir() + "/write-bench.tebars";
  for (auto _ : state) {
    const Status st = write_bar_cache(*s, out, CacheSource{});
    if (!st.ok()) die(st.error().message);
  }
  std::filesystem::remove(out);
  state.SetItemsProcessed(static_cast<std::int64_t>(s->size()) * state.iterations());
}

void BM_generate(benchmark::State& state) {
  auto gen = BarGenerator::create(GeneratorOptions{});
  for (auto _ : state) benchmark::DoNotOptimize(gen->next());
  state.SetItemsProcessed(state.iterations());
}

constexpr std::int64_t k1M = 1'000'000, k10M = 10'000'000;

// Medians over 5 repetitions; one file load is one iteration at these sizes.
// Rates are per wall-clock second: the CSV loader parses a large file on two
// threads, and a rate over the main thread's CPU time alone would flatter it.
#define TE_REPEATED(b) \
  b->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true)->UseRealTime()
TE_REPEATED(BENCHMARK(BM_csv_load)->Arg(k1M)->Arg(k10M));
TE_REPEATED(BENCHMARK(BM_csv_load_dates)->Arg(200'000));
TE_REPEATED(BENCHMARK(BM_csv_load_epoch_ms)->Arg(k1M));
TE_REPEATED(BENCHMARK(BM_cache_open)->Arg(k1M)->Arg(k10M));
TE_REPEATED(BENCHMARK(BM_cache_open_nocheck)->Arg(k1M)->Arg(k10M));
TE_REPEATED(BENCHMARK(BM_cache_open_and_read)->Arg(k10M));
TE_REPEATED(BENCHMARK(BM_load_bars_cached)->Arg(k10M));
TE_REPEATED(BENCHMARK(BM_cache_write)->Arg(k10M));
BENCHMARK(BM_generate)->Repetitions(5)->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();
