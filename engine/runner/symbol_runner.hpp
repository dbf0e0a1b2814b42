#pragma once
// One strategy bound to one instrument: bars in, state machine, strategy
// callbacks, orders out. The same class runs backtests, paper and live trading;
// only the injected ExecutionEngine and the data feeding on_bar() differ.
// Not thread-safe: a runner is driven by one thread at a time.
#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/exec/execution_engine.hpp"
#include "engine/model/bar.hpp"
#include "engine/model/instrument.hpp"
#include "engine/portfolio/portfolio.hpp"
#include "engine/risk/risk_engine.hpp"
#include "engine/runner/bar_history.hpp"
#include "engine/runner/runner_indicators.hpp"
#include "engine/runner/state_machine.hpp"
#include "engine/runner/strategy_reload.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::exec {
class SimulatedExchange;
struct SimVenue;
}

namespace te::runner {

class SymbolRunner;

// A hot reload of a runner's strategy, as reported to observers (the session
// journal stores the new code by its hash).
struct ReloadInfo {
  std::string path;
  std::string old_sha256;
  std::string new_sha256;
  std::string_view new_code;  // the source that was loaded (valid during the call)
  bool ok = true;             // false: the new version failed, the old one kept running
  std::string message;
};

// Hooks for recording (session journal, reports). Every method has a no-op
// default; called synchronously on the runner's thread.
class RunnerObserver {
 public:
  virtual ~RunnerObserver() = default;
  // A bar arrived, before anything else happens for it (open fills, callbacks).
  virtual void on_bar(const SymbolRunner&, const model::Bar&) {}
  // The bars the runner is about to get are `series`' from index `first` on,
  // in order (a backtest; called before the runner starts). An observer may
  // keep the series (it shares its storage) and refer to those bars by index
  // rather than copy each one.
  virtual void on_bar_source(const SymbolRunner&, const model::BarSeries& /*series*/, std::size_t /*first*/) {}
  virtual void on_transition(const SymbolRunner&, const Transition&) {}
  virtual void on_order(const SymbolRunner&, const model::Order&) {}
  // Every execution event with the exchange's copy of the order after it:
  // status changes and amendments (`reason_code` empty for acceptance and
  // amendments; cancel_requested, oco, ioc_remainder, expired_day, ...
  // otherwise), fills (`fill` set) and exchange rejections (`rejection` set).
  // Rejections of intents that never became an order (order id 0) come
  // through on_rejected only. The default forwards status changes to on_order().
  virtual void on_order_event(const SymbolRunner& r, const model::Order& o, std::string_view /*reason_code*/,
                              const model::Fill* fill, const model::Rejection* rejection) {
    if (fill == nullptr && rejection == nullptr) on_order(r, o);
  }
  // Every pre-trade risk decision (approved, scaled or denied).
  virtual void on_risk_decision(const SymbolRunner&, const risk::Decision&) {}
  // StormGuard transitions (account-wide ones are reported by the runner whose
  // bar caused them) and kill switch engagement/release.
  virtual void on_stormguard(const SymbolRunner&, const risk::StormGuardChange&) {}
  virtual void on_kill_switch(const SymbolRunner&, const risk::KillSwitchEvent&) {}
  virtual void on_fill(const SymbolRunner&, const model::Fill&) {}
  virtual void on_rejected(const SymbolRunner&, const model::Rejection&) {}
  virtual void on_fault(const SymbolRunner&, const script::StrategyError&) {}
  virtual void on_strategy_log(const SymbolRunner&, int /*level*/, std::string_view /*message*/) {}
  // A callback raised, but fewer than max_consecutive_errors in a row: the
  // bar's decision is skipped and the runner goes on.
  virtual void on_strategy_error(const SymbolRunner&, const script::StrategyError&, int /*consecutive*/) {}
  // The bar is fully processed (callbacks run, orders sent, position marked at
  // the close). The runner is mutable so a recorder can read the strategy's
  // context (SymbolRunner::export_context runs Lua).
  virtual void on_bar_end(SymbolRunner&, const model::Bar&) {}
  // False when on_bar_end never runs Lua (never calls export_context or
  // another host method): then SymbolRunner::run() calls it from inside its
  // batch loop; otherwise each bar's end is handled outside the loop.
  virtual bool bar_end_runs_lua() const noexcept { return true; }
  // The same question for the bar being processed, asked by run() at the end
  // of every bar inside the batch loop: false lets this bar's on_bar_end run
  // from inside the loop even when bar_end_runs_lua() is true (the session
  // journal exports ctx only on bars with activity and at checkpoints, so
  // only those bars go back to the host).
  virtual bool bar_end_needs_lua(const SymbolRunner&) const noexcept { return bar_end_runs_lua(); }
  // True when the only Lua this bar's on_bar_end runs is
  // SymbolRunner::export_context (the journal recorder): the batch loop then
  // exports ctx itself (StrategyHost::accept_loop_export) and the bar stays
  // in the loop.
  virtual bool bar_end_lua_is_ctx_export(const SymbolRunner&) const noexcept { return false; }
  // The end of a bar inside the batch loop, in one call: runs on_bar_end and
  // returns Done when this bar's end needs no Lua, else runs nothing and says
  // what it needs (ExportCtx: the loop exports ctx, then on_bar_end runs from
  // step; Host: on_bar_end runs outside the loop). The default asks the two
  // questions above; an observer may answer them in the same call.
  enum class BarEnd : std::uint8_t { Done, ExportCtx, Host };
  virtual BarEnd bar_end_in_loop(SymbolRunner& r, const model::Bar& bar) {
    if (bar_end_needs_lua(r)) return bar_end_lua_is_ctx_export(r) ? BarEnd::ExportCtx : BarEnd::Host;
    on_bar_end(r, bar);
    return BarEnd::Done;
  }
  // A bar end the batch loop may pass without calling bar_end_in_loop: while
  // `busy` reads 0 and the strategy has created exactly `indicators`
  // indicators (RunnerIndicators::created()), bar_end_in_loop would return
  // Done having done nothing. The observer keeps it current on the runner's
  // thread; the runner reads it (inline) at the end of every bar in the loop.
  // Asked once, of the observer bar_hooks() names, when the runner is
  // created; null (the default): every bar end is called. Such an observer
  // may run beside the quiet step's idle stretches (SymbolRunner::idle_),
  // which hold back a flat position's mark: it may read that position's
  // value and P&L (+0 at any positive price), not its last price.
  struct QuietBarEnd {
    std::uint8_t busy = 1;
    std::size_t indicators = 0;
    // The quiet step skips on_bar for a bar whose index is below on_bar_at
    // while the portfolio's book_version() is `book` (the observer would only
    // count it), adding one to `skipped` instead; the observer catches up
    // from that count when it is next called (session recorder, issue 7).
    std::int64_t on_bar_at = INT64_MIN;
    std::uint64_t book = 0;
    mutable std::int64_t skipped = 0;
  };
  virtual const QuietBarEnd* quiet_bar_end() const noexcept { return nullptr; }
  // Where the runner sends the per-bar hooks (on_bar, bar_end_in_loop and
  // on_bar_end; asked once, when the runner is created): this observer (the
  // default), another one (a fan-out whose only observer that wants them), or
  // nobody (nullptr: this observer's per-bar hooks do nothing). The other
  // hooks always go to the observer the runner was given. Per-bar calls are
  // most of what an observer costs a backtest (docs/performance.md).
  virtual RunnerObserver* bar_hooks() noexcept { return this; }
  // Whether on_transition reads Transition::reason (asked once, when the
  // runner is created). When no observer and no kept transition list reads
  // them, a refused entry's reason ("entry rejected (...): <text>") and with it
  // the refusal's text are never built (a spent account is refused every bar).
  virtual bool reads_transition_reasons() const noexcept { return true; }
  // Whether it reads them from Transition::reason (a string the runner then
  // fills) rather than Transition::reason_view (valid during the call only).
  virtual bool reads_transition_reason_string() const noexcept { return reads_transition_reasons(); }
  // Which of the frequent event hooks this observer does something in (asked
  // once, when an ObserverFanout or a runner is made): the fan-out calls an
  // observer only for the hooks named here, and neither does the runner call
  // the observer it was given for a hook it does not name (event_target), so a
  // result collector and a session recorder together cost one virtual call
  // per transition, action and fill instead of a call into each (recording,
  // issue 7). Default: all of them.
  enum EventHook : std::uint8_t { kHookTransition = 1, kHookAction = 2, kHookFill = 4 };
  virtual std::uint8_t event_hooks() const noexcept { return kHookTransition | kHookAction | kHookFill; }
  // Whom the runner calls for `hook` (asked once, when the runner is
  // created): this observer when its event_hooks() name the hook, else
  // nobody. A fan-out names its only observer for the hook, so a recorded
  // backtest's transitions and actions reach the session recorder without
  // the fan-out's call and loop (recording, issue 7).
  virtual RunnerObserver* event_target(EventHook hook) noexcept { return (event_hooks() & hook) != 0 ? this : nullptr; }
  // The observers every other hook reaches, in order, when there are at most
  // `max` of them: written to `out`, returns how many. Else (or for a plain
  // observer) this one alone. The runner calls the frequent order hooks
  // (on_order_event, on_rejected) on each directly, past a fan-out's loop.
  virtual std::size_t observers_into(RunnerObserver** out, std::size_t /*max*/) noexcept {
    out[0] = this;
    return 1;
  }
  // A state callback returned something other than nil: `kind` is a
  // script::ActionKind, details in `action` (NaN = not given) and `reason`.
  virtual void on_action(const SymbolRunner&, script::Callback, int /*kind*/, const te_action& /*action*/,
                         std::string_view /*reason*/) {}
  // A hot reload was applied (ok) or refused (the old version keeps running).
  // Not called when the new source has the running version's SHA-256.
  virtual void on_reload(SymbolRunner&, const ReloadInfo&) {}
  // start() ran the strategy's on_start (`ok` false: it raised; on_fault has
  // been called). Mutable for the same reason as on_bar_end.
  virtual void on_started(SymbolRunner&, bool /*ok*/) {}
};

struct RunnerConfig {
  model::RunnerId id = 0;
  model::StrategyId strategy_id = 0;
  // Bars CloseWatch may last before falling back to Watch; 0 = no limit.
  std::int64_t closewatch_timeout_bars = 0;
  // When the runner faults: close the open position (true) or keep it (false).
  bool flatten_on_fault = false;
  // Callback errors in a row that fault the runner (1: the first one does).
  // Budget violations (CPU deadline, memory) always fault: the VM is gone.
  int max_consecutive_errors = 1;
  // Keep every transition in transitions() (observers hear of them either way).
  bool keep_transitions = true;
  // Order flow policy (docs/execution.md): short entries allowed; entries per
  // trade (1 = no pyramiding: manage_position may add up to pyramiding - 1 times).
  bool allow_short = true;
  int pyramiding = 1;
  // Spacing of this runner's bars when known up front (a backtest: the data's
  // smallest gap); 0: judged from the bars seen. Timeframes finer than it are
  // refused (RunnerIndicators::set_bar_interval).
  std::int64_t bar_interval_ns = 0;
  // Shared precomputed indicator values (the optimiser); null: computed here.
  // Used only for indicators whose history is the cache's series. Not owned.
  ta::SeriesCache* indicator_cache = nullptr;
};

struct RunnerStats {
  std::int64_t bars = 0;
  std::int64_t rejected_bars = 0;  // bars for another instrument (refused)
  std::int64_t callbacks = 0;
  // Host->Lua entries that ran state callbacks: one per callback through
  // on_bar(), one per batch (many bars) through run(). The regression guard
  // of the batch loop (tests/unit/backtest/batch_loop_test.cpp).
  std::int64_t host_entries = 0;
  // By state callback: detect_opportunity, filter_commitment, manage_position.
  std::int64_t callback_calls[3] = {0, 0, 0};
  std::int64_t orders = 0;
  std::int64_t rejections = 0;
  std::int64_t transitions = 0;
  std::int64_t strategy_errors = 0;  // callback errors, including the one that faulted
  std::int64_t reloads = 0;          // versions swapped in
  std::int64_t reload_failures = 0;  // versions refused (the old one kept running)
  std::int64_t risk_rejections = 0;  // orders the risk engine denied
  // Rewrites of the frame's position and account views. write_frame() skips
  // them while the runner is flat with no orders and the account has not
  // moved (most bars of most strategies): the callgrind-free regression guard
  // of that skip (tests/unit/backtest/batch_loop_test.cpp).
  std::int64_t view_writes = 0;
  // Bars of the batch loop started by a quiet batch step (SymbolRunner's
  // quiet_bar(): the previous bar's end and this bar's start without the
  // tests for notices, observers and order management): the regression
  // guard of that path (tests/unit/backtest/batch_loop_test.cpp).
  std::int64_t quiet_bars = 0;
  // Ends of the quiet step's idle stretches (SymbolRunner::idle_: the venue's
  // bar fields and the flat position's mark held back, then written): the
  // regression guard of that path (tests/unit/runner/idle_step_test.cpp).
  std::int64_t idle_exits = 0;
};

class SymbolRunner final : public script::LogSink, public risk::RiskEventSink {
 public:
  // `exec`, `portfolio` and `observer` must outlive the runner. The host is
  // created by the runner over its own indicators (see create()).
  static Result<std::unique_ptr<SymbolRunner>> create(RunnerConfig config, model::Instrument instrument,
                                                      const script::StrategySource& source,
                                                      const script::HostOptions& host_options,
                                                      std::unique_ptr<BarHistory> history,
                                                      exec::ExecutionEngine& exec, portfolio::Portfolio& portfolio,
                                                      RunnerObserver* observer);
  ~SymbolRunner() override;

