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
        std::string arg = info;
        // "NYI: bytecode %d": name the bytecode (vmdef.bcnames holds 6-char names).
        if (msg.find("bytecode") != std::string::npos && !info.empty() &&
            info.find_first_not_of("0123456789") == std::string::npos) {
          lua_getfield(L, -3, "bcnames");
          std::size_t len = 0;
          const char* names = lua_tolstring(L, -1, &len);
          const std::size_t op = std::stoul(info);
          if (names && (op + 1) * 6 <= len) {
            arg = std::string(names + op * 6, 6);
            arg.erase(arg.find_last_not_of(' ') + 1);
          }
          lua_pop(L, 1);
        }
        const auto p = msg.find('%');
        if (p != std::string::npos && p + 1 < msg.size()) msg.replace(p, 2, arg);
        out = msg;
      }
    }
  }
  lua_close(L);
  return out;
}

}  // namespace te::script
