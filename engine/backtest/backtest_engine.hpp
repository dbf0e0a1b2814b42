#pragma once
// Wires one backtest: data -> runner (strategy, state machine) -> simulated
// exchange -> portfolio, with the equity marked at every bar's close. Single
// threaded and deterministic: time comes only from the data.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/backtest/activity.hpp"
#include "engine/core/huge_vector.hpp"
#include "engine/core/result.hpp"
#include "engine/exec/simulated_exchange.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/portfolio/portfolio.hpp"
#include "engine/risk/risk_config.hpp"
#include "engine/runner/symbol_runner.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::backtest {

// Receives the equity point of every traded bar, on the run's thread, in order:
// lets a caller keep only a summary instead of the whole curve (the optimiser).
class EquityListener {
 public:
  virtual ~EquityListener() = default;
  virtual void on_equity(std::int64_t ts_ns, double cash, double position_value, double equity) noexcept = 0;
};

// Data whose rows are still being checked (a cache verified on another thread,
// engine/data/cache_check.hpp): the run reads a bar only once the gate says it
// may. Called on the run's thread, rarely (when the bars said ready run out).
class BarGate {
 public:
  virtual ~BarGate() = default;
  // How many leading bars of the data may be read: at least `bars`, waiting
  // if need be, unless the data turned out bad (then fewer: the run stops
  // there, and the caller must not report it).
  virtual std::size_t ready(std::size_t bars) noexcept = 0;
};

struct BacktestConfig {
  std::vector<std::pair<std::string, std::string>> params;  // --param name=value, in order
  double initial_cash = 100000;
  exec::SimulatedExchangeConfig exchange;  // fill model, commission
  double lot_size = 1;       // quantity increment for sized entries; 0 = any
  // Instrument rules and account policy (docs/execution.md); zero = no constraint.
  double tick_size = 0;
  double min_qty = 0;
  double min_notional = 0;
  portfolio::MarginPolicy margin;
  bool allow_short = true;
  int pyramiding = 1;
  std::optional<risk::RiskConfig> risk;  // pre-trade checks, StormGuard, kill switch (none when empty)
  bool close_at_end = false;             // close an open position at the last bar's close (exit reason end_of_data)
  std::int64_t closewatch_timeout_bars = 0;
  std::uint64_t seed = 0;
  std::vector<script::StrategySource> indicator_files;  // indicators written in Lua
  bool keep_transitions = true;  // the CLI keeps only the count (a journal records them all)
  // Keep every order's lifecycle, rejection, risk event and strategy error in
  // BacktestResult::activity (the report's "Orders, risk and faults"); the
  // optimiser turns it off (counts are kept either way).
  bool keep_activity = true;
  // Sandbox budgets of the strategy's VM (docs/sandbox.md); backtest defaults.
  script::VmLimits limits = script::make_limits(script::RunMode::Backtest);
  int max_consecutive_errors = 1;
  bool flatten_on_fault = false;
  // Also told everything the runner does (e.g. a runner::JournalRecorder for
  // `backtest --record`); may be null. Must outlive run_backtest().
  runner::RunnerObserver* observer = nullptr;
  // Called every `progress_every` bars with (done, total); may be empty.
  std::function<void(std::size_t, std::size_t)> progress;
  std::size_t progress_every = 0;
  // false: BacktestResult::equity stays empty (memory flat however long the
  // data); an equity_listener still hears every point.
  bool keep_equity_curve = true;
  EquityListener* equity_listener = nullptr;  // not owned; may be null
  BarGate* bar_gate = nullptr;                // not owned; may be null (every bar readable)
  // The first warmup_bars bars of the data are history only: indicators a
  // strategy asks for are warmed up over them, but no callback, order or equity
  // point happens before bar warmup_bars (walk-forward test windows).
  std::size_t warmup_bars = 0;
  // Shared precomputed indicator values over `data` (the optimiser builds one
  // per search); ignored unless it holds this very series. Not owned.
  ta::SeriesCache* indicator_cache = nullptr;
  // true: the per-bar loop runs inside the strategy's VM (SymbolRunner::run,
  // one host call for many bars). false: one host call per callback
  // (SymbolRunner::on_bar, as live trading does). Same results either way
  // (tests/unit/backtest/batch_loop_test.cpp); false is for comparisons.
  bool batch = true;
  // Records the strategy VM's LuaJIT trace events (JIT-health check); may be null.
  script::JitTraceLog* jit_trace = nullptr;
  // Where the strategy's VM comes from (and whose watchdog thread enforces its
  // deadlines). Null: a pool (one watchdog thread) for this run only. The
  // optimiser passes one per worker, so a combination does not start and join
  // a thread. Not owned; must outlive run_backtest().
  script::VmPool* vm_pool = nullptr;
};

// One row per processed bar. drawdown is the fraction below the running peak (>= 0).
// cash and position_value may be empty while the other columns are filled: the
// backtest command streams equity.csv and the metrics during the run and keeps
// only what its reports read (EquityStream::take_curve); equity.csv from a
// result (write_report's equity_csv) and compute_metrics need all five.
struct EquityCurve {
  HugeVector<std::int64_t> ts_ns;
  HugeVector<double> cash, position_value, equity, drawdown;
};

struct BacktestResult {
  std::string symbol;
  std::size_t bars = 0;
  std::vector<portfolio::Trade> trades;  // closed and (last) open trades, in entry order
  std::size_t fills = 0;
  double initial_cash = 0;
  double final_cash = 0;
  double final_equity = 0;
  double commission_paid = 0;
  EquityCurve equity;
  std::vector<runner::Transition> transitions;
  std::size_t transition_count = 0;
  std::map<std::string, std::size_t> rejections;  // by reason code (ordered: deterministic output)
  std::map<std::string, std::size_t> risk_rejections;  // risk engine denials by reason code
  std::size_t stormguard_changes = 0;
  std::string stormguard_state;  // account-wide StormGuard state at the end ("" without a risk engine)
  bool kill_switch = false;      // the kill switch was engaged during the run
  std::vector<std::string> strategy_log;
  ActivityLog activity;  // empty unless BacktestConfig::keep_activity
  std::vector<script::ParamInfo> params;  // effective strategy parameters
  runner::RunnerStats stats;
  std::optional<script::StrategyError> fault;
  bool date_only = false;  // timestamps are whole days
  double elapsed_s = 0;    // wall time of the run loop (measurement only, never a decision input)
};

// Errors: strategy load errors (syntax, missing callbacks, bad --param) as
// Errc::invalid_argument. A strategy that faults while running is not an error
// here: the result carries `fault` and the partial outcome.
Result<BacktestResult> run_backtest(const BacktestConfig& config, const model::BarSeries& data,
                                    const script::StrategySource& strategy);

}  // namespace te::backtest
