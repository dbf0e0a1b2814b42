#include "engine/script/c_stack.hpp"

#include <pthread.h>

#include <cstdint>

#include <lua.hpp>

namespace te::script {
namespace {

const char* stack_low_end() noexcept {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return nullptr;
  void* addr = nullptr;
  std::size_t size = 0;
  const bool ok = pthread_attr_getstack(&attr, &addr, &size) == 0;
  pthread_attr_destroy(&attr);
  return ok ? static_cast<const char*>(addr) : nullptr;
}

}  // namespace

std::size_t c_stack_room() noexcept {
  thread_local const char* const low = stack_low_end();
  if (low == nullptr) return SIZE_MAX;
  const auto* here = static_cast<const char*>(__builtin_frame_address(0));
  return here > low ? static_cast<std::size_t>(here - low) : 0;
}

void check_c_stack(lua_State* L, const char* what, int level) {
  if (c_stack_room() >= kCStackReserve) return;
  luaL_where(L, level);
  lua_pushfstring(L, "%s: nested too deeply (the native stack is nearly used up; see docs/sandbox.md)", what);
  lua_concat(L, 2);
  lua_error(L);
}

int lua_check_c_stack(lua_State* L) {
  check_c_stack(L, luaL_optstring(L, 1, "call"), 2);
  return 0;
}

}  // namespace te::script
