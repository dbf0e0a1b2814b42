#include "engine/journal/event_codec.hpp"

#define MSGPACK_NO_BOOST
#include <msgpack/pack.hpp>

#include <bit>
#include <string>

#include "engine/journal/msgpack_cursor.hpp"

namespace te::journal {

namespace {

using detail::MsgpackCursor;

struct Sink {
  std::string* out;
  void write(const char* p, std::size_t n) { out->append(p, n); }
};
using Packer = msgpack::packer<Sink>;

const std::uint64_t kNoValueBits = std::bit_cast<std::uint64_t>(model::kNoValue);

// ---- encoding ---------------------------------------------------------------

void put_str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

void put_value(Packer& pk, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Nil: pk.pack_nil(); return;
    case Value::Kind::Bool: v.as_bool() ? pk.pack_true() : pk.pack_false(); return;
    case Value::Kind::Int: pk.pack_int64(v.as_int()); return;
    case Value::Kind::Double: pk.pack_double(v.as_double()); return;
    case Value::Kind::String: put_str(pk, v.as_string()); return;
    case Value::Kind::Array:
      pk.pack_array(static_cast<std::uint32_t>(v.size()));
      for (const Value& e : v.as_array()) put_value(pk, e);
      return;
    case Value::Kind::Map:
      pk.pack_map(static_cast<std::uint32_t>(v.size()));
      for (const auto& [k, e] : v.as_map()) {
        put_str(pk, k);
        put_value(pk, e);
      }
      return;
  }
}

// Optional bar fields: "absent" (the model's NaN) is nil; any other bit pattern,
// including other NaNs, is kept as a double so decoding is exact.
void put_optional(Packer& pk, double d) {
  if (std::bit_cast<std::uint64_t>(d) == kNoValueBits) {
    pk.pack_nil();
  } else {
    pk.pack_double(d);
  }
}

constexpr std::uint32_t kEnvelopeFields = 4;

struct FieldCount {
  std::uint32_t operator()(const SessionStart&) const { return 6; }
  std::uint32_t operator()(const SessionEnd&) const { return 2; }
  std::uint32_t operator()(const MarketData&) const { return 13; }
  std::uint32_t operator()(const RunnerState& s) const { return s.encoding == StateEncoding::Delta ? 7 : 5; }
  std::uint32_t operator()(const Transition&) const { return 5; }
  std::uint32_t operator()(const StrategyAction&) const { return 4; }
  std::uint32_t operator()(const OrderUpdate&) const { return 19; }
  std::uint32_t operator()(const FillEvent&) const { return 11; }
  std::uint32_t operator()(const RiskDecision&) const { return 5; }
  std::uint32_t operator()(const StormGuardChange&) const { return 4; }
  std::uint32_t operator()(const StrategyError&) const { return 8; }
  std::uint32_t operator()(const Reload&) const { return 6; }
  std::uint32_t operator()(const IndicatorValues&) const { return 1; }
  std::uint32_t operator()(const Note&) const { return 3; }
  std::uint32_t operator()(const UnknownEvent&) const { return 0; }
};

struct BodyEncoder {
  Packer& pk;