  // Runs on_start (no orders possible there). Errors: the strategy's error.
  Status start();

  // Processes one closed bar of `instrument`. Bars for any other instrument are
  // refused (counted, reported to the observer as a fault-free warning) and
  // change nothing. Returns false once the runner is Faulted.
  bool on_bar(model::InstrumentId instrument, const model::Bar& bar);

  // The bars of a run for run(): next() fills the next bar (false at the end);
  // after_bar() does the caller's bookkeeping once a bar is fully processed
  // (the backtest's equity curve) and returns false to stop. Both are called
  // from inside the runner's batch loop: they must not run Lua.
  class BarFeed {
   public:
    virtual ~BarFeed() = default;
    // Neither may trade the runner's instrument but through the runner
    // (flatten(); other runners of the same account and exchange may run
    // between its bars, on other instruments): an idle runner does not write
    // its venue's bar fields on every bar (idle_).
    virtual bool next(model::Bar& bar) = 0;
    virtual bool after_bar(const model::Bar& bar) = 0;
    // after_bar(bar), then, if it returned true, next(bar): the batch loop's
    // way from one bar to the next, one call instead of two.
    // Pure: with a default here the compiler guards the batch step's call
    // with a test for it (speculative devirtualisation), on every bar.
    virtual bool after_bar_then_next(model::Bar& bar) = 0;
  };
  // Processes every bar of `feed` (of this runner's instrument), as on_bar()
  // would one by one, until the feed ends, after_bar() says stop or the runner
  // faults. The per-bar loop runs inside the strategy's VM (one host call for
  // many bars; docs/performance.md, "The per-bar loop") and hands a bar back to
  // the host for the parts that need it (order notices for on_fill and
  // on_order_rejected, reloads, observers whose on_bar_end runs Lua).
  // Same steps, same results as on_bar().
  void run(BarFeed& feed);

