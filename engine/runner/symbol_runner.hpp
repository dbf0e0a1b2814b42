#pragma once
// One strategy bound to one instrument: bars in, state machine, strategy
// callbacks, orders out. The same class runs backtests, paper and live trading;
// only the injected ExecutionEngine and the data feeding on_bar() differ.
// Not thread-safe: a runner is driven by one thread at a time.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/exec/execution_engine.hpp"
#include "engine/model/bar.hpp"
#include "engine/model/instrument.hpp"
#include "engine/portfolio/portfolio.hpp"
#include "engine/runner/bar_history.hpp"
#include "engine/runner/runner_indicators.hpp"
#include "engine/runner/state_machine.hpp"
#include "engine/script/strategy_host.hpp"

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
  virtual void on_transition(const SymbolRunner&, const Transition&) {}
  virtual void on_order(const SymbolRunner&, const model::Order&) {}
  virtual void on_fill(const SymbolRunner&, const model::Fill&) {}
  virtual void on_rejected(const SymbolRunner&, const model::Rejection&) {}
  virtual void on_fault(const SymbolRunner&, const script::StrategyError&) {}
  virtual void on_strategy_log(const SymbolRunner&, int /*level*/, std::string_view /*message*/) {}

  // The bar is fully processed (callbacks run, orders sent, position marked at
  // the close). The runner is mutable so a recorder can read the strategy's
  // context (SymbolRunner::export_context runs Lua).
  virtual void on_bar_end(SymbolRunner&, const model::Bar&) {}
  // A state callback returned something other than nil: `kind` is a
  // script::ActionKind, details in `action` (NaN = not given) and `reason`.
  virtual void on_action(const SymbolRunner&, script::Callback, int /*kind*/, const te_action& /*action*/,
                         std::string_view /*reason*/) {}
  // Every execution event with the exchange's copy of the order after it:
  // status changes and amendments (fill and rejection null), fills (`fill`
  // set), exchange rejections (`rejection` set). Rejections of intents that
  // never became an order (order id 0) come through on_rejected only.
  virtual void on_order_event(const SymbolRunner&, const model::Order&, const model::Fill* /*fill*/,
                              const model::Rejection* /*rejection*/) {}
  // Pre-trade risk check of an order (for the risk engine to call through the
  // runner); approved orders may be reported too.
  virtual void on_risk_decision(const SymbolRunner&, const model::Order&, bool /*approved*/,
                                std::string_view /*reason_code*/, std::string_view /*message*/) {}
  // The strategy was hot-reloaded (or a reload failed).
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
  // Keep every transition in transitions() (observers hear of them either way).
  bool keep_transitions = true;
};

struct RunnerStats {
  std::int64_t bars = 0;
  std::int64_t rejected_bars = 0;  // bars for another instrument (refused)
  std::int64_t callbacks = 0;
  std::int64_t orders = 0;
  std::int64_t rejections = 0;
  std::int64_t transitions = 0;
};

class SymbolRunner final : public script::LogSink {
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

  // Execution events routed here by the run's Router (ids match this runner).
  void on_order_update(const model::Order& order);
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
  std::int64_t bars_in_state() const noexcept { return bar_index_ - state_since_bar_; }
  const portfolio::Portfolio& portfolio() const noexcept { return portfolio_; }

  // The strategy's ctx as plain data (StrategyHost::export_context): runs Lua,
  // so only between callbacks, on the runner's thread.
  Result<Value> export_context() { return host_->export_context(); }

  // script::LogSink
  void strategy_log(int level, std::string_view message) override;

 private:
  SymbolRunner(RunnerConfig config, model::Instrument instrument, std::unique_ptr<BarHistory> history,
               exec::ExecutionEngine& exec, portfolio::Portfolio& portfolio, RunnerObserver* observer);

  void run_strategy(const model::Bar& bar);
  void write_frame(const model::Bar& bar);
  void transition(RunnerEvent event, std::string reason);
  void fault(const script::StrategyError& error);
  void enter(const te_action& action, const model::Bar& bar, bool is_long);
  void exit_position(std::string reason, model::OrderPurpose purpose);
  void adjust(const te_action& action);
  void place_protection();
  void cancel_protection();
  std::optional<double> entry_quantity(const te_action& action, const model::Bar& bar, std::string& why) const;
  model::Order make_order(model::Side side, double qty, model::OrderPurpose purpose, std::string tag) const;
  void submit(model::Order order);
  void reject_intent(const std::string& code, const std::string& message);

  RunnerConfig config_;
  model::Instrument instrument_;
  std::unique_ptr<BarHistory> history_;
  exec::ExecutionEngine& exec_;
  portfolio::Portfolio& portfolio_;
  RunnerObserver* observer_;
  RunnerIndicators indicators_;
  std::unique_ptr<script::StrategyHost> host_;

  RunnerState state_ = RunnerState::Watch;
  std::int64_t bar_index_ = -1;
  std::int64_t state_since_bar_ = 0;
  std::int64_t last_ts_ns_ = 0;
  RunnerStats stats_;
  std::vector<Transition> transitions_;
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
};

// Routes execution events to the account and to the runner that sent the
// order; answers the exchange's affordability checks from the account.
class Router final : public exec::ExecutionListener, public exec::FillGate {
 public:
  explicit Router(portfolio::Portfolio& portfolio) : portfolio_(portfolio) {}
  void add(SymbolRunner& runner);

  void on_order_update(const model::Order& order) override;
  void on_fill(const model::Fill& fill, const model::Order& order) override;
  void on_rejected(const model::Rejection& rejection, const model::Order& order) override;
  std::optional<std::string> check_fill(model::InstrumentId instrument, model::Side side, double qty, double price,
                                        double commission) const override {
    return portfolio_.check_fill(instrument, side, qty, price, commission);
  }

 private:
  SymbolRunner* runner(model::RunnerId id) const noexcept {
    return id < runners_.size() ? runners_[id] : nullptr;
  }
  portfolio::Portfolio& portfolio_;
  std::vector<SymbolRunner*> runners_;  // by runner id
};

}  // namespace te::runner
