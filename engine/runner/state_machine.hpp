#pragma once
// The per-symbol runner's lifecycle as one transition table (Nautilus'
// OrderStatus::transition style): every (state, event) pair either names the
// next state or is invalid. tests/unit/runner/state_machine_test.cpp checks
// every pair against an independent table.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace te::model {
struct Rejection;
}

namespace te::runner {

enum class RunnerState : std::uint8_t { Watch, CloseWatch, InTrade, Faulted };
inline constexpr std::size_t kRunnerStates = 4;

enum class RunnerEvent : std::uint8_t {
  SetupFound,         // detect_opportunity returned a setup
  Abandoned,          // filter_commitment returned "abandon"
  CloseWatchTimeout,  // closewatch_timeout_bars passed without a decision
  EntrySubmitted,     // filter_commitment returned an entry action
  EntryFailed,        // the entry order was rejected/cancelled/expired with nothing filled
  PositionClosed,     // the position went back to flat
  Fault,              // the strategy raised, broke a budget, or the runner failed
};
inline constexpr std::size_t kRunnerEvents = 7;
// Tables indexed by state and event (SymbolRunner's lean transition) rely on these.
static_assert(kRunnerStates == static_cast<std::size_t>(RunnerState::Faulted) + 1);
static_assert(kRunnerEvents == static_cast<std::size_t>(RunnerEvent::Fault) + 1);

std::string_view to_string(RunnerState s) noexcept;
std::string_view to_string(RunnerEvent e) noexcept;

constexpr std::optional<RunnerState> next_state(RunnerState s, RunnerEvent e) noexcept {
  using S = RunnerState;
  using E = RunnerEvent;
  if (e == E::Fault) return s == S::Faulted ? std::nullopt : std::optional<S>(S::Faulted);
  switch (s) {
    case S::Watch:
      if (e == E::SetupFound) return S::CloseWatch;
      return std::nullopt;
    case S::CloseWatch:
      switch (e) {
        case E::EntrySubmitted: return S::InTrade;
        case E::Abandoned:
        case E::CloseWatchTimeout: return S::Watch;
        default: return std::nullopt;
      }
    case S::InTrade:
      if (e == E::EntryFailed || e == E::PositionClosed) return S::Watch;
      return std::nullopt;
    case S::Faulted:
      return std::nullopt;  // terminal
  }
  return std::nullopt;
}

// next_state() as a table for SymbolRunner's lean transition: -1 where it has
// no state and for a fault (both take the full path), so one load and one test.
inline constexpr auto kLeanNext = [] {
  std::array<std::array<std::int8_t, kRunnerEvents>, kRunnerStates> next{};
  for (std::size_t s = 0; s < kRunnerStates; ++s) {
    for (std::size_t e = 0; e < kRunnerEvents; ++e) {
      const auto n = next_state(static_cast<RunnerState>(s), static_cast<RunnerEvent>(e));
      next[s][e] = !n || static_cast<RunnerEvent>(e) == RunnerEvent::Fault ? std::int8_t{-1}
                                                                             : static_cast<std::int8_t>(*n);
    }
  }
  return next;
}();

// One recorded transition (kept for reports and the session journal).
struct Transition {
  std::int64_t bar_index = 0;
  std::int64_t ts_ns = 0;
  RunnerState from = RunnerState::Watch;
  RunnerState to = RunnerState::Watch;
  RunnerEvent event = RunnerEvent::SetupFound;
  std::string reason;  // the strategy's reason, or the engine's (e.g. "stop filled at 9.5")
  // The same text, valid only while observers hear of the transition: set
  // whenever reasons are read at all, and for a fault (empty otherwise),
  // while `reason` is filled only when the kept list or
  // an observer needs it as a string (RunnerObserver::
  // reads_transition_reason_string): a session recorder copies the view into
  // its batch, and the copy into `reason` first was ~60 instructions per
  // transition on the trading thread (issue 7).
  std::string_view reason_view;
  // Set only while observers hear of the transition (on_transition): the
  // reason goes on with this refusal's text ("entry rejected (code): " and
  // the text), which is then built only by whoever reads it: a session
  // recorder has the journal writer's thread build it from the refusal's
  // facts (a text was ~1,100 instructions on the trading thread). Kept
  // transitions (transitions()) hold the whole text in `reason`.
  const model::Rejection* refusal = nullptr;
};

// `t`'s whole reason: t.reason followed by t.refusal's text, if any.
std::string full_reason(const Transition& t);

}  // namespace te::runner
