// Sandbox benchmarks (issue 5), Google Benchmark; the figures that are not
// plain timings are counters (bench/run.sh reads them from the JSON):
//
//   BM_CallbackRaw          one strategy callback in a plain LuaJIT state
//                           (luaL_openlibs, a global function, the bar's
//                           numbers passed as arguments to a Lua trampoline
//                           that refreshes a bar table): the unsandboxed cost.
//   BM_CallbackSandboxed    the same callback body through StrategyHost::call:
//                           strict environment, read-only libraries, CPU
//                           monitor enter/leave, counting allocator, bar view
//                           refreshed from the FFI frame, action decoding.
//   BM_SandboxOverhead      both, interleaved, on the thread's CPU clock;
//                           counters raw_ns, sandboxed_ns, overhead_pct
//                           (target: <= 10); raw_ffi_ns and
//                           overhead_vs_ffi_pct against RawFfi, a plain
//                           host of the sandbox's own call shape.
//   BM_RunnerMemory         N started runners (one VM each, from one pool),
//                           each fed 50 bars with two indicators in use;
//                           counters idle_runner_bytes (RSS per runner),
//                           idle_runner_lua_bytes (allocator count per VM) and,
//                           for N = 1000, runners_1000_bytes (RSS; must fit 1 GiB);
//                           each N runs in a fresh process of its own.
//   BM_ReloadLatency        file write -> the new version handling the next
//                           bar, through the inotify watcher (25 ms debounce)
//                           under a feed of one bar every 200 us; counters
//                           reload_p50_ms, reload_p99_ms, reload_max_ms
//                           (target: p99 < 100 ms).
//
//   build/bench/sandbox/te_bench_sandbox [--benchmark_format=json]
#include <benchmark/benchmark.h>
#include <lua.hpp>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/common/fresh_process.hpp"
#include "engine/core/sha256.hpp"
#include "engine/exec/simulated_exchange.hpp"
#include "engine/portfolio/portfolio.hpp"
#include "engine/runner/bar_history.hpp"
#include "engine/runner/reload_watcher.hpp"
#include "engine/runner/runner_indicators.hpp"
#include "engine/runner/symbol_runner.hpp"
#include "engine/script/strategy_host.hpp"
#include "engine/script/vm_pool.hpp"

namespace {

using namespace te;

// The callback body both variants run: a little arithmetic on the bar and
// persistent state, like a hand-rolled filter.
const char* kBody = R"LUA(
  local s = ctx.s * 0.9 + bar.close * 0.1
  ctx.s = s
  if bar.close > s * 1.02 and bar.volume > 0 then ctx.n = ctx.n + 1 end
)LUA";

std::string sandboxed_strategy() {
  return std::string("params = {}\nfunction on_start(ctx) ctx.s = 100; ctx.n = 0 end\n"
                     "function detect_opportunity(bar, ctx, ind)\n") +
         kBody +
         "end\nfunction filter_commitment(bar, ctx, ind) end\nfunction manage_position(bar, ctx, ind) end\n";
}

script::StrategySource source(const std::string& code, const std::string& path = "strategies/bench.lua") {
  script::StrategySource s;
  s.path = path;
  s.code = code;
  s.sha256 = sha256_hex(code);
  return s;
}

double price(std::int64_t i) { return 100 + static_cast<double>(i % 97) * 0.13 - static_cast<double>(i % 13) * 0.2; }

