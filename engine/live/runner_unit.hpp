#pragma once
// One runner of the live engine with everything it trades through: its own
// account (portfolio), simulated exchange, risk engine and SymbolRunner, wired
// exactly as run_backtest wires them, and its outcome as a BacktestResult (the
// `backtest` report formats). on_bar() is the backtest loop body: whatever
// feeds the bars (a file, the generator, Binance), the runner sees the same
// calls in the same order, so equal bars give equal trades.
//
// Not thread-safe: the engine drives a unit from its strand only. status() is
// the exception (any thread).
#include <cstdint>
#include <memory>
#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/backtest/result_recorder.hpp"
#include "engine/core/result.hpp"
#include "engine/exec/simulated_exchange.hpp"
#include "engine/live/runner_spec.hpp"
#include "engine/portfolio/portfolio.hpp"
#include "engine/risk/kill_switch_control.hpp"
#include "engine/risk/risk_engine.hpp"
#include "engine/runner/observer_fanout.hpp"
#include "engine/runner/symbol_runner.hpp"
#include "engine/script/vm_pool.hpp"

namespace te::live {

enum class UnitState : std::uint8_t {
  Starting,  // created; on_start not run yet
  Running,   // taking bars
  Finished,  // end of data (historical, bounded simulated)
  Halted,    // a failure in its path: strategy fault, data error, exception
  Stopped,   // the engine stopped (signal, --duration)
};
std::string_view to_string(UnitState s) noexcept;
inline bool is_final(UnitState s) noexcept {
  return s == UnitState::Finished || s == UnitState::Halted || s == UnitState::Stopped;
}

// What the status table shows; a copy taken under the unit's lock.
struct UnitStatus {
  std::string name, symbol;
  SourceKind source = SourceKind::Historical;
  bool paper = false;
  UnitState state = UnitState::Starting;
  std::string runner_state;   // the SymbolRunner's state machine (Watch, InPosition, ...)
  double position = 0;
  double equity = 0, initial_cash = 0;
  std::int64_t bars = 0;
  std::int64_t last_bar_ns = 0;      // open time of the last bar processed (0: none yet)
  std::int64_t feed_lag_ns = -1;     // live: wall time at arrival minus the bar's close; -1 unknown
  std::size_t total_bars = 0;        // historical / bounded simulated: bars in all (0: unknown)
  std::uint64_t duplicates = 0;      // bars not newer than the last one (dropped)
  std::string halt_reason;
};

// What an immediate historical replay may take through the runner's batch
// loop: the bars before the first one on_bar() would drop (not newer than the
// one before) or refuse (model::bar_problem). A series loaded from a file has
// none of either (the CSV parser and the bar cache refuse them); one built
// through the API may. check_series() is one pass over the series.
struct SeriesCheck {
  std::size_t clean = 0;      // bars [0, clean) are in strictly increasing time, each consistent
  bool out_of_order = false;  // bar `clean` is a duplicate (else, when clean < size, it is inconsistent)
};
SeriesCheck check_series(const model::BarSeries& series) noexcept;

class RunnerUnit {
 public:
  // Loads the strategy into a VM from `pool` (which must outlive the unit).
  // `journal` (may be null) also observes the runner. Errors: the strategy's
  // load error (syntax, missing callbacks, bad params), prefixed with the name.
  // `checked`: check_series() of a historical source's bars, when the caller
  // has it (runners sharing a series share one pass); null: checked here.
  static Result<std::unique_ptr<RunnerUnit>> create(const RunnerSpec& spec, model::RunnerId id,
                                                    script::VmPool& pool, runner::RunnerObserver* journal,
                                                    const SeriesCheck* checked = nullptr);
  ~RunnerUnit();
  RunnerUnit(const RunnerUnit&) = delete;
  RunnerUnit& operator=(const RunnerUnit&) = delete;

  // Runs on_start. False (and Halted) when it raised.
  bool start();

