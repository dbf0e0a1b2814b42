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

// The delta documents are written into the trees of the documents decoded
// before (the reader hands the previous state's back: StateTracker::recycle),
// like the map form's read_value does: a new tree per delta record (its
// arrays, maps and nested [0, v] pairs) cost the delta reader a quarter of
// its speed.
Value::Map& sized_map(Value& v, std::size_t n) {
  if (!v.is_map()) v = Value(Value::Map{}, Value::sorted_keys);
  Value::Map& m = mut_map(v);
  m.resize(n);
  return m;
}

void set_key(std::string& key, std::string_view k) {
  if (key != k) key.assign(k.data(), k.size());
}

// `out` = [0, leaf].
bool read_replace_doc(MsgpackCursor& c, LeafKind kind, Value& out) {
  Value::Array& a = sized_array(out, 2);
  a[0].assign_int(0);
  return read_leaf(c, kind, a[1]);
}

// `out` = [1, <map of n entries>, []]: the map, to be filled.
Value::Map& map_patch_doc(Value& out, std::size_t n) {
  Value::Array& a = sized_array(out, 3);
  a[0].assign_int(1);
  sized_array(a[2], 0);
  return sized_map(a[1], n);
}

// The delta document of a six-leaf map whose changed leaves are `bits` (not
// 0), as the map form writes it: replaced whole when all six changed, else
// patched leaf by leaf.
bool read_leaf_map_doc(MsgpackCursor& c, unsigned bits, const std::string_view (&keys)[6],
                       const LeafKind (&kinds)[6], Value& out) {
  if (bits == 0x3f) {
    Value::Array& a = sized_array(out, 2);
    a[0].assign_int(0);
    Value::Map& m = shaped_map(a[1], keys);
    for (int i = 0; i < 6; ++i)
      if (!read_leaf(c, kinds[i], m[i].second)) return false;
    return true;
  }
  Value::Map& m = map_patch_doc(out, static_cast<std::size_t>(std::popcount(bits)));
  std::size_t k = 0;
  for (int i = 0; i < 6; ++i) {
    if ((bits >> i & 1) == 0) continue;
    set_key(m[k].first, keys[i]);
    if (!read_replace_doc(c, kinds[i], m[k].second)) return false;
    ++k;
  }
  return true;
}

// Leaf 9's delta document, as read_value reads it, except for format 6's
// tuples: an element of an array patch written [3, tuple]
// (kOrderTupleReplace) reads as [0, the order's map], and [4, [tuple, ...]]
// (kOrderListTupleReplace) as [0, [the orders' maps]], the documents they
// stand for. Other documents (nil, format 5's) read as read_value reads them.
bool read_orders_doc(MsgpackCursor& c, Value& out) {
  std::uint8_t b = 0;
  if (!c.peek(b) || (b != 0x93 && b != 0x92)) return c.read_value(out);
  std::uint32_t n = 0;
  std::int64_t op = 0;
  if (!(c.read_array(n) && c.read_int(op))) return false;
  if (n == 2) {
    // [4, [tuple, ...]] (format 6) reads as [0, [order, ...]]; [0, v] as it is
    Value::Array& doc = sized_array(out, 2);
    if (op != kOrderListTupleReplace) {
      doc[0].assign_int(op);
      return c.read_value(doc[1]);
    }
    doc[0].assign_int(0);
    std::uint32_t count = 0;
    if (!c.read_array(count)) return false;
    if (count > c.remaining()) return c.fail("orders run past the record");
    for (Value& o : sized_array(doc[1], count))
      if (!read_order_tuple(c, o)) return false;
    return true;
  }
  Value::Array& doc = sized_array(out, 3);
  doc[0].assign_int(op);
  if (op != 2) return c.read_value(doc[1]) && c.read_value(doc[2]);
  std::int64_t size = 0;
  std::uint32_t ops = 0;
  if (!(c.read_int(size) && c.read_array(ops))) return false;
  if (ops > c.remaining()) return c.fail("array patch runs past the record");
  doc[1].assign_int(size);
  Value::Array& list = sized_array(doc[2], ops);
  for (Value& e : list) {
    std::uint32_t two = 0;
    std::int64_t i = 0;
    if (!c.peek(b) || b != 0x92) {
      if (!c.read_value(e)) return false;
      continue;
    }
    if (!(c.read_array(two) && c.read_int(i))) return false;
    Value::Array& pair = sized_array(e, 2);
    pair[0].assign_int(i);
    if (!c.peek(b) || b != 0x92) {
      if (!c.read_value(pair[1])) return false;
      continue;
    }
    std::int64_t eop = 0;
    if (!(c.read_array(two) && c.read_int(eop))) return false;
    Value::Array& d = sized_array(pair[1], 2);
    if (eop == kOrderTupleReplace) {
      d[0].assign_int(0);
      if (!read_order_tuple(c, d[1])) return false;
    } else {
      d[0].assign_int(eop);
      if (!c.read_value(d[1])) return false;
    }
  }
  return true;
}

bool read_delta(MsgpackCursor& c, RunnerState& out, unsigned changed) {
  if (changed == 0) {
    out.context.assign_nil();
  } else {
    const bool account = (changed & kAccountLeaves) != 0;
    const bool position = (changed & kPositionLeaves) != 0;
    const auto middle = static_cast<std::size_t>(std::popcount(changed & (0xfu << kLeafBarIndex)));
    Value::Map& top = map_patch_doc(out.context, account + middle + position);
    std::size_t k = 0;
    if (account) {
      set_key(top[k].first, kTopKeys[0]);
      if (!read_leaf_map_doc(c, changed & kAccountLeaves, kAccountKeys, kAccountKinds, top[k].second)) return false;
      ++k;
    }
    for (unsigned leaf : {kLeafBarIndex, kLeafBarsInState, kLeafCtx, kLeafOrders}) {
      if ((changed >> leaf & 1) == 0) continue;
      set_key(top[k].first, kTopKeys[leaf - kLeafBarIndex + 1]);
      Value& v = top[k].second;
      if (leaf == kLeafBarIndex || leaf == kLeafBarsInState) {
        if (!read_replace_doc(c, LeafKind::Int, v)) return false;
      } else if (!(leaf == kLeafOrders ? read_orders_doc(c, v) : c.read_value(v))) {
        return false;  // ctx and orders: their delta documents
      }
      ++k;
    }
    if (position) {
      set_key(top[k].first, kTopKeys[5]);
      if (!read_leaf_map_doc(c, (changed & kPositionLeaves) >> kLeafAvgPrice, kPositionKeys, kPositionKinds,
                             top[k].second)) {
        return false;
      }
    }
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