  // Pre-trade risk checks and StormGuard/kill-switch handling through `risk`
  // (shared by the account's runners; must outlive the runner). Null: none.
  void set_risk(risk::RiskEngine* risk) noexcept {
    risk_ = risk;
    quiet_ = false;
  }
  // The bars this runner will get are preloaded columns (a backtest): bar
  // `next` comes first, bars before *readable may be read ahead. Lets the
  // indicators compute blocks of bars at a time (ta::IndicatorSet::set_ahead;
  // the same values). Before start(); `columns` and `readable` must outlive
  // the run.
  void set_indicator_ahead(const model::BarSeries::Columns& columns, std::size_t next,
                           const std::size_t* readable) noexcept {
    indicators_.set_ahead(columns, next, readable);
  }
  // Cancels this runner's working orders and closes its position with a market
  // order carrying `purpose` (KillSwitch, RiskHalt, EndOfData, ...). The live
  // loop calls it for an operator kill switch; backtests at the end of data.
  void flatten(model::OrderPurpose purpose, std::string reason);

  // Execution events routed here by the run's Router (ids match this runner).
  void on_order_update(const model::Order& order, std::string_view reason_code);
  void on_fill(const model::Fill& fill, const model::Order& order);
  void on_rejected(const model::Rejection& rejection, const model::Order& order);

