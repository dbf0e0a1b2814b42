#include "engine/journal/state_parts.hpp"

#include <initializer_list>
#include <memory>
#include <string_view>
#include <utility>

namespace te::journal {

Value order_value(const model::Order& o) {
  Value::Map m;
  m.reserve(9);
  m.emplace_back("filled_qty", Value(o.filled_qty));
  m.emplace_back("id", Value(static_cast<std::int64_t>(o.id)));
  m.emplace_back("limit_price", Value(o.limit_price));
  m.emplace_back("purpose", Value(model::to_string(o.purpose)));
  m.emplace_back("qty", Value(o.qty));
  m.emplace_back("side", Value(model::to_string(o.side)));
  m.emplace_back("status", Value(model::to_string(o.status)));
  m.emplace_back("stop_price", Value(o.stop_price));
  m.emplace_back("type", Value(model::to_string(o.type)));
  return Value(std::move(m));
}

const std::shared_ptr<const Value>& build_orders_value(const StateParts& p) {
  OrdersMemo& memo = *p.orders_memo;
  Value::Array working;
  working.reserve(p.order_count);
  for (std::uint32_t i = 0; i < p.order_count; ++i) working.push_back(order_value(p.order_list[i]));
  memo.value = std::make_shared<const Value>(Value(std::move(working)));
  memo.serial = p.orders_serial;
  return memo.value;
}

void own_orders(StateParts& p) {
  if (!p.raw_orders) return;
  p.orders = orders_value(p);
  p.raw_orders = false;
  p.order_list = nullptr;
  p.order_count = 0;
  p.orders_memo = nullptr;
}

Value state_parts_context(const StateParts& p) {
  Value::Map account;
  account.reserve(6);
  account.emplace_back("cash", Value(p.cash));
  account.emplace_back("commission_paid", Value(p.commission_paid));
  account.emplace_back("equity", Value(p.equity));
  account.emplace_back("position_value", Value(p.position_value));
  account.emplace_back("realized_pnl", Value(p.realized_pnl));
  account.emplace_back("trades", Value(p.trades));

  Value::Map position;
  position.reserve(6);
  position.emplace_back("avg_price", Value(p.avg_price));
  position.emplace_back("bars_held", p.in_trade ? Value(p.bars_held) : Value());
  position.emplace_back("entry_ts_ns", p.in_trade ? Value(p.entry_ts_ns) : Value());
  position.emplace_back("qty", Value(p.qty));
  position.emplace_back("trade_pnl", p.in_trade ? Value(p.trade_pnl) : Value());
  position.emplace_back("unrealized_pnl", Value(p.unrealized_pnl));

  Value::Map m;
  m.reserve(6);
  m.emplace_back("account", Value(std::move(account)));
  m.emplace_back("bar_index", Value(p.bar_index));
  m.emplace_back("bars_in_state", Value(p.bars_in_state));
  m.emplace_back("ctx", p.ctx ? *p.ctx : Value());
  const std::shared_ptr<const Value>& orders = orders_value(p);
  m.emplace_back("orders", orders ? *orders : Value(Value::Array{}));
  m.emplace_back("position", Value(std::move(position)));
  return Value(std::move(m));
}

}  // namespace te::journal

namespace te::journal {

namespace {

bool keys_are(const Value::Map& m, std::initializer_list<std::string_view> keys) {
  if (m.size() != keys.size()) return false;
  std::size_t i = 0;
  for (std::string_view k : keys)
    if (m[i++].first != k) return false;
  return true;
}

}  // namespace

bool state_parts_from_context(const Value& context, StateParts& out) {
  if (!context.is_map()) return false;
  const Value::Map& top = context.as_map();
  if (!keys_are(top, {"account", "bar_index", "bars_in_state", "ctx", "orders", "position"})) return false;
  const Value& account = top[0].second;
  const Value& position = top[5].second;
  if (!account.is_map() || !position.is_map() || !top[1].second.is_int() || !top[2].second.is_int()) return false;
  const Value::Map& a = account.as_map();
  const Value::Map& p = position.as_map();
  if (!keys_are(a, {"cash", "commission_paid", "equity", "position_value", "realized_pnl", "trades"}) ||
      !keys_are(p, {"avg_price", "bars_held", "entry_ts_ns", "qty", "trade_pnl", "unrealized_pnl"})) {
    return false;
  }
  for (int i = 0; i < 5; ++i)
    if (!a[i].second.is_double()) return false;
  if (!a[5].second.is_int() || !p[0].second.is_double() || !p[3].second.is_double() || !p[5].second.is_double()) {
    return false;
  }
  // In a trade bars_held, entry_ts_ns and trade_pnl are all set, else all nil.
  const bool in_trade = !p[1].second.is_nil();
  if (in_trade) {
    if (!p[1].second.is_int() || !p[2].second.is_int() || !p[4].second.is_double()) return false;
  } else if (!p[2].second.is_nil() || !p[4].second.is_nil()) {
    return false;
  }
  out.cash = a[0].second.as_double();
  out.commission_paid = a[1].second.as_double();
  out.equity = a[2].second.as_double();
  out.position_value = a[3].second.as_double();
  out.realized_pnl = a[4].second.as_double();
  out.trades = a[5].second.as_int();
  out.bar_index = top[1].second.as_int();
  out.bars_in_state = top[2].second.as_int();
  out.ctx = std::make_shared<const Value>(top[3].second);
  out.orders = std::make_shared<const Value>(top[4].second);
  out.raw_orders = false;
  out.order_list = nullptr;
  out.order_count = 0;
  out.orders_memo = nullptr;
  out.avg_price = p[0].second.as_double();
  out.in_trade = in_trade;
  out.bars_held = in_trade ? p[1].second.as_int() : 0;
  out.entry_ts_ns = in_trade ? p[2].second.as_int() : 0;
  out.qty = p[3].second.as_double();
  out.trade_pnl = in_trade ? p[4].second.as_double() : 0;
  out.unrealized_pnl = p[5].second.as_double();
  return true;
}

}  // namespace te::journal