  // One closed bar (`last`: the source has no more after it, for close_at_end).
  // Bars not newer than the previous one are dropped and counted (a live
  // feed's duplicate); an inconsistent bar halts the unit (data error).
  // Returns false once the unit takes no more bars.
  bool on_bar(model::Bar bar, bool last = false);
  // An immediate historical replay (source Historical, not simulate_realtime)
  // whose series the batch loop may take: replay() is then used instead of
  // on_bar(). False for a series with a duplicate bar (its runner keeps the
  // per-bar path and a history of its own, as a live runner does).
  bool batch_replay() const noexcept { return replay_; }
  // Bars [next, next + max_bars) of the source series (fewer at its end), in
  // one call: through SymbolRunner::run's batch loop (one host->Lua entry for
  // many bars) with this unit's per-bar duties in the feed's after_bar, then
  // on_bar() for an inconsistent bar (it halts the unit). Same calls, same
  // results as on_bar() bar by bar. Advances `next` past the bars taken;
  // returns false once the unit takes no more bars.
  bool replay(std::size_t& next, std::size_t max_bars);
  // Best bid/ask between bars (live bookTicker): carried into the next bar
  // that has no quote of its own, for the bid_ask fill model and spreads.
  void on_quote(double bid, double bid_size, double ask, double ask_size) noexcept;
  void set_feed_lag(std::int64_t lag_ns) noexcept;

  // Stops taking bars for a failure outside the runner's own checks (an
  // exception in its path); the reason is kept for the report and the log.
  void halt(std::string reason);
  // The data ended (Finished) or the engine stopped (Stopped); close_at_end
  // closes an open position at the last bar. No-op once final.
  void end(UnitState final_state);

  bool accepting() const noexcept { return !is_final(state_); }
  UnitState state() const noexcept { return state_; }
  const std::string& name() const noexcept { return spec_.name; }
  const RunnerSpec& spec() const noexcept { return spec_; }
  const runner::SymbolRunner& runner() const noexcept { return *runner_; }
  // For the reload watcher only (request_reload is thread-safe).
  runner::SymbolRunner& runner() noexcept { return *runner_; }
  UnitStatus status() const;

  // The outcome in backtest form; once, after end() (the equity curve moves out).
  backtest::BacktestResult take_result();

 private:
  RunnerUnit(const RunnerSpec& spec, model::RunnerId id);
  void set_state(UnitState s, std::string reason = {});
  void publish();
  void equity_point(std::int64_t ts_ns);
  class ReplayFeed;

  RunnerSpec spec_;
  model::Instrument instrument_;
  portfolio::Portfolio account_;
  runner::Router router_;
  exec::SimulatedExchange exchange_;
  std::unique_ptr<risk::RiskEngine> risk_;
  std::unique_ptr<risk::KillSwitchControl> kill_control_;  // control file / SIGUSR1 ([risk] kill_switch_file)
  std::unique_ptr<backtest::ResultRecorder> collector_;
  std::unique_ptr<runner::ObserverFanout> fanout_;
  std::unique_ptr<runner::SymbolRunner> runner_;

  UnitState state_ = UnitState::Starting;
  backtest::BacktestResult out_;
  // The equity curve grows here (HugeVector has a fixed capacity; a live run's
  // length is unknown) and moves into the result at the end.
  struct Curve {
    std::vector<std::int64_t> ts_ns;
    std::vector<double> cash, position_value, equity, drawdown;
  } curve_;
  double peak_ = 0;
  std::int64_t last_ts_ = INT64_MIN;
  bool have_bar_ = false;
  model::Bar last_bar_{};
  double bid_ = model::kNoValue, ask_ = model::kNoValue, bid_size_ = model::kNoValue, ask_size_ = model::kNoValue;
  std::int64_t started_ns_ = 0;
  // batch_replay(): the series' bars the batch loop may take (SeriesCheck::clean).
  bool replay_ = false;
  std::size_t replay_clean_ = 0;

  // The status table's figures that move every bar, written by the runner's
  // thread without the lock (a status() copy may mix two consecutive bars'
  // values); the rest of UnitStatus changes rarely and is under the lock.
  std::atomic<std::int64_t> pub_bars_{0}, pub_last_bar_ns_{0};
  std::atomic<double> pub_position_{0}, pub_equity_{0};
  runner::RunnerState pub_state_{};  // the state status_.runner_state names (runner's thread)

  mutable std::mutex status_mutex_;
  UnitStatus status_;
};

}  // namespace te::live