  RunnerState state() const noexcept { return state_; }
  const RunnerConfig& config() const noexcept { return config_; }
  const model::Instrument& instrument() const noexcept { return instrument_; }
  const RunnerStats& stats() const noexcept { return stats_; }
  const std::vector<Transition>& transitions() const noexcept { return transitions_; }
  const std::optional<script::StrategyError>& fault() const noexcept { return fault_; }
  const script::StrategyHost& host() const noexcept { return *host_; }
  const RunnerIndicators& indicators() const noexcept { return indicators_; }
  std::int64_t bar_index() const noexcept { return bar_index_; }
  // Data time of the last bar this runner processed (0 before the first).
  std::int64_t last_bar_ts_ns() const noexcept { return last_ts_ns_; }
  std::int64_t bars_in_state() const noexcept { return bar_index_ - state_since_bar_; }
  const portfolio::Portfolio& portfolio() const noexcept { return portfolio_; }

  // The strategy's ctx as plain data (StrategyHost::export_context): runs Lua,
  // so only between callbacks, on the runner's thread.
  Result<Value> export_context() { return host_->export_context(); }
  Result<std::shared_ptr<const Value>> export_context_shared() { return host_->export_context_shared(); }
  // export_context_shared's limit (StrategyHost::set_ctx_export_limit); a
  // reload's new host keeps it.
  void set_ctx_export_limit(std::size_t bytes) noexcept { host_->set_ctx_export_limit(bytes); }

