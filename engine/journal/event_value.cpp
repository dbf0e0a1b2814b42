#include "engine/journal/event_value.hpp"

#include <cmath>
#include <limits>

#include "engine/core/labels.hpp"
#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"
#include "engine/core/value_json.hpp"

namespace te::journal {
namespace {

Value num(double v) { return std::isnan(v) ? Value() : Value(v); }

Value u64(std::uint64_t v) {
  if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return Value(std::to_string(v));
  return Value(static_cast<std::int64_t>(v));
}

Value runner_id(model::RunnerId r) { return r == kNoRunner ? Value() : Value(static_cast<std::int64_t>(r)); }

// Concatenation by appending (GCC 12 warns -Wrestrict, spuriously, about some
// `"literal" + std::string` chains).
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string s;
  (s.append(std::string_view(parts)), ...);
  return s;
}

std::string order_ref(model::OrderId id) {
  std::string s(1, '#');  // (not "#" + ...: GCC 12 warns -Wrestrict about that spuriously)
  s += std::to_string(id);
  return s;
}

struct Fields {
  const EventNames& names;
  Value::Map m;

  void put(const char* k, Value v) { m.emplace_back(k, std::move(v)); }

  void operator()(const SessionStart& s) {
    put("session_id", s.session_id);
    put("mode", s.mode);
    put("engine_version", s.engine_version);
    put("seed", u64(s.seed));
    put("config_sha256", s.config_sha256);
    put("info", s.info);
  }
  void operator()(const SessionEnd& s) {
    put("reason", s.reason);
    put("summary", s.summary);
  }
  void operator()(const MarketData& d) {
    put("instrument", Value(static_cast<std::int64_t>(d.instrument)));
    put("symbol", d.symbol);
    put("timeframe", d.timeframe);
    put("bar_ts_ns", Value(d.bar.ts_ns));
    put("open", num(d.bar.open));
    put("high", num(d.bar.high));
    put("low", num(d.bar.low));
    put("close", num(d.bar.close));
    put("volume", num(d.bar.volume));
    put("bid", num(d.bar.bid));
    put("ask", num(d.bar.ask));
    put("bid_size", num(d.bar.bid_size));
    put("ask_size", num(d.bar.ask_size));
  }
  void operator()(const RunnerState& s) {
    put("phase", std::string(to_string(s.phase)));
    put("state", names.runner_state_name(s.state));
    put("context", s.context);
    put("indicators", s.indicators);
    if (s.encoding == StateEncoding::Delta) {
      // Only when the reader could not rebuild it: say so.
      put("encoding", std::string(to_string(s.encoding)));
      put("base_sequence", u64(s.base_sequence));
      put("snapshot_sequence", u64(s.snapshot_sequence));
    }
  }
  void operator()(const Transition& t) {
    put("from", names.runner_state_name(t.from));
    put("to", names.runner_state_name(t.to));
    put("trigger", t.trigger);
    put("reason", t.reason);
    put("bar_ts_ns", Value(t.bar_ts_ns));
  }
  void operator()(const StrategyAction& a) {
    put("strategy", Value(static_cast<std::int64_t>(a.strategy)));
    put("kind", a.kind);
    put("params", a.params);
    put("reason", a.reason);
  }
  void operator()(const OrderUpdate& u) {
    const model::Order& o = u.order;
    put("order_id", u64(o.id));
    put("instrument", Value(static_cast<std::int64_t>(o.instrument)));
    put("order_runner", Value(static_cast<std::int64_t>(o.runner)));
    put("strategy", Value(static_cast<std::int64_t>(o.strategy)));
    put("side", std::string(model::to_string(o.side)));
    put("order_type", std::string(model::to_string(o.type)));
    put("tif", std::string(model::to_string(o.tif)));
    put("purpose", std::string(model::to_string(o.purpose)));
    put("status", std::string(model::to_string(o.status)));
    put("qty", num(o.qty));
    put("filled_qty", num(o.filled_qty));
    put("limit_price", num(o.limit_price));
    put("stop_price", num(o.stop_price));
    put("reduce_only", o.reduce_only);
    put("submitted_ns", Value(o.submitted_ns));
    put("submitted_bar", Value(o.submitted_bar));
    put("active_from_bar", Value(o.active_from_bar));
    put("tag", o.tag);
    put("reason_code", u.reason_code);
    put("message", u.message);
  }
  void operator()(const FillEvent& f) {
    put("order_id", u64(f.fill.order));
    put("instrument", Value(static_cast<std::int64_t>(f.fill.instrument)));
    put("order_runner", Value(static_cast<std::int64_t>(f.fill.runner)));
    put("strategy", Value(static_cast<std::int64_t>(f.fill.strategy)));
    put("side", std::string(model::to_string(f.fill.side)));
    put("purpose", std::string(model::to_string(f.fill.purpose)));
    put("qty", num(f.fill.qty));
    put("price", num(f.fill.price));
    put("commission", num(f.fill.commission));
    put("fill_ts_ns", Value(f.fill.ts_ns));
    put("bar_index", Value(f.fill.bar_index));
  }
  void operator()(const RiskDecision& d) {
    put("order_id", u64(d.order));
    put("strategy", Value(static_cast<std::int64_t>(d.strategy)));
    put("approved", d.approved);
    put("reason_code", d.reason_code);
    put("message", d.message);
  }
  void operator()(const StormGuardChange& s) {
    put("from", names.storm_state_name(s.from));
    put("to", names.storm_state_name(s.to));
    put("reason", s.reason);
    put("metrics", s.metrics);
  }
  void operator()(const StrategyError& e) {
    put("strategy", Value(static_cast<std::int64_t>(e.strategy)));
    put("kind", std::string(to_string(e.kind)));
    put("callback", e.callback);
    put("message", e.message);
    put("traceback", e.traceback);
    put("file", e.file);
    put("line", Value(static_cast<std::int64_t>(e.line)));
    put("strategy_disabled", e.strategy_disabled);
  }
  void operator()(const Reload& r) {
    put("strategy", Value(static_cast<std::int64_t>(r.strategy)));
    put("path", r.path);
    put("old_sha256", r.old_sha256);
    put("new_sha256", r.new_sha256);
    put("ok", r.ok);
    put("message", r.message);
  }
  void operator()(const IndicatorValues& v) { put("values", v.values); }
  void operator()(const Note& n) {
    put("category", n.category);
    put("text", n.text);
    put("data", n.data);
  }
  void operator()(const UnknownEvent& u) {
    put("type_code", Value(static_cast<std::int64_t>(u.type)));
    put("record_bytes", Value(static_cast<std::int64_t>(u.record.size())));
    put("error", u.error);
  }
};

std::string type_name(const Event& e) {
  if (e.is_unknown()) return "unknown";
  return std::string(to_string(e.type()));
}

std::string time_text(std::int64_t ts, bool date_only) { return format_iso8601(ts, date_only); }

// "k=v k=v" of a map's scalar entries (nested values are summarised).
std::string scalars(const Value& v, std::size_t max_entries = 8) {
  if (!v.is_map()) return v.is_nil() ? std::string() : to_json(v);
  std::string out;
  std::size_t n = 0;
  for (const auto& [k, item] : v.as_map()) {
    if (n++ == max_entries) {
      out += " ...";
      break;
    }
    if (!out.empty()) out += ' ';
    out += k;
    out += '=';
    switch (item.kind()) {
      case Value::Kind::Double: out += number_text(item.as_double()); break;
      case Value::Kind::Int: out += std::to_string(item.as_int()); break;
      case Value::Kind::String: out += item.as_string(); break;
      case Value::Kind::Bool: out += item.as_bool() ? "true" : "false"; break;
      case Value::Kind::Nil: out += "nil"; break;
      case Value::Kind::Array: out += cat("[", std::to_string(item.size()), "]"); break;
      case Value::Kind::Map: out += cat("{", std::to_string(item.size()), "}"); break;
    }
  }
  return out;
}

double get_number(const Value* v) {
  if (v == nullptr || !v->is_number()) return std::numeric_limits<double>::quiet_NaN();
  return v->as_double();
}

struct Describe {
  const EventNames& names;
  bool date_only;

