#include "engine/backtest/activity.hpp"

#include "engine/core/time.hpp"

namespace te::backtest {
namespace {

// Order ids of one exchange are small consecutive numbers; anything far beyond
// the rows kept is not indexed (its events are then not recorded).
constexpr model::OrderId kMaxIndexedId = 4 * kMaxActivityRows;

}  // namespace

OrderRecord* ActivityLog::find(model::OrderId id) {
  if (id == 0 || id >= index_.size() || index_[id] == 0) return nullptr;
  return &orders[index_[id] - 1];
}

void ActivityLog::order_event(std::int64_t now_ns, const model::Order& o, std::string_view reason,
                              const model::Fill* fill, const model::Rejection* rejection) {
  OrderRecord* rec = find(o.id);
  if (rec == nullptr) {
    if (orders.size() >= kMaxActivityRows || o.id == 0 || o.id > kMaxIndexedId) {
      // Count each dropped order once: on its first event.
      if (o.id > 0 && (o.id >= index_.size() || index_[o.id] == 0)) {
        if (o.id < kMaxIndexedId && o.id >= index_.size()) index_.resize(o.id + 1, 0);
        ++orders_dropped;
      }
      return;
    }
    OrderRecord r;
    r.id = o.id;
    r.side = o.side;
    r.type = o.type;
    r.purpose = o.purpose;
    r.qty = o.qty;
    r.limit_price = o.limit_price;
    r.stop_price = o.stop_price;
    r.submitted_ns = o.submitted_ns;
    r.tag = o.tag;
    orders.push_back(std::move(r));
    if (index_.size() <= o.id) index_.resize(o.id + 1, 0);
    index_[o.id] = orders.size();
    rec = &orders.back();
  }
  const model::OrderStatus before = rec->status;
  OrderStep step;
  step.ts_ns = now_ns;
  if (fill != nullptr) {
    step.ts_ns = fill->ts_ns;
    step.event = o.status == model::OrderStatus::Filled ? "filled" : "partially_filled";
    step.qty = fill->qty;
    step.price = fill->price;
    rec->commission += fill->commission;
  } else if (rejection != nullptr) {
    step.ts_ns = rejection->ts_ns;
    step.event = "rejected";
    step.qty = o.remaining();
    step.reason = rejection->code;
    add_rejection(*rejection, "exchange", o.side, o.purpose, o.remaining());
  } else if (o.status == model::OrderStatus::Accepted && before == model::OrderStatus::Submitted) {
    step.ts_ns = o.submitted_ns;
    step.event = "accepted";
    step.qty = o.qty;
  } else if (o.status == model::OrderStatus::Cancelled) {
    step.event = "cancelled";
    step.qty = o.remaining();
    step.reason = reason;
  } else if (o.status == model::OrderStatus::Expired) {
    step.event = "expired";
    step.qty = o.remaining();
    step.reason = reason;
  } else {
    step.event = "amended";
    step.qty = o.qty;
    step.price = o.type == model::OrderType::Limit ? o.limit_price : o.stop_price;
    step.reason = reason;
  }
  rec->status = o.status;
  rec->qty = o.qty;
  rec->limit_price = o.limit_price;
  rec->stop_price = o.stop_price;
  rec->filled_qty = o.filled_qty;
  rec->avg_fill_price = o.avg_fill_price;
  if (model::is_terminal(o.status) && rec->closed_ns == 0) {
    rec->closed_ns = step.ts_ns;
    rec->reason = step.reason;
  }
  if (rec->steps.size() < kMaxOrderSteps - 1 || model::is_terminal(o.status))
    rec->steps.push_back(std::move(step));
  else
    ++rec->steps_dropped;
}

void ActivityLog::add_rejection(const model::Rejection& r, const char* source, model::Side side,
                                model::OrderPurpose purpose, double qty) {
  if (rejections.size() >= kMaxActivityRows) {
    ++rejections_dropped;
    return;
  }
  RejectionRecord x;
  x.ts_ns = r.ts_ns;
  x.order = r.order;
  x.source = source;
  x.code = r.code;
  x.message = r.message;
  x.side = side;
  x.purpose = purpose;
  x.qty = qty;
  rejections.push_back(std::move(x));
}

void ActivityLog::intent_rejected(const model::Rejection& r, model::Side side, double qty) {
  // Exchange rejections arrive with their order through order_event().
  if (r.order == 0) add_rejection(r, "runner", side, model::OrderPurpose::Entry, qty);
}

void ActivityLog::risk_decision(const risk::Decision& d) {
  if (d.approved && d.code.empty()) {
    ++risk_approved;
    return;
  }
  if (!d.approved) {
    if (rejections.size() >= kMaxActivityRows) {
      ++rejections_dropped;
    } else {
      RejectionRecord x;
      x.ts_ns = d.ts_ns;
      x.source = "risk";
      x.code = d.code;
      x.message = d.message;
      x.side = d.side;
      x.purpose = d.purpose;
      x.qty = d.requested_qty;
      rejections.push_back(std::move(x));
    }
  }
  if (risk_events.size() >= kMaxActivityRows) {
    ++risk_events_dropped;
    return;
  }
  RiskEventRecord e;
  e.ts_ns = d.ts_ns;
  e.kind = d.approved ? "scaled" : "denied";
  e.code = d.code;
  e.state = std::string(risk::to_string(d.state));
  e.message = d.message;
  e.requested_qty = d.requested_qty;
  e.approved_qty = d.approved ? d.approved_qty : 0;
  risk_events.push_back(std::move(e));
}

void ActivityLog::stormguard(const risk::StormGuardChange& c) {
  if (risk_events.size() >= kMaxActivityRows) {
    ++risk_events_dropped;
    return;
  }
  RiskEventRecord e;
  e.ts_ns = c.ts_ns;
  e.kind = "stormguard";
  e.code = std::string(risk::to_string(c.transition.event));
  e.state = std::string(risk::to_string(c.transition.to));
  e.message = std::string(c.account ? "account: " : "strategy: ") + std::string(risk::to_string(c.transition.from)) +
              " -> " + std::string(risk::to_string(c.transition.to)) + (c.reason.empty() ? "" : ", " + c.reason);
  risk_events.push_back(std::move(e));
}

void ActivityLog::kill_switch(const risk::KillSwitchEvent& k) {
  if (risk_events.size() >= kMaxActivityRows) {
    ++risk_events_dropped;
    return;
  }
  RiskEventRecord e;
  e.ts_ns = k.ts_ns;
  e.kind = "kill_switch";
  e.code = k.engaged ? "engaged" : "released";
  e.message = k.reason;
  risk_events.push_back(std::move(e));
}

void ActivityLog::strategy_error(std::int64_t now_ns, const script::StrategyError& err, int consecutive, bool fatal) {
  if (strategy_errors.size() >= kMaxActivityRows) {
    ++strategy_errors_dropped;
    return;
  }
  StrategyErrorRecord e;
  e.ts_ns = now_ns;
  e.callback = err.callback;
  e.message = err.message;
  e.consecutive = consecutive;
  e.fatal = fatal;
  strategy_errors.push_back(std::move(e));
}

namespace {

void time_field(JsonWriter& j, std::string_view key, std::int64_t ts_ns, bool date_only) {
  j.key(key);
  if (ts_ns == 0) j.null();
  else j.value(format_iso8601(ts_ns, date_only));
}

// Prices that do not apply (0: no limit, no stop, no fill) are null.
void price_field(JsonWriter& j, std::string_view key, double v) {
  j.key(key);
  if (v == 0) j.null();
  else j.value(v);
}

}  // namespace

void write_activity_json(JsonWriter& j, const ActivityLog& a, bool date_only) {
  j.begin_object();
  j.field("orders_total", static_cast<std::uint64_t>(a.orders.size() + a.orders_dropped));
  j.field("orders_dropped", static_cast<std::uint64_t>(a.orders_dropped));
  j.field("rejections_dropped", static_cast<std::uint64_t>(a.rejections_dropped));
  j.field("risk_events_dropped", static_cast<std::uint64_t>(a.risk_events_dropped));
  j.field("strategy_errors_dropped", static_cast<std::uint64_t>(a.strategy_errors_dropped));
  j.field("risk_approved", static_cast<std::uint64_t>(a.risk_approved));
  j.key("orders").begin_array();
  for (const OrderRecord& o : a.orders) {
    j.begin_object();
    j.field("id", static_cast<std::uint64_t>(o.id));
    j.field("side", model::to_string(o.side));
    j.field("type", model::to_string(o.type));
    j.field("purpose", model::to_string(o.purpose));
    j.field("qty", o.qty);
    price_field(j, "limit_price", o.limit_price);
    price_field(j, "stop_price", o.stop_price);
    time_field(j, "submitted", o.submitted_ns, date_only);
    j.field("tag", o.tag);
    j.field("status", model::to_string(o.status));
    j.field("filled_qty", o.filled_qty);
    price_field(j, "avg_fill_price", o.avg_fill_price);
    j.field("commission", o.commission);
    time_field(j, "closed", o.closed_ns, date_only);
    j.field("reason", o.reason);
    j.field("steps_dropped", static_cast<std::uint64_t>(o.steps_dropped));
    j.key("steps").begin_array();
    for (const OrderStep& s : o.steps) {
      j.begin_array();
      if (s.ts_ns == 0) j.null();
      else j.value(format_iso8601(s.ts_ns, date_only));
      j.value(s.event);
      j.value(s.qty);
      if (s.price == 0) j.null();
      else j.value(s.price);
      j.value(s.reason);
      j.end_array();
    }
    j.end_array();
    j.end_object();
  }
  j.end_array();
  j.key("rejections").begin_array();
  for (const RejectionRecord& r : a.rejections) {
    j.begin_object();
    time_field(j, "time", r.ts_ns, date_only);
    j.key("order");
    if (r.order == 0) j.null();
    else j.value(static_cast<std::uint64_t>(r.order));
    j.field("source", r.source);
    j.field("code", r.code);
    j.field("message", r.message);
    if (r.source == "runner") {
      j.key("side").null();
      j.key("purpose").null();
      j.key("qty").null();
    } else {
      j.field("side", model::to_string(r.side));
      j.field("purpose", model::to_string(r.purpose));
      j.field("qty", r.qty);
    }
    j.end_object();
  }
  j.end_array();
  j.key("risk_events").begin_array();
  for (const RiskEventRecord& e : a.risk_events) {
    j.begin_object();
    time_field(j, "time", e.ts_ns, date_only);
    j.field("kind", e.kind);
    j.field("code", e.code);
    j.field("state", e.state);
    j.field("message", e.message);
    const bool decision = e.kind == "denied" || e.kind == "scaled";
    j.key("requested_qty");
    if (decision) j.value(e.requested_qty);
    else j.null();
    j.key("approved_qty");
    if (decision) j.value(e.approved_qty);
    else j.null();
    j.end_object();
  }
  j.end_array();
  j.key("strategy_errors").begin_array();
  for (const StrategyErrorRecord& e : a.strategy_errors) {
    j.begin_object();
    time_field(j, "time", e.ts_ns, date_only);
    j.field("callback", e.callback);
    j.field("message", e.message);
    j.field("consecutive", e.consecutive);
    j.field("fatal", e.fatal);
    j.end_object();
  }
  j.end_array();
  j.end_object();
}

}  // namespace te::backtest