  // Hot reload (strategy_reload.cpp). reload() swaps the strategy now and
  // must be called on the runner's thread between bars; a failure leaves the
  // old version running (and is also reported to the observer). A Faulted
  // runner is not revived. request_reload() may be called from any thread:
  // the source is applied at the start of the runner's next bar.
  ReloadReport reload(const script::StrategySource& source);
  void request_reload(script::StrategySource source);
  bool reload_pending() const noexcept { return reload_flag_.load(std::memory_order_relaxed); }
  const std::optional<ReloadReport>& last_reload() const noexcept { return last_reload_; }
  // An edited Lua indicator file (its path as in HostOptions::indicator_files):
  // the running strategy is rebuilt in a fresh VM with the new file, ctx
  // carried over as for reload(), and the Lua indicators are re-created and
  // re-warmed over the bar history, so their values equal a fresh computation.
  // A file that does not load leaves the old VM (and old indicator) running.
  // reload_indicator(): runner's thread, between bars; request_indicator_reload():
  // any thread, applied at the start of the next bar (before a pending strategy).
  ReloadReport reload_indicator(const script::StrategySource& indicator);
  void request_indicator_reload(script::StrategySource indicator);

  // script::LogSink
  void strategy_log(int level, std::string_view message) override;
  // risk::RiskEventSink (forwarded to the observer)
  void on_stormguard(const risk::StormGuardChange& change) override;
  void on_kill_switch(const risk::KillSwitchEvent& event) override;

 private:
  void notify_reload(const ReloadReport& r, std::string_view code);
  // Steps shared by reload() and reload_indicator(): builds `source` in a fresh
  // VM with `options`, carries ctx over, swaps. `r` has path and hashes set;
  // `code` is what observers record (the file that changed).
  ReloadReport rebuild(const script::StrategySource& source, script::HostOptions options, ReloadReport r,
                       std::string_view code);
  SymbolRunner(RunnerConfig config, model::Instrument instrument, std::unique_ptr<BarHistory> history,
               exec::ExecutionEngine& exec, portfolio::Portfolio& portfolio, RunnerObserver* observer);

