#pragma once
// Room left on the C stack, for Lua functions written in C that call back into
// Lua. Such calls nest on the thread's own stack, which LuaJIT does not limit
// (only the Lua stack has a limit): a strategy recursing through
// string.gsub's replacement function, or resuming coroutines inside
// coroutines, ran the thread's stack out and crashed the engine with SIGSEGV.
// Each such entry point checks the room first and raises an ordinary Lua
// error when it is short.
#include <cstddef>

struct lua_State;

namespace te::script {

// Kept free for what still runs after the check fails: the error's message and
// traceback, the error handler and the unwinding.
inline constexpr std::size_t kCStackReserve = 256 * 1024;

// Bytes between the caller's frame and the end of the calling thread's stack
// (bounds read once per thread); SIZE_MAX when the bounds are unknown.
std::size_t c_stack_room() noexcept;

// Raises "<what>: nested too deeply (...)" when the room is under the reserve,
// positioned at call level `level` (1: the Lua caller of the C function that
// asks). Returns normally otherwise.
void check_c_stack(lua_State* L, const char* what, int level = 1);

// cfg.c_stack_check(what) for the trusted Lua files: the check above, for the
// wrappers of coroutine.resume and coroutine.wrap in lua/sandbox.lua (the
// error names the line of the strategy that called the wrapper).
int lua_check_c_stack(lua_State* L);

}  // namespace te::script
