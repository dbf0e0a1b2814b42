#pragma once
// RAII owner of one LuaJIT state with a memory budget and a call monitor.
// Not thread-safe: one runner thread at a time (the watchdog only touches the
// monitor). Libraries are opened by the host one by one (never
// luaL_openlibs, which would make `ffi` reachable through package.loaded); see
// docs/sandbox.md.
//
// Memory: the state is created with lua_newstate and our allocator, which
// counts every byte. Crossing the budget arms the VM's hook (Trip::Memory): at
// the next Lua instruction the hook runs a full collection and, if the live
// data still does not fit, raises "out of memory" at the strategy's line. While
// the hook is pending, allocations may use a small slack above the budget
// (enough for the error path); a request beyond budget + slack is refused
// outright (LUA_ERRMEM). Either way the call that broke the budget fails and
// the VM is poisoned.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "engine/script/small_blocks.hpp"
#include "engine/script/watchdog.hpp"

struct lua_State;

namespace te::script {

class LuaVm {
 public:
  // LuaJIT's collector pause (a new cycle starts when the heap reaches this
  // percentage of what the last one left alive) while the budget is enforced:
  // 400 instead of LuaJIT's 200, so a strategy that makes garbage on every
  // bar (ema_cross: the setup and spec tables of ~65,000 refused entries per
  // 1M bars) pays for a third of the marking and sweeping of its live heap.
  // The budget stays safe: its collection point (collect_at_, half the budget
  // at first) runs a full collection before the collector's own threshold
  // (4x what was alive) is reached by a strategy holding more than an eighth
  // of its budget (sandbox test "a strategy holding a third of its budget
  // ...": 14 of 32 MB alive, ~60 MB of garbage per bar in a compiled loop).
  // An unlimited VM (no budget, no collection point) keeps LuaJIT's 200 %.
  static constexpr int kStrategyGcPause = 400;

  // memory_limit_bytes 0 = unlimited. Aborts when the process is out of memory.
  explicit LuaVm(std::size_t memory_limit_bytes = 0);
  ~LuaVm();
  LuaVm(const LuaVm&) = delete;
  LuaVm& operator=(const LuaVm&) = delete;

  lua_State* state() const noexcept { return L_; }
  CallMonitor& monitor() noexcept { return monitor_; }
  const CallMonitor& monitor() const noexcept { return monitor_; }

  // Bytes currently held by the state, as counted by the allocator (any
  // thread may read these: relaxed atomics written by the runner thread).
  std::size_t memory_bytes() const noexcept { return used_.load(std::memory_order_relaxed); }
  std::size_t peak_memory_bytes() const noexcept { return peak_.load(std::memory_order_relaxed); }
  std::size_t memory_limit_bytes() const noexcept { return limit_; }
  std::size_t memory_slack_bytes() const noexcept { return hard_limit_ - limit_; }
  // Size of the last request refused for the budget (0 if none).
  std::size_t refused_bytes() const noexcept { return refused_; }

  // The budget applies to strategy code. Host setup (opening libraries,
  // running the trusted prelude) and host-side bookkeeping are counted but not
  // refused, so an unprotected API call can never hit a refusal (which would
  // be a Lua panic). Runner thread only.
  // Turning it on also sets the collector's pause for strategy code
  // (kStrategyGcPause).
  void enforce_budget(bool on) noexcept;
  bool budget_enforced() const noexcept { return enforce_; }

 private:
  static void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) noexcept;
  [[gnu::noinline]] static void* allocate_any(LuaVm* vm, void* ptr, std::size_t osize, std::size_t nsize) noexcept;
  static void hook(lua_State* L, lua_Debug* ar);
  void over_budget() noexcept;
  void update_fast_limit() noexcept;

  lua_State* L_ = nullptr;
  std::size_t limit_ = 0;       // 0 = unlimited
  std::size_t hard_limit_ = 0;  // limit_ + slack
  // Usage at which the hook runs a full collection before the budget is
  // reached (half the budget at first, then halfway from what is live after a
  // collection to the budget). LuaJIT has no emergency collection when an
  // allocation is refused, so garbage alone could otherwise push a single
  // large allocation over the hard limit while little is alive.
  std::size_t collect_at_ = 0;
  bool enforce_ = false;
  bool over_ = false;           // crossed collect_at_ or the budget; hook armed
  // The usage up to which a new small block needs none of the budget's tests
  // (allocate's fast path): unlimited when the budget is off, else collect_at_
  // (hard_limit_ once over_). One compare per allocation instead of the five
  // tests of limit, enforcement, monitor, hard limit and collection point;
  // above it allocate_any applies them (outside a callback they pass).
  std::size_t fast_limit_ = std::numeric_limits<std::size_t>::max();
  std::size_t refused_ = 0;
  std::atomic<std::size_t> used_{0};
  std::atomic<std::size_t> peak_{0};
  CallMonitor monitor_;
  SmallBlocks blocks_;  // destroyed after lua_close (in ~LuaVm) gave every block back
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
