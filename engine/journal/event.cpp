#include "engine/journal/event.hpp"

#include <array>

#include "engine/journal/event_codec.hpp"

namespace te::journal {

namespace {

// Variant alternative i is wire type i + 1; UnknownEvent is last.
static_assert(std::variant_size_v<EventBody> == kMaxKnownEventType + 1);
static_assert(std::is_same_v<std::variant_alternative_t<0, EventBody>, SessionStart>);
static_assert(std::is_same_v<std::variant_alternative_t<kMaxKnownEventType - 1, EventBody>, Note>);
static_assert(std::is_same_v<std::variant_alternative_t<kMaxKnownEventType, EventBody>, UnknownEvent>);

constexpr std::array<std::string_view, kMaxKnownEventType + 1> kNames = {
    "",
    "session_start",
    "session_end",
    "market_data",
    "runner_state",
    "transition",
    "strategy_action",
    "order_update",
    "fill",
    "risk_decision",
    "storm_guard_change",
    "strategy_error",
    "reload",
    "indicator_values",
    "note",
};

}  // namespace

std::string_view to_string(EventType t) noexcept {
  const auto i = static_cast<std::size_t>(t);
  return i >= 1 && i < kNames.size() ? kNames[i] : std::string_view("unknown");
}

bool parse_event_type(std::string_view name, EventType& out) noexcept {
  for (std::size_t i = 1; i < kNames.size(); ++i) {
    if (kNames[i] == name) {
      out = static_cast<EventType>(i);
      return true;
    }
  }
  return false;
}

std::uint16_t Event::type_code() const noexcept {
  if (const auto* u = std::get_if<UnknownEvent>(&body)) return u->type;
  return static_cast<std::uint16_t>(body.index() + 1);
}

EventType Event::type() const noexcept {
  TE_ASSERT(!is_unknown(), "journal event: type() of an unknown event (code %u)", unsigned{type_code()});
  return static_cast<EventType>(body.index() + 1);
}

bool identical(const Event& a, const Event& b) {
  // The encoding is canonical and covers every field, so byte equality is
  // exactly field equality with doubles compared bit by bit.
  return a.body.index() == b.body.index() && encode_event(a) == encode_event(b);
}

std::string_view to_string(StatePhase p) noexcept { return p == StatePhase::Before ? "before" : "after"; }

std::string_view to_string(StateEncoding e) noexcept { return e == StateEncoding::Full ? "full" : "delta"; }

std::string_view to_string(StrategyErrorKind k) noexcept {
  switch (k) {
    case StrategyErrorKind::Error: return "error";
    case StrategyErrorKind::Timeout: return "timeout";
    case StrategyErrorKind::OutOfMemory: return "out_of_memory";
    case StrategyErrorKind::Fault: return "fault";
  }
  return "unknown";
}

}  // namespace te::journal
