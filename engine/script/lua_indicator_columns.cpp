// `trading-engine indicators --compute` for indicators written in Lua
// (indicators/*.lua): the columns come out of the same prelude code that serves
// ind.<name>(...) to strategies (lua/lua_indicators.lua, M.indicator_columns),
// in the host's sandboxed VM under the strategy budgets. Kept apart from
// strategy_host.cpp: a tool path, not the per-bar path of a runner.
#include <lua.hpp>

#include <cmath>
#include <string>

#include "engine/script/lua_vm.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::script {

Result<int> StrategyHost::add_indicator_column(std::string_view name, std::span<const double> params,
                                               std::string_view source, std::string_view timeframe) {
  if (poisoned_) return make_error(Errc::invalid_argument, "the indicator VM was discarded: " + error_.message);
  lua_State* L = vm_->state();
  StackGuard guard(L);
  // stack: -> prelude columns add name params source tf
  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  lua_getfield(L, -1, "indicator_columns");
  lua_getfield(L, -1, "add");
  lua_pushlstring(L, name.data(), name.size());
  lua_createtable(L, static_cast<int>(params.size()), 0);
  for (std::size_t i = 0; i < params.size(); ++i) {
    lua_pushnumber(L, params[i]);
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  lua_pushlstring(L, source.data(), source.size());
  lua_pushlstring(L, timeframe.data(), timeframe.size());
  if (!pcall(4, 1, "an indicator column")) return make_error(Errc::invalid_argument, error_.message);
  return static_cast<int>(lua_tointeger(L, -1));
}

Status StrategyHost::read_indicator_columns(std::vector<double>& out) {
  if (poisoned_) return make_error(Errc::invalid_argument, error_.message);
  lua_State* L = vm_->state();
  StackGuard guard(L);
  CallMonitor& m = vm_->monitor();
  m.callback = "an indicator update";
  // stack: -> prelude columns handler read -> prelude columns values...
  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  lua_getfield(L, -1, "indicator_columns");
  lua_rawgeti(L, LUA_REGISTRYINDEX, traceback_ref_);
  const int base = lua_gettop(L);
  lua_getfield(L, -2, "read");
  frame_.phase = 1;
  // The callback deadline and the memory budget, exactly as for a strategy callback.
  const std::uint64_t epoch = m.enter();
  const int rc = lua_pcall(L, 0, LUA_MULTRET, base);
  m.leave();
  if (rc != 0) {
    fail_call(rc, epoch, base, "an indicator update");
    return make_error(Errc::invalid_argument, error_.message);
  }
  const int top = lua_gettop(L);
  for (int i = base + 1; i <= top; ++i)
    out.push_back(lua_type(L, i) == LUA_TNUMBER ? lua_tonumber(L, i) : std::nan(""));
  return {};
}

}  // namespace te::script