// --- raw ----------------------------------------------------------------------
// The cheapest plain host: a Lua trampoline receives the bar's numbers as
// arguments (lua_pushnumber is cheap; lua_setfield from C is not), refreshes
// one persistent bar table and calls the strategy function directly.
struct RawLua {
  lua_State* L = luaL_newstate();
  int fn = 0;
  RawLua() {
    luaL_openlibs(L);
    const std::string code = std::string("function detect_opportunity(bar, ctx, ind)\n") + kBody +
                             "end\n"
                             "local bar, ctx = {}, { s = 100, n = 0 }\n"
                             "local f = detect_opportunity\n"
                             "return function(t, o, h, l, c, v)\n"
                             "  bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume = t, o, h, l, c, v\n"
                             "  local r = f(bar, ctx, nil)\n"
                             "  if r == nil then return 0 end\n"
                             "  return 1\n"
                             "end\n";
    if (luaL_loadstring(L, code.c_str()) != 0 || lua_pcall(L, 0, 1, 0) != 0) std::abort();
    fn = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  ~RawLua() { lua_close(L); }
  RawLua(const RawLua&) = delete;
  RawLua& operator=(const RawLua&) = delete;
  void call(std::int64_t i) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, fn);
    const double p = price(i);
    lua_pushnumber(L, static_cast<double>(i) * 60000.0);
    lua_pushnumber(L, p);
    lua_pushnumber(L, p + 1);
    lua_pushnumber(L, p - 1);
    lua_pushnumber(L, p + 0.5);
    lua_pushnumber(L, 1000);
    if (lua_pcall(L, 6, 1, 0) != 0) std::abort();
    lua_pop(L, 1);
  }
};

// A plain host built like the sandbox's per-call path (session 17): the bar in
// a C struct read through the FFI inside the compiled trampoline, the
// trampoline kept on the stack, no arguments and no results. Since the
// sandbox's call took that shape it is faster than RawLua; this one shows what
// the sandboxed call costs beyond the cheapest host of the same shape (its
// bar/state/indicator refresh, the watchdog's marks, the error handler).
struct RawFfi {
  struct Bar {
    double t, o, h, l, c, v;
  } b{};
  lua_State* L = luaL_newstate();
  RawFfi() {
    luaL_openlibs(L);
    const std::string code = std::string("function detect_opportunity(bar, ctx, ind)\n") + kBody +
                             "end\n"
                             "local ffi = require('ffi')\n"
                             "ffi.cdef('typedef struct { double t, o, h, l, c, v; } rawbar;')\n"
                             "local B = ffi.cast('rawbar*', ...)\n"
                             "local bar, ctx = {}, { s = 100, n = 0 }\n"
                             "local f = detect_opportunity\n"
                             "return function()\n"
                             "  bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume = B.t, B.o, B.h, B.l, B.c, B.v\n"
                             "  f(bar, ctx, nil)\n"
                             "end\n";
    if (luaL_loadstring(L, code.c_str()) != 0) std::abort();
    lua_pushlightuserdata(L, &b);
    if (lua_pcall(L, 1, 1, 0) != 0) std::abort();  // the trampoline stays at stack slot 1
  }
  ~RawFfi() { lua_close(L); }
  RawFfi(const RawFfi&) = delete;
  RawFfi& operator=(const RawFfi&) = delete;
  void call(std::int64_t i) {
    const double p = price(i);
    b = {static_cast<double>(i) * 60000.0, p, p + 1, p - 1, p + 0.5, 1000};
    lua_pushvalue(L, 1);
    if (lua_pcall(L, 0, 0, 0) != 0) std::abort();
  }
};

// --- sandboxed ----------------------------------------------------------------
struct Sandboxed {
  runner::GrowingHistory history;
  runner::RunnerIndicators indicators{history};
  script::VmPool pool{script::make_limits(script::RunMode::Live)};
  std::unique_ptr<script::StrategyHost> host;
  Sandboxed() {
    script::HostOptions ho;
    ho.limits = script::make_limits(script::RunMode::Live);
    ho.pool = &pool;
    auto h = script::StrategyHost::create(source(sandboxed_strategy()), ho, indicators, nullptr);
    if (!h) {
      std::fprintf(stderr, "%s\n", h.error().message.c_str());
      std::abort();
    }
    host = std::move(*h);
    if (!host->on_start()) std::abort();
  }
  void call(std::int64_t i) {
    te_frame& f = host->frame();
    const double p = price(i);
    f.bar.time_ms = static_cast<double>(i) * 60000.0;
    f.bar.open = p;
    f.bar.high = p + 1;
    f.bar.low = p - 1;
    f.bar.close = p + 0.5;
    f.bar.volume = 1000;
    f.bar_index = static_cast<double>(i);
    if (host->call(script::Callback::DetectOpportunity) < 0) std::abort();
  }
};

