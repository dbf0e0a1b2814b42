#pragma once
// Fills a BacktestResult's counters and activity log from the runner's
// observer hooks. One recorder for `backtest` and for every `run` runner, so
// their reports (rejections by code, risk denials, StormGuard, kill switch,
// orders and faults, strategy log) are built the same way.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/runner/symbol_runner.hpp"

namespace te::backtest {

class ResultRecorder final : public runner::RunnerObserver {
 public:
  // keep_activity: BacktestConfig::keep_activity. max_log_lines: strategy log
  // lines kept (0 = all; a live run may last for months).
  ResultRecorder(BacktestResult& out, bool keep_activity, std::size_t max_log_lines = 0)
      : out_(out), keep_(keep_activity), max_log_lines_(max_log_lines) {}

  // No per-bar hooks (the time of an event without its own is the runner's
  // last bar, SymbolRunner::last_bar_ts_ns): the runner makes no per-bar
  // call for this recorder, and its bars stay in the batch loop.
  RunnerObserver* bar_hooks() noexcept override { return nullptr; }
  bool bar_end_runs_lua() const noexcept override { return false; }
  bool reads_transition_reasons() const noexcept override { return false; }  // no on_transition
  std::uint8_t event_hooks() const noexcept override { return 0; }  // no on_transition, on_action, on_fill
  void on_rejected(const runner::SymbolRunner&, const model::Rejection& r) override;
  void on_order_event(const runner::SymbolRunner&, const model::Order& o, std::string_view reason,
                      const model::Fill* fill, const model::Rejection* rejection) override;
  void on_risk_decision(const runner::SymbolRunner&, const risk::Decision& d) override;
  void on_stormguard(const runner::SymbolRunner&, const risk::StormGuardChange& c) override;
  void on_kill_switch(const runner::SymbolRunner&, const risk::KillSwitchEvent& e) override;
  void on_strategy_error(const runner::SymbolRunner&, const script::StrategyError& e, int consecutive) override;
  void on_fault(const runner::SymbolRunner& r, const script::StrategyError& e) override;
  void on_strategy_log(const runner::SymbolRunner&, int level, std::string_view message) override;
  // The result was moved out (RunnerUnit::take_result): the cached counter
  // and interned code pointed into the map and log that left with it.
  void result_taken() noexcept { last_count_ = nullptr; }

 private:
  BacktestResult& out_;
  bool keep_;
  std::size_t max_log_lines_;
  std::string last_code_;                // on_rejected's last code ...
  std::size_t* last_count_ = nullptr;    // ... its counter in out_.rejections
  std::string_view last_interned_;       // ... and out_.activity.intern(last_code_)
};

}  // namespace te::backtest
