#pragma once
// What happened to a backtest's orders and why: every order with its
// lifecycle, every rejection with its reason and source, the risk engine's
// non-trivial decisions (denials, scaled sizes), StormGuard and kill-switch
// events, and the strategy's callback errors. Collected from the runner's
// observer hooks (engine/runner/symbol_runner.hpp, RunnerObserver) and shown in
// report.json ("activity") and report.html ("Orders, risk and faults").
//
// Bounded: at most kMaxActivityRows rows per list are kept; the rest are
// counted (`*_dropped`), so a pathological strategy cannot exhaust memory.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backtest/chunked_rows.hpp"
#include "engine/core/json_writer.hpp"
#include "engine/model/order.hpp"
#include "engine/risk/risk_engine.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::backtest {

inline constexpr std::size_t kMaxActivityRows = 100000;
// Steps kept per order: the first ones and always the final one (an order
// amended every bar for a year would otherwise grow without bound).
inline constexpr std::size_t kMaxOrderSteps = 64;

// One step of an order's life: accepted, amended, partially_filled, filled,
// cancelled, expired, rejected.
struct OrderStep {
  std::int64_t ts_ns = 0;
  std::string event;
  double qty = 0;    // fills: the fill's quantity; others: the order's remaining quantity
  double price = 0;  // fills: the fill price; amendments: the new stop/limit; else 0
  std::string reason;  // cancel/expiry/rejection code ("oco", "cancel_requested", "insufficient_cash", ...)
};

struct OrderRecord {
  model::OrderId id = 0;
  model::Side side = model::Side::Buy;
  model::OrderType type = model::OrderType::Market;
  model::OrderPurpose purpose = model::OrderPurpose::Entry;
  double qty = 0;
  double limit_price = 0;
  double stop_price = 0;
  std::int64_t submitted_ns = 0;
  std::string tag;
  model::OrderStatus status = model::OrderStatus::Submitted;
  double filled_qty = 0;
  double avg_fill_price = 0;
  double commission = 0;
  std::int64_t closed_ns = 0;  // when it reached a terminal status (0: still working at the end)
  std::string reason;          // the terminal event's reason code (empty for fills)
  std::vector<OrderStep> steps;
  std::size_t steps_dropped = 0;  // beyond kMaxOrderSteps (counted, not kept)
};

// A refused order or intent. source: "exchange" (the simulated venue refused
// an order), "runner" (an intent that never became an order, e.g. no size) or
// "risk" (a pre-trade check denied it).
struct RejectionRecord {
  std::int64_t ts_ns = 0;
  model::OrderId order = 0;  // 0: never became an order
  std::string source;
  std::string code;
  std::string message;
  model::Side side = model::Side::Buy;
  model::OrderPurpose purpose = model::OrderPurpose::Entry;
  double qty = 0;
};

// kind: "denied" or "scaled" (risk decisions), "stormguard", "kill_switch".
struct RiskEventRecord {
  std::int64_t ts_ns = 0;
  std::string kind;
  std::string code;     // decision code; StormGuard event; "engaged"/"released"
  std::string state;    // StormGuard state after the event (decisions: the effective state)
  std::string message;
  double requested_qty = 0;  // decisions only
  double approved_qty = 0;
};

struct StrategyErrorRecord {
  std::int64_t ts_ns = 0;
  std::string callback;
  std::string message;
  int consecutive = 0;
  bool fatal = false;  // the error that faulted the runner
};

struct ActivityLog {
  // Chunked, not vectors: appending never moves rows (see chunked_rows.hpp).
  ChunkedRows<OrderRecord> orders;  // in submission order
  ChunkedRows<RejectionRecord> rejections;
  std::vector<RiskEventRecord> risk_events;
  std::vector<StrategyErrorRecord> strategy_errors;
  std::size_t orders_dropped = 0, rejections_dropped = 0, risk_events_dropped = 0, strategy_errors_dropped = 0;
  std::size_t risk_approved = 0;  // decisions approved unchanged (counted, not listed)

  // Observer entry points (the backtest's recorder forwards to these).
  void order_event(std::int64_t now_ns, const model::Order& o, std::string_view reason, const model::Fill* fill,
                   const model::Rejection* rejection);
  // Every on_rejected: only intents that never became an order (id 0) are
  // recorded here; the runner does not say their side and size.
  void intent_rejected(const model::Rejection& r, model::Side side = model::Side::Buy, double qty = 0);
  void risk_decision(const risk::Decision& d);
  void stormguard(const risk::StormGuardChange& c);
  void kill_switch(const risk::KillSwitchEvent& e);
  void strategy_error(std::int64_t now_ns, const script::StrategyError& e, int consecutive, bool fatal);

 private:
  OrderRecord* find(model::OrderId id);
  void add_rejection(const model::Rejection& r, const char* source, model::Side side, model::OrderPurpose purpose,
                     double qty);
  std::vector<std::size_t> index_;  // order id -> position in orders + 1 (0: unknown)
};

// The log as the "activity" object of report.json and of the HTML report's
// data (one writer: the two cannot disagree). Times are ISO-8601 (dates only
// when `date_only`); numbers that do not apply are null.
void write_activity_json(JsonWriter& j, const ActivityLog& a, bool date_only);

}  // namespace te::backtest
