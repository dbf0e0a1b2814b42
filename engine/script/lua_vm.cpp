#include "engine/script/lua_vm.hpp"

#include <lua.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#include <fmt/core.h>

#include "engine/core/assert.hpp"

namespace te::script {
namespace {

// Room above the budget for the error path (message, traceback, one
// collection) once the budget has been crossed.
std::size_t slack_for(std::size_t limit) { return std::max<std::size_t>(256 * 1024, limit / 32); }

int panic(lua_State* L) {
  const char* msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(error object is not a string)";
  TE_ASSERT(false, "unprotected error in a Lua state (a host bug, not a strategy error): %s", msg);
  return 0;
}

// "strategies/x.lua:12" of the innermost frame that belongs to the strategy,
// else of the innermost Lua frame. stack: unchanged.
std::string strategy_location(lua_State* L, const std::string& chunkname) {
  lua_Debug ar;
  std::string fallback;
  for (int level = 0; level < 64 && lua_getstack(L, level, &ar); ++level) {
    if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0) continue;
    if (ar.source != nullptr && ar.source[0] == '@' && chunkname == ar.source + 1)
      return fmt::format("{}:{}", chunkname, ar.currentline);
    if (fallback.empty()) fallback = fmt::format("{}:{}", ar.short_src, ar.currentline);
  }
  return fallback.empty() ? chunkname : fallback;
}

}  // namespace

LuaVm::LuaVm(std::size_t memory_limit_bytes) : limit_(memory_limit_bytes) {
  hard_limit_ = limit_ == 0 ? 0 : limit_ + slack_for(limit_);
  collect_at_ = limit_ / 2;
  update_fast_limit();
  L_ = lua_newstate(&LuaVm::allocate, this);
  TE_ASSERT(L_ != nullptr, "could not create a Lua state (out of memory, or LuaJIT built without GC64)");
  lua_atpanic(L_, panic);
  monitor_.attach(L_, &LuaVm::hook);
}

LuaVm::~LuaVm() {
  if (!L_) return;
  monitor_.disarm();
  lua_close(L_);
}

// The two calls a running strategy makes most, a new small object and the
// release of a pooled one (ema_cross: ~575,000 per 1M bars, the tables of its
// refused entries), without the general path's register saves: a leaf that
// pops or pushes a free list and counts the bytes, as allocate_any does.
void* LuaVm::allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) noexcept {
  auto* vm = static_cast<LuaVm*>(ud);
  SmallBlocks& blocks = vm->blocks_;
  const std::size_t used = vm->used_.load(std::memory_order_relaxed);
  if (nsize == 0) {
    if (ptr != nullptr && blocks.owns(ptr)) [[likely]] {
      blocks.release(ptr, osize);
      vm->used_.store(used - osize, std::memory_order_relaxed);
      return nullptr;
    }
  } else if (ptr == nullptr && SmallBlocks::small(nsize)) {
    const std::size_t now = used - osize + nsize;
    // Below fast_limit_ the budget's tests (allocate_any) pass without acting,
    // inside a callback or not; above it allocate_any decides.
    if (now <= vm->fast_limit_) {
      if (void* p = blocks.take(nsize)) [[likely]] {
        vm->used_.store(now, std::memory_order_relaxed);
        if (now > vm->peak_.load(std::memory_order_relaxed)) vm->peak_.store(now, std::memory_order_relaxed);
        return p;
      }
    }
  }
  return allocate_any(vm, ptr, osize, nsize);
}

void* LuaVm::allocate_any(LuaVm* vm, void* ptr, std::size_t osize, std::size_t nsize) noexcept {
  SmallBlocks& blocks = vm->blocks_;
  const std::size_t used = vm->used_.load(std::memory_order_relaxed);
  // A block lives in blocks_ (small, while the pool had room) or with malloc;
  // its address says which. LuaJIT passes a block's true size as osize, which
  // gives a pool block's class.
  const bool pooled = ptr != nullptr && blocks.owns(ptr);
  if (nsize == 0) {
    if (pooled) blocks.release(ptr, osize);
    else std::free(ptr);
    vm->used_.store(used - osize, std::memory_order_relaxed);
    return nullptr;
  }
  if (nsize > osize && vm->limit_ != 0 && vm->enforce_ && vm->monitor_.inside()) {
    const std::size_t after = used + (nsize - osize);
    if (after > vm->hard_limit_) {
      vm->refused_ = nsize;
      vm->over_budget();
      return nullptr;  // LUA_ERRMEM at the allocation site
    }
    if (after > vm->collect_at_ && !vm->over_) vm->over_budget();
  }
  void* p;
  if (pooled && SmallBlocks::small(nsize) && SmallBlocks::same_class(osize, nsize)) {
    p = ptr;
  } else if (ptr != nullptr && !pooled && !SmallBlocks::small(nsize)) {
    p = std::realloc(ptr, nsize);
    if (p == nullptr) {
      if (nsize > osize) return nullptr;
      p = ptr;  // a failed shrink leaves the (larger) block valid
    }
  } else {
    // A new block, or one that changes home or class: allocate, copy, give back.
    p = SmallBlocks::small(nsize) ? blocks.allocate(nsize) : nullptr;
    if (p == nullptr) p = std::malloc(nsize);  // large, or the pool is full
    if (p == nullptr) {
      if (ptr == nullptr || nsize > osize) return nullptr;
      // A failed shrink keeps the old (larger) block; a pool block stays in its
      // class, which its next size may name differently: it is then filed
      // under a smaller class than it has, which wastes its tail, nothing more.
      p = ptr;
    } else if (ptr != nullptr) {
      std::memcpy(p, ptr, std::min(osize, nsize));
      if (pooled) blocks.release(ptr, osize);
      else std::free(ptr);
    }
  }
  const std::size_t now = used - osize + nsize;
  vm->used_.store(now, std::memory_order_relaxed);
  if (now > vm->peak_.load(std::memory_order_relaxed)) vm->peak_.store(now, std::memory_order_relaxed);
  return p;
}

