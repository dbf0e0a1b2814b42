#include "engine/journal/state_parts.hpp"

#include <utility>

namespace te::journal {

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
  m.emplace_back("orders", p.orders ? *p.orders : Value(Value::Array{}));
  m.emplace_back("position", Value(std::move(position)));
  return Value(std::move(m));
}

}  // namespace te::journal
