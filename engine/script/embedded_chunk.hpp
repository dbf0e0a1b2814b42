#pragma once
// Loads one of the trusted Lua files embedded in the binary as a function.
#include <string_view>

struct lua_State;

namespace te::script {

// stack: -> function (status 0), or -> message (a Lua load error status; the
// message names the file). Bytecode when the build compiled the file (no
// parsing: ~1.5 ms per VM for the prelude's files), its text otherwise; the
// chunk name is "@<path>" either way, so errors and tracebacks read the same.
// Only for paths of embedded files: the bytecode is the build's own, never a
// strategy's (strategies load as text only).
int load_embedded_chunk(lua_State* L, std::string_view path);

}  // namespace te::script
