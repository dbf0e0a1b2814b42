// The activity log's rows are rendered straight into text (activity.cpp); the
// bytes must be exactly those of JsonWriter writing the same values token by
// token, compact (report.html) and pretty at any depth (report.json), for every
// kind of row and every null, escape and date shape.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "engine/backtest/activity.hpp"
#include "engine/core/json_writer.hpp"
#include "engine/core/time.hpp"

using namespace te;
using namespace te::backtest;

namespace {

// The log written value by value: the layout write_activity_json must match.
void time_field(JsonWriter& j, std::string_view key, std::int64_t ts_ns, bool date_only) {
  j.key(key);
  if (ts_ns == 0) j.null();
  else j.value(format_iso8601(ts_ns, date_only));
}

void price_field(JsonWriter& j, std::string_view key, double v) {
  j.key(key);
  if (v == 0) j.null();
  else j.value(v);
}

void token_by_token(JsonWriter& j, const ActivityLog& a, bool date_only) {
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
    std::string scratch;
    j.field("message", r.text(scratch));
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

constexpr std::int64_t kDay = 86'400'000'000'000;

ActivityLog sample_log() {
  ActivityLog a;
  a.orders_dropped = 3;
  a.risk_approved = 17;
  OrderRecord plain;
  plain.id = 1;
  plain.qty = 1000;
  plain.submitted_ns = 18262 * kDay + 32 * 60'000'000'000LL;
  plain.tag = "golden cross";
  plain.status = model::OrderStatus::Filled;
  plain.filled_qty = 1000;
  plain.avg_fill_price = 100.04;
  plain.commission = 100.10000000000001;
  plain.closed_ns = plain.submitted_ns + 60'000'000'000LL;
  plain.steps.push_back({plain.submitted_ns, "accepted", 1000, 0, ""});
  plain.steps.push_back({plain.closed_ns, "filled", 1000, 100.04, ""});
  a.orders.push_back(plain);
  OrderRecord odd;  // escapes, nulls, sub-second times, no steps, non-finite numbers
  odd.id = 2;
  odd.side = model::Side::Sell;
  odd.type = model::OrderType::StopLimit;
  odd.purpose = model::OrderPurpose::StopLoss;
  odd.qty = 0.1;
  odd.limit_price = 99.5;
  odd.stop_price = 1e-9;
  odd.submitted_ns = 18262 * kDay + 1'234'567;
  odd.tag = "quote \" back\\slash \n tab\t ctl\x01 </script>";
  odd.status = model::OrderStatus::Cancelled;
  odd.commission = std::numeric_limits<double>::quiet_NaN();
  odd.reason = "oco";
  odd.steps_dropped = 5;
  a.orders.push_back(odd);
  OrderRecord working = plain;  // still working: no close time, a step without a time
  working.id = 3;
  working.closed_ns = 0;
  working.status = model::OrderStatus::Accepted;
  working.steps = {{0, "amended", 2.5, 101.25, "trail"}};
  a.orders.push_back(working);
  RejectionRecord by_exchange{plain.submitted_ns, 4, "exchange", "insufficient_cash", "cash is 100463.6", model::Side::Buy,
                              model::OrderPurpose::Entry, 1000};
  RejectionRecord by_runner{plain.submitted_ns, 0, "runner", "no_size", "size \"0\"", model::Side::Sell,
                            model::OrderPurpose::Entry, 0};
  RejectionRecord by_numbers = by_exchange;  // the text kept as numbers, formatted when written
  by_numbers.message = {};
  by_numbers.facts.kind = model::RefusalFacts::Kind::InsufficientCash;
  by_numbers.facts.side = model::Side::Buy;
  by_numbers.facts.v[0] = 1000;
  by_numbers.facts.v[1] = 100.37;
  by_numbers.facts.v[2] = 100470.37;
  by_numbers.facts.v[3] = 99999.99999999999;
  a.rejections = {by_exchange, by_runner, by_numbers};
  a.risk_events.push_back({plain.submitted_ns, "denied", "max_position", "WARM", "too big", 10, 0});
  a.risk_events.push_back({plain.submitted_ns, "scaled", "warm_scale", "WARM", "halved", 10, 5});
  a.risk_events.push_back({plain.closed_ns, "stormguard", "loss", "STORM", "account: WARM -> STORM", 0, 0});
  a.strategy_errors.push_back({plain.closed_ns, "manage_position", "strategies/x.lua:3: boom\nstack", 2, true});
  return a;
}

}  // namespace

TEST_CASE("activity rows rendered directly are JsonWriter's bytes, compact and pretty at any depth",
          "[report][backtest]") {
  const ActivityLog full = sample_log();
  const ActivityLog empty;
  for (const ActivityLog* log : {&full, &empty}) {
    for (bool date_only : {false, true}) {
      for (int indent : {0, 2, 3}) {
        for (int depth : {0, 1, 3}) {
          INFO("rows " << log->orders.size() << " date_only " << date_only << " indent " << indent << " depth " << depth);
          auto document = [&](auto write) {
            JsonWriter j(indent);
            for (int d = 0; d < depth; ++d) j.begin_object().key("k");
            write(j);
            for (int d = 0; d < depth; ++d) j.end_object();
            return j.str();
          };
          const std::string direct = document([&](JsonWriter& j) { write_activity_json(j, *log, date_only); });
          const std::string reference = document([&](JsonWriter& j) { token_by_token(j, *log, date_only); });
          CHECK(direct == reference);
        }
      }
    }
  }
  // The sample reaches every branch the reports print.
  JsonWriter j(0);
  write_activity_json(j, full, false);
  CHECK(j.str().find("\"limit_price\":null") != std::string::npos);
  CHECK(j.str().find("\\u0001") != std::string::npos);
  CHECK(j.str().find("\"commission\":null") != std::string::npos);
  CHECK(j.str().find("\"side\":null") != std::string::npos);
  CHECK(j.str().find("\"requested_qty\":null") != std::string::npos);
  CHECK(j.str().find("\"steps\":[]") != std::string::npos);
  CHECK(j.str().find(".001Z") == std::string::npos);  // 1,234,567 ns is not a whole millisecond
  CHECK(j.str().find(".001234567Z") != std::string::npos);
}