void LuaVm::enforce_budget(bool on) noexcept {
  enforce_ = on;
  update_fast_limit();
  // (Set when the strategy's code starts: the prelude's load keeps LuaJIT's
  // default, so an idle runner holds no more garbage than before.)
  // Only with a budget: its collection point is what keeps the larger pause
  // safe (an unlimited VM keeps LuaJIT's 200 %).
  if (on && limit_ != 0 && L_ != nullptr) lua_gc(L_, LUA_GCSETPAUSE, kStrategyGcPause);
}

void LuaVm::update_fast_limit() noexcept {
  if (limit_ == 0 || !enforce_) fast_limit_ = std::numeric_limits<std::size_t>::max();
  else fast_limit_ = over_ ? hard_limit_ : std::min(collect_at_, hard_limit_);
}

void LuaVm::over_budget() noexcept {
  over_ = true;
  update_fast_limit();
  if (monitor_.inside()) monitor_.arm(Trip::Memory, monitor_.current_epoch(), false);
}

// Runs on the runner thread at the next Lua instruction after a trip. Raises
// (and stays armed, so pcall inside the strategy cannot swallow it) unless the
// trip is stale or a collection resolves a memory trip.
void LuaVm::hook(lua_State* L, lua_Debug*) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  auto* vm = static_cast<LuaVm*>(ud);
  CallMonitor& m = vm->monitor_;
  const std::uint64_t epoch = m.current_epoch();
  const Trip trip = m.inside() ? m.trip_of(epoch) : Trip::None;
  if (trip == Trip::None) {
    m.disarm_if_stale(epoch);
    // A memory trip of a callback that ended before the hook ran: without
    // this, over_ would stay set and no later crossing of the collection
    // point would arm the hook again (only LuaJIT's own collector, at
    // kStrategyGcPause, would then stand between garbage and the budget).
    if (vm->over_) {
      vm->over_ = false;
      vm->update_fast_limit();
    }
    return;
  }
  if (trip == Trip::Memory && m.trip_message.empty()) {
    // Garbage counts against the budget until the collector runs; give the
    // strategy one full collection (at half the budget, and again whenever
    // usage is halfway to it) before calling it out of memory.
    lua_gc(L, LUA_GCCOLLECT, 0);
    const std::size_t used = vm->used_.load(std::memory_order_relaxed);
    if (used <= vm->limit_ - vm->limit_ / 16) {
      vm->collect_at_ = std::max(vm->limit_ / 2, used + (vm->limit_ - used) / 2);
      vm->over_ = false;
      vm->update_fast_limit();
      m.clear_memory_trip();
      return;
    }
  }
  if (m.trip_message.empty()) {
    const std::string where = strategy_location(L, m.chunkname);
    if (trip == Trip::Deadline) {
      m.trip_message = fmt::format("{}: {} exceeded its CPU deadline of {} ms ([sandbox] callback_timeout_ms)", where,
                                   m.callback, static_cast<double>(m.timeout_ns()) / 1e6);
    } else {
      m.trip_message = fmt::format("{}: {} exceeded the memory budget of {} MB ([sandbox] memory_limit_mb)", where,
                                   m.callback, static_cast<double>(vm->limit_) / (1024.0 * 1024.0));
    }
  }
  lua_pushlstring(L, m.trip_message.data(), m.trip_message.size());
  lua_error(L);
}

StackGuard::StackGuard(lua_State* L) noexcept : L_(L), top_(lua_gettop(L)) {}
StackGuard::~StackGuard() { lua_settop(L_, top_); }

}  // namespace te::script