  std::string operator()(const SessionStart& s) const {
    return cat(s.mode, " session ", s.session_id, " (engine ", s.engine_version, ", seed ", std::to_string(s.seed),
               ")");
  }
  std::string operator()(const SessionEnd& s) const {
    std::string out = s.reason;
    std::string sum = scalars(s.summary);
    if (!sum.empty()) out += ": " + sum;
    return out;
  }
  std::string operator()(const MarketData& d) const {
    std::string out = d.symbol + " O " + number_text(d.bar.open) + " H " + number_text(d.bar.high) + " L " +
                      number_text(d.bar.low) + " C " + number_text(d.bar.close) + " V " + number_text(d.bar.volume);
    if (d.bar.has_quote()) out += " bid " + number_text(d.bar.bid) + " ask " + number_text(d.bar.ask);
    return out;
  }
  std::string operator()(const RunnerState& s) const {
    std::string out = std::string(to_string(s.phase)) + " update: " + names.runner_state_name(s.state);
    if (s.encoding == StateEncoding::Delta) return out + " (stored as a delta; its base was lost)";
    const Value* pos = s.context.find("position");
    const Value* acct = s.context.find("account");
    const double qty = pos ? get_number(pos->find("qty")) : std::nan("");
    if (!std::isnan(qty)) {
      out += qty == 0 ? ", flat" : ", qty " + number_text(qty) + " @ " + number_text(get_number(pos->find("avg_price")));
    }
    const double eq = acct ? get_number(acct->find("equity")) : std::nan("");
    if (!std::isnan(eq)) out += ", equity " + number_text(eq);
    if (const Value* ctx = s.context.find("ctx"); ctx && ctx->is_map() && ctx->size() > 0)
      out += ", ctx " + scalars(*ctx, 4);
    return out;
  }
  std::string operator()(const Transition& t) const {
    std::string out = names.runner_state_name(t.from) + " -> " + names.runner_state_name(t.to) + " (" + t.trigger + ")";
    if (!t.reason.empty()) out += ": " + t.reason;
    return out;
  }
  std::string operator()(const StrategyAction& a) const {
    std::string out = a.kind;
    std::string p = scalars(a.params);
    if (!p.empty()) out += " " + p;
    if (!a.reason.empty()) out += ": " + a.reason;
    return out;
  }
  std::string operator()(const OrderUpdate& u) const {
    const model::Order& o = u.order;
    std::string out = cat(order_ref(o.id), " ", model::to_string(o.side), " ", number_text(o.qty), " ",
                          model::to_string(o.type));
    if (o.type == model::OrderType::Limit || o.type == model::OrderType::StopLimit)
      out += cat(" limit ", number_text(o.limit_price));
    if (o.type == model::OrderType::Stop || o.type == model::OrderType::StopLimit ||
        o.type == model::OrderType::TrailingStop)
      out += cat(" stop ", number_text(o.stop_price));
    out += cat(" ", model::to_string(o.purpose), " ", model::to_string(o.status));
    if (o.filled_qty > 0 && o.filled_qty < o.qty) out += cat(" (filled ", number_text(o.filled_qty), ")");
    if (!u.reason_code.empty()) out += cat(": ", u.reason_code);
    if (!u.message.empty()) out += cat(u.reason_code.empty() ? ": " : " - ", u.message);
    return out;
  }
  std::string operator()(const FillEvent& f) const {
    return cat(order_ref(f.fill.order), " ", model::to_string(f.fill.side), " ", number_text(f.fill.qty), " @ ",
               number_text(f.fill.price), " commission ", number_text(f.fill.commission), " (",
               model::to_string(f.fill.purpose), ")");
  }
  std::string operator()(const RiskDecision& d) const {
    std::string out = cat(d.order != 0 ? cat("order ", order_ref(d.order)) : std::string("order intent"),
                          d.approved ? " approved" : " refused");
    if (!d.reason_code.empty()) out += cat(": ", d.reason_code);
    if (!d.message.empty()) out += cat(d.reason_code.empty() ? ": " : " - ", d.message);
    return out;
  }
  std::string operator()(const StormGuardChange& s) const {
    std::string out = names.storm_state_name(s.from) + " -> " + names.storm_state_name(s.to);
    if (!s.reason.empty()) out += ": " + s.reason;
    return out;
  }
  std::string operator()(const StrategyError& e) const {
    std::string out = std::string(to_string(e.kind)) + " in " + e.callback + ": " + e.message;
    if (e.strategy_disabled) out += " (strategy disabled)";
    return out;
  }
  std::string operator()(const Reload& r) const {
    std::string out = "reload " + r.path + " " + r.old_sha256.substr(0, 12) + " -> " + r.new_sha256.substr(0, 12) +
                      (r.ok ? " ok" : " failed");
    if (!r.message.empty()) out += ": " + r.message;
    return out;
  }
  std::string operator()(const IndicatorValues& v) const { return scalars(v.values); }
  std::string operator()(const Note& n) const {
    std::string out = "[" + n.category + "] " + n.text;
    if (!n.data.is_nil() && n.category != "log" && n.category != "warning") {
      std::string d = to_json(n.data);
      if (d.size() > 200) d = d.substr(0, 197) + "...";
      out += " " + d;
    }
    return out;
  }
  std::string operator()(const UnknownEvent& u) const {
    // A known type that failed to decode is damage, not a newer format.
    const std::string_view known = to_string(static_cast<EventType>(u.type));
    const std::string size = cat(" (", std::to_string(u.record.size()), " bytes)");
    if (!u.error.empty() && known != "unknown") return cat("damaged ", known, " record", size, ": ", u.error);
    std::string out = cat("event type ", std::to_string(u.type), " this build does not know", size);
    if (!u.error.empty()) out += ": " + u.error;
    return out;
  }
};

std::string clip_json(const Value& v, std::size_t max) {
  std::string s = to_json(v);
  if (s.size() > max) s = s.substr(0, max > 3 ? max - 3 : 0) + "...";
  return s;
}

bool diff_at(const Value& a, const Value& b, const std::string& path, ValueDifference& out, std::size_t max) {
  auto differ = [&](std::string p, std::string ta, std::string tb) {
    out.differs = true;
    out.path = printable(p);
    out.a = std::move(ta);
    out.b = std::move(tb);
    return true;
  };
  if (a.kind() != b.kind()) return differ(path, clip_json(a, max), clip_json(b, max));
  if (a.is_map()) {
    const auto& ma = a.as_map();
    const auto& mb = b.as_map();
    std::size_t i = 0, j = 0;
    while (i < ma.size() || j < mb.size()) {
      const std::string sep = path.empty() ? "" : ".";
      if (j == mb.size() || (i < ma.size() && ma[i].first < mb[j].first))
        return differ(path + sep + ma[i].first, clip_json(ma[i].second, max), "(absent)");
      if (i == ma.size() || mb[j].first < ma[i].first)
        return differ(path + sep + mb[j].first, "(absent)", clip_json(mb[j].second, max));
      if (diff_at(ma[i].second, mb[j].second, path + sep + ma[i].first, out, max)) return true;
      ++i;
      ++j;
    }
    return false;
  }
  if (a.is_array()) {
    const auto& xa = a.as_array();
    const auto& xb = b.as_array();
    const std::size_t n = std::min(xa.size(), xb.size());
    for (std::size_t i = 0; i < n; ++i)
      if (diff_at(xa[i], xb[i], cat(path, "[", std::to_string(i), "]"), out, max)) return true;
    if (xa.size() != xb.size())
      return differ(path + ".length", std::to_string(xa.size()), std::to_string(xb.size()));
    return false;
  }
  if (a == b) return false;
  return differ(path, clip_json(a, max), clip_json(b, max));
}

void collect_all(const Value& a, const Value& b, const std::string& path, std::vector<ValueDifference>& out,
                 std::size_t limit, std::size_t max) {
  if (out.size() >= limit) return;
  auto join = [&path](std::string_view k) { return path.empty() ? std::string(k) : cat(path, ".", k); };
  if (a.is_map() && b.is_map()) {
    const auto& ma = a.as_map();
    const auto& mb = b.as_map();
    std::size_t i = 0, j = 0;
    while ((i < ma.size() || j < mb.size()) && out.size() < limit) {
      if (j == mb.size() || (i < ma.size() && ma[i].first < mb[j].first)) {
        out.push_back({true, join(ma[i].first), clip_json(ma[i].second, max), "(absent)"});
        ++i;
      } else if (i == ma.size() || mb[j].first < ma[i].first) {
        out.push_back({true, join(mb[j].first), "(absent)", clip_json(mb[j].second, max)});
        ++j;
      } else {
        collect_all(ma[i].second, mb[j].second, join(ma[i].first), out, limit, max);
        ++i;
        ++j;
      }
    }
    return;
  }
  if (a.is_array() && b.is_array() && a.size() == b.size()) {
    for (std::size_t i = 0; i < a.size() && out.size() < limit; ++i)
      collect_all(a.as_array()[i], b.as_array()[i], cat(path, "[", std::to_string(i), "]"), out, limit, max);
    return;
  }
  if (!(a == b)) out.push_back({true, path, clip_json(a, max), clip_json(b, max)});
}

}  // namespace

