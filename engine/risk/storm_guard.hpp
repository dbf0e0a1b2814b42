#pragma once
// StormGuard: a per-scope (one per strategy, one for the account) state machine
// that tightens trading as losses grow. NORMAL -> WARM -> STORM -> HALT as the
// loss crosses configurable thresholds; the way back is documented in
// docs/risk.md ("StormGuard") and is the Recover/Reset rows of the table below.
// The transition logic is one table, next_storm_state(), tested for every
// (state, event) pair in tests/unit/risk/storm_guard_test.cpp.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace te::risk {

// Codes are journaled (StormGuardChange.from/to): never renumber.
enum class StormState : std::uint8_t { Normal = 0, Warm = 1, Storm = 2, Halt = 3 };
inline constexpr std::size_t kStormStates = 4;

enum class StormEvent : std::uint8_t {
  EscalateWarm,   // the loss reached the WARM threshold
  EscalateStorm,  // ... the STORM threshold
  EscalateHalt,   // ... the HALT threshold
  Recover,        // a quiet cooldown passed: one step back, losses measured afresh
  Reset,          // operator reset, or a new trading day (daily basis): back to NORMAL
};
inline constexpr std::size_t kStormEvents = 5;

std::string_view to_string(StormState s) noexcept;
std::string_view to_string(StormEvent e) noexcept;

constexpr std::optional<StormState> next_storm_state(StormState s, StormEvent e) noexcept {
  using S = StormState;
  using E = StormEvent;
  if (e == E::Reset) return S::Normal;
  switch (s) {
    case S::Normal:
      if (e == E::EscalateWarm) return S::Warm;
      if (e == E::EscalateStorm) return S::Storm;
      if (e == E::EscalateHalt) return S::Halt;
      return std::nullopt;
    case S::Warm:
      if (e == E::EscalateStorm) return S::Storm;
      if (e == E::EscalateHalt) return S::Halt;
      if (e == E::Recover) return S::Normal;
      return std::nullopt;
    case S::Storm:
      if (e == E::EscalateHalt) return S::Halt;
      if (e == E::Recover) return S::Warm;
      return std::nullopt;
    case S::Halt:
      if (e == E::Recover) return S::Storm;
      return std::nullopt;
  }
  return std::nullopt;
}

struct StormGuardConfig {
  bool enabled = false;
  // Loss thresholds as fractions (0.005 = 0.5 %), warm < storm < halt.
  double warm = 0.005;
  double storm = 0.01;
  double halt = 0.015;
  // What the loss is measured from: the peak value (drawdown) or the value at
  // the start of the UTC day (daily; a new day also resets to NORMAL).
  enum class Basis : std::uint8_t { Drawdown, Daily };
  Basis basis = Basis::Drawdown;
  // Effects.
  double warm_size_scale = 0.5;  // entry quantities are multiplied by this in WARM
  bool halt_flatten = true;      // HALT closes positions (else it only blocks)
  // The way back: after this many bars in WARM or STORM without a further
  // escalation, step down one level and measure losses from the current value.
  // 0 = stay until reset.
  std::int64_t cooldown_bars = 0;
  // Same for HALT -> STORM; 0 (default) = HALT stays until an operator reset
  // (or the next day with the daily basis).
  std::int64_t halt_cooldown_bars = 0;
};

struct StormTransition {
  StormState from = StormState::Normal;
  StormState to = StormState::Normal;
  StormEvent event = StormEvent::Reset;
  double loss = 0;  // the reading that caused it (fraction)
};

// One scope's guard. evaluate() is called with the scope's current value
// (account equity, or strategy capital + PnL) at each bar; it returns the
// transition it made, if any.
class StormGuard {
 public:
  explicit StormGuard(StormGuardConfig config = {}) : config_(config) {}

  // `base` is what loss fractions are relative to: the reference value itself
  // when <= 0 (account: drawdown from peak equity), else a fixed capital.
  std::optional<StormTransition> evaluate(double value, double base, std::int64_t ts_ns);
  // Operator actions (also journaled by the caller).
  std::optional<StormTransition> reset(double value);
  std::optional<StormTransition> force(StormState to, double value);

  StormState state() const noexcept { return state_; }
  double loss() const noexcept { return loss_; }
  const StormGuardConfig& config() const noexcept { return config_; }

 private:
  std::optional<StormTransition> apply(StormEvent e, StormState to);

  StormGuardConfig config_;
  StormState state_ = StormState::Normal;
  bool started_ = false;
  double ref_ = 0;         // peak (drawdown) or start-of-day value (daily)
  double loss_ = 0;
  std::int64_t day_ = 0;
  std::int64_t last_ts_ = 0;
  std::int64_t bars_in_state_ = 0;
};

}  // namespace te::risk
