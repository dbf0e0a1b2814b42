#include "engine/runner/state_machine.hpp"

#include "engine/model/order.hpp"

namespace te::runner {

std::string_view to_string(RunnerState s) noexcept {
  switch (s) {
    case RunnerState::Watch: return "Watch";
    case RunnerState::CloseWatch: return "CloseWatch";
    case RunnerState::InTrade: return "InTrade";
    case RunnerState::Faulted: return "Faulted";
  }
  return "?";
}

std::string_view to_string(RunnerEvent e) noexcept {
  switch (e) {
    case RunnerEvent::SetupFound: return "setup_found";
    case RunnerEvent::Abandoned: return "abandoned";
    case RunnerEvent::CloseWatchTimeout: return "closewatch_timeout";
    case RunnerEvent::EntrySubmitted: return "entry_submitted";
    case RunnerEvent::EntryFailed: return "entry_failed";
    case RunnerEvent::PositionClosed: return "position_closed";
    case RunnerEvent::Fault: return "fault";
  }
  return "?";
}

std::string full_reason(const Transition& t) {
  std::string out = t.reason;
  if (t.refusal != nullptr) out.append(t.refusal->text());
  return out;
}

}  // namespace te::runner
