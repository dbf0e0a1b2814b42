#include "engine/backtest/activity.hpp"

#include <charconv>
#include <cmath>

#include "engine/core/numbers.hpp"
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

// The rows are rendered straight into text instead of token by token through
// JsonWriter: a long run has tens of thousands of orders and rejections, and
// report.json and report.html each print all of them, so the writer's work per
// token (every key escaped again, a state check and a computed newline per
// value) was most of the time spent on both files. The text is exactly what
// JsonWriter would write at the same place (activity_json_test.cpp).
class RowLayout {
 public:
  // A row is a value of an array at `depth` of a writer with `indent`.
  RowLayout(int indent, std::size_t depth) : colon_(indent > 0 ? ": " : ":") {
    for (std::size_t level = 0; level < kLevels; ++level)
      if (indent > 0) nl_[level].assign(1, '\n').append((depth + level) * static_cast<std::size_t>(indent), ' ');
  }

  // The text before each key's value, for an object at `level` below the row
  // (0: the row itself): the comma, the line break and indentation, the key.
  std::vector<std::string> keys(std::initializer_list<std::string_view> names, std::size_t level = 0) const {
    std::vector<std::string> out;
    for (std::string_view name : names) {
      std::string k;
      if (!out.empty()) k += ',';
      k += nl_[level + 1];
      JsonWriter::append_escaped(k, name);
      k += colon_;
      out.push_back(std::move(k));
    }
    return out;
  }

  // The line break and indentation before an element (or closing bracket) at `level`.
  const std::string& nl(std::size_t level) const { return nl_[level]; }

 private:
  static constexpr std::size_t kLevels = 4;  // row, its fields, steps, a step's fields
  std::string nl_[kLevels];
  std::string colon_;
};

void put_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  out.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
}

void put_int(std::string& out, std::int64_t v) {
  char buf[24];
  out.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
}

void put_num(std::string& out, double v) {
  if (std::isfinite(v)) append_double(out, v);
  else out += "null";
}

// Prices that do not apply (0: no limit, no stop, no fill) are null.
void put_price(std::string& out, double v) {
  if (v == 0) out += "null";
  else put_num(out, v);
}

void put_time(std::string& out, std::int64_t ts_ns, Iso8601Writer& time) {
  if (ts_ns == 0) {
    out += "null";
    return;
  }
  char buf[48];
  buf[0] = '"';
  std::size_t n = 1 + time.write(buf + 1, ts_ns);
  buf[n++] = '"';
  out.append(buf, n);
}

void put_str(std::string& out, std::string_view v) { JsonWriter::append_escaped(out, v); }

void order_row(std::string& out, const OrderRecord& o, const RowLayout& l, const std::vector<std::string>& k,
               Iso8601Writer& time) {
  out += '{';
  out += k[0], put_uint(out, o.id);
  out += k[1], put_str(out, model::to_string(o.side));
  out += k[2], put_str(out, model::to_string(o.type));
  out += k[3], put_str(out, model::to_string(o.purpose));
  out += k[4], put_num(out, o.qty);
  out += k[5], put_price(out, o.limit_price);
  out += k[6], put_price(out, o.stop_price);
  out += k[7], put_time(out, o.submitted_ns, time);
  out += k[8], put_str(out, o.tag);
  out += k[9], put_str(out, model::to_string(o.status));
  out += k[10], put_num(out, o.filled_qty);
  out += k[11], put_price(out, o.avg_fill_price);
  out += k[12], put_num(out, o.commission);
  out += k[13], put_time(out, o.closed_ns, time);
  out += k[14], put_str(out, o.reason);
  out += k[15], put_uint(out, o.steps_dropped);
  out += k[16];
  out += '[';
  // A step is an array: [time, event, qty, price, reason].
  for (std::size_t i = 0; i < o.steps.size(); ++i) {
    const OrderStep& s = o.steps[i];
    if (i > 0) out += ',';
    out += l.nl(2);
    out += '[';
    const std::string& next = l.nl(3);
    out += next, put_time(out, s.ts_ns, time);
    out += ',', out += next, put_str(out, s.event);
    out += ',', out += next, put_num(out, s.qty);
    out += ',', out += next, put_price(out, s.price);
    out += ',', out += next, put_str(out, s.reason);
    out += l.nl(2);
    out += ']';
  }
  if (!o.steps.empty()) out += l.nl(1);
  out += ']';
  out += l.nl(0);
  out += '}';
}

