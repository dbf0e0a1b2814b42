#include "engine/risk/storm_guard.hpp"

#include <algorithm>
#include <cmath>

#include "engine/core/assert.hpp"
#include "engine/core/time.hpp"

namespace te::risk {

std::string_view to_string(StormState s) noexcept {
  switch (s) {
    case StormState::Normal: return "NORMAL";
    case StormState::Warm: return "WARM";
    case StormState::Storm: return "STORM";
    case StormState::Halt: return "HALT";
  }
  return "?";
}

std::string_view to_string(StormEvent e) noexcept {
  switch (e) {
    case StormEvent::EscalateWarm: return "escalate_warm";
    case StormEvent::EscalateStorm: return "escalate_storm";
    case StormEvent::EscalateHalt: return "escalate_halt";
    case StormEvent::Recover: return "recover";
    case StormEvent::Reset: return "reset";
  }
  return "?";
}

std::optional<StormTransition> StormGuard::apply(StormEvent e, StormState expect) {
  const auto next = next_storm_state(state_, e);
  TE_ASSERT(next.has_value() && *next == expect, "illegal StormGuard transition %s --%s-->",
            std::string(to_string(state_)).c_str(), std::string(to_string(e)).c_str());
  StormTransition t{state_, *next, e, loss_};
  state_ = *next;
  bars_in_state_ = 0;
  return t;
}

std::optional<StormTransition> StormGuard::evaluate(double value, double base, std::int64_t ts_ns) {
  if (!config_.enabled || !std::isfinite(value)) return std::nullopt;
  const std::int64_t day = floor_days(ts_ns);
  const bool new_bar = !started_ || ts_ns > last_ts_;
  std::optional<StormTransition> reset_change;
  if (!started_) {
    started_ = true;
    ref_ = value;
    day_ = day;
  } else if (config_.basis == StormGuardConfig::Basis::Daily && day != day_) {
    day_ = day;
    ref_ = value;
    loss_ = 0;
    if (state_ != StormState::Normal) reset_change = apply(StormEvent::Reset, StormState::Normal);
  }
  last_ts_ = ts_ns;
  if (config_.basis == StormGuardConfig::Basis::Drawdown) ref_ = std::max(ref_, value);
  const double b = base > 0 ? base : ref_;
  loss_ = b > 0 ? std::max(0.0, (ref_ - value) / b) : 0.0;
  const StormState target = loss_ >= config_.halt    ? StormState::Halt
                            : loss_ >= config_.storm ? StormState::Storm
                            : loss_ >= config_.warm  ? StormState::Warm
                                                     : StormState::Normal;
  if (target > state_) {
    const StormEvent e = target == StormState::Halt    ? StormEvent::EscalateHalt
                         : target == StormState::Storm ? StormEvent::EscalateStorm
                                                       : StormEvent::EscalateWarm;
    return apply(e, target);
  }
  if (reset_change) return reset_change;
  if (!new_bar || state_ == StormState::Normal) return std::nullopt;
  ++bars_in_state_;
  const std::int64_t cooldown = state_ == StormState::Halt ? config_.halt_cooldown_bars : config_.cooldown_bars;
  if (cooldown <= 0 || bars_in_state_ < cooldown) return std::nullopt;
  // A quiet cooldown: one step back, and the loss so far is forgiven (measured
  // from here on), else a scope that may no longer trade could never recover.
  ref_ = value;
  const auto t = apply(StormEvent::Recover, static_cast<StormState>(static_cast<int>(state_) - 1));
  loss_ = 0;
  return t;
}

std::optional<StormTransition> StormGuard::reset(double value) {
  ref_ = value;
  loss_ = 0;
  if (state_ == StormState::Normal) return std::nullopt;
  return apply(StormEvent::Reset, StormState::Normal);
}

std::optional<StormTransition> StormGuard::force(StormState to, double value) {
  if (to == state_) return std::nullopt;
  if (to == StormState::Normal) return reset(value);
  if (to < state_) {
    // Stepping down by hand: one Recover per level, reported as the last one.
    std::optional<StormTransition> t;
    const StormState from = state_;
    while (state_ > to) t = apply(StormEvent::Recover, static_cast<StormState>(static_cast<int>(state_) - 1));
    ref_ = value;
    loss_ = 0;
    if (t) t->from = from;
    return t;
  }
  const StormEvent e = to == StormState::Halt    ? StormEvent::EscalateHalt
                       : to == StormState::Storm ? StormEvent::EscalateStorm
                                                 : StormEvent::EscalateWarm;
  return apply(e, to);
}

}  // namespace te::risk
