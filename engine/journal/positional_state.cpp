#include "engine/journal/positional_state.hpp"

#include <bit>
#include <string_view>
#include <utility>

#include "engine/model/order.hpp"

namespace te::journal::detail {

namespace {

constexpr std::string_view kTopKeys[6] = {"account", "bar_index", "bars_in_state", "ctx", "orders", "position"};
constexpr std::string_view kAccountKeys[6] = {"cash", "commission_paid", "equity", "position_value", "realized_pnl",
                                              "trades"};
constexpr std::string_view kPositionKeys[6] = {"avg_price", "bars_held", "entry_ts_ns", "qty", "trade_pnl",
                                               "unrealized_pnl"};
constexpr std::string_view kOrderKeys[9] = {"filled_qty", "id",     "limit_price", "purpose", "qty",
                                            "side",       "status", "stop_price",  "type"};

// What a scalar leaf holds: a d* number (float64 or a whole number), an
// integer, or either of them or nil (the position fields outside a trade).
enum class LeafKind : std::uint8_t { Dbl, Int, OptInt, OptDbl };
constexpr LeafKind kAccountKinds[6] = {LeafKind::Dbl, LeafKind::Dbl, LeafKind::Dbl,
                                       LeafKind::Dbl, LeafKind::Dbl, LeafKind::Int};
constexpr LeafKind kPositionKinds[6] = {LeafKind::Dbl, LeafKind::OptInt, LeafKind::OptInt,
                                        LeafKind::Dbl, LeafKind::OptDbl, LeafKind::Dbl};

// The decoder writes into the tree of the event it decodes into (the reader
// hands the state before back), like MsgpackCursor::read_value: a state's
// tree keeps its shape from record to record, so its keys are compared, not
// built, and its leaves assigned in place. Value has no mutable accessors
// (value_in_place.hpp): these keep its promise (keys sorted and unique).
Value::Map& mut_map(Value& v) { return const_cast<Value::Map&>(v.as_map()); }
Value::Array& mut_array(Value& v) { return const_cast<Value::Array&>(v.as_array()); }

template <std::size_t N>
Value::Map& shaped_map(Value& v, const std::string_view (&keys)[N]) {
  if (v.is_map()) {
    Value::Map& m = mut_map(v);
    bool same = m.size() == N;
    for (std::size_t i = 0; same && i < N; ++i) same = m[i].first == keys[i];
    if (same) return m;
  }
  Value::Map m;
  m.reserve(N);
  for (std::string_view k : keys) m.emplace_back(std::string(k), Value());
  v = Value(std::move(m), Value::sorted_keys);
  return mut_map(v);
}

Value::Array& sized_array(Value& v, std::size_t n) {
  if (!v.is_array()) v = Value(Value::Array{});
  Value::Array& a = mut_array(v);
  a.resize(n);
  return a;
}

bool read_leaf(MsgpackCursor& c, LeafKind kind, Value& out) {
  if ((kind == LeafKind::OptInt || kind == LeafKind::OptDbl) && c.next_is_nil()) {
    out.assign_nil();
    return c.read_nil();
  }
  if (kind == LeafKind::Int || kind == LeafKind::OptInt) {
    std::int64_t i = 0;
    if (!c.read_int(i)) return false;
    out.assign_int(i);
    return true;
  }
  double d = 0;
  if (!c.read_double(d)) return false;
  out.assign_double(d);
  return true;
}

template <class E>
bool read_enum_name(MsgpackCursor& c, std::uint64_t max, Value& out) {
  std::uint64_t code = 0;
  if (!c.read_small_uint(code, max)) return false;
  out.assign_string(model::to_string(static_cast<E>(code)));
  return true;
}

// [filled_qty, id, limit_price, purpose, qty, side, status, stop_price, type]
bool read_order_tuple(MsgpackCursor& c, Value& out) {
  std::uint32_t n = 0;
  if (!c.read_array(n)) return false;
  if (n != 9) return c.fail("order tuple is not 9 fields");
  Value::Map& m = shaped_map(out, kOrderKeys);
  return read_leaf(c, LeafKind::Dbl, m[0].second) && read_leaf(c, LeafKind::Int, m[1].second) &&
         read_leaf(c, LeafKind::Dbl, m[2].second) && read_enum_name<model::OrderPurpose>(c, 8, m[3].second) &&
         read_leaf(c, LeafKind::Dbl, m[4].second) && read_enum_name<model::Side>(c, 1, m[5].second) &&
         read_enum_name<model::OrderStatus>(c, 6, m[6].second) && read_leaf(c, LeafKind::Dbl, m[7].second) &&
         read_enum_name<model::OrderType>(c, 4, m[8].second);
}

bool read_full(MsgpackCursor& c, RunnerState& out) {
  std::uint8_t flags = 0;
  if (!c.read_small_uint(flags, kOrdersAsValue)) return false;
  Value::Map& top = shaped_map(out.context, kTopKeys);
  Value::Map& account = shaped_map(top[0].second, kAccountKeys);
  for (int i = 0; i < 6; ++i)
    if (!read_leaf(c, kAccountKinds[i], account[i].second)) return false;
  if (!(read_leaf(c, LeafKind::Int, top[1].second) && read_leaf(c, LeafKind::Int, top[2].second) &&
        c.read_value(top[3].second))) {
    return false;
  }
  if ((flags & kOrdersAsValue) != 0) {
    if (!c.read_value(top[4].second)) return false;
  } else {
    std::uint32_t n = 0;
    if (!c.read_array(n)) return false;
    if (n > c.remaining()) return c.fail("orders run past the record");
    Value::Array& orders = sized_array(top[4].second, n);
    for (Value& o : orders)
      if (!read_order_tuple(c, o)) return false;
  }
  Value::Map& position = shaped_map(top[5].second, kPositionKeys);
  for (int i = 0; i < 6; ++i)
    if (!read_leaf(c, kPositionKinds[i], position[i].second)) return false;
  return c.read_value(out.indicators);
}

Value replace_doc(Value v) { return Value(Value::Array{Value(0), std::move(v)}); }

// The delta document of a six-leaf map whose changed leaves are `bits` (not
// 0), as the map form writes it: replaced whole when all six changed, else
// patched leaf by leaf.
bool read_leaf_map_doc(MsgpackCursor& c, unsigned bits, const std::string_view (&keys)[6],
                       const LeafKind (&kinds)[6], Value& out) {
  Value::Map m;
  m.reserve(static_cast<std::size_t>(std::popcount(bits)));
  for (int i = 0; i < 6; ++i) {
    if ((bits >> i & 1) == 0) continue;
    Value v;
    if (!read_leaf(c, kinds[i], v)) return false;
    m.emplace_back(std::string(keys[i]), bits == 0x3f ? std::move(v) : replace_doc(std::move(v)));
  }
  if (bits == 0x3f) {
    out = replace_doc(Value(std::move(m), Value::sorted_keys));
  } else {
    out = Value(Value::Array{Value(1), Value(std::move(m), Value::sorted_keys), Value(Value::Array{})});
  }
  return true;
}

bool read_delta(MsgpackCursor& c, RunnerState& out, unsigned changed) {
  if (changed == 0) {
    out.context = Value();
  } else {
    Value::Map top;
    top.reserve(6);
    if ((changed & kAccountLeaves) != 0) {
      top.emplace_back(std::string(kTopKeys[0]), Value());
      if (!read_leaf_map_doc(c, changed & kAccountLeaves, kAccountKeys, kAccountKinds, top.back().second)) {
        return false;
      }
    }
    for (unsigned leaf : {kLeafBarIndex, kLeafBarsInState, kLeafCtx, kLeafOrders}) {
      if ((changed >> leaf & 1) == 0) continue;
      Value v;
      if (leaf == kLeafBarIndex || leaf == kLeafBarsInState) {
        Value n;
        if (!read_leaf(c, LeafKind::Int, n)) return false;
        v = replace_doc(std::move(n));
      } else if (!c.read_value(v)) {
        return false;  // ctx and orders: their delta documents
      }
      top.emplace_back(std::string(kTopKeys[leaf - kLeafBarIndex + 1]), std::move(v));
    }
    if ((changed & kPositionLeaves) != 0) {
      top.emplace_back(std::string(kTopKeys[5]), Value());
      if (!read_leaf_map_doc(c, (changed & kPositionLeaves) >> kLeafAvgPrice, kPositionKeys, kPositionKinds,
                             top.back().second)) {
        return false;
      }
    }
    out.context = Value(Value::Array{Value(1), Value(std::move(top), Value::sorted_keys), Value(Value::Array{})});
  }
  return c.read_value(out.indicators) && c.read_uint(out.base_sequence) && c.read_uint(out.snapshot_sequence);
}

}  // namespace

bool decode_positional_state(MsgpackCursor& c, std::uint8_t encoding, RunnerState& out, std::uint32_t& used) {
  out.base_sequence = 0;
  out.snapshot_sequence = 0;
  if (encoding == kPositionalFull) {
    out.encoding = StateEncoding::Full;
    used = kPositionalFullFields;
    return read_full(c, out);
  }
  out.encoding = StateEncoding::Delta;
  std::uint32_t changed = 0;
  if (!c.read_small_uint(changed, (1u << kLeafCount) - 1)) return false;
  used = 7 + static_cast<std::uint32_t>(std::popcount(changed));
  return read_delta(c, out, changed);
}

}  // namespace te::journal::detail
