#include "engine/journal/event_codec.hpp"

#include "engine/journal/bar_run.hpp"
#include "engine/journal/positional_state.hpp"
#include "engine/journal/state_parts.hpp"

#define MSGPACK_NO_BOOST
#include <msgpack/pack.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "engine/core/assert.hpp"
#include "engine/core/copy_short.hpp"
#include "engine/journal/msgpack_cursor.hpp"

namespace te::journal {

namespace {

using detail::MsgpackCursor;

// Writes into `out` past its end through a pointer: the packer writes every
// header and scalar separately (a state record is about a hundred writes), and
// a std::string::append per write (call, capacity check, memcpy call) cost
// more than the encoding itself. The string is grown ahead of the writes and
// cut to what was written when the encoder is done (~Enc).
// Or into a RecordOut (`rec`): the journal writer's block, where a state
// record is then written in place (room from the block, grown through it).
struct Sink {
  explicit Sink(std::string& o) : out(&o) {
    const std::size_t at = o.size();
    o.resize(at + 256);
    p = o.data() + at;
    end = o.data() + o.size();
  }
  Sink(RecordOut& o, std::size_t first) : rec(&o) {
    start = o.room(first);
    p = start;
    end = start + first;
  }
  void write(const char* d, std::size_t n) {
    if (static_cast<std::size_t>(end - p) < n) grow(n);
    std::memcpy(p, d, n);
    p += n;
  }
  [[gnu::noinline]] void grow(std::size_t n) {
    if (rec != nullptr) {
      const auto used = static_cast<std::size_t>(p - start);
      const std::size_t most = std::max(2 * static_cast<std::size_t>(end - start), used + n + 256);
      start = rec->grow(used, most);
      p = start + used;
      end = start + most;
      return;
    }
    const auto used = static_cast<std::size_t>(p - out->data());
    out->resize(std::max(out->size() * 2, used + n + 256));
    p = out->data() + used;
    end = out->data() + out->size();
  }
  [[gnu::always_inline]] void finish() {
    if (rec != nullptr) {
      rec->written(static_cast<std::size_t>(p - start));
    } else {
      out->resize(static_cast<std::size_t>(p - out->data()));
    }
  }

  std::string* out = nullptr;
  RecordOut* rec = nullptr;
  char* start = nullptr;  // (rec) the record's first byte
  char* p;
  char* end;
};
using Packer = msgpack::packer<Sink>;

struct Enc {
  explicit Enc(std::string& out) : sink(out), pk(sink) {}
  // A state record's first room (below BlockBuilder's two-byte bound, so a
  // record shorter than 128 bytes takes its place with no move).
  explicit Enc(RecordOut& out) : sink(out, 127), pk(sink) {}
  [[gnu::always_inline]] ~Enc() { sink.finish(); }
  Enc(const Enc&) = delete;
  Enc& operator=(const Enc&) = delete;

  // msgpack-cxx's pack_double writes integral doubles as integers, which would
  // turn 1.0 into 1 and lose -0.0: doubles are always float64 here.
  void dbl(double d) {
    const auto bits = std::bit_cast<std::uint64_t>(d);
    char buf[9];
    buf[0] = static_cast<char>(0xcb);
    for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>((bits >> (56 - 8 * i)) & 0xff);
    sink.write(buf, sizeof buf);
  }

  Sink sink;
  Packer pk;
};

const std::uint64_t kNoValueBits = std::bit_cast<std::uint64_t>(model::kNoValue);

// ---- encoding ---------------------------------------------------------------

[[gnu::noinline]] void put_str_packed(Enc& en, std::string_view s) {
  en.pk.pack_str(static_cast<std::uint32_t>(s.size()));
  en.pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}
// A string shorter than 32 bytes (a ctx key or text, mostly: the delta's
// patches write them) as the packer's fixstr, written inline by copy_short
// when the sink has room; else, and for longer strings, the packer's forms
// (put_str_packed, out of line so the short path saves no registers). The
// packer wrote each with two Sink::write calls, one of them a memcpy call.
void put_str(Enc& en, std::string_view s) {
  Sink& k = en.sink;
  const std::size_t n = s.size();
  if (n >= 32 || static_cast<std::size_t>(k.end - k.p) <= n) return put_str_packed(en, s);
  k.p[0] = static_cast<char>(0xa0 | n);
  copy_short(k.p + 1, s.data(), n);
  k.p += n + 1;
}

// A constant map key, shorter than 32 bytes (a msgpack fixstr, as put_str
// writes it), written inline: the state encoders write about eighteen of them
// per record, and put_str's call, the packer's length dispatch and the
// memcpy call cost ~55 instructions a key (callgrind, writer thread).
[[gnu::always_inline]] inline void put_key(Enc& en, std::string_view k) {
  Sink& s = en.sink;
  const std::size_t n = k.size() + 1;
  if (static_cast<std::size_t>(s.end - s.p) < n) s.grow(n);
  s.p[0] = static_cast<char>(0xa0 | k.size());
  std::memcpy(s.p + 1, k.data(), k.size());
  s.p += n;
}

void put_value(Enc& en, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Nil: en.pk.pack_nil(); return;
    case Value::Kind::Bool: v.as_bool() ? en.pk.pack_true() : en.pk.pack_false(); return;
    case Value::Kind::Int: en.pk.pack_int64(v.as_int()); return;
    case Value::Kind::Double: en.dbl(v.as_double()); return;
    case Value::Kind::String: put_str(en, v.as_string()); return;
    case Value::Kind::Array:
      en.pk.pack_array(static_cast<std::uint32_t>(v.size()));
      for (const Value& e : v.as_array()) put_value(en, e);
      return;
    case Value::Kind::Map:
      en.pk.pack_map(static_cast<std::uint32_t>(v.size()));
      for (const auto& [k, e] : v.as_map()) {
        put_str(en, k);
        put_value(en, e);
      }
      return;
  }
}

// ---- deltas, encoded without building the delta tree -------------------------
//
// These mirror diff() in value_diff.cpp decision for decision (the same
// replace-versus-patch choices, the same order), so the bytes equal
// encode_value(diff(from, to)); value_diff_test checks that on random trees.
// They exist because the writer diffs every runner state in delta mode and
// building the delta as a Value tree costs several allocations per changed key.

enum class DiffKind { None, Replace, MapPatch, ArrayPatch };

// One pass over two sorted maps: for every key of `y`, whether `x` has it with
// an equal value (what the map patch below needs twice), and the counts
// diff_kind decides with. Keys are compared for equality first: in a runner's
// consecutive states they almost always match, and one comparison then
// settles it where key_less needed two.
struct MapCompare {
  explicit MapCompare(const Value::Map& x, const Value::Map& y) {
    if (y.size() > sizeof local) {
      heap = std::make_unique<char[]>(y.size());
      same = heap.get();
    }
    std::size_t i = 0, j = 0;
    while (i < x.size() || j < y.size()) {
      if (i < x.size() && j < y.size() && x[i].first == y[j].first) {
        const bool eq = x[i].second == y[j].second;
        same[j] = eq ? 1 : 0;
        (eq ? unchanged : other) += 1;
        if (!eq) ++changes;
        ++i, ++j;
      } else if (j == y.size() || (i < x.size() && key_less(x[i].first, y[j].first))) {
        ++other, ++removed, ++i;
      } else {
        same[j] = 0;
        ++other, ++changes, ++j;
      }
    }
  }
  MapCompare(const MapCompare&) = delete;  // `same` may point into `local`
  MapCompare& operator=(const MapCompare&) = delete;
  DiffKind kind(const Value::Map& x) const {
    if (other == 0) return DiffKind::None;
    if (unchanged == 0 && !x.empty()) return DiffKind::Replace;
    return DiffKind::MapPatch;
  }
  std::size_t unchanged = 0, other = 0;
  std::uint32_t changes = 0, removed = 0;
  char local[64];
  char* same = local;
  std::unique_ptr<char[]> heap;
};

DiffKind array_kind(const Value::Array& x, const Value::Array& y) {
  const std::size_t common = std::min(x.size(), y.size());
  std::size_t changed = 0;
  for (std::size_t i = 0; i < common; ++i) changed += x[i] == y[i] ? 0 : 1;
  if (changed == 0 && x.size() == y.size()) return DiffKind::None;
  if (common > 0 && changed * 2 > common) return DiffKind::Replace;
  return DiffKind::ArrayPatch;
}

void put_replace(Enc& en, const Value& to) {
  en.pk.pack_array(2);
  en.pk.pack_int64(0);
  put_value(en, to);
}

void put_diff(Enc& en, const Value& a, const Value& b);

void put_map_patch(Enc& en, const Value::Map& x, const Value::Map& y, const MapCompare& cmp) {
  en.pk.pack_array(3);
  en.pk.pack_int64(1);
  en.pk.pack_map(cmp.changes);
  for (std::size_t i = 0, j = 0; j < y.size();) {
    if (i < x.size() && x[i].first == y[j].first) {
      if (!cmp.same[j]) {
        put_str(en, y[j].first);
        put_diff(en, x[i].second, y[j].second);
      }
      ++i, ++j;
    } else if (i < x.size() && key_less(x[i].first, y[j].first)) {
      ++i;
    } else {
      put_str(en, y[j].first);
      put_replace(en, y[j].second);
      ++j;
    }
  }
  en.pk.pack_array(cmp.removed);
  if (cmp.removed == 0) return;
  for (std::size_t i = 0, j = 0; i < x.size();) {
    if (j < y.size() && x[i].first == y[j].first) {
      ++i, ++j;
    } else if (j == y.size() || key_less(x[i].first, y[j].first)) {
      put_str(en, x[i].first);
      ++i;
    } else {
      ++j;
    }
  }
}

// An array patch's head ([2, new size, [ops...]] up to the ops' array
// header: one op per changed or added element); returns the common length.
std::size_t put_array_patch_head(Enc& en, const Value::Array& x, const Value::Array& y) {
  const std::size_t common = std::min(x.size(), y.size());
  std::uint32_t ops = static_cast<std::uint32_t>(y.size() - common);
  for (std::size_t i = 0; i < common; ++i) ops += x[i] == y[i] ? 0 : 1;
  en.pk.pack_array(3);
  en.pk.pack_int64(2);
  en.pk.pack_int64(static_cast<std::int64_t>(y.size()));
  en.pk.pack_array(ops);
  return common;
}

void put_array_patch(Enc& en, const Value::Array& x, const Value::Array& y) {
  const std::size_t common = put_array_patch_head(en, x, y);
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (i < common && x[i] == y[i]) continue;
    en.pk.pack_array(2);
    en.pk.pack_int64(static_cast<std::int64_t>(i));
    if (i < common) {
      put_diff(en, x[i], y[i]);
    } else {
      put_replace(en, y[i]);
    }
  }
}

// These mirror diff() in value_diff.cpp decision for decision (the same
// replace-versus-patch choices, the same order), so the bytes equal
// encode_value(diff(from, to)); value_diff_test checks that on random trees.
void put_diff(Enc& en, const Value& a, const Value& b) {
  if (a.is_map() && b.is_map()) {
    const MapCompare cmp(a.as_map(), b.as_map());
    switch (cmp.kind(a.as_map())) {
      case DiffKind::None: en.pk.pack_nil(); return;
      case DiffKind::Replace: put_replace(en, b); return;
      default: put_map_patch(en, a.as_map(), b.as_map(), cmp); return;
    }
  }
  if (a.is_array() && b.is_array()) {
    switch (array_kind(a.as_array(), b.as_array())) {
      case DiffKind::None: en.pk.pack_nil(); return;
      case DiffKind::Replace: put_replace(en, b); return;
      default: put_array_patch(en, a.as_array(), b.as_array()); return;
    }
  }
  if (a == b) {
    en.pk.pack_nil();
  } else {
    put_replace(en, b);
  }
}

// Optional bar fields: "absent" (the model's NaN) is nil; any other bit pattern,
// including other NaNs, is kept as a double so decoding is exact.
void put_optional(Enc& en, double d) {
  if (std::bit_cast<std::uint64_t>(d) == kNoValueBits) {
    en.pk.pack_nil();
  } else {
    en.dbl(d);
  }
}

constexpr std::uint32_t kEnvelopeFields = 4;
constexpr std::uint32_t kCompactMarketDataFields = 5;  // open, high, low, close, volume

// Every field of these model types is journaled. When one gains a field, append
// it to the end of its record below (and to docs/journal-format.md), then update
// the size here; forgetting would silently leave the field out of the journal.
static_assert(sizeof(model::Order) == 160, "model::Order changed: journal its new field (OrderUpdate record)");
static_assert(sizeof(model::Fill) == 72, "model::Fill changed: journal its new field (Fill record)");
static_assert(sizeof(model::Bar) == 80, "model::Bar changed: journal its new field (MarketData record)");

void put_market_data(Enc& en, model::InstrumentId instrument, std::string_view symbol, std::string_view timeframe,
                     const model::Bar& bar) {
  en.pk.pack_uint32(instrument);
  put_str(en, symbol);
  put_str(en, timeframe);
  en.pk.pack_int64(bar.ts_ns);
  en.dbl(bar.open);
  en.dbl(bar.high);
  en.dbl(bar.low);
  en.dbl(bar.close);
  en.dbl(bar.volume);
  put_optional(en, bar.bid);
  put_optional(en, bar.ask);
  put_optional(en, bar.bid_size);
  put_optional(en, bar.ask_size);
}

