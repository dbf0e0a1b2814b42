#pragma once
// What the live engine runs: one RunnerSpec per runner (strategy, symbol,
// trading settings, data source) and the engine-wide options. Plain values;
// `trading-engine run` builds them from a config file (engine/app/run_command.cpp).
//
// The trading settings are a backtest::BacktestConfig on purpose: a runner
// trades through exactly the objects and settings a backtest uses (simulated
// exchange, portfolio, risk engine, SymbolRunner), so a historical or simulated
// runner produces the same trades as `backtest` on the same bars.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/core/clock.hpp"
#include "engine/data/bar_generator.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/script/strategy_host.hpp"
#include "engine/script/vm_limits.hpp"

namespace te::runner {
class SessionRecorder;
}  // namespace te::runner

namespace te::live {

enum class SourceKind : std::uint8_t { Live, Historical, Simulated };
std::string_view to_string(SourceKind k) noexcept;

struct SourceSpec {
  SourceKind kind = SourceKind::Historical;
  std::string interval = "1m";  // live: Binance kline interval; others: label only

  // historical: the bars (loaded by the caller), replayed immediately or paced
  // by their timestamps divided by `speed` (changeable while running).
  std::shared_ptr<const model::BarSeries> bars;
  bool simulate_realtime = false;
  double speed = 1;

  // simulated: the generate-data random walk, bar after bar.
  data::GeneratorOptions generator;
  std::uint64_t max_bars = 0;    // stop after this many bars (0: until stopped)
  double bars_per_second = 1;    // pace; 0: as fast as the runner takes them
};

struct RunnerSpec {
  std::string name;    // unique; shown in the status table and used for the report folder
  std::string key_path;  // where the config defines it ("runners[1]"); names it in errors (may be empty)
  // "<file>:<line>: runners[1].params.<name>" per config param: a bad value is reported there.
  std::vector<std::pair<std::string, std::string>> param_at;
  std::string symbol;  // upper case for live sources
  script::StrategySource strategy;
  // Execution, risk, params, seed, sandbox limits: what a backtest would take.
  // observer / progress / equity_listener / warmup_bars are not used here.
  backtest::BacktestConfig trading;
  SourceSpec source;
  bool paper = false;  // execution.type = "paper" (simulated fills on live data); display only
};

// Connection settings for live runners (all of them share the connections).
struct BinanceSpec {
  std::string ws_url = "wss://stream.binance.com:9443";
  std::string rest_url = "https://api.binance.com";
  std::string ca_file;  // extra trust anchors (tests)
  std::chrono::milliseconds silence_timeout{30'000};
  std::chrono::milliseconds reconnect_initial_delay{500};
  std::chrono::milliseconds reconnect_max_delay{30'000};
  std::chrono::milliseconds backfill_retry_delay{2'000};
  std::uint64_t jitter_seed = 0;
};

enum class LogLevel : std::uint8_t { Debug, Info, Warn, Error };

struct EngineOptions {
  int threads = 0;  // worker threads; 0: one per core
  BinanceSpec binance;
  // Wall time for pacing, feed lag and the status table. Must outlive the
  // engine and be thread-safe (LiveClock is). Null: a LiveClock of the engine's own.
  const Clock* clock = nullptr;
  // Session journal: every runner gets a JournalRecorder from it, halts are
  // recorded as notes. May be null (no journal). Must outlive the engine.
  runner::SessionRecorder* session = nullptr;
  // Engine log lines (connections, backfills, malformed messages, halts).
  // Called from any thread; may be empty.
  std::function<void(LogLevel, std::string_view)> log;
  // Immediate historical / unpaced simulated runners process this many bars,
  // then yield the worker thread: live bars queued meanwhile go first, so a
  // live runner waits at most one chunk per worker when the CPU is short.
  std::size_t chunk_bars = 256;
  // An immediate historical runner goes on with further chunks while its turn
  // is shorter than this (by `clock`, at most kMaxChunksPerTurn chunks):
  // switching to another runner costs the caches of its VM, indicators and
  // account, so 100 runners on one worker in turns of one 256-bar chunk ran at
  // 2.2-2.5M bars per CPU second, in turns of 4,096 bars at 3.5M. A live bar
  // queued behind it waits at most one turn.
  std::int64_t turn_ns = 2'000'000;
  static constexpr std::size_t kMaxChunksPerTurn = 64;
  script::VmLimits limits = script::make_limits(script::RunMode::Live);
  bool keep_equity_curve = true;  // per-runner equity.csv (memory grows with bars)
  // Hot reload: saving a runner's strategy file swaps the new version in at
  // that runner's next bar boundary (engine/runner/reload_watcher.hpp).
  bool hot_reload = true;
  // Also reload every strategy on SIGHUP. SIGHUP must already be blocked in
  // every thread of the process (the `run` command blocks it first thing).
  bool reload_on_sighup = false;
  int reload_debounce_ms = 25;  // quiet time after a file change before it is read
  bool reload_watch_files = true;  // false: only SIGHUP and reload_all() trigger reloads
};

}  // namespace te::live
