#pragma once
// Which events a command shows or exports: `--filter transitions,orders` and
// `--runner N`. Group names (docs/replay.md):
//   transitions  transition
//   actions      strategy_action
//   orders       order_update, risk_decision
//   fills        fill
//   errors       strategy_error, and notes of category "warning"
//   market       market_data
//   states       runner_state
//   risk         risk_decision, storm_guard_change
//   session      session_start, session_end
//   notes        note
//   reloads      reload
//   indicators   indicator_values
//   all          everything (also events of types this build does not know)
// and every event type's own name ("market_data", "fill", ...).
#include <bitset>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/result.hpp"
#include "engine/journal/event.hpp"

namespace te::journal {

class EventFilter {
 public:
  // Everything.
  EventFilter();

  // A comma-separated list of groups and type names; empty means everything.
  // Errors: Errc::invalid_argument naming the unknown word and the valid ones.
  static Result<EventFilter> parse(std::string_view spec);

  void only_runner(model::RunnerId runner) { runner_ = runner; }

  bool matches(const Event& e) const noexcept;
  // By type code alone (warnings among notes are decided by matches()).
  bool matches_type(std::uint16_t type) const noexcept;
  bool matches_runner(model::RunnerId runner) const noexcept { return !runner_ || *runner_ == runner; }
  bool everything() const noexcept { return all_ && !runner_; }

  static std::string_view groups_help() noexcept;

 private:
  std::bitset<kMaxKnownEventType + 1> types_;
  bool all_ = true;
  bool unknown_ = true;        // events of types this build does not know
  bool warnings_ = false;      // notes of category "warning" (the "errors" group)
  std::optional<model::RunnerId> runner_;
};

}  // namespace te::journal
