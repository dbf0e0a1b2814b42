#pragma once
// Events as readable data: a Value tree with named fields (for `export`,
// `inspect-event`, `compare`) and a one-line description (for `replay`).
// Field names follow docs/journal-format.md; enums become words. The value
// form leaves out the storage form of runner states (delta/full, base and
// snapshot sequences): two sessions recorded in different storage modes give
// the same values for the same behaviour.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/value.hpp"
#include "engine/journal/event.hpp"

namespace te::journal {

// Names of codes the journal does not own (runner FSM states, StormGuard
// states). Unset functions print the number.
struct EventNames {
  std::function<std::string(std::uint8_t)> runner_state;
  std::function<std::string(std::uint8_t)> storm_state;

  std::string runner_state_name(std::uint8_t code) const;
  std::string storm_state_name(std::uint8_t code) const;
};

// {"sequence", "ts_event_ns", "time", "runner" (nil: session-wide), "type", fields...}
// `date_only` prints times as dates (daily data).
Value event_to_value(const Event& e, const EventNames& names = {}, bool date_only = false);

// The fields of the body only (no envelope).
Value event_fields(const Event& e, const EventNames& names = {});

// One line without the envelope, e.g. "watch -> close_watch (setup_found): fast SMA crossed above slow SMA".
std::string describe_event(const Event& e, const EventNames& names = {}, bool date_only = false);

// The first place where two values differ, as a path ("context.ctx.n",
// "orders[2].qty") with both sides rendered as JSON; empty path and texts when
// they are identical. `max_text` caps each side's rendering.
struct ValueDifference {
  bool differs = false;
  std::string path;
  std::string a;
  std::string b;
};
ValueDifference first_difference(const Value& a, const Value& b, std::size_t max_text = 160);
// Every differing leaf, in key order, up to `limit` of them.
std::vector<ValueDifference> differences(const Value& a, const Value& b, std::size_t limit = 50,
                                         std::size_t max_text = 160);

// Short rendering of a number: shortest round-trip text.
std::string number_text(double v);

}  // namespace te::journal
