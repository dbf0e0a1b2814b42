#include "engine/script/static_scan.hpp"

#include <lua.hpp>

#include "engine/script/embedded_chunk.hpp"
#include "engine/script/lua_vm.hpp"

namespace te::script {
namespace {

void open_lib(lua_State* L, lua_CFunction open, const char* name) {
  lua_pushcfunction(L, open);
  lua_pushstring(L, name);
  lua_call(L, 1, 0);
}

// The compiler's memory for a file of at most kMaxStrategyBytes: generous,
// only there so a pathological file cannot take the process down.
constexpr std::size_t kScanMemoryBytes = 512 * kMiB;

}  // namespace

Result<std::vector<GlobalUse>> scan_globals(const StrategySource& source) {
  if (!source.code.empty() && source.code[0] == '\x1b')
    return make_error(Errc::invalid_argument, source.path + ": precompiled bytecode is not accepted; give the Lua source");
  // Trusted VM: it compiles the strategy but never calls it.
  LuaVm vm(kScanMemoryBytes);
  lua_State* L = vm.state();
  StackGuard guard(L);
  open_lib(L, luaopen_base, "");
  open_lib(L, luaopen_string, LUA_STRLIBNAME);
  open_lib(L, luaopen_bit, LUA_BITLIBNAME);
  open_lib(L, luaopen_jit, LUA_JITLIBNAME);  // registers the jit.util loader in _PRELOAD

  if (load_embedded_chunk(L, "lua/static_scan.lua") != 0)
    return make_error(Errc::internal, std::string("load the static scan: ") + lua_tostring(L, -1));
  // stack: scan -> scan util
  lua_getfield(L, LUA_REGISTRYINDEX, "_PRELOAD");
  lua_getfield(L, -1, "jit.util");
  lua_remove(L, -2);
  if (!lua_isfunction(L, -1)) return make_error(Errc::internal, "this LuaJIT build has no jit.util");
  lua_pushstring(L, "jit.util");
  if (lua_pcall(L, 1, 1, 0) != 0) return make_error(Errc::internal, std::string("jit.util: ") + lua_tostring(L, -1));
  lua_pushlstring(L, source.code.data(), source.code.size());
  lua_pushlstring(L, source.path.data(), source.path.size());
  // stack: scan util code name -> result [message]
  if (lua_pcall(L, 3, 2, 0) != 0)
    return make_error(Errc::internal, std::string("static scan failed: ") + lua_tostring(L, -1));
  if (lua_isnil(L, -2)) {
    const char* msg = lua_tostring(L, -1);
    return make_error(Errc::invalid_argument, msg ? msg : source.path + ": syntax error");
  }
  std::vector<GlobalUse> out;
  const int n = static_cast<int>(lua_objlen(L, -2));
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 1; i <= n; ++i) {
    lua_rawgeti(L, -2, i);
    GlobalUse u;
    lua_rawgeti(L, -1, 1);
    if (const char* s = lua_tostring(L, -1)) u.name = s;
    lua_rawgeti(L, -2, 2);
    u.line = static_cast<int>(lua_tointeger(L, -1));
    lua_rawgeti(L, -3, 3);
    u.write = lua_toboolean(L, -1) != 0;
    lua_rawgeti(L, -4, 4);
    u.top_level = lua_toboolean(L, -1) != 0;
    lua_pop(L, 5);
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace te::script
