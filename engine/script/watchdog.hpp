#pragma once
// CPU deadlines for strategy callbacks without a standing hook (STYLE B3.6).
//
// Each VM has a CallMonitor. The runner thread marks the start and the end of a
// monitored call with one relaxed store each (an odd epoch means "inside a
// call"); it never reads a clock. One Watchdog thread per VmPool samples the
// monitors every tick: when it sees the same odd epoch for longer than the
// call's timeout, measured on the runner thread's CPU clock, it arms
// lua_sethook(count = 1) on that VM. LuaJIT is built with
// LUAJIT_ENABLE_CHECKHOOK, so compiled traces leave for the interpreter once a
// hook is set and the hook runs on the next instruction. The hook raises an
// error and stays armed, so a strategy's own pcall cannot swallow it; the host
// clears it after its outer lua_pcall returns and discards the VM.
//
// Races are resolved by the epoch: a hook armed for a call that has already
// ended finds a different epoch when it runs and removes itself. Arming and
// disarming are serialised by hook_mutex (lua_sethook is not atomic).
#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct lua_State;
struct lua_Debug;

namespace te::script {

enum class Trip : int { None = 0, Deadline = 1, Memory = 2 };

using HookFn = void (*)(lua_State*, lua_Debug*);

class CallMonitor {
 public:
  static constexpr std::int64_t kNoClock = INT64_MIN;
  CallMonitor() = default;
  CallMonitor(const CallMonitor&) = delete;
  CallMonitor& operator=(const CallMonitor&) = delete;

  void attach(lua_State* L, HookFn hook) noexcept {
    L_ = L;
    hook_ = hook;
  }

  // --- runner thread -------------------------------------------------------
  // Marks the start of a monitored call; returns its epoch (odd).
  std::uint64_t enter() noexcept {
    if (!bound_ || !pthread_equal(bound_thread_, pthread_self())) bind_thread();
    local_epoch_ += 1;
    epoch_.store(local_epoch_, std::memory_order_relaxed);
    return local_epoch_;
  }
  // Binds the monitor to the calling thread (as enter() does), for the
  // enter_bound() calls that follow on this thread: the batch loop's
  // callbacks all run on the thread that started the batch.
  void bind_current() noexcept {
    if (!bound_ || !pthread_equal(bound_thread_, pthread_self())) bind_thread();
  }
  std::uint64_t enter_bound() noexcept {
    local_epoch_ += 1;
    epoch_.store(local_epoch_, std::memory_order_relaxed);
    return local_epoch_;
  }
  void leave() noexcept {
    local_epoch_ += 1;
    epoch_.store(local_epoch_, std::memory_order_relaxed);
  }
  bool inside() const noexcept { return (local_epoch_ & 1u) != 0; }
  std::uint64_t current_epoch() const noexcept { return local_epoch_; }
  // CPU budget of the calls that follow; 0 disables the deadline.
  void set_timeout_ns(std::int64_t ns) noexcept { timeout_ns_.store(ns, std::memory_order_relaxed); }
  std::int64_t timeout_ns() const noexcept { return timeout_ns_.load(std::memory_order_relaxed); }
  // What tripped call `epoch`, if anything.
  Trip trip_of(std::uint64_t epoch) const noexcept {
    if (trip_epoch_.load(std::memory_order_acquire) != epoch) return Trip::None;
    return static_cast<Trip>(trip_.load(std::memory_order_relaxed));
  }
  // Removes the hook (after the outer pcall of a tripped call returned, or
  // from the hook when it finds itself stale).
  void disarm() noexcept;
  // Removes the hook unless call `epoch` is tripped (a hook armed for a call
  // that has already ended).
  void disarm_if_stale(std::uint64_t epoch) noexcept;
  // Forgets a memory trip the collector could resolve (hook only).
  void clear_memory_trip() noexcept;

  // Names for messages, set by the host (runner thread; read by the hook).
  const char* callback = "";
  std::string chunkname;     // "strategies/x.lua"
  std::string trip_message;  // composed by the hook, read by the host

  // --- any thread -----------------------------------------------------------
  // Arms the hook for `epoch` unless that call has already ended. `toggle`
  // re-writes the hook even when it is set (the watchdog does this on every
  // tick while a call is overdue, so a hook write that raced with the VM's own
  // dispatch update is repaired). Returns false when the call has ended.
  bool arm(Trip reason, std::uint64_t epoch, bool toggle) noexcept;

 private:
  friend class Watchdog;
  void bind_thread() noexcept;

  lua_State* L_ = nullptr;
  HookFn hook_ = nullptr;

  // written by the runner thread, read by the watchdog
  std::atomic<std::uint64_t> epoch_{0};
  std::atomic<std::int64_t> timeout_ns_{0};
  std::atomic<std::int64_t> cpu_clock_{kNoClock};  // clockid_t of the runner thread (CPU clock ids are negative)

  // trip state, written under hook_mutex_
  std::mutex hook_mutex_;
  std::atomic<std::uint64_t> trip_epoch_{0};
  std::atomic<int> trip_{0};
  bool hook_set_ = false;

  // runner thread only
  std::uint64_t local_epoch_ = 0;
  pthread_t bound_thread_{};
  bool bound_ = false;

  // watchdog thread only
  std::uint64_t seen_epoch_ = 0;
  std::int64_t seen_cpu_ns_ = 0;
  std::int64_t seen_wall_ns_ = 0;
};

struct WatchdogStats {
  std::uint64_t ticks = 0;
  std::uint64_t deadline_trips = 0;
};

// One sampling thread for many monitors, started on the first add(). Thread
// safe. Monitors must be removed before they are destroyed; remove() returns
// only when the watchdog can no longer touch the monitor.
class Watchdog {
 public:
  Watchdog() = default;
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void add(CallMonitor& m);
  void remove(CallMonitor& m);
  WatchdogStats stats() const;

  // Sampling period for a given smallest timeout: an eighth of it, between 1
  // and 20 ms, so a call is stopped after at most 1.125x its budget of CPU
  // time (plus the time to reach the next Lua instruction).
  static std::int64_t tick_for(std::int64_t min_timeout_ns) noexcept;

 private:
  void run();
  void scan(std::int64_t now_wall_ns, std::int64_t& min_timeout_ns);

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<CallMonitor*> monitors_;
  bool stop_ = false;
  bool started_ = false;
  std::thread thread_;
  WatchdogStats stats_;
};

}  // namespace te::script