// The bodies of the order_update, fill and risk_decision records, written by
// encode_event() through its packer and by encode_order_update() and the
// others (the journal writer's path for a recorder's orders and fills)
// straight into reserved memory: one field list for both.
// (Inline: the direct records write two to four strings each, and the call
// was about a tenth of their encoding.)
template <class Pk>
[[gnu::always_inline]] inline void put_str_to(Pk& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

template <class Pk, class Dbl>
void put_order_update(Pk& pk, Dbl&& dbl, const model::Order& o, std::string_view reason_code,
                      std::string_view message) {
  pk.pack_uint64(o.id);
  pk.pack_uint32(o.instrument);
  pk.pack_uint32(o.runner);
  pk.pack_uint32(o.strategy);
  pk.pack_uint8(static_cast<std::uint8_t>(o.side));
  pk.pack_uint8(static_cast<std::uint8_t>(o.type));
  pk.pack_uint8(static_cast<std::uint8_t>(o.tif));
  pk.pack_uint8(static_cast<std::uint8_t>(o.purpose));
  pk.pack_uint8(static_cast<std::uint8_t>(o.status));
  dbl(o.qty);
  dbl(o.filled_qty);
  dbl(o.limit_price);
  dbl(o.stop_price);
  o.reduce_only ? pk.pack_true() : pk.pack_false();
  pk.pack_int64(o.submitted_ns);
  pk.pack_int64(o.submitted_bar);
  pk.pack_int64(o.active_from_bar);
  put_str_to(pk, o.tag);
  put_str_to(pk, reason_code);
  put_str_to(pk, message);
  pk.pack_int32(o.tif_bars);
  dbl(o.trail_amount);
  dbl(o.trail_pct);
  dbl(o.avg_fill_price);
  pk.pack_uint64(o.oco_group);
}

template <class Pk, class Dbl>
void put_fill(Pk& pk, Dbl&& dbl, const model::Fill& f) {
  pk.pack_uint64(f.order);
  pk.pack_uint32(f.instrument);
  pk.pack_uint32(f.runner);
  pk.pack_uint32(f.strategy);
  pk.pack_uint8(static_cast<std::uint8_t>(f.side));
  pk.pack_uint8(static_cast<std::uint8_t>(f.purpose));
  dbl(f.qty);
  dbl(f.price);
  dbl(f.commission);
  pk.pack_int64(f.ts_ns);
  pk.pack_int64(f.bar_index);
  pk.pack_uint8(static_cast<std::uint8_t>(f.liquidity));
  dbl(f.slippage);
}

template <class Pk>
void put_risk_decision(Pk& pk, std::uint64_t order, model::StrategyId strategy, bool approved,
                       std::string_view reason_code, std::string_view message) {
  pk.pack_uint64(order);
  pk.pack_uint32(strategy);
  approved ? pk.pack_true() : pk.pack_false();
  put_str_to(pk, reason_code);
  put_str_to(pk, message);
}

struct FieldCount {
  // The direct records' counts, named for encode_direct(): asking
  // operator() of an `OrderUpdate{}` built and destroyed the temporary (its
  // strings, a StrategyAction's Value), ≈ 40 instructions a record.
  static constexpr std::uint32_t kTransition = 5, kStrategyAction = 4, kOrderUpdate = 25, kFill = 13,
                                 kRiskDecision = 5;
  std::uint32_t operator()(const SessionStart&) const { return 6; }
  std::uint32_t operator()(const SessionEnd&) const { return 2; }
  std::uint32_t operator()(const MarketData&) const { return 13; }
  std::uint32_t operator()(const RunnerState& s) const { return s.encoding == StateEncoding::Delta ? 7 : 5; }
  std::uint32_t operator()(const Transition&) const { return kTransition; }
  std::uint32_t operator()(const StrategyAction&) const { return kStrategyAction; }
  std::uint32_t operator()(const OrderUpdate&) const { return kOrderUpdate; }
  std::uint32_t operator()(const FillEvent&) const { return kFill; }
  std::uint32_t operator()(const RiskDecision&) const { return kRiskDecision; }
  std::uint32_t operator()(const StormGuardChange&) const { return 4; }
  std::uint32_t operator()(const StrategyError&) const { return 8; }
  std::uint32_t operator()(const Reload&) const { return 6; }
  std::uint32_t operator()(const IndicatorValues&) const { return 1; }
  std::uint32_t operator()(const Note&) const { return 3; }
  std::uint32_t operator()(const UnknownEvent&) const { return 0; }
};

struct BodyEncoder {
  Enc& en;

  void operator()(const SessionStart& e) const {
    put_str(en, e.session_id);
    put_str(en, e.mode);
    put_str(en, e.engine_version);
    en.pk.pack_uint64(e.seed);
    put_str(en, e.config_sha256);
    put_value(en, e.info);
  }
  void operator()(const SessionEnd& e) const {
    put_str(en, e.reason);
    put_value(en, e.summary);
  }
  void operator()(const MarketData& e) const { put_market_data(en, e.instrument, e.symbol, e.timeframe, e.bar); }
  void operator()(const RunnerState& e) const {
    en.pk.pack_uint8(static_cast<std::uint8_t>(e.phase));
    en.pk.pack_uint8(e.state);
    en.pk.pack_uint8(static_cast<std::uint8_t>(e.encoding));
    put_value(en, e.context);
    put_value(en, e.indicators);
    if (e.encoding == StateEncoding::Delta) {
      en.pk.pack_uint64(e.base_sequence);
      en.pk.pack_uint64(e.snapshot_sequence);
    }
  }
  void operator()(const Transition& e) const {
    en.pk.pack_uint8(e.from);
    en.pk.pack_uint8(e.to);
    put_str(en, e.trigger);
    put_str(en, e.reason);
    en.pk.pack_int64(e.bar_ts_ns);
  }
  void operator()(const StrategyAction& e) const {
    en.pk.pack_uint32(e.strategy);
    put_str(en, e.kind);
    put_value(en, e.params);
    put_str(en, e.reason);
  }
  void operator()(const OrderUpdate& e) const {
    put_order_update(en.pk, [this](double d) { en.dbl(d); }, e.order, e.reason_code, e.message);
  }
  void operator()(const FillEvent& e) const {
    put_fill(en.pk, [this](double d) { en.dbl(d); }, e.fill);
  }
  void operator()(const RiskDecision& e) const {
    put_risk_decision(en.pk, e.order, e.strategy, e.approved, e.reason_code, e.message);
  }
  void operator()(const StormGuardChange& e) const {
    en.pk.pack_uint8(e.from);
    en.pk.pack_uint8(e.to);
    put_str(en, e.reason);
    put_value(en, e.metrics);
  }
  void operator()(const StrategyError& e) const {
    en.pk.pack_uint32(e.strategy);
    en.pk.pack_uint8(static_cast<std::uint8_t>(e.kind));
    put_str(en, e.callback);
    put_str(en, e.message);
    put_str(en, e.traceback);
    put_str(en, e.file);
    en.pk.pack_uint32(e.line);
    e.strategy_disabled ? en.pk.pack_true() : en.pk.pack_false();
  }
  void operator()(const Reload& e) const {
    en.pk.pack_uint32(e.strategy);
    put_str(en, e.path);
    put_str(en, e.old_sha256);
    put_str(en, e.new_sha256);
    e.ok ? en.pk.pack_true() : en.pk.pack_false();
    put_str(en, e.message);
  }
  void operator()(const IndicatorValues& e) const { put_value(en, e.values); }
  void operator()(const Note& e) const {
    put_str(en, e.category);
    put_str(en, e.text);
    put_value(en, e.data);
  }
  void operator()(const UnknownEvent&) const {}
};

// ---- decoding ---------------------------------------------------------------

template <class E>
bool read_enum(MsgpackCursor& c, E& out, std::uint8_t max) {
  std::uint64_t v = 0;
  if (!c.read_uint(v)) return false;
  if (v > max) return c.fail("enum value out of range (from a newer version?)");
  out = static_cast<E>(v);
  return true;
}

bool read_i32(MsgpackCursor& c, std::int32_t& out) {
  std::int64_t v = 0;
  if (!c.read_int(v)) return false;
  if (v < INT32_MIN || v > INT32_MAX) return c.fail("int32 field out of range");
  out = static_cast<std::int32_t>(v);
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
// runner_state: decode_state_into below. After the map form's indicators: the delta's sequences.
bool decode_state_tail(MsgpackCursor& c, RunnerState& e) {
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
         read_enum(c, o.tif, 4) && read_enum(c, o.purpose, 8) && read_enum(c, o.status, 6) &&
         c.read_double(o.qty) && c.read_double(o.filled_qty) && c.read_double(o.limit_price) &&
         c.read_double(o.stop_price) && c.read_bool(o.reduce_only) && c.read_int(o.submitted_ns) &&
         c.read_int(o.submitted_bar) && c.read_int(o.active_from_bar) && c.read_str(o.tag) && c.read_str(e.reason_code) && c.read_str(e.message) &&
         read_i32(c, o.tif_bars) && c.read_double(o.trail_amount) && c.read_double(o.trail_pct) &&
         c.read_double(o.avg_fill_price) && c.read_uint(o.oco_group);
}
bool decode_body(MsgpackCursor& c, FillEvent& e) {
  model::Fill& f = e.fill;
  return c.read_uint(f.order) && c.read_small_uint(f.instrument, kU32) && c.read_small_uint(f.runner, kU32) &&
         c.read_small_uint(f.strategy, kU32) && read_enum(c, f.side, 1) && read_enum(c, f.purpose, 8) &&
         c.read_double(f.qty) && c.read_double(f.price) && c.read_double(f.commission) && c.read_int(f.ts_ns) &&
         c.read_int(f.bar_index) && read_enum(c, f.liquidity, 1) && c.read_double(f.slippage);
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

}  // namespace

template <class T>
T& BodySpares::hold(EventBody& body) {
  constexpr std::size_t want = index_of<T>();
  static_assert(want < std::variant_size_v<EventBody>, "not an event body");
  // Moved-from bodies hold no memory, so parking into a slot whose body was
  // taken frees nothing, and taking the spare allocates nothing.
  slots_[body.index()] = std::move(body);
  EventBody& spare = slots_[want];
  if (spare.index() == want) {
    body = std::move(spare);
  } else {
    body.emplace<T>();
  }
  return std::get<T>(body);
}

namespace {

// The body of type T to decode into: the alternative `out` already holds (its
// strings keep their capacity when a reader decodes many events of one type
// into the same Event), else the reader's spare T.
template <class T>
T& body_of(Event& out, BodySpares* spares) {
  if (T* body = std::get_if<T>(&out.body)) return *body;
  return spares != nullptr ? spares->hold<T>(out.body) : out.body.emplace<T>();
}

template <class T>
bool decode_into(MsgpackCursor& c, std::uint32_t fields, Event& out, BodySpares* spares, const char*& why) {
  T* body = &body_of<T>(out, spares);
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

// A runner_state record in either form: the map form (encoding 0/1) or the
// positional one (2/3, format 4: positional_state.hpp), whose field count
// depends on the record.
bool decode_state_into(MsgpackCursor& c, std::uint32_t fields, Event& out, BodySpares* spares, const char*& why) {
  RunnerState* body = &body_of<RunnerState>(out, spares);
  std::uint8_t encoding = 0;
  std::uint32_t used = 0;
  bool ok = read_enum(c, body->phase, 1) && c.read_small_uint(body->state, 0xff) &&
            c.read_small_uint(encoding, kPositionalDelta);
  if (ok && encoding >= kPositionalFull) {
    ok = detail::decode_positional_state(c, encoding, *body, used);
  } else if (ok) {
    body->encoding = static_cast<StateEncoding>(encoding);
    ok = c.read_value(body->context) && c.read_value(body->indicators) && decode_state_tail(c, *body);
    used = FieldCount{}(*body);
  }
  if (!ok) {
    why = c.error();
    return false;
  }
  if (fields < kEnvelopeFields + used) {
    why = "record has fewer fields than its type requires";
    return false;
  }
  for (std::uint32_t i = kEnvelopeFields + used; i < fields; ++i) {
    if (!c.skip()) {
      why = c.error();
      return false;
    }
  }
  return true;
}

void make_unknown(std::string_view record, std::uint16_t type, const char* why, Event& out,
                  BodySpares* spares = nullptr) {
  UnknownEvent& u = body_of<UnknownEvent>(out, spares);
  u.type = type;
  u.record.assign(record.data(), record.size());
  u.error = why == nullptr ? "" : why;
}

}  // namespace

void encode_event(const Event& e, std::string& out) {
  if (const auto* u = std::get_if<UnknownEvent>(&e.body)) {
    // Passing an unknown event on keeps its bytes; only the envelope is
    // rewritten, since a writer gives the event a new sequence number.
    MsgpackCursor c(u->record);
    std::uint32_t n = 0;
    std::uint64_t ignored = 0;
    std::int64_t ignored_ts = 0;
    if (!(c.read_array(n) && n >= kEnvelopeFields && c.read_uint(ignored) && c.read_uint(ignored) &&
          c.read_int(ignored_ts) && c.read_uint(ignored))) {
      out += u->record;  // no readable envelope: kept as it was, a reader surfaces it again
      return;
    }
    Enc en(out);
    en.pk.pack_array(n);
    en.pk.pack_uint16(u->type);
    en.pk.pack_uint64(e.sequence);
    en.pk.pack_int64(e.ts_event_ns);
    en.pk.pack_uint32(e.runner);
    const std::string_view rest = std::string_view(u->record).substr(u->record.size() - c.remaining());
    en.sink.write(rest.data(), rest.size());
    return;
  }
  Enc en(out);
  const std::uint32_t fields = kEnvelopeFields + std::visit(FieldCount{}, e.body);
  en.pk.pack_array(fields);
  en.pk.pack_uint16(e.type_code());
  en.pk.pack_uint64(e.sequence);
  en.pk.pack_int64(e.ts_event_ns);
  en.pk.pack_uint32(e.runner);
  std::visit(BodyEncoder{en}, e.body);
}

namespace {

// Writes into memory reserved in advance: no capacity check and no string
// growth per field. The same msgpack-cxx packer, so the same bytes.
struct RawSink {
  char* p;
  void write(const char* d, std::size_t n) {
    std::memcpy(p, d, n);
    p += n;
  }
};

void raw_dbl(RawSink& sink, double d) {
  const auto bits = std::bit_cast<std::uint64_t>(d);
  sink.p[0] = static_cast<char>(0xcb);
  for (int i = 0; i < 8; ++i) sink.p[1 + i] = static_cast<char>((bits >> (56 - 8 * i)) & 0xff);
  sink.p += 9;
}

// msgpack-cxx's packer's calls, inline, for encode_direct's records: the
// same shortest forms (v1 pack.hpp: pack_imp_uint64, pack_imp_int64,
// pack_str with str8, ...), written through a pointer into reserved memory.
// The packer's out-of-line pack_imp_* and a memcpy call per string were about
// a third of an order_update's encoding (callgrind, writer thread).
struct RawPacker {
  char* p;
  template <class T>
  [[gnu::always_inline]] void be(T v) {
    if constexpr (sizeof(T) == 2) v = static_cast<T>(__builtin_bswap16(v));
    if constexpr (sizeof(T) == 4) v = __builtin_bswap32(v);
    if constexpr (sizeof(T) == 8) v = __builtin_bswap64(v);
    std::memcpy(p, &v, sizeof v);
    p += sizeof v;
  }
  [[gnu::always_inline]] void byte(unsigned v) { *p++ = static_cast<char>(v); }
  [[gnu::always_inline]] void pack_uint64(std::uint64_t v) {
    if (v < 128) {
      byte(static_cast<unsigned>(v));
    } else if (v < 256) {
      byte(0xcc);
      byte(static_cast<unsigned>(v));
    } else if (v < 65536) {
      byte(0xcd);
      be(static_cast<std::uint16_t>(v));
    } else if (v <= 0xffffffffu) {
      byte(0xce);
      be(static_cast<std::uint32_t>(v));
    } else {
      byte(0xcf);
      be(v);
    }
  }
  [[gnu::always_inline]] void pack_uint32(std::uint32_t v) { pack_uint64(v); }
  [[gnu::always_inline]] void pack_uint16(std::uint16_t v) { pack_uint64(v); }
  [[gnu::always_inline]] void pack_uint8(std::uint8_t v) {
    if (v >= 128) byte(0xcc);
    byte(v);
  }
  [[gnu::always_inline]] void pack_int64(std::int64_t v) {
    if (v >= 0) return pack_uint64(static_cast<std::uint64_t>(v));
    if (v >= -32) {
      byte(static_cast<unsigned>(v) & 0xff);
    } else if (v >= -128) {
      byte(0xd0);
      byte(static_cast<unsigned>(v) & 0xff);
    } else if (v >= -32768) {
      byte(0xd1);
      be(static_cast<std::uint16_t>(v));
    } else if (v >= INT32_MIN) {
      byte(0xd2);
      be(static_cast<std::uint32_t>(v));
    } else {
      byte(0xd3);
      be(static_cast<std::uint64_t>(v));
    }
  }
  [[gnu::always_inline]] void pack_int32(std::int32_t v) { pack_int64(v); }
  [[gnu::always_inline]] void pack_true() { byte(0xc3); }
  [[gnu::always_inline]] void pack_false() { byte(0xc2); }
  [[gnu::always_inline]] void pack_nil() { byte(0xc0); }
  [[gnu::always_inline]] void pack_array(std::uint32_t n) { container(n, 0x90, 0xdc); }
  [[gnu::always_inline]] void pack_map(std::uint32_t n) { container(n, 0x80, 0xde); }
  // An array's or map's header: fix form below 16, then the 16-bit code
  // (`code16`) and the 32-bit one after it.
  [[gnu::always_inline]] void container(std::uint32_t n, unsigned fix, unsigned code16) {
    if (n < 16) {
      byte(fix | n);
    } else if (n < 65536) {
      byte(code16);
      be(static_cast<std::uint16_t>(n));
    } else {
      byte(code16 + 1);
      be(n);
    }
  }
  [[gnu::always_inline]] void pack_str(std::uint32_t n) {
    if (n < 32) {
      byte(0xa0 | n);
    } else if (n < 256) {
      byte(0xd9);
      byte(n);
    } else if (n < 65536) {
      byte(0xda);
      be(static_cast<std::uint16_t>(n));
    } else {
      byte(0xdb);
      be(n);
    }
  }
  [[gnu::always_inline]] void pack_str_body(const char* d, std::uint32_t n) {
    // Short strings (codes, tags, reasons) as two overlapping 8-byte moves
    // when they fit, instead of a memcpy call.
    if (n <= 16 && n >= 8) {
      std::uint64_t a, b;
      std::memcpy(&a, d, 8);
      std::memcpy(&b, d + n - 8, 8);
      std::memcpy(p, &a, 8);
      std::memcpy(p + n - 8, &b, 8);
    } else {
      std::memcpy(p, d, n);
    }
    p += n;
  }
  [[gnu::always_inline]] void dbl(double d) {
    byte(0xcb);
    be(std::bit_cast<std::uint64_t>(d));
  }
};

// A record of `fields` body fields written by `body(packer, dbl)` behind its
// envelope, into `out` grown once by `most` bytes (at most what it takes).
template <class Body>
void encode_direct(EventType type, std::uint32_t fields, std::uint64_t sequence, std::int64_t ts_event_ns,
                   model::RunnerId runner, std::size_t most, RecordOut& out, Body&& body) {
  constexpr std::size_t kEnvelope = 3 + 3 + 9 + 9 + 5;  // array16, type, sequence, ts, runner at most
  char* const at = out.room(kEnvelope + most);
  RawPacker pk{at};
  pk.pack_array(kEnvelopeFields + fields);
  pk.pack_uint16(static_cast<std::uint16_t>(type));
  pk.pack_uint64(sequence);
  pk.pack_int64(ts_event_ns);
  pk.pack_uint32(runner);
  body(pk, [&pk](double d) { pk.dbl(d); });
  // `most` is counted by hand per record: a wrong count is a bug to stop at.
  TE_ASSERT(pk.p <= at + kEnvelope + most, "journal record of type %d overran its %zu bytes",
            static_cast<int>(type), kEnvelope + most);
  out.written(static_cast<std::size_t>(pk.p - at));
}

// A RecordOut appending to a string.
class StringOut final : public RecordOut {
 public:
  explicit StringOut(std::string& s) : s_(s), at_(s.size()) {}
  char* room(std::size_t most) override {
    s_.resize(at_ + most);
    return s_.data() + at_;
  }
  char* grow(std::size_t, std::size_t most) override { return room(most); }
  void written(std::size_t n) override { s_.resize(at_ + n); }

 private:
  std::string& s_;
  std::size_t at_;
};

}  // namespace

void encode_order_update(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                         const model::Order& order, std::string_view reason_code, std::string_view message,
                         RecordOut& out) {
  // At most: id 9, three u32 15, five u8 10, seven doubles 63, bool 1, three
  // i64 27, three string headers 15, i32 5, oco group 9.
  const std::size_t most = 154 + order.tag.size() + reason_code.size() + message.size();
  encode_direct(EventType::OrderUpdate, FieldCount::kOrderUpdate, sequence, ts_event_ns, runner, most, out,
                [&](auto& pk, auto&& dbl) { put_order_update(pk, dbl, order, reason_code, message); });
}

void encode_fill(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner, const model::Fill& fill,
                 RecordOut& out) {
  // At most: order 9, three u32 15, three u8 6, four doubles 36, two i64 18.
  encode_direct(EventType::Fill, FieldCount::kFill, sequence, ts_event_ns, runner, 84, out,
                [&](auto& pk, auto&& dbl) { put_fill(pk, dbl, fill); });
}

void encode_risk_decision(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                          std::uint64_t order, model::StrategyId strategy, bool approved,
                          std::string_view reason_code, std::string_view message, RecordOut& out) {
  // At most: order 9, strategy 5, bool 1, two string headers 10.
  const std::size_t most = 25 + reason_code.size() + message.size();
  encode_direct(EventType::RiskDecision, FieldCount::kRiskDecision, sequence, ts_event_ns, runner, most, out,
                [&](auto& pk, auto&&) { put_risk_decision(pk, order, strategy, approved, reason_code, message); });
}

void encode_transition(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner, std::uint8_t from,
                       std::uint8_t to, std::string_view trigger, std::string_view reason, std::int64_t bar_ts_ns,
                       RecordOut& out) {
  // At most: two u8 4, two string headers 10, bar time 9.
  const std::size_t most = 23 + trigger.size() + reason.size();
  encode_direct(EventType::Transition, FieldCount::kTransition, sequence, ts_event_ns, runner, most, out,
                [&](auto& pk, auto&&) {
                  pk.pack_uint8(from);
                  pk.pack_uint8(to);
                  put_str_to(pk, trigger);
                  put_str_to(pk, reason);
                  pk.pack_int64(bar_ts_ns);
                });
}

void encode_strategy_action(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                            model::StrategyId strategy, std::string_view kind, const ActionParam* params,
                            std::size_t n_params, std::string_view reason, RecordOut& out) {
  // At most: strategy 5, map header 5, two string headers 10; per entry a
  // key header 5 and a double 9 or a string header 5.
  std::size_t most = 20 + kind.size() + reason.size();
  for (std::size_t i = 0; i < n_params; ++i) {
    most += 14 + params[i].key.size() + (params[i].text != nullptr ? std::strlen(params[i].text) : 0);
  }
  encode_direct(EventType::StrategyAction, FieldCount::kStrategyAction, sequence, ts_event_ns, runner, most, out,
                [&](auto& pk, auto&& dbl) {
                  pk.pack_uint32(strategy);
                  put_str_to(pk, kind);
                  if (n_params == 0) {
                    pk.pack_nil();  // put_value of an empty params value (nil)
                  } else {
                    pk.pack_map(static_cast<std::uint32_t>(n_params));
                    for (std::size_t i = 0; i < n_params; ++i) {
                      put_str_to(pk, params[i].key);
                      if (params[i].text != nullptr) {
                        put_str_to(pk, std::string_view(params[i].text));
                      } else {
                        dbl(params[i].number);
                      }
                    }
                  }
                  put_str_to(pk, reason);
                });
}


// The string forms: the same records appended to `out`.
void encode_order_update(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                         const model::Order& order, std::string_view reason_code, std::string_view message,
                         std::string& out) {
  StringOut o(out);
  encode_order_update(sequence, ts_event_ns, runner, order, reason_code, message, o);
}

void encode_fill(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner, const model::Fill& fill,
                 std::string& out) {
  StringOut o(out);
  encode_fill(sequence, ts_event_ns, runner, fill, o);
}

void encode_risk_decision(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                          std::uint64_t order, model::StrategyId strategy, bool approved,
                          std::string_view reason_code, std::string_view message, std::string& out) {
  StringOut o(out);
  encode_risk_decision(sequence, ts_event_ns, runner, order, strategy, approved, reason_code, message, o);
}

void encode_transition(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner, std::uint8_t from,
                       std::uint8_t to, std::string_view trigger, std::string_view reason, std::int64_t bar_ts_ns,
                       std::string& out) {
  StringOut o(out);
  encode_transition(sequence, ts_event_ns, runner, from, to, trigger, reason, bar_ts_ns, o);
}

void encode_strategy_action(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                            model::StrategyId strategy, std::string_view kind, const ActionParam* params,
                            std::size_t n_params, std::string_view reason, std::string& out) {
  StringOut o(out);
  encode_strategy_action(sequence, ts_event_ns, runner, strategy, kind, params, n_params, reason, o);
}

// The writer encodes one of these per bar, so it is the journal's hot path:
// the same fields as put_market_data() behind the envelope, written straight
// into `out` (deferred_batch_test checks the bytes against encode_event).
void encode_market_data(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                        model::InstrumentId instrument, std::string_view symbol, std::string_view timeframe,
                        const model::Bar& bar, std::string& out) {
  // At most: array 3, type 3, sequence 9, ts 9, runner 5, instrument 5, two
  // string headers 10, bar time 9, five doubles 45, four optional doubles 36.
  constexpr std::size_t kMaxFixed = 134;
  const std::size_t at = out.size();
  out.resize(at + kMaxFixed + symbol.size() + timeframe.size());
  RawSink sink{out.data() + at};
  msgpack::packer<RawSink> pk(sink);
  pk.pack_array(kEnvelopeFields + 13);  // FieldCount of MarketData
  pk.pack_uint16(static_cast<std::uint16_t>(EventType::MarketData));
  pk.pack_uint64(sequence);
  pk.pack_int64(ts_event_ns);
  pk.pack_uint32(runner);
  pk.pack_uint32(instrument);
  pk.pack_str(static_cast<std::uint32_t>(symbol.size()));
  pk.pack_str_body(symbol.data(), static_cast<std::uint32_t>(symbol.size()));
  pk.pack_str(static_cast<std::uint32_t>(timeframe.size()));
  pk.pack_str_body(timeframe.data(), static_cast<std::uint32_t>(timeframe.size()));
  pk.pack_int64(bar.ts_ns);
  raw_dbl(sink, bar.open);
  raw_dbl(sink, bar.high);
  raw_dbl(sink, bar.low);
  raw_dbl(sink, bar.close);
  raw_dbl(sink, bar.volume);
  for (double d : {bar.bid, bar.ask, bar.bid_size, bar.ask_size}) {
    if (std::bit_cast<std::uint64_t>(d) == kNoValueBits) {
      pk.pack_nil();
    } else {
      raw_dbl(sink, d);
    }
  }
  out.resize(static_cast<std::size_t>(sink.p - out.data()));
}

std::size_t encode_market_data_compact(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                                       const model::Bar& bar, char* out) noexcept {
  // At most: array 1, type 1, sequence 9, ts 9, runner 5, five doubles 45.
  static_assert(kMaxCompactMarketData == 70);
  RawSink sink{out};
  msgpack::packer<RawSink> pk(sink);
  pk.pack_array(kEnvelopeFields + kCompactMarketDataFields);
  pk.pack_uint16(static_cast<std::uint16_t>(EventType::MarketData));
  pk.pack_uint64(sequence);
  pk.pack_int64(ts_event_ns);
  pk.pack_uint32(runner);
  raw_dbl(sink, bar.open);
  raw_dbl(sink, bar.high);
  raw_dbl(sink, bar.low);
  raw_dbl(sink, bar.close);
  raw_dbl(sink, bar.volume);
  return static_cast<std::size_t>(sink.p - out);
}

void encode_market_data_compact(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                                const model::Bar& bar, std::string& out) {
  char buf[kMaxCompactMarketData];
  out.append(buf, encode_market_data_compact(sequence, ts_event_ns, runner, bar, buf));
}

bool bar_can_be_compact(std::int64_t ts_event_ns, const model::Bar& bar) noexcept {
  return bar.ts_ns == ts_event_ns && std::bit_cast<std::uint64_t>(bar.bid) == kNoValueBits &&
         std::bit_cast<std::uint64_t>(bar.ask) == kNoValueBits &&
         std::bit_cast<std::uint64_t>(bar.bid_size) == kNoValueBits &&
         std::bit_cast<std::uint64_t>(bar.ask_size) == kNoValueBits;
}

bool can_be_compact(const MarketStreams& streams, std::int64_t ts_event_ns, model::RunnerId runner,
                    model::InstrumentId instrument, std::string_view symbol, std::string_view timeframe,
                    const model::Bar& bar) noexcept {
  if (!bar_can_be_compact(ts_event_ns, bar)) return false;
  const MarketStreams::Stream* s = streams.find(runner);
  return s != nullptr && s->instrument == instrument && s->symbol == symbol && s->timeframe == timeframe;
}

void MarketStreams::set(model::RunnerId runner, model::InstrumentId instrument, std::string_view symbol,
                        std::string_view timeframe) {
  Stream* s = nullptr;
  for (std::size_t i = 0; i < live_; ++i)
    if (streams_[i].runner == runner) s = &streams_[i];
  if (s == nullptr) {
    if (live_ == streams_.size()) streams_.emplace_back();
    s = &streams_[live_++];
    s->runner = runner;
  }
  ++version_;
  s->instrument = instrument;
  if (s->symbol != symbol) s->symbol.assign(symbol);
  if (s->timeframe != timeframe) s->timeframe.assign(timeframe);
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

namespace {

// market_data is almost every record of a journal, so the reader's hot path:
// the canonical layout the writer produces (encode_market_data) read straight
// from the bytes. Anything else (another integer width, a string over 31
// bytes, trailing fields of a newer minor version, a damaged record) returns
// false and the record goes through the general decoder, which gives the same
// result for canonical bytes (event_codec_test compares both on every record
// of a session).
struct FastReader {
  const unsigned char* p;
  const unsigned char* end;
  static std::uint64_t be64(const unsigned char* q) {
    std::uint64_t v;
    std::memcpy(&v, q, 8);
    return __builtin_bswap64(v);
  }
  bool u64(std::uint64_t& v) {
    if (p >= end) return false;
    const unsigned b = *p;
    if (b <= 0x7f) {
      v = b;
      p += 1;
      return true;
    }
    const std::ptrdiff_t left = end - p;
    if (b == 0xcf && left >= 9) {
      v = be64(p + 1);
      p += 9;
    } else if (b == 0xce && left >= 5) {
      std::uint32_t w;
      std::memcpy(&w, p + 1, 4);
      v = __builtin_bswap32(w);
      p += 5;
    } else if (b == 0xcd && left >= 3) {
      v = (std::uint64_t{p[1]} << 8) | p[2];
      p += 3;
    } else if (b == 0xcc && left >= 2) {
      v = p[1];
      p += 2;
    } else {
      return false;
    }
    return true;
  }
  bool str(std::string& s) {
    if (p >= end || (*p & 0xe0) != 0xa0) return false;
    const std::size_t n = *p & 0x1f;
    if (static_cast<std::size_t>(end - p) < n + 1) return false;
    s.assign(reinterpret_cast<const char*>(p + 1), n);
    p += n + 1;
    return true;
  }
  bool dbl(double& d) {
    if (end - p < 9 || *p != 0xcb) return false;
    d = std::bit_cast<double>(be64(p + 1));
    p += 9;
    return true;
  }
  bool optional(double& d) {
    if (p < end && *p == 0xc0) {
      d = model::kNoValue;
      p += 1;
      return true;
    }
    return dbl(d);
  }
};

bool decode_market_data_fast(std::string_view body, Event& out, BodySpares* spares) {
  FastReader r{reinterpret_cast<const unsigned char*>(body.data()),
               reinterpret_cast<const unsigned char*>(body.data() + body.size())};
  MarketData* e = &body_of<MarketData>(out, spares);
  std::uint64_t instrument = 0, ts = 0;
  if (!(r.u64(instrument) && instrument <= kU32 && r.str(e->symbol) && r.str(e->timeframe))) return false;
  // The bar time: a positive int is written in its unsigned forms, a negative one as int64 (d3).
  if (r.p < r.end && *r.p == 0xd3) {
    if (r.end - r.p < 9) return false;
    ts = FastReader::be64(r.p + 1);
    r.p += 9;
    if (static_cast<std::int64_t>(ts) >= 0) return false;  // not the shortest form: the general decoder
  } else if (!r.u64(ts) || ts > static_cast<std::uint64_t>(INT64_MAX)) {
    return false;
  }
  model::Bar& b = e->bar;
  if (!(r.dbl(b.open) && r.dbl(b.high) && r.dbl(b.low) && r.dbl(b.close) && r.dbl(b.volume) &&
        r.optional(b.bid) && r.optional(b.ask) && r.optional(b.bid_size) && r.optional(b.ask_size))) {
    return false;
  }
  if (r.p != r.end) return false;
  e->instrument = static_cast<model::InstrumentId>(instrument);
  b.ts_ns = static_cast<std::int64_t>(ts);
  return true;
}

}  // namespace

namespace {

void decode_event_in(std::string_view record, Event& out, MarketStreams* streams, BodySpares* spares);

constexpr const char* kNoStream =
    "compact market_data without a full market_data record of its runner earlier in its block";

void note_stream(MarketStreams* streams, const Event& e) {
  if (streams == nullptr) return;
  const auto& md = std::get<MarketData>(e.body);
  streams->set(e.runner, md.instrument, md.symbol, md.timeframe);
}

// A compact market_data record's bar (out's envelope is read): its five
// numbers, the rest from its runner's stream.
void complete_compact(const MarketStreams::Stream& s, const double (&v)[kCompactMarketDataFields], Event& out,
                      BodySpares* spares) {
  MarketData* e = &body_of<MarketData>(out, spares);
  model::Bar& b = e->bar;
  b.ts_ns = out.ts_event_ns;
  b.open = v[0];
  b.high = v[1];
  b.low = v[2];
  b.close = v[3];
  b.volume = v[4];
  b.bid = b.ask = b.bid_size = b.ask_size = model::kNoValue;
  e->instrument = s.instrument;
  if (e->symbol != s.symbol) e->symbol = s.symbol;
  if (e->timeframe != s.timeframe) e->timeframe = s.timeframe;
}

// [3, sequence, ts, runner, open, high, low, close, volume] (format 2): the
// rest from the runner's stream in this block.
void decode_compact_market_data(std::string_view record, MsgpackCursor& c, MarketStreams* streams, Event& out,
                                BodySpares* spares) {
  const MarketStreams::Stream* s = streams != nullptr ? streams->find(out.runner) : nullptr;
  if (s == nullptr) {
    make_unknown(record, static_cast<std::uint16_t>(EventType::MarketData), kNoStream, out, spares);
    return;
  }
  FastReader r{reinterpret_cast<const unsigned char*>(record.data() + (record.size() - c.remaining())),
               reinterpret_cast<const unsigned char*>(record.data() + record.size())};
  double v[kCompactMarketDataFields];
  if (!(r.dbl(v[0]) && r.dbl(v[1]) && r.dbl(v[2]) && r.dbl(v[3]) && r.dbl(v[4])) || r.p != r.end) {
    make_unknown(record, static_cast<std::uint16_t>(EventType::MarketData),
                 "compact market_data is not five float64 after the envelope", out, spares);
    return;
  }
  complete_compact(*s, v, out, spares);
}

}  // namespace

void decode_event(std::string_view record, Event& out) { decode_event_in(record, out, nullptr, nullptr); }

void decode_event(std::string_view record, Event& out, MarketStreams& streams) {
  decode_event_in(record, out, &streams, nullptr);
}

void decode_event(std::string_view record, Event& out, MarketStreams& streams, BodySpares& spares) {
  decode_event_in(record, out, &streams, &spares);
}


namespace {

// The compact market_data record in the writer's layout, read straight from
// the bytes like decode_market_data_fast. False: not that layout (the general
// decoder then reads it or says what is wrong).
bool decode_compact_market_data_fast(std::string_view record, MarketStreams* streams, Event& out,
                                     BodySpares* spares) {
  FastReader r{reinterpret_cast<const unsigned char*>(record.data()) + 2,
               reinterpret_cast<const unsigned char*>(record.data() + record.size())};
  std::uint64_t seq = 0, ts = 0, runner = 0;
  if (!r.u64(seq)) return false;
  if (r.p < r.end && *r.p == 0xd3) {
    if (r.end - r.p < 9) return false;
    ts = FastReader::be64(r.p + 1);
    r.p += 9;
    if (static_cast<std::int64_t>(ts) >= 0) return false;
  } else if (!r.u64(ts) || ts > static_cast<std::uint64_t>(INT64_MAX)) {
    return false;
  }
  if (!r.u64(runner) || runner > kU32) return false;
  double v[kCompactMarketDataFields];
  if (!(r.dbl(v[0]) && r.dbl(v[1]) && r.dbl(v[2]) && r.dbl(v[3]) && r.dbl(v[4])) || r.p != r.end) return false;
  out.sequence = seq;
  out.ts_event_ns = static_cast<std::int64_t>(ts);
  out.runner = static_cast<model::RunnerId>(runner);
  const MarketStreams::Stream* s = streams != nullptr ? streams->find(out.runner) : nullptr;
  if (s == nullptr) {
    make_unknown(record, static_cast<std::uint16_t>(EventType::MarketData), kNoStream, out, spares);
    return true;
  }
  complete_compact(*s, v, out, spares);
  return true;
}

void decode_event_in(std::string_view record, Event& out, MarketStreams* streams, BodySpares* spares) {
  if (is_compact_market_data(record) && decode_compact_market_data_fast(record, streams, out, spares)) return;
  MsgpackCursor c(record);
  std::uint32_t n = 0;
  std::uint16_t type = 0;
  if (!(c.read_array(n) && n >= kEnvelopeFields && c.read_small_uint(type, 0xffff) && c.read_uint(out.sequence) &&
        c.read_int(out.ts_event_ns) && c.read_small_uint(out.runner, kU32))) {
    out.sequence = 0;
    make_unknown(record, type, c.ok() ? "record envelope is not [type, sequence, ts, runner, ...]" : c.error(), out,
                 spares);
    return;
  }
  const char* why = nullptr;
  bool ok = false;
  switch (type) {
    case 1: ok = decode_into<SessionStart>(c, n, out, spares, why); break;
    case 2: ok = decode_into<SessionEnd>(c, n, out, spares, why); break;
    case 3:
      if (n == kEnvelopeFields + kCompactMarketDataFields) {
        decode_compact_market_data(record, c, streams, out, spares);
        return;
      }
      if (n == kEnvelopeFields + 13 &&
          decode_market_data_fast(record.substr(record.size() - c.remaining()), out, spares)) {
        note_stream(streams, out);
        return;
      }
      ok = decode_into<MarketData>(c, n, out, spares, why);
      if (ok && c.at_end()) note_stream(streams, out);
      break;
    case 4: ok = decode_state_into(c, n, out, spares, why); break;
    case 5: ok = decode_into<Transition>(c, n, out, spares, why); break;
    case 6: ok = decode_into<StrategyAction>(c, n, out, spares, why); break;
    case 7: ok = decode_into<OrderUpdate>(c, n, out, spares, why); break;
    case 8: ok = decode_into<FillEvent>(c, n, out, spares, why); break;
    case 9: ok = decode_into<RiskDecision>(c, n, out, spares, why); break;
    case 10: ok = decode_into<StormGuardChange>(c, n, out, spares, why); break;
    case 11: ok = decode_into<StrategyError>(c, n, out, spares, why); break;
    case 12: ok = decode_into<Reload>(c, n, out, spares, why); break;
    case 13: ok = decode_into<IndicatorValues>(c, n, out, spares, why); break;
    case 14: ok = decode_into<Note>(c, n, out, spares, why); break;
    case kBarRunType:
      // Block loading expands every bar_run record it can decode into the
      // market_data records it stands for (bar_run.hpp): one that reaches
      // here did not decode.
      make_unknown(record, type, "bar_run record does not decode", out, spares);
      return;
    default: make_unknown(record, type, nullptr, out, spares); return;
  }
  if (ok && !c.at_end()) {
    ok = false;
    why = "bytes after the end of the record";
  }
  if (!ok) make_unknown(record, type, why, out, spares);
}

}  // namespace

Event decode_event(std::string_view record) {
  Event e;
  decode_event(record, e);
  return e;
}

void encode_diff(const Value& from, const Value& to, std::string& out) {
  Enc en(out);
  put_diff(en, from, to);
}


bool encode_state_delta_if_patch(const Event& e, const Value& base_context, const Value& base_indicators,
                                 std::uint64_t base_sequence, std::uint64_t snapshot_sequence, std::string& out) {
  const auto* s = std::get_if<RunnerState>(&e.body);
  TE_ASSERT(s != nullptr && s->encoding == StateEncoding::Full, "encode_state_delta_if_patch needs a full RunnerState");
  const Value& a = base_context;
  const Value& b = s->context;
  // What diff(a, b) would be, keeping the map comparison for the patch.
  std::optional<MapCompare> cmp;
  DiffKind kind;
  if (a.is_map() && b.is_map()) {
    cmp.emplace(a.as_map(), b.as_map());
    kind = cmp->kind(a.as_map());
  } else if (a.is_array() && b.is_array()) {
    kind = array_kind(a.as_array(), b.as_array());
  } else {
    kind = a == b ? DiffKind::None : DiffKind::Replace;
  }
  if (kind == DiffKind::Replace) return false;
  Enc en(out);
  en.pk.pack_array(kEnvelopeFields + 7);
  en.pk.pack_uint16(static_cast<std::uint16_t>(EventType::RunnerState));
  en.pk.pack_uint64(e.sequence);
  en.pk.pack_int64(e.ts_event_ns);
  en.pk.pack_uint32(e.runner);
  en.pk.pack_uint8(static_cast<std::uint8_t>(s->phase));
  en.pk.pack_uint8(s->state);
  en.pk.pack_uint8(static_cast<std::uint8_t>(StateEncoding::Delta));
  if (kind == DiffKind::None) {
    en.pk.pack_nil();
  } else if (cmp) {
    put_map_patch(en, a.as_map(), b.as_map(), *cmp);
  } else {
    put_array_patch(en, a.as_array(), b.as_array());
  }
  put_diff(en, base_indicators, s->indicators);
  en.pk.pack_uint64(base_sequence);
  en.pk.pack_uint64(snapshot_sequence);
  return true;
}

// ---- runner_state from its parts (state_parts.hpp) ---------------------------
//
// The same packer calls, in the same order, as BodyEncoder and put_value over
// state_parts_context(p) (keys sorted byte-wise: account, bar_index,
// bars_in_state, ctx, orders, position), and as encode_state_delta_if_patch's
// MapCompare over two such trees; state_parts_test checks the bytes against
// the tree encoders on random sequences of states.

namespace {

const Value kNil;
const Value kEmptyArray{Value::Array{}};

const Value& ctx_of(const StateParts& p) { return p.ctx ? *p.ctx : kNil; }
const Value& orders_of(const StateParts& p) { return p.orders ? *p.orders : kEmptyArray; }

// A position field that is nil outside a trade.
struct OptInt {
  bool set;
  std::int64_t v;
  bool operator==(const OptInt& o) const noexcept { return set == o.set && (!set || v == o.v); }
};
struct OptDbl {
  bool set;
  double v;
  bool operator==(const OptDbl& o) const noexcept {
    return set == o.set && (!set || std::bit_cast<std::uint64_t>(v) == std::bit_cast<std::uint64_t>(o.v));
  }
};

bool same_bits(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

void put_int(Enc& en, std::int64_t v) { en.pk.pack_int64(v); }
void put_opt(Enc& en, OptInt o) {
  if (o.set) {
    en.pk.pack_int64(o.v);
  } else {
    en.pk.pack_nil();
  }
}
void put_opt(Enc& en, OptDbl o) {
  if (o.set) {
    en.dbl(o.v);
  } else {
    en.pk.pack_nil();
  }
}
void put_num(Enc& en, double d) { en.dbl(d); }

// The six leaves of account and of position, in key order.
constexpr std::string_view kAccountKeys[6] = {"cash", "commission_paid", "equity", "position_value", "realized_pnl",
                                              "trades"};
constexpr std::string_view kPositionKeys[6] = {"avg_price", "bars_held", "entry_ts_ns", "qty", "trade_pnl",
                                               "unrealized_pnl"};

constexpr bool fixstr_keys(const std::string_view (&keys)[6]) {
  for (std::string_view k : keys)
    if (k.size() >= 32) return false;
  return true;
}
static_assert(fixstr_keys(kAccountKeys) && fixstr_keys(kPositionKeys), "put_key writes fixstr keys only");

// Calls f(i, put) for leaf i of account: `put` writes the leaf's value.
template <class F>
void account_leaves(const StateParts& p, F&& f) {
  f(0, [&](Enc& en) { put_num(en, p.cash); });
  f(1, [&](Enc& en) { put_num(en, p.commission_paid); });
  f(2, [&](Enc& en) { put_num(en, p.equity); });
  f(3, [&](Enc& en) { put_num(en, p.position_value); });
  f(4, [&](Enc& en) { put_num(en, p.realized_pnl); });
  f(5, [&](Enc& en) { put_int(en, p.trades); });
}
template <class F>
void position_leaves(const StateParts& p, F&& f) {
  f(0, [&](Enc& en) { put_num(en, p.avg_price); });
  f(1, [&](Enc& en) { put_opt(en, OptInt{p.in_trade, p.bars_held}); });
  f(2, [&](Enc& en) { put_opt(en, OptInt{p.in_trade, p.entry_ts_ns}); });
  f(3, [&](Enc& en) { put_num(en, p.qty); });
  f(4, [&](Enc& en) { put_opt(en, OptDbl{p.in_trade, p.trade_pnl}); });
  f(5, [&](Enc& en) { put_num(en, p.unrealized_pnl); });
}

// Which leaves differ between two states (Value equality: doubles bit for bit,
// nil against a number differs).
unsigned account_changes(const StateParts& a, const StateParts& b) {
  unsigned m = 0;
  m |= same_bits(a.cash, b.cash) ? 0 : 1u << 0;
  m |= same_bits(a.commission_paid, b.commission_paid) ? 0 : 1u << 1;
  m |= same_bits(a.equity, b.equity) ? 0 : 1u << 2;
  m |= same_bits(a.position_value, b.position_value) ? 0 : 1u << 3;
  m |= same_bits(a.realized_pnl, b.realized_pnl) ? 0 : 1u << 4;
  m |= a.trades == b.trades ? 0 : 1u << 5;
  return m;
}
unsigned position_changes(const StateParts& a, const StateParts& b) {
  unsigned m = 0;
  m |= same_bits(a.avg_price, b.avg_price) ? 0 : 1u << 0;
  m |= OptInt{a.in_trade, a.bars_held} == OptInt{b.in_trade, b.bars_held} ? 0 : 1u << 1;
  m |= OptInt{a.in_trade, a.entry_ts_ns} == OptInt{b.in_trade, b.entry_ts_ns} ? 0 : 1u << 2;
  m |= same_bits(a.qty, b.qty) ? 0 : 1u << 3;
  m |= OptDbl{a.in_trade, a.trade_pnl} == OptDbl{b.in_trade, b.trade_pnl} ? 0 : 1u << 4;
  m |= same_bits(a.unrealized_pnl, b.unrealized_pnl) ? 0 : 1u << 5;
  return m;
}

template <class Leaves>
void put_leaf_map(Enc& en, const std::string_view (&keys)[6], Leaves&& leaves) {
  en.pk.pack_map(6);
  leaves([&](int i, auto&& put) {
    put_key(en, keys[i]);
    put(en);
  });
}

// put_diff of a six-leaf map whose changed leaves are `changed` (not 0):
// replaced whole when every leaf changed, else patched leaf by leaf.
template <class Leaves>
void put_leaf_map_diff(Enc& en, const std::string_view (&keys)[6], unsigned changed, Leaves&& leaves) {
  if (changed == 0x3f) {
    en.pk.pack_array(2);
    en.pk.pack_int64(0);
    put_leaf_map(en, keys, leaves);
    return;
  }
  en.pk.pack_array(3);
  en.pk.pack_int64(1);
  en.pk.pack_map(static_cast<std::uint32_t>(std::popcount(changed)));
  leaves([&](int i, auto&& put) {
    if ((changed >> i & 1) == 0) return;
    put_key(en, keys[i]);
    en.pk.pack_array(2);  // a leaf's diff: [0, new value]
    en.pk.pack_int64(0);
    put(en);
  });
  en.pk.pack_array(0);  // nothing removed
}

// The encoded ctx of `p` in `cache` (re-encoded only when the pointer changed).
void refresh_ctx_bytes(const StateParts& p, StatePartsBase& cache) {
  if (cache.ctx_valid && cache.ctx_of == p.ctx) return;
  cache.ctx_bytes.clear();
  encode_value(ctx_of(p), cache.ctx_bytes);
  cache.ctx_of = p.ctx;
  cache.ctx_valid = true;
}

void put_state_envelope(Enc& en, std::uint32_t fields, std::uint64_t sequence, std::int64_t ts_event_ns,
                        model::RunnerId runner, const StateParts& p, std::uint8_t encoding) {
  en.pk.pack_array(kEnvelopeFields + fields);
  en.pk.pack_uint16(static_cast<std::uint16_t>(EventType::RunnerState));
  en.pk.pack_uint64(sequence);
  en.pk.pack_int64(ts_event_ns);
  en.pk.pack_uint32(runner);
  en.pk.pack_uint8(static_cast<std::uint8_t>(p.phase));
  en.pk.pack_uint8(p.state);
  en.pk.pack_uint8(encoding);
}

}  // namespace

void encode_state_parts(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                        const StateParts& p, const Value& indicators, StatePartsBase& cache, std::string& out) {
  refresh_ctx_bytes(p, cache);
  const std::shared_ptr<const Value>& orders = orders_value(p);
  if (!cache.orders_valid || cache.orders_of != orders) {
    cache.orders_bytes.clear();
    encode_value(orders ? *orders : kEmptyArray, cache.orders_bytes);
    cache.orders_of = orders;
    cache.orders_valid = true;
  }
  Enc en(out);
  put_state_envelope(en, 5, sequence, ts_event_ns, runner, p, static_cast<std::uint8_t>(StateEncoding::Full));
  en.pk.pack_map(6);
  put_key(en, "account");
  put_leaf_map(en, kAccountKeys, [&](auto&& f) { account_leaves(p, f); });
  put_key(en, "bar_index");
  put_int(en, p.bar_index);
  put_key(en, "bars_in_state");
  put_int(en, p.bars_in_state);
  put_key(en, "ctx");
  en.sink.write(cache.ctx_bytes.data(), cache.ctx_bytes.size());
  put_key(en, "orders");
  en.sink.write(cache.orders_bytes.data(), cache.orders_bytes.size());
  put_key(en, "position");
  put_leaf_map(en, kPositionKeys, [&](auto&& f) { position_leaves(p, f); });
  put_value(en, indicators);
}

bool encode_state_parts_delta_if_patch(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                                       const StateParts& p, const Value& indicators, const StatePartsBase& base,
                                       std::uint64_t base_sequence, std::uint64_t snapshot_sequence,
                                       std::string& out) {
  TE_ASSERT(!base.orders_kept, "a map-form delta against a positional writer's base");
  const StateParts& b = base.parts;
  const unsigned account = account_changes(b, p);
  const unsigned position = position_changes(b, p);
  const bool bar_index = b.bar_index != p.bar_index;
  const bool bars_in_state = b.bars_in_state != p.bars_in_state;
  const bool ctx = b.ctx != p.ctx && !(ctx_of(b) == ctx_of(p));
  // (the base holds its orders as a value: JournalWriter's own_orders())
  const std::shared_ptr<const Value>& p_orders = orders_value(p);
  const Value& new_orders = p_orders ? *p_orders : kEmptyArray;
  const bool orders = b.orders != p_orders && !(orders_of(b) == new_orders);
  const std::uint32_t changes = (account != 0) + bar_index + bars_in_state + ctx + orders + (position != 0);
  if (changes == 6) return false;  // every key changed: the delta would replace the context
  Enc en(out);
  put_state_envelope(en, 7, sequence, ts_event_ns, runner, p, static_cast<std::uint8_t>(StateEncoding::Delta));
  if (changes == 0) {
    en.pk.pack_nil();
  } else {
    en.pk.pack_array(3);
    en.pk.pack_int64(1);
    en.pk.pack_map(changes);
    if (account != 0) {
      put_key(en, "account");
      put_leaf_map_diff(en, kAccountKeys, account, [&](auto&& f) { account_leaves(p, f); });
    }
    if (bar_index) {
      put_key(en, "bar_index");
      en.pk.pack_array(2);
      en.pk.pack_int64(0);
      put_int(en, p.bar_index);
    }
    if (bars_in_state) {
      put_key(en, "bars_in_state");
      en.pk.pack_array(2);
      en.pk.pack_int64(0);
      put_int(en, p.bars_in_state);
    }
    if (ctx) {
      put_key(en, "ctx");
      put_diff(en, ctx_of(b), ctx_of(p));
    }
    if (orders) {
      put_key(en, "orders");
      put_diff(en, orders_of(b), new_orders);
    }
    if (position != 0) {
      put_key(en, "position");
      put_leaf_map_diff(en, kPositionKeys, position, [&](auto&& f) { position_leaves(p, f); });
    }
    en.pk.pack_array(0);  // no key removed
  }
  put_diff(en, base.indicators, indicators);
  en.pk.pack_uint64(base_sequence);
  en.pk.pack_uint64(snapshot_sequence);
  return true;
}

// ---- positional runner_state (format 4, positional_state.hpp) ---------------

namespace {

// A d* field: a whole number of magnitude below 2^53 (not -0.0) as its
// shortest integer, anything else as float64. The reader's conversion back is
// exact (such an integer is exactly one double), and most of a state's
// numbers outside a trade are +0.0 (1 byte instead of 9).
//
// The set bits of a leaf mask without libgcc's __popcountdi2 call (the
// baseline x86-64 build has no POPCNT): the same count, std::popcount's.
constexpr std::uint32_t bit_count(std::uint32_t x) noexcept {
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  x = (x + (x >> 4)) & 0x0f0f0f0fu;
  return (x * 0x01010101u) >> 24;
}
static_assert(bit_count(0) == 0 && bit_count(0xffffffffu) == 32 && bit_count(0x8001u) == 2 && bit_count(0xfffu) == 12);

// The positional records write their scalars inline through the sink's
// pointer, in msgpack-cxx's shortest forms (the packer's out-of-line
// pack_imp_int64 and a Sink::write call per field were most of the encoding).
[[gnu::always_inline]] inline char* room(Enc& en, std::size_t n) {
  Sink& s = en.sink;
  if (static_cast<std::size_t>(s.end - s.p) < n) s.grow(n);
  return s.p;
}
template <class T>
[[gnu::always_inline]] inline void store_be(char* q, T v) {
  if constexpr (sizeof(T) == 2) v = static_cast<T>(__builtin_bswap16(v));
  if constexpr (sizeof(T) == 4) v = __builtin_bswap32(v);
  if constexpr (sizeof(T) == 8) v = __builtin_bswap64(v);
  std::memcpy(q, &v, sizeof v);
}
// kChecked false: the caller made room for the field (encode_state_positional
// reserves a whole record's bound once).
template <bool kChecked = true>
[[gnu::always_inline]] inline void raw_uint(Enc& en, std::uint64_t v) {
  char* q = kChecked ? room(en, 9) : en.sink.p;
  std::size_t n;
  if (v < 128) {
    q[0] = static_cast<char>(v);
    n = 1;
  } else if (v < 256) {
    q[0] = static_cast<char>(0xcc);
    q[1] = static_cast<char>(v);
    n = 2;
  } else if (v < 65536) {
    q[0] = static_cast<char>(0xcd);
    store_be(q + 1, static_cast<std::uint16_t>(v));
    n = 3;
  } else if (v <= 0xffffffffu) {
    q[0] = static_cast<char>(0xce);
    store_be(q + 1, static_cast<std::uint32_t>(v));
    n = 5;
  } else {
    q[0] = static_cast<char>(0xcf);
    store_be(q + 1, v);
    n = 9;
  }
  en.sink.p += n;
}
template <bool kChecked = true>
[[gnu::always_inline]] inline void raw_int(Enc& en, std::int64_t v) {
  if (v >= 0) return raw_uint<kChecked>(en, static_cast<std::uint64_t>(v));
  char* q = kChecked ? room(en, 9) : en.sink.p;
  std::size_t n;
  if (v >= -32) {
    q[0] = static_cast<char>(v);
    n = 1;
  } else if (v >= -128) {
    q[0] = static_cast<char>(0xd0);
    q[1] = static_cast<char>(v);
    n = 2;
  } else if (v >= -32768) {
    q[0] = static_cast<char>(0xd1);
    store_be(q + 1, static_cast<std::uint16_t>(v));
    n = 3;
  } else if (v >= INT32_MIN) {
    q[0] = static_cast<char>(0xd2);
    store_be(q + 1, static_cast<std::uint32_t>(v));
    n = 5;
  } else {
    q[0] = static_cast<char>(0xd3);
    store_be(q + 1, static_cast<std::uint64_t>(v));
    n = 9;
  }
  en.sink.p += n;
}
template <bool kChecked = true>
[[gnu::always_inline]] inline void raw_nil(Enc& en) {
  *(kChecked ? room(en, 1) : en.sink.p) = static_cast<char>(0xc0);
  en.sink.p += 1;
}
// An array's or map's header as msgpack-cxx's pack_array / pack_map write
// it (`fix` | n below 16, then the 16-bit code `code16`, then code16 + 1
// with 32 bits).
[[gnu::always_inline]] inline void raw_container(Enc& en, std::uint32_t n, unsigned fix, unsigned code16) {
  char* q = room(en, 5);
  if (n < 16) {
    q[0] = static_cast<char>(fix | n);
    en.sink.p += 1;
  } else if (n < 65536) {
    q[0] = static_cast<char>(code16);
    store_be(q + 1, static_cast<std::uint16_t>(n));
    en.sink.p += 3;
  } else {
    q[0] = static_cast<char>(code16 + 1);
    store_be(q + 1, n);
    en.sink.p += 5;
  }
}
[[gnu::always_inline]] inline void raw_array(Enc& en, std::uint32_t n) { raw_container(en, n, 0x90, 0xdc); }
[[gnu::always_inline]] inline void raw_map(Enc& en, std::uint32_t n) { raw_container(en, n, 0x80, 0xde); }
template <bool kChecked = true>
[[gnu::always_inline]] inline void raw_dbl(Enc& en, double d) {
  char* q = kChecked ? room(en, 9) : en.sink.p;
  q[0] = static_cast<char>(0xcb);
  store_be(q + 1, std::bit_cast<std::uint64_t>(d));
  en.sink.p += 9;
}
template <bool kChecked = true>
[[gnu::always_inline]] inline void put_dstar(Enc& en, double d) {
  constexpr double kLimit = 9007199254740992.0;  // 2^53
  if (d > -kLimit && d < kLimit) {
    const auto i = static_cast<std::int64_t>(d);
    if (std::bit_cast<std::uint64_t>(static_cast<double>(i)) == std::bit_cast<std::uint64_t>(d)) {
      raw_int<kChecked>(en, i);
      return;
    }
  }
  raw_dbl<kChecked>(en, d);
}
template <bool kChecked = true>
[[gnu::always_inline]] inline void put_opt_int(Enc& en, bool set, std::int64_t v) {
  if (set) {
    raw_int<kChecked>(en, v);
  } else {
    raw_nil<kChecked>(en);
  }
}

template <bool kChecked = true>
[[gnu::always_inline]] inline void put_opt_dstar(Enc& en, bool set, double d) {
  if (set) {
    put_dstar<kChecked>(en, d);
  } else {
    raw_nil<kChecked>(en);
  }
}

// The envelope and phase, state and encoding of a positional record: array
// header, type, sequence, time, runner, phase, state (a uint8: 2 bytes from
// 128), encoding.
constexpr std::size_t kPositionalEnvelopeBound = 3 + 1 + 9 + 9 + 5 + 1 + 2 + 1;
// Into room the caller made (kPositionalEnvelopeBound bytes).
[[gnu::always_inline]] inline void put_positional_envelope_in_room(Enc& en, std::uint32_t fields,
                                                                   std::uint64_t sequence, std::int64_t ts_event_ns,
                                                                   model::RunnerId runner, const StateParts& p,
                                                                   std::uint8_t encoding) {
  char* q = en.sink.p;
  const std::uint32_t n = kEnvelopeFields + fields;  // at most 4 + 7 + 16
  if (n < 16) {
    q[0] = static_cast<char>(0x90 | n);
    en.sink.p += 1;
  } else {
    q[0] = static_cast<char>(0xdc);
    store_be(q + 1, static_cast<std::uint16_t>(n));
    en.sink.p += 3;
  }
  raw_uint<false>(en, static_cast<std::uint64_t>(EventType::RunnerState));
  raw_uint<false>(en, sequence);
  raw_int<false>(en, ts_event_ns);
  raw_uint<false>(en, runner);
  raw_uint<false>(en, static_cast<std::uint64_t>(p.phase));
  raw_uint<false>(en, p.state);
  raw_uint<false>(en, encoding);
}
[[gnu::noinline]] void put_positional_envelope_grown(Enc& en, std::uint32_t fields, std::uint64_t sequence,
                                                     std::int64_t ts_event_ns, model::RunnerId runner,
                                                     const StateParts& p, std::uint8_t encoding) {
  en.sink.grow(kPositionalEnvelopeBound);
  put_positional_envelope_in_room(en, fields, sequence, ts_event_ns, runner, p, encoding);
}
// The sink's growth out of line (put_positional_envelope_grown; a record's
// first room always holds the envelope): with the grow call in it, this
// function saved and restored six registers per state.
void put_positional_envelope(Enc& en, std::uint32_t fields, std::uint64_t sequence, std::int64_t ts_event_ns,
                             model::RunnerId runner, const StateParts& p, std::uint8_t encoding) {
  if (static_cast<std::size_t>(en.sink.end - en.sink.p) < kPositionalEnvelopeBound) [[unlikely]] {
    return put_positional_envelope_grown(en, fields, sequence, ts_event_ns, runner, p, encoding);
  }
  put_positional_envelope_in_room(en, fields, sequence, ts_event_ns, runner, p, encoding);
}

// Leaf `leaf` of `p` as the positional records write it (ctx and orders are
// written by the callers).
void put_scalar_leaf(Enc& en, const StateParts& p, unsigned leaf) {
  switch (leaf) {
    case kLeafCash: put_dstar(en, p.cash); return;
    case kLeafCommissionPaid: put_dstar(en, p.commission_paid); return;
    case kLeafEquity: put_dstar(en, p.equity); return;
    case kLeafPositionValue: put_dstar(en, p.position_value); return;
    case kLeafRealizedPnl: put_dstar(en, p.realized_pnl); return;
    case kLeafTrades: raw_int(en, p.trades); return;
    case kLeafBarIndex: raw_int(en, p.bar_index); return;
    case kLeafBarsInState: raw_int(en, p.bars_in_state); return;
    case kLeafAvgPrice: put_dstar(en, p.avg_price); return;
    case kLeafBarsHeld: put_opt_int(en, p.in_trade, p.bars_held); return;
    case kLeafEntryTsNs: put_opt_int(en, p.in_trade, p.entry_ts_ns); return;
    case kLeafQty: put_dstar(en, p.qty); return;
    case kLeafTradePnl: put_opt_dstar(en, p.in_trade, p.trade_pnl); return;
    case kLeafUnrealizedPnl: put_dstar(en, p.unrealized_pnl); return;
    default: TE_ASSERT(false, "put_scalar_leaf: leaf %u is not a scalar", leaf);
  }
}

// String comparisons against literals the compiler inlines (a list of working
// orders is encoded whenever it changes: on sma_cross about once per order
// event, and a call of compare() per key and enum name was ~290 instructions
// per order).
template <std::size_t N>
[[gnu::always_inline]] inline bool is(const std::string& s, const char (&lit)[N]) {
  return s.size() == N - 1 && std::memcmp(s.data(), lit, N - 1) == 0;
}

// The last value of each enum a working-order tuple codes (raw_orders_fit
// takes the same bounds).
constexpr auto kLastPurpose = model::OrderPurpose::RiskHalt;
constexpr auto kLastSide = model::Side::Sell;
constexpr auto kLastStatus = model::OrderStatus::Expired;
constexpr auto kLastType = model::OrderType::TrailingStop;

// The code of an enum name: the value whose model::to_string is `s` (the
// reader maps codes back through to_string too), or -1. Only orders that
// come as values get here (a recorder's come raw: raw_orders_fit).
template <class E, E Last>
int enum_code(const std::string& s) {
  for (unsigned k = 0; k <= static_cast<unsigned>(Last); ++k)
    if (model::to_string(static_cast<E>(k)) == s) return static_cast<int>(k);
  return -1;
}
template <class F>
int code_of(const Value& v, F&& f) {
  return v.is_string() ? f(v.as_string()) : -1;
}

}  // namespace

namespace {

// An order of the recorder's shape as its tuple's enum codes; false when it
// is not of that shape.
struct OrderCodes {
  int purpose, side, status, type;
};
bool order_codes(const Value& order, OrderCodes& c) {
  if (!order.is_map() || order.size() != 9) return false;
  const Value::Map& m = order.as_map();
  if (!(is(m[0].first, "filled_qty") && is(m[1].first, "id") && is(m[2].first, "limit_price") &&
        is(m[3].first, "purpose") && is(m[4].first, "qty") && is(m[5].first, "side") && is(m[6].first, "status") &&
        is(m[7].first, "stop_price") && is(m[8].first, "type"))) {
    return false;
  }
  if (!(m[0].second.is_double() && m[1].second.is_int() && m[2].second.is_double() && m[4].second.is_double() &&
        m[7].second.is_double())) {
    return false;
  }
  c.purpose = code_of(m[3].second, enum_code<model::OrderPurpose, kLastPurpose>);
  c.side = code_of(m[5].second, enum_code<model::Side, kLastSide>);
  c.status = code_of(m[6].second, enum_code<model::OrderStatus, kLastStatus>);
  c.type = code_of(m[8].second, enum_code<model::OrderType, kLastType>);
  return c.purpose >= 0 && c.side >= 0 && c.status >= 0 && c.type >= 0;
}

// The tuple of an order order_codes() accepted.
void put_order_tuple(Enc& en, const Value& order, const OrderCodes& c) {
  const Value::Map& m = order.as_map();
  *room(en, 1) = static_cast<char>(0x99);  // array of 9
  en.sink.p += 1;
  put_dstar(en, m[0].second.as_double());
  raw_int(en, m[1].second.as_int());
  put_dstar(en, m[2].second.as_double());
  raw_uint(en, static_cast<std::uint64_t>(c.purpose));
  put_dstar(en, m[4].second.as_double());
  raw_uint(en, static_cast<std::uint64_t>(c.side));
  raw_uint(en, static_cast<std::uint64_t>(c.status));
  put_dstar(en, m[7].second.as_double());
  raw_uint(en, static_cast<std::uint64_t>(c.type));
}

// An element of an orders patch replaced whole by `v`: format 6's
// [3, tuple] when v is an order of the tuple's shape, else put_replace's
// [0, v] (what put_kept_orders_diff writes for the same lists).
void put_order_value_replace(Enc& en, const Value& v) {
  OrderCodes c{};
  if (!order_codes(v, c)) return put_replace(en, v);
  raw_array(en, 2);
  raw_int(en, kOrderTupleReplace);
  put_order_tuple(en, v, c);
}

// put_diff of two orders values, for a positional delta's leaf 9: with
// `tuples` (format 6) each element an array patch replaces whole, as an
// order of the tuple's shape, is [3, tuple], and a whole list of such orders
// replaced is [4, [tuple, ...]]; else the same bytes as put_diff. (The same
// bytes as put_kept_orders_diff writes for the same lists: state_parts_test.)
void put_orders_diff(Enc& en, const Value& a, const Value& b, bool tuples) {
  if (!tuples || !a.is_array() || !b.is_array()) return put_diff(en, a, b);
  const DiffKind kind = array_kind(a.as_array(), b.as_array());
  if (kind == DiffKind::Replace) {
    // format 6: [4, [tuple, ...]] when every order is of the tuple's shape
    const Value::Array& y = b.as_array();
    std::vector<OrderCodes> codes(y.size());
    for (std::size_t i = 0; i < y.size(); ++i)
      if (!order_codes(y[i], codes[i])) return put_replace(en, b);
    raw_array(en, 2);
    raw_int(en, kOrderListTupleReplace);
    raw_array(en, static_cast<std::uint32_t>(y.size()));
    for (std::size_t i = 0; i < y.size(); ++i) put_order_tuple(en, y[i], codes[i]);
    return;
  }
  if (kind != DiffKind::ArrayPatch) return put_diff(en, a, b);
  // put_array_patch, its element replacements through put_order_value_replace
  const Value::Array& x = a.as_array();
  const Value::Array& y = b.as_array();
  const std::size_t common = put_array_patch_head(en, x, y);
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (i < common && x[i] == y[i]) continue;
    en.pk.pack_array(2);
    en.pk.pack_int64(static_cast<std::int64_t>(i));
    if (i >= common) {
      put_order_value_replace(en, y[i]);
    } else if (x[i].is_map() && y[i].is_map()) {  // put_diff's map case
      const MapCompare cmp(x[i].as_map(), y[i].as_map());
      if (cmp.kind(x[i].as_map()) == DiffKind::Replace) {
        put_order_value_replace(en, y[i]);
      } else {
        put_map_patch(en, x[i].as_map(), y[i].as_map(), cmp);  // (None: they differ)
      }
    } else if (x[i].is_array() && y[i].is_array()) {
      put_diff(en, x[i], y[i]);
    } else {
      put_order_value_replace(en, y[i]);  // put_diff's last case: they differ
    }
  }
}

// A working order's tuple as put_order_tuple writes the tuple of its value
// (order_value()): the enum codes are the enums' values, whose names
// (model::to_string) purpose_code() etc. map back to them
// (state_parts_test checks both for every enum value). At most
// kOrderTupleBound bytes, written within room made by the caller.
constexpr std::size_t kOrderTupleBound = 1 + 4 * 9 + 9 + 4;
bool raw_orders_fit(const model::Order* list, std::uint32_t n) {
  for (std::uint32_t i = 0; i < n; ++i) {
    const model::Order& o = list[i];
    if (static_cast<unsigned>(o.purpose) > static_cast<unsigned>(kLastPurpose) ||
        static_cast<unsigned>(o.side) > static_cast<unsigned>(kLastSide) ||
        static_cast<unsigned>(o.status) > static_cast<unsigned>(kLastStatus) ||
        static_cast<unsigned>(o.type) > static_cast<unsigned>(kLastType)) {
      return false;
    }
  }
  return true;
}
void put_raw_order_tuple(Enc& en, const model::Order& o) {
  *en.sink.p++ = static_cast<char>(0x99);  // array of 9
  put_dstar<false>(en, o.filled_qty);
  raw_int<false>(en, static_cast<std::int64_t>(o.id));
  put_dstar<false>(en, o.limit_price);
  raw_uint<false>(en, static_cast<std::uint64_t>(o.purpose));
  put_dstar<false>(en, o.qty);
  raw_uint<false>(en, static_cast<std::uint64_t>(o.side));
  raw_uint<false>(en, static_cast<std::uint64_t>(o.status));
  put_dstar<false>(en, o.stop_price);
  raw_uint<false>(en, static_cast<std::uint64_t>(o.type));
}

// ---- a delta's orders from kept raw orders (keep_positional_base) ----------
//
// put_diff of two order lists' values (order_value() per order), written from
// the orders' fields: the same decisions in the same order (array_kind,
// MapCompare::kind of two nine-key maps, a changed leaf as [0, value]), so the
// same bytes, without building, comparing and destroying the values (building
// a list's value per order change and comparing it with the base's was a
// fifth of the writer's delta-state work on sma_cross).

constexpr std::string_view kOrderFieldKeys[9] = {"filled_qty", "id",     "limit_price", "purpose", "qty",
                                                 "side",       "status", "stop_price",  "type"};

KeptOrder kept_order(const model::Order& o) {
  KeptOrder k;
  k.filled_qty = o.filled_qty;
  k.limit_price = o.limit_price;
  k.qty = o.qty;
  k.stop_price = o.stop_price;
  k.id = static_cast<std::int64_t>(o.id);
  k.purpose = static_cast<std::uint8_t>(o.purpose);
  k.side = static_cast<std::uint8_t>(o.side);
  k.status = static_cast<std::uint8_t>(o.status);
  k.type = static_cast<std::uint8_t>(o.type);
  return k;
}

// Which of the nine values of a kept order and an order differ (Value
// equality: doubles bit for bit; an enum's name differs exactly when its
// code does, for codes within raw_orders_fit's bounds: state_parts_test).
[[gnu::always_inline]] inline unsigned order_field_changes(const KeptOrder& a, const model::Order& b) {
  unsigned m = 0;
  m |= same_bits(a.filled_qty, b.filled_qty) ? 0 : 1u << 0;
  m |= a.id == static_cast<std::int64_t>(b.id) ? 0 : 1u << 1;
  m |= same_bits(a.limit_price, b.limit_price) ? 0 : 1u << 2;
  m |= a.purpose == static_cast<std::uint8_t>(b.purpose) ? 0 : 1u << 3;
  m |= same_bits(a.qty, b.qty) ? 0 : 1u << 4;
  m |= a.side == static_cast<std::uint8_t>(b.side) ? 0 : 1u << 5;
  m |= a.status == static_cast<std::uint8_t>(b.status) ? 0 : 1u << 6;
  m |= same_bits(a.stop_price, b.stop_price) ? 0 : 1u << 7;
  m |= a.type == static_cast<std::uint8_t>(b.type) ? 0 : 1u << 8;
  return m;
}

// Field i of the order's value (order_value()), as put_value writes it.
void put_order_field(Enc& en, const model::Order& o, int i) {
  switch (i) {
    case 0: en.dbl(o.filled_qty); return;
    case 1: en.pk.pack_int64(static_cast<std::int64_t>(o.id)); return;
    case 2: en.dbl(o.limit_price); return;
    case 3: put_str(en, model::to_string(o.purpose)); return;
    case 4: en.dbl(o.qty); return;
    case 5: put_str(en, model::to_string(o.side)); return;
    case 6: put_str(en, model::to_string(o.status)); return;
    case 7: en.dbl(o.stop_price); return;
    default: put_str(en, model::to_string(o.type)); return;
  }
}

// A constant key (a literal shorter than 32 bytes) as put_key writes it,
// into room the caller made: a fixed-size copy, no memcpy call.
template <std::size_t N>
[[gnu::always_inline]] inline void raw_key(Enc& en, const char (&k)[N]) {
  static_assert(N - 1 < 32, "a fixstr key");
  en.sink.p[0] = static_cast<char>(0xa0 | (N - 1));
  std::memcpy(en.sink.p + 1, k, N - 1);
  en.sink.p += N;
}
// An enum's name as put_str writes it, into room the caller made (its size
// plus 5): names are short (copy_short, not a memcpy call).
[[gnu::always_inline]] inline void raw_name(Enc& en, std::string_view v) {
  const std::size_t n = v.size();
  if (n >= 32) return put_str(en, v);  // (no name is that long; put_str's forms)
  en.sink.p[0] = static_cast<char>(0xa0 | n);
  copy_short(en.sink.p + 1, v.data(), n);
  en.sink.p += 1 + n;
}

// An order's value, {nine keys} (the keys in order, put_order_field's
// values), written inline into room made once: a put_order_field call and
// switch and a memcpy call per key were ≈ 70 instructions a field.
static_assert(kOrderFieldKeys[0] == "filled_qty" && kOrderFieldKeys[1] == "id" &&
                  kOrderFieldKeys[2] == "limit_price" && kOrderFieldKeys[3] == "purpose" &&
                  kOrderFieldKeys[4] == "qty" && kOrderFieldKeys[5] == "side" && kOrderFieldKeys[6] == "status" &&
                  kOrderFieldKeys[7] == "stop_price" && kOrderFieldKeys[8] == "type",
              "put_order_map writes kOrderFieldKeys' keys in its order");
void put_order_map(Enc& en, const model::Order& o) {
  const std::string_view purpose = model::to_string(o.purpose);
  const std::string_view side = model::to_string(o.side);
  const std::string_view status = model::to_string(o.status);
  const std::string_view type = model::to_string(o.type);
  // map header 1, keys 66, four doubles 36, id 9, four names' headers 20
  room(en, 1 + 66 + 36 + 9 + 20 + purpose.size() + side.size() + status.size() + type.size());
  *en.sink.p++ = static_cast<char>(0x89);
  raw_key(en, "filled_qty");
  raw_dbl<false>(en, o.filled_qty);
  raw_key(en, "id");
  raw_int<false>(en, static_cast<std::int64_t>(o.id));
  raw_key(en, "limit_price");
  raw_dbl<false>(en, o.limit_price);
  raw_key(en, "purpose");
  raw_name(en, purpose);
  raw_key(en, "qty");
  raw_dbl<false>(en, o.qty);
  raw_key(en, "side");
  raw_name(en, side);
  raw_key(en, "status");
  raw_name(en, status);
  raw_key(en, "stop_price");
  raw_dbl<false>(en, o.stop_price);
  raw_key(en, "type");
  raw_name(en, type);
}

// put_replace of the order's value: [0, {nine keys}] (format 5).
void put_order_replace(Enc& en, const model::Order& o) {
  raw_array(en, 2);
  raw_int(en, 0);
  put_order_map(en, o);
}

// Format 6: an order replaced whole in an orders patch, [3, tuple] (the
// full record's tuple, put_raw_order_tuple), for [0, {nine keys}].
void put_order_tuple_replace(Enc& en, const model::Order& o) {
  room(en, 2 + kOrderTupleBound);
  *en.sink.p++ = static_cast<char>(0x92);
  *en.sink.p++ = static_cast<char>(kOrderTupleReplace);
  put_raw_order_tuple(en, o);
}

// put_diff(orders' value of x, of y) for lists that differ; with `tuples`
// (format 6) an element replaced whole as [3, tuple] and the whole list
// replaced as [4, [tuple, ...]] (raw orders always have the tuple's shape).
void put_kept_orders_diff(Enc& en, const std::vector<KeptOrder>& x, const model::Order* y, std::size_t ny,
                          bool tuples) {
  const std::size_t common = std::min(x.size(), ny);
  unsigned local[8];
  std::vector<unsigned> heap;
  unsigned* changes = local;
  if (common > 8) {
    heap.resize(common);
    changes = heap.data();
  }
  std::size_t changed = 0;
  for (std::size_t i = 0; i < common; ++i) {
    changes[i] = order_field_changes(x[i], y[i]);
    changed += changes[i] != 0;
  }
  if (changed == 0 && x.size() == ny) {  // (array_kind's None: the callers pass lists that differ)
    raw_nil(en);
    return;
  }
  if (common > 0 && changed * 2 > common) {  // array_kind's Replace: [0, the list's value]
    raw_array(en, 2);
    raw_int(en, tuples ? kOrderListTupleReplace : 0);  // format 6: [4, [tuple, ...]]
    raw_array(en, static_cast<std::uint32_t>(ny));
    for (std::size_t i = 0; i < ny; ++i) {
      if (tuples) {
        room(en, kOrderTupleBound);
        put_raw_order_tuple(en, y[i]);
      } else {
        put_order_map(en, y[i]);
      }
    }
    return;
  }
  // put_array_patch
  raw_array(en, 3);
  raw_int(en, 2);
  raw_int(en, static_cast<std::int64_t>(ny));
  raw_array(en, static_cast<std::uint32_t>(changed + (ny - common)));
  for (std::size_t i = 0; i < ny; ++i) {
    if (i < common && changes[i] == 0) continue;
    raw_array(en, 2);
    raw_int(en, static_cast<std::int64_t>(i));
    if (i >= common || changes[i] == 0x1ff) {  // put_replace, or MapCompare's Replace (no key unchanged)
      if (tuples) {
        put_order_tuple_replace(en, y[i]);
      } else {
        put_order_replace(en, y[i]);
      }
      continue;
    }
    // put_map_patch: the changed keys, each [0, value]; none removed
    raw_array(en, 3);
    raw_int(en, 1);
    raw_map(en, static_cast<std::uint32_t>(std::popcount(changes[i])));
    for (int f = 0; f < 9; ++f) {
      if ((changes[i] >> f & 1) == 0) continue;
      put_key(en, kOrderFieldKeys[f]);
      raw_array(en, 2);
      raw_int(en, 0);
      put_order_field(en, y[i], f);
    }
    raw_array(en, 0);
  }
}

// The value of kept orders (order_value() of the orders they were).
Value kept_orders_value(const std::vector<KeptOrder>& kept) {
  Value::Array a;
  a.reserve(kept.size());
  for (const KeptOrder& k : kept) {
    Value::Map m;
    m.reserve(9);
    m.emplace_back("filled_qty", Value(k.filled_qty));
    m.emplace_back("id", Value(k.id));
    m.emplace_back("limit_price", Value(k.limit_price));
    m.emplace_back("purpose", Value(model::to_string(static_cast<model::OrderPurpose>(k.purpose))));
    m.emplace_back("qty", Value(k.qty));
    m.emplace_back("side", Value(model::to_string(static_cast<model::Side>(k.side))));
    m.emplace_back("status", Value(model::to_string(static_cast<model::OrderStatus>(k.status))));
    m.emplace_back("stop_price", Value(k.stop_price));
    m.emplace_back("type", Value(model::to_string(static_cast<model::OrderType>(k.type))));
    a.push_back(Value(std::move(m)));
  }
  return Value(std::move(a));
}

}  // namespace

bool encode_order_tuple(const Value& order, std::string& out) {
  OrderCodes c{};
  if (!order_codes(order, c)) return false;
  Enc en(out);
  put_order_tuple(en, order, c);
  return true;
}

bool encode_orders_field(const Value& orders, std::string& out) {
  // One encoder for all the tuples (an Enc per tuple zero-filled and cut back
  // its string each time); cut back to where it started when an order is not
  // of the shape.
  const std::size_t at = out.size();
  if (orders.is_array()) {
    const Value::Array& a = orders.as_array();
    bool ok = true;
    {
      Enc en(out);
      en.pk.pack_array(static_cast<std::uint32_t>(a.size()));
      for (const Value& o : a) {
        OrderCodes c{};
        if (!order_codes(o, c)) {
          ok = false;
          break;
        }
        put_order_tuple(en, o, c);
      }
    }
    if (ok) return true;
    out.resize(at);
  }
  encode_value(orders, out);
  return false;
}

void keep_positional_base(StatePartsBase& base, const StateParts& p) {
  base.parts = p;  // shared pointers and numbers: nothing is copied deep
  if (p.raw_orders && raw_orders_fit(p.order_list, p.order_count)) {
    // Appended, not resize()d and assigned: resize() value-initialises the
    // orders it adds first (a memset call on every state whose list grew).
    base.kept_orders.clear();
    for (std::uint32_t i = 0; i < p.order_count; ++i) base.kept_orders.push_back(kept_order(p.order_list[i]));
    base.orders_kept = true;
    // a producer's list is its own only while it hands it over
    base.parts.raw_orders = false;
    base.parts.order_list = nullptr;
    base.parts.order_count = 0;
    base.parts.orders_memo = nullptr;
    base.parts.orders.reset();
    return;
  }
  base.orders_kept = false;
  base.kept_orders.clear();
  own_orders(base.parts);
}

// (One build of the encoders, into a RecordOut: the string forms go through
// a StringOut. Two builds, string and RecordOut, left the leaf writers out of
// line in both.)
void encode_state_positional(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                             const StateParts& p, const Value& indicators, StatePartsBase& cache, RecordOut& out) {
  refresh_ctx_bytes(p, cache);
  // A producer's orders (raw_orders) are written as tuples straight from
  // them, on every state (mostly an empty list, a few bytes per working
  // order): no value tree built, checked and destroyed. Orders that do not
  // fit a tuple take the value path, as their value would.
  const bool tuples = p.raw_orders && raw_orders_fit(p.order_list, p.order_count);
  if (!tuples) {
    const std::shared_ptr<const Value>& orders = orders_value(p);
    if (!cache.pos_orders_valid || cache.pos_orders_of != orders) {
      cache.pos_orders_bytes.clear();
      cache.pos_orders_as_value = !encode_orders_field(orders ? *orders : kEmptyArray, cache.pos_orders_bytes);
      cache.pos_orders_of = orders;
      cache.pos_orders_valid = true;
    }
  }
  const std::size_t orders_bound =
      tuples ? 5 + kOrderTupleBound * std::size_t{p.order_count} : cache.pos_orders_bytes.size();
  Enc en(out);
  // Room for the whole record but its indicators, made once: the envelope,
  // flags, sixteen leaves of at most 9 bytes, ctx and orders, and a nil.
  room(en, kPositionalEnvelopeBound + 1 + 14 * 9 + cache.ctx_bytes.size() + orders_bound + 1);
  put_positional_envelope(en, kPositionalFullFields, sequence, ts_event_ns, runner, p, kPositionalFull);
  raw_uint<false>(en, !tuples && cache.pos_orders_as_value ? kOrdersAsValue : 0);
  put_dstar<false>(en, p.cash);
  put_dstar<false>(en, p.commission_paid);
  put_dstar<false>(en, p.equity);
  put_dstar<false>(en, p.position_value);
  put_dstar<false>(en, p.realized_pnl);
  raw_int<false>(en, p.trades);
  raw_int<false>(en, p.bar_index);
  raw_int<false>(en, p.bars_in_state);
  std::memcpy(en.sink.p, cache.ctx_bytes.data(), cache.ctx_bytes.size());
  en.sink.p += cache.ctx_bytes.size();
  if (tuples) {
    en.pk.pack_array(p.order_count);  // (within the room made above)
    for (std::uint32_t i = 0; i < p.order_count; ++i) put_raw_order_tuple(en, p.order_list[i]);
  } else {
    std::memcpy(en.sink.p, cache.pos_orders_bytes.data(), cache.pos_orders_bytes.size());
    en.sink.p += cache.pos_orders_bytes.size();
  }
  put_dstar<false>(en, p.avg_price);
  put_opt_int<false>(en, p.in_trade, p.bars_held);
  put_opt_int<false>(en, p.in_trade, p.entry_ts_ns);
  put_dstar<false>(en, p.qty);
  put_opt_dstar<false>(en, p.in_trade, p.trade_pnl);
  put_dstar<false>(en, p.unrealized_pnl);
  if (indicators.is_nil()) {
    raw_nil<false>(en);
  } else {
    put_value(en, indicators);
  }
}

namespace {

// The ctx leaf between two (non-null) ctx values, computed into `base`'s
// memo entry that held the older pair (StatePartsBase::ctx_diffs). (Out of
// line: kept inline it left put_scalar_leaf out of line, a call per leaf.)
[[gnu::noinline]] const StatePartsBase::CtxDiff& ctx_diff_miss(const StatePartsBase& base,
                                                               const std::shared_ptr<const Value>& from,
                                                               const std::shared_ptr<const Value>& to) {
  StatePartsBase::CtxDiff& d = base.ctx_diffs[base.ctx_diff_next];
  base.ctx_diff_next ^= 1;
  d.from = from;
  d.to = to;
  d.same = *from == *to;
  d.bytes.clear();
  if (!d.same) {
    Enc en(d.bytes);
    put_diff(en, *from, *to);
  }
  return d;
}

// Whether a value takes at most `budget` bytes of memory (about: nodes,
// strings and keys), stopping as soon as it is over.
bool fits_memo(const Value& v, std::size_t& budget) noexcept {
  std::size_t n = sizeof(Value);
  if (v.is_string()) n += v.as_string().size();
  if (n > budget) return false;
  budget -= n;
  if (v.is_array()) {
    for (const Value& e : v.as_array())
      if (!fits_memo(e, budget)) return false;
  } else if (v.is_map()) {
    for (const auto& [k, e] : v.as_map()) {
      if (sizeof(std::string) + k.size() > budget) return false;
      budget -= sizeof(std::string) + k.size();
      if (!fits_memo(e, budget)) return false;
    }
  }
  return true;
}

// The memo holds small contexts only: it keeps its pairs (and their diff)
// alive until two more changes, and a recorded ctx may be up to
// max_ctx_bytes, so big ones would hold several times that per runner
// beyond what docs/replay.md counts.
constexpr std::size_t kCtxMemoBytes = std::size_t{64} << 10;

// The same equality and put_diff bytes as without the memo; null when the
// pair is not memoised (too big): the caller compares and diffs directly.
const StatePartsBase::CtxDiff* ctx_diff(const StatePartsBase& base, const std::shared_ptr<const Value>& from,
                                        const std::shared_ptr<const Value>& to) {
  for (const StatePartsBase::CtxDiff& d : base.ctx_diffs) {
    if (d.from == from && d.to == to) return &d;
  }
  std::size_t budget = kCtxMemoBytes;
  if (!fits_memo(*from, budget) || !fits_memo(*to, budget)) return nullptr;
  return &ctx_diff_miss(base, from, to);
}

}  // namespace

bool encode_state_positional_delta_if_patch(std::uint64_t sequence, std::int64_t ts_event_ns,
                                            model::RunnerId runner, const StateParts& p, const Value& indicators,
                                            const StatePartsBase& base, std::uint64_t base_sequence,
                                            std::uint64_t snapshot_sequence, RecordOut& out, bool order_tuples) {
  const StateParts& b = base.parts;
  const unsigned account = account_changes(b, p);
  const unsigned position = position_changes(b, p);
  const bool bar_index = b.bar_index != p.bar_index;
  const bool bars_in_state = b.bars_in_state != p.bars_in_state;
  const StatePartsBase::CtxDiff* ctx_memo = b.ctx != p.ctx && b.ctx && p.ctx ? ctx_diff(base, b.ctx, p.ctx) : nullptr;
  const bool ctx = ctx_memo != nullptr ? !ctx_memo->same : b.ctx != p.ctx && !(ctx_of(b) == ctx_of(p));
  // The orders: the base's kept fields against the producer's raw list
  // (keep_positional_base), else as values (the base's own_orders() value, or
  // the value of its kept fields against a state that came as a value).
  const bool raw = base.orders_kept && p.raw_orders && raw_orders_fit(p.order_list, p.order_count);
  std::optional<Value> kept_value;
  const Value* old_orders = &kEmptyArray;
  const Value* new_orders = &kEmptyArray;
  bool orders = false;
  if (raw) {
    orders = base.kept_orders.size() != p.order_count;
    for (std::uint32_t i = 0; i < p.order_count && !orders; ++i)
      orders = order_field_changes(base.kept_orders[i], p.order_list[i]) != 0;
  } else {
    const std::shared_ptr<const Value>& p_orders = orders_value(p);
    new_orders = p_orders ? p_orders.get() : &kEmptyArray;
    if (base.orders_kept) {
      old_orders = &kept_value.emplace(kept_orders_value(base.kept_orders));
      orders = !(*old_orders == *new_orders);
    } else {
      old_orders = &orders_of(b);
      orders = b.orders != p_orders && !(*old_orders == *new_orders);
    }
  }
  const std::uint32_t changes = (account != 0) + bar_index + bars_in_state + ctx + orders + (position != 0);
  if (changes == 6) return false;  // as the map form: the delta would replace the context
  const unsigned changed = account | unsigned{bar_index} << kLeafBarIndex |
                           unsigned{bars_in_state} << kLeafBarsInState | unsigned{ctx} << kLeafCtx |
                           unsigned{orders} << kLeafOrders | position << kLeafAvgPrice;
  Enc en(out);
  // phase, state, encoding, changed; the changed leaves; indicators, base_sequence, snapshot_sequence
  put_positional_envelope(en, 7 + bit_count(changed), sequence, ts_event_ns, runner,
                          p, kPositionalDelta);
  raw_uint(en, changed);
  for (unsigned m = changed; m != 0; m &= m - 1) {
    const auto leaf = static_cast<unsigned>(std::countr_zero(m));
    if (leaf == kLeafCtx) {
      if (ctx_memo != nullptr) {
        en.sink.write(ctx_memo->bytes.data(), ctx_memo->bytes.size());
      } else {
        put_diff(en, ctx_of(b), ctx_of(p));
      }
    } else if (leaf == kLeafOrders) {
      if (raw) {
        put_kept_orders_diff(en, base.kept_orders, p.order_list, p.order_count, order_tuples);
      } else {
        put_orders_diff(en, *old_orders, *new_orders, order_tuples);
      }
    } else {
      put_scalar_leaf(en, p, leaf);
    }
  }
  if (base.indicators.is_nil() && indicators.is_nil()) {
    raw_nil(en);  // what put_diff writes for two nils
  } else {
    put_diff(en, base.indicators, indicators);
  }
  raw_uint(en, base_sequence);
  raw_uint(en, snapshot_sequence);
  return true;
}

void encode_state_positional(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                             const StateParts& p, const Value& indicators, StatePartsBase& cache, std::string& out) {
  StringOut o(out);
  encode_state_positional(sequence, ts_event_ns, runner, p, indicators, cache, o);
}

bool encode_state_positional_delta_if_patch(std::uint64_t sequence, std::int64_t ts_event_ns,
                                            model::RunnerId runner, const StateParts& p, const Value& indicators,
                                            const StatePartsBase& base, std::uint64_t base_sequence,
                                            std::uint64_t snapshot_sequence, std::string& out, bool order_tuples) {
  StringOut o(out);
  return encode_state_positional_delta_if_patch(sequence, ts_event_ns, runner, p, indicators, base, base_sequence,
                                                snapshot_sequence, o, order_tuples);
}

void encode_value(const Value& v, std::string& out) {
  Enc en(out);
  put_value(en, v);
}

Result<Value> decode_value(std::string_view data) {
  MsgpackCursor c(data);
  Value v;
  if (!c.read_value(v)) return make_error(Errc::parse, std::string("decode msgpack value: ") + c.error());
  if (!c.at_end()) return make_error(Errc::parse, "decode msgpack value: bytes after the value");
  return v;
}

}  // namespace te::journal
