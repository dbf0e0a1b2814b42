#pragma once
// The journal's event model: everything a session records so that any decision can
// be explained and replayed afterwards (issue 7). Plain C++ values; the msgpack
// encoding lives in event_codec.cpp and is documented in docs/journal-format.md.
//
// Every event carries a sequence number (assigned by the journal writer, 1, 2, ...
// per session), ts_event_ns (data time: the bar or message that caused it, never
// the wall clock in backtests) and the runner it belongs to (kNoRunner for
// session-wide events).
//
// Schema evolution: adding an event type or appending fields to the end of an
// event is a minor format change; readers of an older minor surface unknown
// types as UnknownEvent and ignore trailing fields they do not know.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <variant>

#include "engine/core/value.hpp"
#include "engine/model/bar.hpp"
#include "engine/model/ids.hpp"
#include "engine/model/order.hpp"

namespace te::journal {

inline constexpr model::RunnerId kNoRunner = std::numeric_limits<model::RunnerId>::max();

// Stable wire codes: never renumber, only append.
enum class EventType : std::uint16_t {
  SessionStart = 1,
  SessionEnd = 2,
  MarketData = 3,
  RunnerState = 4,
  Transition = 5,
  StrategyAction = 6,
  OrderUpdate = 7,
  Fill = 8,
  RiskDecision = 9,
  StormGuardChange = 10,
  StrategyError = 11,
  Reload = 12,
  IndicatorValues = 13,
  Note = 14,
};
inline constexpr std::uint16_t kMaxKnownEventType = 14;

// "session_start", "market_data", ... (stable; used by filters and exports).
std::string_view to_string(EventType t) noexcept;
bool parse_event_type(std::string_view name, EventType& out) noexcept;

struct SessionStart {
  std::string session_id;
  std::string mode;            // "backtest", "run", "paper", "live", "rerun"
  std::string engine_version;
  std::uint64_t seed = 0;
  std::string config_sha256;
  Value info;                  // anything else worth keeping (nil if none)
};

struct SessionEnd {
  std::string reason;          // "end_of_data", "signal", "error", ...
  Value summary;               // e.g. final equity, trade count (nil if none)
};

// One bar delivered to a runner.
struct MarketData {
  model::InstrumentId instrument = model::kNoInstrument;
  std::string symbol;          // display only
  std::string timeframe;       // "1m", "1d", ... (empty if unknown)
  model::Bar bar;
};

enum class StatePhase : std::uint8_t { Before, After };   // around one runner update
enum class StateEncoding : std::uint8_t { Full, Delta };

// A runner's state around an update. Writers always pass Full state; in delta
// storage mode the writer stores a delta and readers rebuild the full state.
struct RunnerState {
  StatePhase phase = StatePhase::After;
  std::uint8_t state = 0;      // the runner's FSM state (Watch, CloseWatch, ...), as its small-int code
  Value context;               // the strategy context (canonical value tree)
  Value indicators;            // indicator values, nil when not recorded
  // Storage form. A reader hands out Full unless state reconstruction was turned
  // off or was impossible (its base was lost); then context and indicators hold
  // delta documents (value_diff.hpp) against the runner's state at base_sequence.
  StateEncoding encoding = StateEncoding::Full;
  std::uint64_t base_sequence = 0;      // Delta: the previous state event of this runner
  std::uint64_t snapshot_sequence = 0;  // Delta: the full snapshot the chain starts from
};

struct Transition {
  std::uint8_t from = 0;
  std::uint8_t to = 0;
  std::string trigger;         // the runner event that caused it ("setup_detected", "abandon", "exit_filled")
  std::string reason;          // human-readable why
  std::int64_t bar_ts_ns = 0;
};

struct StrategyAction {
  model::StrategyId strategy = 0;
  std::string kind;            // "enter_long", "exit", "adjust_stop", "abandon", ...
  Value params;                // the action table the strategy returned
  std::string reason;
};

// One step of an order's lifecycle; order.status says which (submitted, accepted,
// partially filled, filled, cancelled, rejected, expired). The order carries its
// runner and strategy attribution.
struct OrderUpdate {
  model::Order order;
  std::string reason_code;     // rejections, cancellations: stable code
  std::string message;
};

struct FillEvent {
  model::Fill fill;
};

struct RiskDecision {
  model::OrderId order = 0;
  model::StrategyId strategy = 0;
  bool approved = false;
  std::string reason_code;     // "max_notional", "price_band", ... (empty when approved)
  std::string message;
};

// StormGuard states are the risk module's small-int codes (NORMAL=0, WARM=1,
// STORM=2, HALT=3 at the time of writing).
struct StormGuardChange {
  std::uint8_t from = 0;
  std::uint8_t to = 0;
  std::string reason;
  Value metrics;               // the readings that triggered it (nil if none)
};

enum class StrategyErrorKind : std::uint8_t { Error, Timeout, OutOfMemory, Fault };

struct StrategyError {
  model::StrategyId strategy = 0;
  StrategyErrorKind kind = StrategyErrorKind::Error;
  std::string callback;        // "detect_opportunity", "on_reload", ...
  std::string message;
  std::string traceback;
  std::string file;            // where it was raised, if known
  std::uint32_t line = 0;
  bool strategy_disabled = false;  // the runner stopped calling the strategy
};

struct Reload {
  model::StrategyId strategy = 0;
  std::string path;
  std::string old_sha256;      // the stored sources/<sha256>.lua of each version
  std::string new_sha256;
  bool ok = true;              // false: the new version failed to load, the old one kept running
  std::string message;
};

struct IndicatorValues {
  Value values;                // {"sma(20)": 101.5, ...}
};

struct Note {
  std::string category;
  std::string text;
  Value data;
};

// An event this build does not understand: a type from a newer minor version, or
// a record that could not be decoded (then `error` says why). `record` is the
// complete msgpack record, so nothing is lost by passing it on.
struct UnknownEvent {
  std::uint16_t type = 0;
  std::string record;
  std::string error;
};

using EventBody = std::variant<SessionStart, SessionEnd, MarketData, RunnerState, Transition, StrategyAction,
                               OrderUpdate, FillEvent, RiskDecision, StormGuardChange, StrategyError, Reload,
                               IndicatorValues, Note, UnknownEvent>;

struct Event {
  std::uint64_t sequence = 0;  // assigned by JournalWriter::append
  std::int64_t ts_event_ns = 0;
  model::RunnerId runner = kNoRunner;
  EventBody body;

  // The wire type; for UnknownEvent, its raw code.
  std::uint16_t type_code() const noexcept;
  // Aborts on UnknownEvent (check is_unknown() first).
  EventType type() const noexcept;
  bool is_unknown() const noexcept { return std::holds_alternative<UnknownEvent>(body); }

  template <class T>
  const T* get() const noexcept {
    return std::get_if<T>(&body);
  }
  template <class T>
  T* get() noexcept {
    return std::get_if<T>(&body);
  }
};

// Builds an event (sequence left 0; the writer assigns it).
template <class Body>
Event make_event(std::int64_t ts_event_ns, model::RunnerId runner, Body body) {
  return Event{0, ts_event_ns, runner, EventBody(std::move(body))};
}

// Field-by-field identity with doubles compared by bit pattern (NaN == same NaN).
bool identical(const Event& a, const Event& b);

std::string_view to_string(StatePhase p) noexcept;
std::string_view to_string(StateEncoding e) noexcept;
std::string_view to_string(StrategyErrorKind k) noexcept;

}  // namespace te::journal