  void operator()(const SessionStart& e) const {
    put_str(pk, e.session_id);
    put_str(pk, e.mode);
    put_str(pk, e.engine_version);
    pk.pack_uint64(e.seed);
    put_str(pk, e.config_sha256);
    put_value(pk, e.info);
  }
  void operator()(const SessionEnd& e) const {
    put_str(pk, e.reason);
    put_value(pk, e.summary);
  }
  void operator()(const MarketData& e) const {
    pk.pack_uint32(e.instrument);
    put_str(pk, e.symbol);
    put_str(pk, e.timeframe);
    pk.pack_int64(e.bar.ts_ns);
    pk.pack_double(e.bar.open);
    pk.pack_double(e.bar.high);
    pk.pack_double(e.bar.low);
    pk.pack_double(e.bar.close);
    pk.pack_double(e.bar.volume);
    put_optional(pk, e.bar.bid);
    put_optional(pk, e.bar.ask);
    put_optional(pk, e.bar.bid_size);
    put_optional(pk, e.bar.ask_size);
  }
  void operator()(const RunnerState& e) const {
    pk.pack_uint8(static_cast<std::uint8_t>(e.phase));
    pk.pack_uint8(e.state);
    pk.pack_uint8(static_cast<std::uint8_t>(e.encoding));
    put_value(pk, e.context);
    put_value(pk, e.indicators);
    if (e.encoding == StateEncoding::Delta) {
      pk.pack_uint64(e.base_sequence);
      pk.pack_uint64(e.snapshot_sequence);
    }
  }
  void operator()(const Transition& e) const {
    pk.pack_uint8(e.from);
    pk.pack_uint8(e.to);
    put_str(pk, e.trigger);
    put_str(pk, e.reason);
    pk.pack_int64(e.bar_ts_ns);
  }
  void operator()(const StrategyAction& e) const {
    pk.pack_uint32(e.strategy);
    put_str(pk, e.kind);
    put_value(pk, e.params);
    put_str(pk, e.reason);
  }
  void operator()(const OrderUpdate& e) const {
    const model::Order& o = e.order;
    pk.pack_uint64(o.id);
    pk.pack_uint32(o.instrument);
    pk.pack_uint32(o.runner);
    pk.pack_uint32(o.strategy);
    pk.pack_uint8(static_cast<std::uint8_t>(o.side));
    pk.pack_uint8(static_cast<std::uint8_t>(o.type));
    pk.pack_uint8(static_cast<std::uint8_t>(o.tif));
    pk.pack_uint8(static_cast<std::uint8_t>(o.purpose));
    pk.pack_uint8(static_cast<std::uint8_t>(o.status));
    pk.pack_double(o.qty);
    pk.pack_double(o.filled_qty);
    pk.pack_double(o.limit_price);
    pk.pack_double(o.stop_price);
    o.reduce_only ? pk.pack_true() : pk.pack_false();
    pk.pack_int64(o.submitted_ns);
    pk.pack_int64(o.submitted_bar);
    put_str(pk, o.tag);
    put_str(pk, e.reason_code);
    put_str(pk, e.message);
  }
  void operator()(const FillEvent& e) const {
    const model::Fill& f = e.fill;
    pk.pack_uint64(f.order);
    pk.pack_uint32(f.instrument);
    pk.pack_uint32(f.runner);
    pk.pack_uint32(f.strategy);
    pk.pack_uint8(static_cast<std::uint8_t>(f.side));
    pk.pack_uint8(static_cast<std::uint8_t>(f.purpose));
    pk.pack_double(f.qty);
    pk.pack_double(f.price);
    pk.pack_double(f.commission);
    pk.pack_int64(f.ts_ns);
    pk.pack_int64(f.bar_index);
  }
  void operator()(const RiskDecision& e) const {
    pk.pack_uint64(e.order);
    pk.pack_uint32(e.strategy);
    e.approved ? pk.pack_true() : pk.pack_false();
    put_str(pk, e.reason_code);
    put_str(pk, e.message);
  }
  void operator()(const StormGuardChange& e) const {
    pk.pack_uint8(e.from);
    pk.pack_uint8(e.to);
    put_str(pk, e.reason);
    put_value(pk, e.metrics);
  }
  void operator()(const StrategyError& e) const {
    pk.pack_uint32(e.strategy);
    pk.pack_uint8(static_cast<std::uint8_t>(e.kind));
    put_str(pk, e.callback);
    put_str(pk, e.message);
    put_str(pk, e.traceback);
    put_str(pk, e.file);
    pk.pack_uint32(e.line);
    e.strategy_disabled ? pk.pack_true() : pk.pack_false();
  }
  void operator()(const Reload& e) const {
    pk.pack_uint32(e.strategy);
    put_str(pk, e.path);
    put_str(pk, e.old_sha256);
    put_str(pk, e.new_sha256);
    e.ok ? pk.pack_true() : pk.pack_false();
    put_str(pk, e.message);
  }
  void operator()(const IndicatorValues& e) const { put_value(pk, e.values); }
  void operator()(const Note& e) const {
    put_str(pk, e.category);
    put_str(pk, e.text);
    put_value(pk, e.data);
  }
  void operator()(const UnknownEvent&) const {}
};

// ---- decoding ---------------------------------------------------------------

template <class E>
bool read_enum(MsgpackCursor& c, E& out, std::uint8_t max) {
  std::uint8_t v = 0;
  if (!c.read_small_uint(v, max)) return c.fail("enum value out of range");
  out = static_cast<E>(v);
  return true;
}

bool read_optional(MsgpackCursor& c, double& d) {
  if (c.next_is_nil()) {
    d = model::kNoValue;
    return c.read_nil();
  }
  return c.read_double(d);
}

constexpr std::uint64_t kU32 = 0xffffffffu;

bool decode_body(MsgpackCursor& c, SessionStart& e) {
  return c.read_str(e.session_id) && c.read_str(e.mode) && c.read_str(e.engine_version) && c.read_uint(e.seed) &&
         c.read_str(e.config_sha256) && c.read_value(e.info);
}
bool decode_body(MsgpackCursor& c, SessionEnd& e) { return c.read_str(e.reason) && c.read_value(e.summary); }
bool decode_body(MsgpackCursor& c, MarketData& e) {
  return c.read_small_uint(e.instrument, kU32) && c.read_str(e.symbol) && c.read_str(e.timeframe) &&
         c.read_int(e.bar.ts_ns) && c.read_double(e.bar.open) && c.read_double(e.bar.high) &&
         c.read_double(e.bar.low) && c.read_double(e.bar.close) && c.read_double(e.bar.volume) &&
         read_optional(c, e.bar.bid) && read_optional(c, e.bar.ask) && read_optional(c, e.bar.bid_size) &&
         read_optional(c, e.bar.ask_size);
}
bool decode_body(MsgpackCursor& c, RunnerState& e) {
  if (!(read_enum(c, e.phase, 1) && c.read_small_uint(e.state, 0xff) && read_enum(c, e.encoding, 1) &&
        c.read_value(e.context) && c.read_value(e.indicators))) {
    return false;
  }
  e.base_sequence = 0;
  e.snapshot_sequence = 0;
  if (e.encoding == StateEncoding::Full) return true;
  return c.read_uint(e.base_sequence) && c.read_uint(e.snapshot_sequence);
}
bool decode_body(MsgpackCursor& c, Transition& e) {
  return c.read_small_uint(e.from, 0xff) && c.read_small_uint(e.to, 0xff) && c.read_str(e.trigger) &&
         c.read_str(e.reason) && c.read_int(e.bar_ts_ns);
}
bool decode_body(MsgpackCursor& c, StrategyAction& e) {
  return c.read_small_uint(e.strategy, kU32) && c.read_str(e.kind) && c.read_value(e.params) && c.read_str(e.reason);
}
bool decode_body(MsgpackCursor& c, OrderUpdate& e) {
  model::Order& o = e.order;
  return c.read_uint(o.id) && c.read_small_uint(o.instrument, kU32) && c.read_small_uint(o.runner, kU32) &&
         c.read_small_uint(o.strategy, kU32) && read_enum(c, o.side, 1) && read_enum(c, o.type, 4) &&
         read_enum(c, o.tif, 4) && read_enum(c, o.purpose, 7) && read_enum(c, o.status, 6) &&
         c.read_double(o.qty) && c.read_double(o.filled_qty) && c.read_double(o.limit_price) &&
         c.read_double(o.stop_price) && c.read_bool(o.reduce_only) && c.read_int(o.submitted_ns) &&
         c.read_int(o.submitted_bar) && c.read_str(o.tag) && c.read_str(e.reason_code) && c.read_str(e.message);
}
bool decode_body(MsgpackCursor& c, FillEvent& e) {
  model::Fill& f = e.fill;
  return c.read_uint(f.order) && c.read_small_uint(f.instrument, kU32) && c.read_small_uint(f.runner, kU32) &&
         c.read_small_uint(f.strategy, kU32) && read_enum(c, f.side, 1) && read_enum(c, f.purpose, 7) &&
         c.read_double(f.qty) && c.read_double(f.price) && c.read_double(f.commission) && c.read_int(f.ts_ns) &&
         c.read_int(f.bar_index);
}
bool decode_body(MsgpackCursor& c, RiskDecision& e) {
  return c.read_uint(e.order) && c.read_small_uint(e.strategy, kU32) && c.read_bool(e.approved) &&
         c.read_str(e.reason_code) && c.read_str(e.message);
}
bool decode_body(MsgpackCursor& c, StormGuardChange& e) {
  return c.read_small_uint(e.from, 0xff) && c.read_small_uint(e.to, 0xff) && c.read_str(e.reason) &&
         c.read_value(e.metrics);
}
bool decode_body(MsgpackCursor& c, StrategyError& e) {
  return c.read_small_uint(e.strategy, kU32) && read_enum(c, e.kind, 3) && c.read_str(e.callback) &&
         c.read_str(e.message) && c.read_str(e.traceback) && c.read_str(e.file) && c.read_small_uint(e.line, kU32) &&
         c.read_bool(e.strategy_disabled);
}
bool decode_body(MsgpackCursor& c, Reload& e) {
  return c.read_small_uint(e.strategy, kU32) && c.read_str(e.path) && c.read_str(e.old_sha256) &&
         c.read_str(e.new_sha256) && c.read_bool(e.ok) && c.read_str(e.message);
}
bool decode_body(MsgpackCursor& c, IndicatorValues& e) { return c.read_value(e.values); }
bool decode_body(MsgpackCursor& c, Note& e) {
  return c.read_str(e.category) && c.read_str(e.text) && c.read_value(e.data);
}

template <class T>
bool decode_into(MsgpackCursor& c, std::uint32_t fields, Event& out, const char*& why) {
  // Reuse the alternative already held (its strings keep their capacity) when a
  // reader decodes many events of one type into the same Event.
  T* body = std::get_if<T>(&out.body);
  if (body == nullptr) body = &out.body.emplace<T>();
  if (!decode_body(c, *body)) {
    why = c.error();
    return false;
  }
  const std::uint32_t used = kEnvelopeFields + FieldCount{}(*body);
  if (fields < used) {
    why = "record has fewer fields than its type requires";
    return false;
  }
  // Fields appended by a newer minor version are skipped.
  for (std::uint32_t i = used; i < fields; ++i) {
    if (!c.skip()) {
      why = c.error();
      return false;
    }
  }
  return true;
}

void make_unknown(std::string_view record, std::uint16_t type, const char* why, Event& out) {
  UnknownEvent u;
  u.type = type;
  u.record.assign(record.data(), record.size());
  u.error = why == nullptr ? "" : why;
  out.body = std::move(u);
}

}  // namespace