void BM_CallbackRaw(benchmark::State& state) {
  RawLua raw;
  std::int64_t i = 0;
  for (auto _ : state) raw.call(i++);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CallbackRaw);

void BM_CallbackSandboxed(benchmark::State& state) {
  Sandboxed sb;
  std::int64_t i = 0;
  for (auto _ : state) sb.call(i++);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CallbackSandboxed);

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double now_ns() {
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

// Interleaved rounds, best round of each, on the thread's CPU clock: the least
// disturbed measurement of both on a shared machine.
void BM_SandboxOverhead(benchmark::State& state) {
  RawLua raw;
  RawFfi ffi;
  Sandboxed sb;
  constexpr std::int64_t kCalls = 200'000;
  double best_raw = 1e300, best_sb = 1e300, best_ffi = 1e300;
  std::int64_t i = 0;
  for (auto _ : state) {
    for (int round = 0; round < 5; ++round) {
      const double t0 = thread_cpu_ns();
      for (std::int64_t k = 0; k < kCalls; ++k) raw.call(i++);
      const double t1 = thread_cpu_ns();
      for (std::int64_t k = 0; k < kCalls; ++k) sb.call(i++);
      const double t2 = thread_cpu_ns();
      for (std::int64_t k = 0; k < kCalls; ++k) ffi.call(i++);
      const double t3 = thread_cpu_ns();
      best_raw = std::min(best_raw, (t1 - t0) / kCalls);
      best_sb = std::min(best_sb, (t2 - t1) / kCalls);
      best_ffi = std::min(best_ffi, (t3 - t2) / kCalls);
    }
  }
  state.counters["raw_ns"] = best_raw;
  state.counters["sandboxed_ns"] = best_sb;
  state.counters["overhead_pct"] = (best_sb / best_raw - 1) * 100;
  state.counters["raw_ffi_ns"] = best_ffi;
  state.counters["overhead_vs_ffi_pct"] = (best_sb / best_ffi - 1) * 100;
}
BENCHMARK(BM_SandboxOverhead)->Iterations(1)->Unit(benchmark::kMillisecond);

// --- memory -------------------------------------------------------------------
std::size_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

const char* kIdleStrategy = R"LUA(
params = { fast = 10, slow = 30 }
function detect_opportunity(bar, ctx, ind)
  if ind.crossover("sma(10)", "sma(30)") == 1 then ctx.crosses = (ctx.crosses or 0) + 1 end
end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
)LUA";