void rejection_row(std::string& out, const RejectionRecord& r, const RowLayout& l, const std::vector<std::string>& k,
                   Iso8601Writer& time) {
  out += '{';
  out += k[0], put_time(out, r.ts_ns, time);
  out += k[1];
  if (r.order == 0) out += "null";
  else put_uint(out, r.order);
  out += k[2], put_str(out, r.source);
  out += k[3], put_str(out, r.code);
  out += k[4], put_str(out, r.message);
  if (r.source == "runner") {
    out += k[5], out += "null";
    out += k[6], out += "null";
    out += k[7], out += "null";
  } else {
    out += k[5], put_str(out, model::to_string(r.side));
    out += k[6], put_str(out, model::to_string(r.purpose));
    out += k[7], put_num(out, r.qty);
  }
  out += l.nl(0);
  out += '}';
}

void risk_event_row(std::string& out, const RiskEventRecord& e, const RowLayout& l, const std::vector<std::string>& k,
                    Iso8601Writer& time) {
  out += '{';
  out += k[0], put_time(out, e.ts_ns, time);
  out += k[1], put_str(out, e.kind);
  out += k[2], put_str(out, e.code);
  out += k[3], put_str(out, e.state);
  out += k[4], put_str(out, e.message);
  const bool decision = e.kind == "denied" || e.kind == "scaled";
  out += k[5];
  if (decision) put_num(out, e.requested_qty);
  else out += "null";
  out += k[6];
  if (decision) put_num(out, e.approved_qty);
  else out += "null";
  out += l.nl(0);
  out += '}';
}

void strategy_error_row(std::string& out, const StrategyErrorRecord& e, const RowLayout& l,
                        const std::vector<std::string>& k, Iso8601Writer& time) {
  out += '{';
  out += k[0], put_time(out, e.ts_ns, time);
  out += k[1], put_str(out, e.callback);
  out += k[2], put_str(out, e.message);
  out += k[3], put_int(out, e.consecutive);
  out += k[4], out += e.fatal ? "true" : "false";
  out += l.nl(0);
  out += '}';
}

// One array of rows: `render(text, row, layout, keys)` appends a row's text.
template <class Rows, class Render>
void row_array(JsonWriter& j, std::string_view key, const Rows& rows, std::initializer_list<std::string_view> names,
               Render render) {
  j.key(key).begin_array();
  const RowLayout layout(j.indent(), j.depth());
  const std::vector<std::string> keys = layout.keys(names);
  std::string text;
  text.reserve(1024);
  for (const auto& row : rows) {
    text.clear();
    render(text, row, layout, keys);
    j.raw_value(text);
  }
  j.end_array();
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
  Iso8601Writer time(date_only);
  row_array(j, "orders", a.orders,
            {"id", "side", "type", "purpose", "qty", "limit_price", "stop_price", "submitted", "tag", "status",
             "filled_qty", "avg_fill_price", "commission", "closed", "reason", "steps_dropped", "steps"},
            [&](std::string& out, const OrderRecord& o, const RowLayout& l, const std::vector<std::string>& k) {
              order_row(out, o, l, k, time);
            });
  row_array(j, "rejections", a.rejections, {"time", "order", "source", "code", "message", "side", "purpose", "qty"},
            [&](std::string& out, const RejectionRecord& r, const RowLayout& l, const std::vector<std::string>& k) {
              rejection_row(out, r, l, k, time);
            });
  row_array(j, "risk_events", a.risk_events,
            {"time", "kind", "code", "state", "message", "requested_qty", "approved_qty"},
            [&](std::string& out, const RiskEventRecord& e, const RowLayout& l, const std::vector<std::string>& k) {
              risk_event_row(out, e, l, k, time);
            });
  row_array(j, "strategy_errors", a.strategy_errors, {"time", "callback", "message", "consecutive", "fatal"},
            [&](std::string& out, const StrategyErrorRecord& e, const RowLayout& l, const std::vector<std::string>& k) {
              strategy_error_row(out, e, l, k, time);
            });
  j.end_object();
}

}  // namespace te::backtest
