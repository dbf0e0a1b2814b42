#include "engine/script/jit_trace_log.hpp"

#include <lua.hpp>

#include <fmt/core.h>

namespace te::script {

std::string describe_trace_error(int error, const std::string& info, const std::string& vmdef_path) {
  const std::string fallback = fmt::format("trace error {}{}{}", error, info.empty() ? "" : " ", info);
  lua_State* L = luaL_newstate();
  if (!L) return fallback;
  std::string out = fallback;
  // vmdef.lua is a plain data module (return { bcnames = ..., traceerr = {...} }).
  if (luaL_loadfile(L, vmdef_path.c_str()) == 0 && lua_pcall(L, 0, 1, 0) == 0 && lua_istable(L, -1)) {
    lua_getfield(L, -1, "traceerr");
    if (lua_istable(L, -1)) {
      lua_rawgeti(L, -1, error);
      if (const char* fmt_text = lua_tostring(L, -1)) {
        // The messages use one %s or %d for `info`; substitute it as text.
        std::string msg = fmt_text;
        const auto p = msg.find('%');
        if (p != std::string::npos && p + 1 < msg.size()) msg.replace(p, 2, info);
        out = msg;
      }
    }
  }
  lua_close(L);
  return out;
}

}  // namespace te::script
