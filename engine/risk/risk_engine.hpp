#pragma once
// The risk engine (seed 004): every order a runner wants to send passes
// check() first; StormGuard and the loss limits follow the account and each
// strategy bar by bar; the kill switch flattens everything and blocks new
// orders. One engine per account, shared by its runners. Decisions and state
// changes are events with stable reason codes (risk_codes.hpp), reported back
// to the caller, which records them (RunnerObserver). docs/risk.md.
//
// Threads: everything runs on the run's event thread except
// request_kill_switch(), which any thread (or a signal handler) may call.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/instrument.hpp"
#include "engine/model/order.hpp"
#include "engine/portfolio/portfolio.hpp"
#include "engine/risk/risk_config.hpp"
#include "engine/risk/storm_guard.hpp"
#include "engine/risk/validators.hpp"

namespace te::risk {

// The outcome of one pre-trade check.
struct Decision {
  model::RunnerId runner = 0;
  model::StrategyId strategy = 0;
  model::InstrumentId instrument = 0;
  model::Side side = model::Side::Buy;
  model::OrderPurpose purpose = model::OrderPurpose::Entry;
  bool approved = true;
  double requested_qty = 0;
  double approved_qty = 0;  // < requested when StormGuard WARM scaled it
  std::string code;         // empty when approved unchanged; risk_codes.hpp otherwise
  std::string message;
  StormState state = StormState::Normal;  // effective StormGuard state for the strategy
  std::int64_t ts_ns = 0;
};

struct StormGuardChange {
  bool account = false;           // account-wide guard, else the strategy's
  model::StrategyId strategy = 0;
  StormTransition transition;
  std::string reason;             // "loss 1.02 % reached STORM (1 %)", "operator reset", ...
  std::int64_t ts_ns = 0;
};

struct KillSwitchEvent {
  bool engaged = true;            // false: released by an operator
  std::string reason;
  std::int64_t ts_ns = 0;
};

// Where a call reports the state changes it caused.
class RiskEventSink {
 public:
  virtual ~RiskEventSink() = default;
  virtual void on_stormguard(const StormGuardChange& change) = 0;
  virtual void on_kill_switch(const KillSwitchEvent& event) = 0;
};

class RiskEngine {
 public:
  // `portfolio` is the account the limits apply to; it must outlive the engine.
  RiskEngine(RiskConfig config, const portfolio::Portfolio& portfolio);
  RiskEngine(const RiskEngine&) = delete;
  RiskEngine& operator=(const RiskEngine&) = delete;

  // Runs after the standard validators.
  void add_validator(std::unique_ptr<Validator> v);

  // Pre-trade check of `order` (not yet sent; its qty is what the runner
  // wants). Reduce-only orders are always approved. `sink` may be null.
  Decision check(const model::Order& order, const model::Instrument& instrument, double last_price,
                 double planned_stop, std::int64_t ts_ns, RiskEventSink* sink);

  // A fill of any runner: strategy PnL bookkeeping.
  void on_fill(const model::Fill& fill);
  // Once per bar and runner, after the bar's fills and marks: follows equity
  // and strategy PnL, moves StormGuard, engages a due or requested kill switch.
  void on_bar(model::StrategyId strategy, model::InstrumentId instrument, double price, std::int64_t ts_ns,
              RiskEventSink* sink);

  // True while the strategy's positions must be closed (kill switch, or HALT
  // with halt_flatten).
  bool must_flatten(model::StrategyId strategy) const noexcept;
  // The reason an order flattening the strategy carries.
  model::OrderPurpose flatten_purpose() const noexcept {
    return kill_ ? model::OrderPurpose::KillSwitch : model::OrderPurpose::RiskHalt;
  }

  // Kill switch. engage/release: event thread. request: any thread, async-signal-safe;
  // it is engaged at the next on_bar() or check().
  void engage_kill_switch(std::string reason, std::int64_t ts_ns, RiskEventSink* sink);
  void release_kill_switch(std::string reason, std::int64_t ts_ns, RiskEventSink* sink);
  // `why` must be a string literal (it outlives the request): "SIGUSR1 received", ...
  void request_kill_switch(const char* why = "kill switch requested") noexcept {
    kill_reason_.store(why, std::memory_order_relaxed);
    kill_requested_.store(true, std::memory_order_release);
  }
  bool kill_switch_engaged() const noexcept { return kill_; }

  // StormGuard. Operator actions (reset to NORMAL, force a state); strategy
  // nullopt = the account-wide guard.
  StormState account_state() const noexcept { return account_guard_.state(); }
  StormState strategy_state(model::StrategyId strategy) const noexcept;
  StormState effective_state(model::StrategyId strategy) const noexcept;
  void reset_stormguard(std::optional<model::StrategyId> strategy, std::int64_t ts_ns, RiskEventSink* sink);
  void force_stormguard(std::optional<model::StrategyId> strategy, StormState to, std::int64_t ts_ns,
                        RiskEventSink* sink);

  const RiskConfig& config() const noexcept { return config_; }
  const StrategyLimits& limits(model::StrategyId strategy) const noexcept;
  // Strategy PnL (realised - commission + unrealised), as tracked from fills and marks.
  double strategy_pnl(model::StrategyId strategy) const noexcept;

 private:
  struct Lot {
    model::InstrumentId instrument = 0;
    double qty = 0;
    double avg = 0;
    double last = 0;
  };
  struct Book {
    bool used = false;
    double realized = 0;  // net of commission
    std::vector<Lot> lots;
    ScopeState scope;
    StormGuard guard;
    double pnl() const noexcept;
  };

  Book& book(model::StrategyId strategy);
  const Book* find_book(model::StrategyId strategy) const noexcept;
  double capital(model::StrategyId strategy) const noexcept;
  void poll_kill_switch(std::int64_t ts_ns, RiskEventSink* sink);
  void report(bool account, model::StrategyId strategy, const std::optional<StormTransition>& t, std::string reason,
              std::int64_t ts_ns, RiskEventSink* sink);

  RiskConfig config_;
  const portfolio::Portfolio& portfolio_;
  std::vector<std::unique_ptr<Validator>> validators_;
  std::vector<Book> books_;  // by strategy id
  ScopeState account_scope_;
  StormGuard account_guard_;
  bool kill_ = false;
  bool kill_at_done_ = false;
  std::atomic<bool> kill_requested_{false};
  std::atomic<const char*> kill_reason_{"kill switch requested"};
};

}  // namespace te::risk