  // The steps of one bar (symbol_runner.cpp). advance() carries the current
  // bar forward from step_ and returns the callback to run next (1..3; call
  // again with its result), kBarDone, or kNeedHost when `in_batch` and the
  // next part must run outside the batch loop (it runs Lua).
  enum class Step : std::uint8_t { Idle, Begin, Notices1, StrategyBegin, Strategy, Result, Notices2, Close, Notices3, End, ExportCtx };
  static constexpr int kBarDone = 0;
  static constexpr int kNeedHost = -1;
  static constexpr int kFeedDone = -2;
  static constexpr int kStepThrew = -3;
  template <bool in_batch>
  int advance(int result);
  template <bool quiet>
  void begin_bar();
  // The batch loop's quiet bars (symbol_runner.cpp): quiet_bar() runs the
  // rest of a bar whose callback asked for nothing and the next bar up to its
  // callback while quiet_ holds; quiet_now() is what quiet_ is recomputed from.
  int quiet_bar();
  int quiet_begin();  // quiet_bar()'s second half: the next bar up to its callback
  bool quiet_now() const noexcept;
  bool handle_action(int kind);  // true: run the new state's callback too
  bool take_notices(bool in_batch);
  // The batch loop's step (te_api.step): noexcept, no Lua.
  static std::int32_t batch_step(void* self, std::int32_t result) noexcept;
  template <bool in_batch>
  int drive(int result);
  [[gnu::noinline]] int batch_drive(int result);  // batch_step()'s full path
  bool batch_usable() const noexcept;
  void apply_pending_reload();
  // A callback returned an error: fault, or count it and skip the bar's
  // decision (RunnerConfig::max_consecutive_errors).
  void callback_failed();
  void write_frame(const model::Bar& bar);
  // write_frame()'s body; `quiet`: quiet_ holds (no orders working), inlined
  // into the quiet batch step.
  template <bool quiet>
  void write_frame_as(const model::Bar& bar);
  void write_views(te_frame& f) const;        // the frame's position and account views
  void write_marks(te_frame& f) const;        // the part of them that follows the mark
  void write_order_views(te_frame& f) const;  // the part of them that follows the orders and the trade plan
  // write_frame()'s rewrites, out of line: the common path (nothing moved)
  // then needs no saved registers.
  [[gnu::noinline]] void write_moved_views(te_frame& f, bool no_orders, bool orders_held, std::uint64_t version);
  // `refusal`: the reason goes on with its text (Transition::refusal).
  // Inline when nobody hears of it (no observer, no kept list, not a fault,
  // not nested): the state, its start and the count, without a call (ema_cross:
  // three per refused entry, the call and its frame ≈ 10 of ≈ 35 instructions);
  // the rest in transition_observed / transition_any.
  [[gnu::always_inline]] void transition(RunnerEvent event, std::string_view reason,
                                         const model::Rejection* refusal = nullptr) {
    const int next = kLeanNext[static_cast<std::size_t>(state_)][static_cast<std::size_t>(event)];
    if (next < 0 || transition_reason_strings_ || in_transition_ || transition_observer_ != nullptr) [[unlikely]] {
      transition_observed(event, reason, refusal);
      return;
    }
    quiet_ = false;
    state_ = static_cast<RunnerState>(next);
    state_since_bar_ = bar_index_;
    ++stats_.transitions;
    // (Faulted, the other state kept without keep_transitions, comes by Fault only.)
    if (state_ == RunnerState::Watch) back_in_watch();
  }
  [[gnu::noinline]] void transition_observed(RunnerEvent event, std::string_view reason,
                                             const model::Rejection* refusal);
  [[gnu::noinline]] void transition_any(RunnerEvent event, std::string_view reason, const model::Rejection* refusal);
  // A transition into Watch: the trade's plan and the strategy's setup are gone.
  void back_in_watch() {
    want_stop_ = 0;
    want_target_ = 0;
    reset_trade_plan();
    host_->clear_setup();
  }
  void fault(const script::StrategyError& error);
  // Order handling (engine/runner/order_flow.cpp).
  void enter(const te_action& action, const model::Bar& bar, bool is_long);
  void exit_position(std::string reason, model::OrderPurpose purpose);
  void exit_action(const te_action& action);
  void adjust(const te_action& action);
  void cancel_entries(std::string reason);
  void cancel_orders(std::vector<model::OrderId>& ids);
  void place_protection();
  void cancel_protection();
  void manage_orders_on_bar(const model::Bar& bar);
  void reset_trade_plan() noexcept {
    want_trail_ = 0;
    want_trail_pct_ = 0;
    breakeven_distance_ = 0;
    breakeven_done_ = false;
    max_bars_ = 0;
    entries_in_trade_ = 0;
    oco_group_ = 0;
  }
  // nullopt when the entry cannot be sized: the reason in `why`, or as numbers in `facts`.
  std::optional<double> entry_quantity(const te_action& action, const model::Bar& bar, std::string& why,
                                       model::RefusalFacts& facts) const;
  model::Order make_order(model::Side side, double qty, model::OrderPurpose purpose, std::string tag) const;
  // Risk check, then the exchange (`order` is moved there). Returns the order
  // id, or 0 when the risk engine denied it (last_denial_ says why).
  model::OrderId submit(model::Order&& order, double planned_stop = 0);
  // The text is `message`, or built from `facts` when someone reads it.
  // `code` is static text (exec/reject_codes.hpp; compared by pointer).
  void reject_intent(const char* code, std::string_view message, const model::RefusalFacts& facts, model::Side side,
                     double qty,
                     std::string_view source);
  void queue_rejection_notice(const model::Order& order, std::string_view code, std::string_view message,
                              std::string_view source);
  void deliver_order_notices();

  RunnerConfig config_;
  model::Instrument instrument_;
  std::unique_ptr<BarHistory> history_;
  exec::ExecutionEngine& exec_;
  // exec_ when it is the simulated exchange (backtests, paper), else null:
  // the quiet step then calls its bar open and close directly, inline (an
  // idle venue only records the bar), instead of through the interface.
  exec::SimulatedExchange* sim_;
  // sim_'s venue of this runner's instrument (set by run(); its address stays
  // put): the quiet step's bar open and close use it without the look-up
  // (bound test and index) each of them makes. Null: the look-up as before.
  exec::SimVenue* quiet_venue_ = nullptr;
  portfolio::Portfolio& portfolio_;
  RunnerObserver* observer_;
  RunnerObserver* bar_observer_;  // observer_->bar_hooks(): on_bar, bar_end_in_loop, on_bar_end
  const RunnerObserver::QuietBarEnd* quiet_end_;  // bar_observer_->quiet_bar_end() (may be null)
  // Someone reads transition reasons (the kept list or an observer): else a
  // refused entry's "entry not sent: ..." reason is left empty, unbuilt.
  bool transition_reasons_ = true;
  // ... and someone reads them as Transition::reason (else reason_view only).
  bool transition_reason_strings_ = true;
  bool observer_fills_ = true;  // observer_'s event_hooks() name on_fill (asked once)
  // observer_->event_target(): on_transition and on_action go there (may be null).
  RunnerObserver* transition_observer_ = nullptr;
  RunnerObserver* action_observer_ = nullptr;
  // observer_->observers_into(): on_order_event and on_rejected go to each
  // non-null one, in order (null, null without an observer).
  RunnerObserver* order_observers_[2] = {nullptr, nullptr};
  template <class Call>
  void to_order_observers(Call&& call) {
    if (order_observers_[0] != nullptr) call(*order_observers_[0]);
    if (order_observers_[1] != nullptr) call(*order_observers_[1]);
  }
  RunnerIndicators indicators_;
  std::unique_ptr<script::StrategyHost> host_;
  script::HostOptions host_options_;  // for the VMs of reloaded versions
  int consecutive_errors_ = 0;
  ReloadMailbox mailbox_;
  std::atomic<bool> reload_flag_{false};
  std::optional<ReloadReport> last_reload_;

