#include "engine/script/lua_vm.hpp"

#include <lua.hpp>

#include "engine/core/assert.hpp"

namespace te::script {

LuaVm::LuaVm() {
  L_ = luaL_newstate();
  TE_ASSERT(L_ != nullptr, "could not create a Lua state (out of memory)");
}

LuaVm::~LuaVm() {
  if (L_) lua_close(L_);
}

std::size_t LuaVm::memory_bytes() const noexcept {
  return static_cast<std::size_t>(lua_gc(L_, LUA_GCCOUNT, 0)) * 1024u +
         static_cast<std::size_t>(lua_gc(L_, LUA_GCCOUNTB, 0));
}

StackGuard::StackGuard(lua_State* L) noexcept : L_(L), top_(lua_gettop(L)) {}
StackGuard::~StackGuard() { lua_settop(L_, top_); }

}  // namespace te::script
