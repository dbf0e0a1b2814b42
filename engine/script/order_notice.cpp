// The host entry point for order events (fills, rejections) delivered to a
// strategy's optional on_fill / on_order_rejected callbacks through the
// prelude's M.notify. Kept apart from strategy_host.cpp: it belongs to the
// order flow (issue 6) and builds one small table per event, never per bar.
#include <lua.hpp>

#include "engine/script/lua_vm.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::script {
namespace {

// stack: t -> t
void set_string(lua_State* L, const char* key, std::string_view v) {
  lua_pushlstring(L, v.data(), v.size());
  lua_setfield(L, -2, key);
}
void set_number(lua_State* L, const char* key, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, key);
}

}  // namespace

int StrategyHost::notify(const OrderNotice& n) {
  lua_State* L = vm_->state();
  StackGuard guard(L);
  const bool fill = n.kind == OrderNotice::Kind::Fill;
  const char* callback = fill ? "on_fill" : "on_order_rejected";
  // stack: -> prelude notify name t
  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  // Most strategies define neither callback: then skip building the table (a
  // trade-heavy optimiser combination otherwise allocates and collects two
  // tables per round trip for nothing). Same test as the prelude's notify.
  lua_getfield(L, -1, "env");
  lua_pushstring(L, callback);
  lua_rawget(L, -2);
  const bool defined = !lua_isnil(L, -1);
  lua_pop(L, 2);
  if (!defined) return 0;
  lua_getfield(L, -1, "notify");
  lua_pushstring(L, callback);
  lua_createtable(L, 0, 14);
  set_number(L, "order_id", static_cast<double>(n.order_id));
  set_string(L, "side", n.side);
  set_string(L, "type", n.type);
  set_string(L, "purpose", n.purpose);
  set_number(L, "qty", n.qty);
  set_number(L, "price", n.price);
  set_number(L, "filled_qty", n.filled_qty);
  set_number(L, "time", n.time_ms);
  if (!n.tag.empty()) set_string(L, "reason", n.tag);
  if (fill) {
    set_number(L, "commission", n.commission);
    set_number(L, "slippage", n.slippage);
    set_string(L, "liquidity", n.liquidity);
  } else {
    set_string(L, "code", n.code);
    set_string(L, "message", n.message);
    set_string(L, "source", n.source);
  }
  frame_.phase = 1;
  if (!pcall(2, 1, callback)) return -1;  // stack: prelude delivered
  return lua_toboolean(L, -1) ? 1 : 0;
}

}  // namespace te::script
