// Journal throughput: writing (full and delta storage modes), reading, and bytes
// per event. Events are synthetic but shaped like a backtest's: per bar and
// runner a market-data event, the runner state before and after the update
// (a ~10-key strategy context of which a few keys change per bar, 3 indicator
// values), and now and then a transition, action, order and fill.
//
//   build/bench/journal/te_bench_journal [--benchmark_filter=Read]
#include <benchmark/benchmark.h>

#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/journal/event_codec.hpp"
#include "engine/journal/journal_reader.hpp"
#include "engine/journal/journal_writer.hpp"

namespace {

using namespace te::journal;
using te::Value;  // core::Value moved out of the journal namespace

constexpr std::int64_t kStart = 1'700'000'000'000'000'000;
constexpr std::int64_t kMinute = 60'000'000'000;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string("te-journal-bench-") + std::to_string(::getpid()) + "-" + name))
      .string();
}

// Market data only: the "small event" of the read target.
std::vector<Event> small_events(std::size_t n) {
  std::vector<Event> out;
  out.reserve(n);
  double px = 100;
  for (std::size_t i = 0; i < n; ++i) {
    MarketData md{.instrument = 1, .symbol = "BTCUSDT", .timeframe = "1m", .bar = {}};
    md.bar.ts_ns = kStart + static_cast<std::int64_t>(i) * kMinute;
    md.bar.open = px;
    px += (i % 7 < 3 ? 0.25 : -0.125);
    md.bar.close = px;
    md.bar.high = px + 0.5;
    md.bar.low = px - 0.5;
    md.bar.volume = 1000.0 + static_cast<double>(i % 100);
    Event e = make_event(md.bar.ts_ns, 0, std::move(md));
    e.sequence = i + 1;
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<Event> session_events(std::size_t bars) {
  std::vector<Event> out;
  double px = 100, cash = 10000, qty = 0;
  std::vector<double> hist;
  std::uint8_t state = 0;
  auto push = [&out](std::int64_t ts, auto body) {
    Event e = make_event(ts, 0, std::move(body));
    e.sequence = out.size() + 1;
    out.push_back(std::move(e));
  };
  for (std::size_t i = 0; i < bars; ++i) {
    const std::int64_t ts = kStart + static_cast<std::int64_t>(i) * kMinute;
    MarketData md{.instrument = 1, .symbol = "BTCUSDT", .timeframe = "1m", .bar = {}};
    md.bar.ts_ns = ts;
    md.bar.open = px;
    px += (i % 7 < 3 ? 0.25 : -0.125);
    md.bar.close = px;
    md.bar.high = px + 0.5;
    md.bar.low = px - 0.5;
    md.bar.volume = 1000.0 + static_cast<double>(i % 100);
    push(ts, std::move(md));
    auto state_event = [&](StatePhase phase) {
      Value::Array h;
      for (double x : hist) h.emplace_back(x);
      RunnerState st;
      st.phase = phase;
      st.state = state;
      st.context = Value::map({{"cash", cash},
                               {"position", Value::map({{"qty", qty}, {"side", qty > 0 ? "long" : "flat"}})},
                               {"bars_seen", static_cast<std::int64_t>(i)},
                               {"last_close", px},
                               {"recent", Value(std::move(h))},
                               {"params", Value::map({{"fast", 10}, {"slow", 30}, {"stake", 1000.0}})},
                               {"signal", i % 5 == 0 ? "watch" : "none"},
                               {"trades", static_cast<std::int64_t>(i / 50)}});
      st.indicators = Value::map({{"sma(10)", px - 0.1}, {"sma(30)", px + 0.2}, {"rsi(14)", 50.0 + static_cast<double>(i % 9)}});
      push(ts, std::move(st));
    };
    state_event(StatePhase::Before);
    hist.push_back(px);
    if (hist.size() > 3) hist.erase(hist.begin());
    if (i % 50 == 10) {
      push(ts, Transition{state, static_cast<std::uint8_t>((state + 1) % 3), "setup_detected", "breakout", ts});
      state = static_cast<std::uint8_t>((state + 1) % 3);
      te::model::Order o;
      o.id = i;
      o.qty = 1;
      o.tag = "entry";
      push(ts, OrderUpdate{o, "", ""});
      te::model::Fill f;
      f.order = i;
      f.qty = 1;
      f.price = px;
      push(ts, FillEvent{f});
      qty = qty > 0 ? 0 : 1;
      cash += qty > 0 ? -px : px;
    }
    state_event(StatePhase::After);
  }
  return out;
}

const std::vector<Event>& small_set() {
  static const std::vector<Event> v = small_events(1'000'000);
  return v;
}

const std::vector<Event>& session_set() {
  static const std::vector<Event> v = session_events(100'000);
  return v;
}

WriterOptions bench_options(StorageMode mode) {
  WriterOptions o;
  o.storage_mode = mode;
  o.overwrite = true;
  o.fsync = FsyncPolicy::None;  // measure the journal, not the disk's flush latency
  return o;
}

// Background writer, as in production. Timed (manual time): append() of every
// event, moved in as a runner would, plus close(), which waits until the writer
// thread has written everything. append_ns_per_event is what the trading thread
// pays; it includes waiting for room when the writer falls behind (Block policy).
void write_bench(benchmark::State& state, const std::vector<Event>& events, StorageMode mode,
                 std::size_t queue_capacity = WriterOptions{}.queue_capacity, std::size_t batch_size = 1) {
  const std::string path = temp_path("write");
  WriterStats st;
  double append_seconds = 0;
  double append_cpu_seconds = 0;
  for (auto _ : state) {
    std::vector<Event> batch = events;  // the copy is not timed: a runner builds its events anyway
    WriterOptions o = bench_options(mode);
    o.queue_capacity = queue_capacity;
    auto w = JournalWriter::create(path, o);
    if (!w.ok()) {
      state.SkipWithError(w.error().message.c_str());
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_seconds();
    if (batch_size <= 1) {
      for (Event& e : batch) benchmark::DoNotOptimize((*w)->append(std::move(e)));
    } else {
      std::vector<Event> group;
      for (std::size_t i = 0; i < batch.size(); i += batch_size) {
        for (std::size_t j = i; j < std::min(batch.size(), i + batch_size); ++j) group.push_back(std::move(batch[j]));
        benchmark::DoNotOptimize((*w)->append_batch(group));
      }
    }
    append_cpu_seconds += thread_cpu_seconds() - c0;
    const auto t1 = std::chrono::steady_clock::now();
    if (!(*w)->close().ok()) {
      state.SkipWithError("close failed");
      return;
    }
    const auto t2 = std::chrono::steady_clock::now();
    append_seconds += std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
    st = (*w)->stats();
  }
  std::remove(path.c_str());
  const auto n = static_cast<double>(events.size());
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(st.file_bytes));
  state.counters["file_B_per_event"] = static_cast<double>(st.file_bytes) / n;
  state.counters["raw_B_per_event"] = static_cast<double>(st.raw_bytes) / n;
  state.counters["append_ns_per_event"] = append_seconds * 1e9 / (n * static_cast<double>(state.iterations()));
  // The same on the producer thread's CPU clock: excludes time it was descheduled.
  state.counters["append_cpu_ns_per_event"] = append_cpu_seconds * 1e9 / (n * static_cast<double>(state.iterations()));
  state.counters["blocked_appends"] = static_cast<double>(st.blocked_appends);
}

// Everything on one thread (WriterThreading::Inline): the CPU cost of recording
// an event, from append() to bytes handed to the OS.
void inline_bench(benchmark::State& state, const std::vector<Event>& events, StorageMode mode) {
  const std::string path = temp_path("inline");
  WriterStats st;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Event> batch = events;
    WriterOptions o = bench_options(mode);
    o.threading = WriterThreading::Inline;
    auto w = JournalWriter::create(path, o);
    state.ResumeTiming();
    for (Event& e : batch) benchmark::DoNotOptimize((*w)->append(std::move(e)));
    if (!(*w)->close().ok()) state.SkipWithError("close failed");
    st = (*w)->stats();
  }
  std::remove(path.c_str());
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(st.file_bytes));
  state.counters["file_B_per_event"] = static_cast<double>(st.file_bytes) / static_cast<double>(events.size());
}

void BM_WriteSmallFull(benchmark::State& s) { write_bench(s, small_set(), StorageMode::Full); }
void BM_WriteSessionFull(benchmark::State& s) { write_bench(s, session_set(), StorageMode::Full); }
void BM_WriteSessionDelta(benchmark::State& s) { write_bench(s, session_set(), StorageMode::Delta); }
// The same, handing events over 8 at a time (append_batch), as a backtest can
// per bar: one lock per batch instead of one per event.
void BM_WriteSessionDeltaBatch8(benchmark::State& s) {
  write_bench(s, session_set(), StorageMode::Delta, WriterOptions{}.queue_capacity, 8);
}
void BM_InlineSmallFull(benchmark::State& s) { inline_bench(s, small_set(), StorageMode::Full); }
void BM_InlineSessionFull(benchmark::State& s) { inline_bench(s, session_set(), StorageMode::Full); }
void BM_InlineSessionDelta(benchmark::State& s) { inline_bench(s, session_set(), StorageMode::Delta); }

void read_bench(benchmark::State& state, const std::vector<Event>& events, StorageMode mode) {
  const std::string path = temp_path("read");
  {
    auto w = JournalWriter::create(path, bench_options(mode));
    for (const Event& e : events) (void)(*w)->append(e);
    if (!(*w)->close().ok()) state.SkipWithError("write failed");
  }
  NullReporter rep;
  std::uint64_t n = 0;
  for (auto _ : state) {
    auto r = JournalReader::open(path, rep);  // includes indexing and checksum verification
    if (!r.ok()) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    Event e;
    n = 0;
    while (*(*r)->next(e)) ++n;
    benchmark::DoNotOptimize(e);
  }
  std::remove(path.c_str());
  if (n != events.size()) state.SkipWithError("read back fewer events than written");
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

void BM_ReadSmall(benchmark::State& s) { read_bench(s, small_set(), StorageMode::Full); }
void BM_ReadSessionFull(benchmark::State& s) { read_bench(s, session_set(), StorageMode::Full); }
void BM_ReadSessionDelta(benchmark::State& s) { read_bench(s, session_set(), StorageMode::Delta); }

void BM_EncodeSession(benchmark::State& state) {
  const auto& events = session_set();
  std::string out;
  for (auto _ : state) {
    for (const Event& e : events) {
      out.clear();
      encode_event(e, out);
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events.size()));
}

}  // namespace

BENCHMARK(BM_WriteSmallFull)->Unit(benchmark::kMillisecond)->UseManualTime();
BENCHMARK(BM_WriteSessionFull)->Unit(benchmark::kMillisecond)->UseManualTime();
BENCHMARK(BM_WriteSessionDelta)->Unit(benchmark::kMillisecond)->UseManualTime();
BENCHMARK(BM_WriteSessionDeltaBatch8)->Unit(benchmark::kMillisecond)->UseManualTime();
BENCHMARK(BM_InlineSmallFull)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_InlineSessionFull)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_InlineSessionDelta)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReadSmall)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReadSessionFull)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReadSessionDelta)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EncodeSession)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
