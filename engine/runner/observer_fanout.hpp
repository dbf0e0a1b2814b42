#pragma once
// One RunnerObserver slot, several observers (a backtest's result collector
// and the session journal recorder). Forwards every hook, in the order the
// observers were added; null entries are skipped. The per-bar hooks go only
// to the observers that want them (RunnerObserver::bar_hooks): with one such
// observer the runner calls it directly, past the fan-out; on_transition,
// on_action and on_fill only to those whose event_hooks() name them, and
// with one such observer straight from the runner too (event_target).
#include <algorithm>
#include <initializer_list>
#include <vector>

#include "engine/runner/symbol_runner.hpp"

namespace te::runner {

class ObserverFanout final : public RunnerObserver {
 public:
  ObserverFanout(std::initializer_list<RunnerObserver*> observers) {
    for (RunnerObserver* o : observers) {
      if (o == nullptr) continue;
      observers_.push_back(o);
      if (RunnerObserver* b = o->bar_hooks()) bar_observers_.push_back(b);
      const std::uint8_t hooks = o->event_hooks();
      if (hooks & kHookTransition) transition_observers_.push_back(o);
      if (hooks & kHookAction) action_observers_.push_back(o);
      if (hooks & kHookFill) fill_observers_.push_back(o);
    }
  }

  bool reads_transition_reasons() const noexcept override {
    for (auto* o : observers_)
      if (o->reads_transition_reasons()) return true;
    return false;
  }
  bool reads_transition_reason_string() const noexcept override {
    for (auto* o : observers_)
      if (o->reads_transition_reason_string()) return true;
    return false;
  }
  RunnerObserver* bar_hooks() noexcept override {
    if (bar_observers_.empty()) return nullptr;
    return bar_observers_.size() == 1 ? bar_observers_.front() : this;
  }
  void on_bar(const SymbolRunner& r, const model::Bar& b) override {
    for (auto* o : bar_observers_) o->on_bar(r, b);
  }
  void on_bar_source(const SymbolRunner& r, const model::BarSeries& series, std::size_t first) override {
    for (auto* o : observers_) o->on_bar_source(r, series, first);
  }
  std::uint8_t event_hooks() const noexcept override {
    return static_cast<std::uint8_t>((transition_observers_.empty() ? 0 : kHookTransition) |
                                     (action_observers_.empty() ? 0 : kHookAction) |
                                     (fill_observers_.empty() ? 0 : kHookFill));
  }
  std::size_t observers_into(RunnerObserver** out, std::size_t max) noexcept override {
    if (observers_.size() > max || observers_.empty()) return RunnerObserver::observers_into(out, max);
    std::copy(observers_.begin(), observers_.end(), out);
    return observers_.size();
  }
  RunnerObserver* event_target(EventHook hook) noexcept override {
    const std::vector<RunnerObserver*>& to = hook == kHookTransition ? transition_observers_
                                             : hook == kHookAction   ? action_observers_
                                                                     : fill_observers_;
    if (to.empty()) return nullptr;
    return to.size() == 1 ? to.front() : this;
  }
  void on_transition(const SymbolRunner& r, const Transition& t) override {
    for (auto* o : transition_observers_) o->on_transition(r, t);
  }
  void on_order(const SymbolRunner& r, const model::Order& order) override {
    for (auto* o : observers_) o->on_order(r, order);
  }
  void on_fill(const SymbolRunner& r, const model::Fill& f) override {
    for (auto* o : fill_observers_) o->on_fill(r, f);
  }
  void on_rejected(const SymbolRunner& r, const model::Rejection& rej) override {
    for (auto* o : observers_) o->on_rejected(r, rej);
  }
  void on_fault(const SymbolRunner& r, const script::StrategyError& e) override {
    for (auto* o : observers_) o->on_fault(r, e);
  }
  void on_strategy_log(const SymbolRunner& r, int level, std::string_view message) override {
    for (auto* o : observers_) o->on_strategy_log(r, level, message);
  }
  bool bar_end_runs_lua() const noexcept override {
    for (auto* o : bar_observers_)
      if (o->bar_end_runs_lua()) return true;
    return false;
  }
  bool bar_end_needs_lua(const SymbolRunner& r) const noexcept override {
    for (auto* o : bar_observers_)
      if (o->bar_end_needs_lua(r)) return true;
    return false;
  }
  bool bar_end_lua_is_ctx_export(const SymbolRunner& r) const noexcept override {
    for (auto* o : bar_observers_)
      if (o->bar_end_needs_lua(r) && !o->bar_end_lua_is_ctx_export(r)) return false;
    return true;
  }
  // (bar_end_in_loop: the default, over the three answers above.)
  void on_bar_end(SymbolRunner& r, const model::Bar& b) override {
    for (auto* o : bar_observers_) o->on_bar_end(r, b);
  }
  void on_action(const SymbolRunner& r, script::Callback cb, int kind, const te_action& a,
                 std::string_view reason) override {
    for (auto* o : action_observers_) o->on_action(r, cb, kind, a, reason);
  }
  void on_order_event(const SymbolRunner& r, const model::Order& order, std::string_view reason_code,
                      const model::Fill* fill, const model::Rejection* rejection) override {
    for (auto* o : observers_) o->on_order_event(r, order, reason_code, fill, rejection);
  }
  void on_risk_decision(const SymbolRunner& r, const risk::Decision& d) override {
    for (auto* o : observers_) o->on_risk_decision(r, d);
  }
  void on_stormguard(const SymbolRunner& r, const risk::StormGuardChange& c) override {
    for (auto* o : observers_) o->on_stormguard(r, c);
  }
  void on_kill_switch(const SymbolRunner& r, const risk::KillSwitchEvent& e) override {
    for (auto* o : observers_) o->on_kill_switch(r, e);
  }
  void on_strategy_error(const SymbolRunner& r, const script::StrategyError& e, int consecutive) override {
    for (auto* o : observers_) o->on_strategy_error(r, e, consecutive);
  }
  void on_reload(SymbolRunner& r, const ReloadInfo& info) override {
    for (auto* o : observers_) o->on_reload(r, info);
  }
  void on_started(SymbolRunner& r, bool ok) override {
    for (auto* o : observers_) o->on_started(r, ok);
  }

 private:
  std::vector<RunnerObserver*> observers_;
  std::vector<RunnerObserver*> bar_observers_;  // their bar_hooks(), non-null
  // The observers whose event_hooks() name the hook.
  std::vector<RunnerObserver*> transition_observers_;
  std::vector<RunnerObserver*> action_observers_;
  std::vector<RunnerObserver*> fill_observers_;
};

}  // namespace te::runner
