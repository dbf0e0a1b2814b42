#pragma once
// RAII owner of one LuaJIT state. Not thread-safe: one runner thread at a time.
// Libraries are opened one by one (never luaL_openlibs, which would make `ffi`
// reachable through package.loaded); see docs/sandbox.md.
#include <cstddef>
#include <memory>
#include <string>

struct lua_State;

namespace te::script {

class LuaVm {
 public:
  LuaVm();
  ~LuaVm();
  LuaVm(const LuaVm&) = delete;
  LuaVm& operator=(const LuaVm&) = delete;

  lua_State* state() const noexcept { return L_; }
  // Bytes currently allocated by this state (as reported by the collector).
  std::size_t memory_bytes() const noexcept;

 private:
  lua_State* L_ = nullptr;
};

// Restores the Lua stack height on scope exit (every host->Lua call uses one).
class StackGuard {
 public:
  explicit StackGuard(lua_State* L) noexcept;
  ~StackGuard();
  StackGuard(const StackGuard&) = delete;
  StackGuard& operator=(const StackGuard&) = delete;

 private:
  lua_State* L_;
  int top_;
};

}  // namespace te::script
