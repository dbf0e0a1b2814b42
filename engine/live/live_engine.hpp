#pragma once
// The live engine behind `trading-engine run`: many runners on a Boost.Asio
// thread pool, each on its own strand (one thread at a time per runner, any
// number of runners in parallel). Data sources:
//   live        Binance klines + bookTicker (venue::binance::KlineFeed: one
//               combined stream for all symbols of an interval, reconnect, gap
//               backfill); bars are posted to the strand of every runner of the symbol
//   historical  a loaded series, immediately (in chunks that yield to live
//               bars) or paced by the bars' timestamps / speed (set_speed)
//   simulated   the generate-data random walk, paced by bars_per_second
// Execution is the simulated exchange of backtests (paper trading on live data).
//
// A failure in one runner's path (strategy fault, inconsistent bar, C++
// exception) halts that runner only: logged, journaled as a note, shown in
// the status table; the others keep running.
//
// Lifecycle: create() (loads every strategy; all errors at once), start(),
// then poll finished()/status() and call shutdown() when done or told to stop.
// shutdown() stops the feeds, lets every runner finish the bar in progress,
// and hands back each runner's outcome in backtest form.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/core/result.hpp"
#include "engine/live/runner_spec.hpp"
#include "engine/live/runner_unit.hpp"
#include "engine/runner/reload_watcher.hpp"

namespace te::live {

// Counters of the Binance connections (summed over intervals).
struct FeedStatus {
  bool active = false;  // at least one live runner
  std::size_t connections = 0;
  std::uint64_t connects = 0, disconnects = 0, messages = 0, bars = 0, quotes = 0;
  std::uint64_t backfilled_bars = 0, backfills_failed = 0, missing_bars = 0, malformed = 0;
};

struct RunnerOutcome {
  std::string name;
  UnitState state = UnitState::Stopped;
  std::string halt_reason;
  backtest::BacktestResult result;
};

class LiveEngine {
 public:
  // Errors: Errc::invalid_argument listing every runner whose strategy does
  // not load or whose spec is unusable (duplicate names, live symbol missing, ...).
  static Result<std::unique_ptr<LiveEngine>> create(EngineOptions options, std::vector<RunnerSpec> runners);
  ~LiveEngine();  // shutdown() if still running
  LiveEngine(const LiveEngine&) = delete;
  LiveEngine& operator=(const LiveEngine&) = delete;

  // Starts the worker threads, the runners (on_start) and the sources.
  // Errors: Errc::invalid_argument / Errc::io when a feed cannot start.
  Status start();

  // True once no runner takes bars any more (all historical/bounded runners
  // reached the end of their data or halted). Live runners never finish.
  bool finished() const noexcept;
  std::size_t runner_count() const noexcept;
  std::vector<UnitStatus> status() const;
  FeedStatus feed_status() const;

  // Changes the replay speed of a paced historical runner while it runs.
  // False when no such runner exists or it is not paced.
  bool set_speed(std::string_view runner, double speed);

  // Hot reload (EngineOptions::hot_reload): re-reads every runner's strategy
  // file now; each changed one is swapped in at its runners' next bar
  // boundary (the `run` command's SIGHUP does the same). No-op when hot
  // reload is off or the engine is not started.
  void reload_all();
  // Waits until every reload trigger so far has been read and handed to the
  // runners (not until the runners swapped: that happens at their next bar).
  void flush_reloads();
  runner::ReloadWatcherStats reload_stats() const;

  // Stops everything (idempotent; from the owning thread, not from a signal
  // handler) and returns each runner's outcome, in spec order. Runners still
  // taking bars end as Stopped.
  std::vector<RunnerOutcome> shutdown();

  struct Impl;

 private:
  explicit LiveEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace te::live
