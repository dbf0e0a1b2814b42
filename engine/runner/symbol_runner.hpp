#pragma once
// One strategy bound to one instrument: bars in, state machine, strategy
// callbacks, orders out. The same class runs backtests, paper and live trading;
// only the injected ExecutionEngine and the data feeding on_bar() differ.
// Not thread-safe: a runner is driven by one thread at a time.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/exec/execution_engine.hpp"
#include "engine/model/bar.hpp"
#include "engine/model/instrument.hpp"
#include "engine/portfolio/portfolio.hpp"
#include "engine/runner/bar_history.hpp"
#include "engine/runner/runner_indicators.hpp"
#include "engine/runner/state_machine.hpp"
#include "engine/runner/strategy_reload.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::runner {

class SymbolRunner;

// Hooks for recording (session journal, reports). Every method has a no-op
// default; called synchronously on the runner's thread.
class RunnerObserver {
 public:
  virtual ~RunnerObserver() = default;
  virtual void on_bar(const SymbolRunner&, const model::Bar&) {}
  virtual void on_transition(const SymbolRunner&, const Transition&) {}
  virtual void on_order(const SymbolRunner&, const model::Order&) {}
  virtual void on_fill(const SymbolRunner&, const model::Fill&) {}
  virtual void on_rejected(const SymbolRunner&, const model::Rejection&) {}
  virtual void on_fault(const SymbolRunner&, const script::StrategyError&) {}
  virtual void on_strategy_log(const SymbolRunner&, int /*level*/, std::string_view /*message*/) {}
  // A callback raised, but fewer than max_consecutive_errors in a row: the
  // bar's decision is skipped and the runner goes on.
  virtual void on_strategy_error(const SymbolRunner&, const script::StrategyError&, int /*consecutive*/) {}
  // A hot reload was applied (ok) or refused (the old version keeps running).
  // Not called when the new source has the running version's SHA-256.
  virtual void on_reload(const SymbolRunner&, std::string_view /*old_sha256*/, std::string_view /*new_sha256*/,
                         bool /*ok*/, std::string_view /*message*/) {}
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
};

struct RunnerStats {
  std::int64_t bars = 0;
  std::int64_t rejected_bars = 0;  // bars for another instrument (refused)
  std::int64_t callbacks = 0;
  std::int64_t orders = 0;
  std::int64_t rejections = 0;
  std::int64_t transitions = 0;
  std::int64_t strategy_errors = 0;  // callback errors, including the one that faulted
  std::int64_t reloads = 0;          // versions swapped in
  std::int64_t reload_failures = 0;  // versions refused (the old one kept running)
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
  std::int64_t bar_index() const noexcept { return bar_index_; }

  // Hot reload (strategy_reload.cpp). reload() swaps the strategy now and
  // must be called on the runner's thread between bars; a failure leaves the
  // old version running (and is also reported to the observer). A Faulted
  // runner is not revived. request_reload() may be called from any thread:
  // the source is applied at the start of the runner's next bar.
  ReloadReport reload(const script::StrategySource& source);
  void request_reload(script::StrategySource source);
  bool reload_pending() const noexcept { return reload_flag_.load(std::memory_order_relaxed); }
  const std::optional<ReloadReport>& last_reload() const noexcept { return last_reload_; }

  // script::LogSink
  void strategy_log(int level, std::string_view message) override;

 private:
  SymbolRunner(RunnerConfig config, model::Instrument instrument, std::unique_ptr<BarHistory> history,
               exec::ExecutionEngine& exec, portfolio::Portfolio& portfolio, RunnerObserver* observer);

  void run_strategy(const model::Bar& bar);
  void apply_pending_reload();
  // A callback returned an error: fault, or count it and skip the bar's
  // decision (RunnerConfig::max_consecutive_errors).
  void callback_failed();
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
  script::HostOptions host_options_;  // for the VMs of reloaded versions
  int consecutive_errors_ = 0;
  ReloadMailbox mailbox_;
  std::atomic<bool> reload_flag_{false};
  std::optional<ReloadReport> last_reload_;

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