void encode_event(const Event& e, std::string& out) {
  Sink sink{&out};
  Packer pk(sink);
  if (const auto* u = std::get_if<UnknownEvent>(&e.body)) {
    // Passing an unknown event on keeps its original bytes.
    out += u->record;
    return;
  }
  const std::uint32_t fields = kEnvelopeFields + std::visit(FieldCount{}, e.body);
  pk.pack_array(fields);
  pk.pack_uint16(e.type_code());
  pk.pack_uint64(e.sequence);
  pk.pack_int64(e.ts_event_ns);
  pk.pack_uint32(e.runner);
  std::visit(BodyEncoder{pk}, e.body);
}

std::string encode_event(const Event& e) {
  std::string out;
  encode_event(e, out);
  return out;
}

bool decode_envelope(std::string_view record, EventEnvelope& out) noexcept {
  MsgpackCursor c(record);
  std::uint32_t n = 0;
  return c.read_array(n) && n >= kEnvelopeFields && c.read_small_uint(out.type, 0xffff) && c.read_uint(out.sequence) &&
         c.read_int(out.ts_event_ns) && c.read_small_uint(out.runner, kU32);
}

void decode_event(std::string_view record, Event& out) {
  MsgpackCursor c(record);
  std::uint32_t n = 0;
  std::uint16_t type = 0;
  if (!(c.read_array(n) && n >= kEnvelopeFields && c.read_small_uint(type, 0xffff) && c.read_uint(out.sequence) &&
        c.read_int(out.ts_event_ns) && c.read_small_uint(out.runner, kU32))) {
    out.sequence = 0;
    make_unknown(record, type, c.ok() ? "record envelope is not [type, sequence, ts, runner, ...]" : c.error(), out);
    return;
  }
  const char* why = nullptr;
  bool ok = false;
  switch (type) {
    case 1: ok = decode_into<SessionStart>(c, n, out, why); break;
    case 2: ok = decode_into<SessionEnd>(c, n, out, why); break;
    case 3: ok = decode_into<MarketData>(c, n, out, why); break;
    case 4: ok = decode_into<RunnerState>(c, n, out, why); break;
    case 5: ok = decode_into<Transition>(c, n, out, why); break;
    case 6: ok = decode_into<StrategyAction>(c, n, out, why); break;
    case 7: ok = decode_into<OrderUpdate>(c, n, out, why); break;
    case 8: ok = decode_into<FillEvent>(c, n, out, why); break;
    case 9: ok = decode_into<RiskDecision>(c, n, out, why); break;
    case 10: ok = decode_into<StormGuardChange>(c, n, out, why); break;
    case 11: ok = decode_into<StrategyError>(c, n, out, why); break;
    case 12: ok = decode_into<Reload>(c, n, out, why); break;
    case 13: ok = decode_into<IndicatorValues>(c, n, out, why); break;
    case 14: ok = decode_into<Note>(c, n, out, why); break;
    default: make_unknown(record, type, nullptr, out); return;
  }
  if (ok && !c.at_end()) {
    ok = false;
    why = "bytes after the end of the record";
  }
  if (!ok) make_unknown(record, type, why, out);
}

Event decode_event(std::string_view record) {
  Event e;
  decode_event(record, e);
  return e;
}

void encode_value(const Value& v, std::string& out) {
  Sink sink{&out};
  Packer pk(sink);
  put_value(pk, v);
}

Result<Value> decode_value(std::string_view data) {
  MsgpackCursor c(data);
  Value v;
  if (!c.read_value(v)) return make_error(Errc::parse, std::string("decode msgpack value: ") + c.error());
  if (!c.at_end()) return make_error(Errc::parse, "decode msgpack value: bytes after the value");
  return v;
}

}  // namespace te::journal