  Step step_ = Step::Idle;
  bool ran_[3] = {false, false, false};  // each state's callback runs at most once per bar
  BarFeed* feed_ = nullptr;              // during run()
  bool feed_stop_ = false;
  // The runner's bars have no steps that depend on it beyond the bar's own
  // (quiet_now(): no orders working or notices waiting, no per-bar observer
  // hooks but those of one that tells quiet bar ends (a session recorder: its
  // on_bar and that test are part of the quiet step), no risk engine, no order management or CloseWatch timeout in its
  // state): a batch step then ends the bar and starts the next one without
  // testing for them (quiet_bar()). Set at the end of a bar of the batch
  // loop; cleared by anything that may change it (orders sent, execution
  // events, transitions, a flatten, a reload, set_risk).
  bool quiet_ = false;
  // The per-bar observer has nothing for this bar's end (quiet_bar_end(): not
  // busy, no indicator created since it last looked).
  bool observer_end_quiet() const noexcept {
    return quiet_end_ != nullptr && quiet_end_->busy == 0 && indicators_.created_count() == quiet_end_->indicators;
  }
  // The idle step (docs/performance.md, session 23): quiet_ holds, the
  // runner's venue is idle (SimulatedExchange::idle) and its position flat at
  // a positive finite mark (Portfolio::flat_marked). Then nothing reads the
  // venue's bar fields (last bar, last price, capacity) or the position's
  // mark until this runner sends an order, the bar loop hands the bar back,
  // or run() returns (a session recorder, the one per-bar observer quiet_
  // allows, reads the flat position's value and P&L, +0 at any such mark,
  // never the mark): the quiet step leaves them unwritten
  // while every bar's close is positive and finite (such a flat mark moves
  // no version and no figure), and leave_idle() writes them as those steps
  // would have, from the last bar begun, on the way out of the quiet step.
  // Set where quiet_ is recomputed (a bar's end in the batch loop); cleared
  // by leave_idle(), leave_idle_between(), a close the idle step cannot
  // hold back (begin_bar<true>) and the full path's bar start. Other runners sharing the exchange and the account
  // (a feed may step them between this runner's bars) do not read this
  // venue or this position's price: they trade other instruments (the
  // feed's contract, BarFeed).
  bool idle_ = false;
  std::int64_t idle_from_ = -1;  // bar_index_ where idle_ was last set (at that bar's end)
  bool idle_now() const noexcept;
  // Writes what the idle step held back, as of `bar` (the last bar begun,
  // index bar_index_): its open recorded at the venue, and, when `closed`,
  // its close too; the position marked at its close. Clears idle_.
  [[gnu::noinline]] void leave_idle(const model::Bar& bar, bool closed);
  // leave_idle() between bars (the next bar may already be in current_bar_):
  // the last bar begun is the frame's (every idle bar's callback wrote it).
  [[gnu::noinline]] void leave_idle_between();
  std::exception_ptr step_error_;        // thrown inside the batch loop, rethrown outside it
  // Portfolio::version() right after the quiet step's mark at a bar's start
  // (quiet_bar(): the close's mark is skipped while it holds).
  std::uint64_t quiet_mark_version_ = ~std::uint64_t{0};

  RunnerState state_ = RunnerState::Watch;
  std::int64_t bar_index_ = -1;
  std::int64_t state_since_bar_ = 0;
  std::int64_t last_ts_ns_ = 0;
  RunnerStats stats_;
  std::vector<Transition> transitions_;
  // The transition being reported: its reason string keeps its capacity from
  // one transition to the next (no allocation per trade for the common reasons).
  Transition transition_;
  bool in_transition_ = false;
  // Texts of refused entries, reused from one refusal to the next (a strategy
  // whose entries cannot be sized or paid for is refused on every bar it tries):
  // the refusal reported to observers, the sizing problem, the transition's reason.
  model::Rejection rejection_;
  const char* rejection_code_ = nullptr;  // the literal rejection_.code was copied from
  std::string why_;
  std::string note_;
  // "entry rejected (<code>): ", the EntryFailed reason of an exchange's
  // refusal, for the code it was last built for (codes repeat: a refused
  // entry is tried again bar after bar; three appends per refusal were
  // ≈ 150 instructions of a recorded run).
  std::string rejected_reason_;
  std::string rejected_reason_code_;
  std::optional<script::StrategyError> fault_;