void BM_RunnerMemory(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  if (!bench::in_child()) return bench::run_in_fresh_process(state, "^BM_RunnerMemory/" + std::to_string(n) + "/");
  double per_runner = 0, per_vm = 0, total = 0;
  for (auto _ : state) {
    const std::size_t before = rss_bytes();
    {
      portfolio::Portfolio account(1e9);
      runner::Router router(account);
      exec::SimulatedExchange exchange({}, router, router);
      script::VmPool pool(script::make_limits(script::RunMode::Live));
      std::vector<std::unique_ptr<runner::SymbolRunner>> runners;
      runners.reserve(n);
      const auto src = source(kIdleStrategy);
      for (std::size_t k = 0; k < n; ++k) {
        model::Instrument inst;
        inst.id = static_cast<model::InstrumentId>(k);
        inst.symbol = "S";  // (not "S" + ...: GCC 12 misreports -Wrestrict there)
        inst.symbol += std::to_string(k);
        runner::RunnerConfig rc;
        rc.id = static_cast<model::RunnerId>(k);
        script::HostOptions ho;
        ho.symbol = inst.symbol;
        ho.limits = script::make_limits(script::RunMode::Live);
        ho.pool = &pool;
        auto r = runner::SymbolRunner::create(rc, inst, src, ho, std::make_unique<runner::GrowingHistory>(), exchange,
                                              account, nullptr);
        if (!r || !(*r)->start()) std::abort();
        router.add(**r);
        runners.push_back(std::move(*r));
      }
      for (std::int64_t b = 0; b < 50; ++b) {
        model::Bar bar;
        bar.ts_ns = (1'600'000'000LL + b * 60) * 1'000'000'000LL;
        bar.open = price(b);
        bar.high = bar.open + 1;
        bar.low = bar.open - 1;
        bar.close = price(b + 1);
        bar.volume = 1000;
        for (std::size_t k = 0; k < n; ++k) runners[k]->on_bar(static_cast<model::InstrumentId>(k), bar);
      }
      const std::size_t after = rss_bytes();
      total = static_cast<double>(after > before ? after - before : 0);
      per_runner = total / static_cast<double>(n);
      per_vm = static_cast<double>(pool.stats().live_memory_bytes) / static_cast<double>(n);
    }
  }
  state.counters["idle_runner_bytes"] = per_runner;
  state.counters["idle_runner_lua_bytes"] = per_vm;
  if (n == 1000) state.counters["runners_1000_bytes"] = total;
  bench::report_to_parent(state);
}
// Each case measures in a process of its own (bench/common/fresh_process.hpp):
// in one process a later case's RSS delta reused pages an earlier one freed.
BENCHMARK(BM_RunnerMemory)->Arg(1000)->Arg(100)->Iterations(1)->Unit(benchmark::kMillisecond);

// --- reload latency -----------------------------------------------------------
class ReloadClock final : public runner::RunnerObserver {
 public:
  std::atomic<double> swapped_at{0};
  std::atomic<int> swaps{0};
  void on_reload(runner::SymbolRunner&, const runner::ReloadInfo& info) override {
    if (info.ok) {
      swapped_at = now_ns();
      ++swaps;
    }
  }
};

void BM_ReloadLatency(benchmark::State& state) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("te-bench-reload-" + std::to_string(::getpid()));  // NOLINT
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "live.lua").string();
  auto version = [](int v) {
    std::string s = "-- version ";
    s += std::to_string(v);
    s += '\n';
    s += kIdleStrategy;
    return s;
  };
  auto write = [&](const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  };
  write(version(0));

  portfolio::Portfolio account(1e9);
  runner::Router router(account);
  exec::SimulatedExchange exchange({}, router, router);
  script::VmPool pool(script::make_limits(script::RunMode::Live));
  ReloadClock clock;
  model::Instrument inst;
  inst.symbol = "LIVE";
  script::HostOptions ho;
  ho.symbol = inst.symbol;
  ho.limits = script::make_limits(script::RunMode::Live);
  ho.pool = &pool;
  auto r = runner::SymbolRunner::create({}, inst, source(version(0), path), ho,
                                        std::make_unique<runner::GrowingHistory>(), exchange, account, &clock);
  if (!r || !(*r)->start()) std::abort();
  router.add(**r);
  runner::ReloadWatcher watcher;
  if (!watcher.watch(**r, path, (*r)->host().source().sha256) || !watcher.start()) std::abort();

  std::vector<double> ms;
  std::int64_t b = 0;
  int v = 0;
  auto feed_one = [&] {
    model::Bar bar;
    bar.ts_ns = (1'600'000'000LL + b * 60) * 1'000'000'000LL;
    bar.open = price(b);
    bar.high = bar.open + 1;
    bar.low = bar.open - 1;
    bar.close = price(b + 1);
    bar.volume = 1000;
    (*r)->on_bar(0, bar);
    ++b;
  };
  for (auto _ : state) {
    for (int k = 0; k < 60; ++k) {
      const int before = clock.swaps.load();
      const double t0 = now_ns();
      write(version(++v));
      // A fast live feed: one bar every 200 us until the new version took over.
      while (clock.swaps.load() == before) {
        feed_one();
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        if (now_ns() - t0 > 5e9) std::abort();  // never arrived
      }
      ms.push_back((clock.swapped_at.load() - t0) / 1e6);
    }
  }
  watcher.stop();
  std::filesystem::remove_all(dir);
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ms.size())))]; };
  state.counters["reload_p50_ms"] = pct(0.50);
  state.counters["reload_p99_ms"] = pct(0.99);
  state.counters["reload_max_ms"] = ms.back();
  state.counters["reloads"] = static_cast<double>(ms.size());
}
BENCHMARK(BM_ReloadLatency)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
