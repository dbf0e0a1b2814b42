#include "engine/script/embedded_chunk.hpp"

#include <string>

#include <lua.hpp>

#include "engine/script/embedded.hpp"

namespace te::script {

int load_embedded_chunk(lua_State* L, std::string_view path) {
  for (const auto& f : embedded_files()) {
    if (f.path != path) continue;
    std::string chunkname(1, '@');  // (not "@" + ...: GCC 12 misreports -Wrestrict there)
    chunkname.append(path);
    if (!f.bytecode.empty()) return luaL_loadbufferx(L, f.bytecode.data(), f.bytecode.size(), chunkname.c_str(), "b");
    return luaL_loadbufferx(L, f.text.data(), f.text.size(), chunkname.c_str(), "t");
  }
  lua_pushfstring(L, "trusted Lua file %s is not embedded", std::string(path).c_str());
  return LUA_ERRFILE;
}

}  // namespace te::script