  // Orders this runner has working, by role.
  std::vector<model::OrderId> entry_orders_;
  std::vector<model::OrderId> exit_orders_;
  model::OrderId stop_order_ = 0;
  model::OrderId target_order_ = 0;
  // Protection requested with the entry or by adjust(), applied once filled.
  double want_stop_ = 0;
  double want_target_ = 0;
  model::Bar current_bar_{};

  // Order flow state (order_flow.cpp).
  risk::RiskEngine* risk_ = nullptr;
  double want_trail_ = 0;         // trailing distance, price units
  double want_trail_pct_ = 0;     // trailing distance, fraction
  double breakeven_distance_ = 0; // favourable move after which the stop goes to the entry price
  bool breakeven_done_ = false;
  std::int64_t max_bars_ = 0;     // timeout exit after this many bars held
  int entries_in_trade_ = 0;      // entries sent in the current trade (pyramiding)
  model::OrderId oco_group_ = 0;  // the current trade's exit legs cancel each other
  double ref_price_ = 0;          // last known price: the open during the open phase, else the close
  struct Denial {
    std::string code;
    std::string message;
  } last_denial_;
  // Fills and rejections waiting to be told to the strategy (at safe points of on_bar).
  struct PendingNotice {
    script::OrderNotice::Kind kind = script::OrderNotice::Kind::Fill;
    model::Order order;
    model::Fill fill;
    std::string code, message, source;
  };
  std::vector<PendingNotice> notices_;
  // What the frame's position and account views were last written from, in
  // two parts. The account's (position, cash, P&L): write_frame() skips them
  // while `valid` (flat) and the account's version is unchanged, and rewrites
  // only the mark's fields while `marks_only`. The orders' (stop, target,
  // pending quantities): skipped while `no_orders` and the trade plan is
  // unchanged; with orders working they are rewritten on every write (a
  // trailing stop moves without a report). Invalidated when the host (and its
  // frame) is replaced.
  struct ViewsStamp {
    bool valid = false;       // flat: held while `version` is unchanged
    bool marks_only = false;  // in a position: write_marks() while `book` is unchanged
    bool no_orders = false;   // none were working: held while the trade plan (want_*) is unchanged
    // While quiet_ holds: `valid`, `no_orders` and the trade plan as stamped
    // all hold, so the quiet step's frame write compares only `version`.
    // Computed where quiet_ is recomputed (a bar's end), kept by the quiet
    // step's own rewrites, cleared by any other rewrite (write_moved_views).
    // Nothing else moves the trade plan while quiet_ holds: it changes only
    // through actions and events, and a bar with either ends on the full
    // path, where quiet_ and this are recomputed.
    bool quiet_held = false;
    std::uint64_t version = 0;
    std::uint64_t book = 0;
    double want_stop = 0, want_target = 0;
  } views_;
};

// Routes execution events to the account and to the runner that sent the
// order; answers the exchange's affordability checks from the account.
class Router final : public exec::ExecutionListener, public exec::FillGate {
 public:
  explicit Router(portfolio::Portfolio& portfolio) : portfolio_(portfolio) {}
  void add(SymbolRunner& runner);

  void on_order_update(const model::Order& order, std::string_view reason_code) override;
  void on_fill(const model::Fill& fill, const model::Order& order) override;
  void on_rejected(const model::Rejection& rejection, const model::Order& order) override;
  std::optional<exec::FillRefusal> check_fill(model::InstrumentId instrument, model::Side side, double qty,
                                              double price, double commission) const override {
    auto r = portfolio_.check_fill(instrument, side, qty, price, commission);
    if (!r) return std::nullopt;
    return exec::FillRefusal{r->code, {}, r->facts};
  }
  double position_qty(model::InstrumentId instrument) const override {
    return portfolio_.position(instrument).qty;
  }

 private:
  SymbolRunner* runner(model::RunnerId id) const noexcept {
    return id < runners_.size() ? runners_[id] : nullptr;
  }
  portfolio::Portfolio& portfolio_;
  std::vector<SymbolRunner*> runners_;  // by runner id
};

}  // namespace te::runner