std::vector<ValueDifference> differences(const Value& a, const Value& b, std::size_t limit, std::size_t max_text) {
  std::vector<ValueDifference> out;
  collect_all(a, b, "", out, limit, max_text);
  return out;
}

std::string EventNames::runner_state_name(std::uint8_t code) const {
  return runner_state ? runner_state(code) : std::to_string(code);
}

std::string EventNames::storm_state_name(std::uint8_t code) const {
  return storm_state ? storm_state(code) : std::to_string(code);
}

std::string number_text(double v) { return format_double(v); }

Value event_fields(const Event& e, const EventNames& names) {
  Fields f{names, {}};
  std::visit(f, e.body);
  return Value(std::move(f.m));
}

Value event_to_value(const Event& e, const EventNames& names, bool date_only) {
  Fields f{names, {}};
  f.put("sequence", u64(e.sequence));
  f.put("ts_event_ns", Value(e.ts_event_ns));
  f.put("time", time_text(e.ts_event_ns, date_only));
  f.put("runner", runner_id(e.runner));
  f.put("type", type_name(e));
  std::visit(f, e.body);
  return Value(std::move(f.m));
}

std::string describe_event(const Event& e, const EventNames& names, bool date_only) {
  // Strategy text (reasons, ctx strings, paths) is printed to terminals.
  return printable(std::visit(Describe{names, date_only}, e.body));
}

ValueDifference first_difference(const Value& a, const Value& b, std::size_t max_text) {
  ValueDifference d;
  diff_at(a, b, "", d, max_text);
  return d;
}

}  // namespace te::journal
