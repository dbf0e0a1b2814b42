#include "engine/script/watchdog.hpp"

#include <lua.hpp>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <limits>

namespace te::script {
namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;

std::int64_t read_clock(clockid_t id, bool& ok) noexcept {
  timespec ts{};
  ok = ::clock_gettime(id, &ts) == 0;
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

void CallMonitor::bind_thread() noexcept {
  bound_thread_ = pthread_self();
  bound_ = true;
  clockid_t id{};
  cpu_clock_.store(pthread_getcpuclockid(bound_thread_, &id) == 0 ? static_cast<std::int64_t>(id) : kNoClock,
                   std::memory_order_relaxed);
}

bool CallMonitor::arm(Trip reason, std::uint64_t epoch, bool toggle) noexcept {
  std::lock_guard<std::mutex> lock(hook_mutex_);
  if (L_ == nullptr || epoch_.load(std::memory_order_acquire) != epoch) return false;
  if (trip_epoch_.load(std::memory_order_relaxed) != epoch) {
    trip_.store(static_cast<int>(reason), std::memory_order_relaxed);
    trip_epoch_.store(epoch, std::memory_order_release);
  }
  if (hook_set_ && toggle) lua_sethook(L_, nullptr, 0, 0);
  if (!hook_set_ || toggle) lua_sethook(L_, hook_, LUA_MASKCOUNT, 1);
  hook_set_ = true;
  return true;
}

void CallMonitor::disarm() noexcept {
  std::lock_guard<std::mutex> lock(hook_mutex_);
  if (hook_set_ && L_ != nullptr) lua_sethook(L_, nullptr, 0, 0);
  hook_set_ = false;
}

void CallMonitor::disarm_if_stale(std::uint64_t epoch) noexcept {
  std::lock_guard<std::mutex> lock(hook_mutex_);
  if (trip_epoch_.load(std::memory_order_relaxed) == epoch) return;
  if (hook_set_ && L_ != nullptr) lua_sethook(L_, nullptr, 0, 0);
  hook_set_ = false;
}

void CallMonitor::clear_memory_trip() noexcept {
  std::lock_guard<std::mutex> lock(hook_mutex_);
  if (trip_epoch_.load(std::memory_order_relaxed) != local_epoch_ ||
      trip_.load(std::memory_order_relaxed) != static_cast<int>(Trip::Memory))
    return;
  trip_epoch_.store(0, std::memory_order_release);
  trip_.store(0, std::memory_order_relaxed);
  if (hook_set_ && L_ != nullptr) lua_sethook(L_, nullptr, 0, 0);
  hook_set_ = false;
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::int64_t Watchdog::tick_for(std::int64_t min_timeout_ns) noexcept {
  return std::clamp<std::int64_t>(min_timeout_ns / 8, 1 * kNsPerMs, 20 * kNsPerMs);
}

void Watchdog::add(CallMonitor& m) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    monitors_.push_back(&m);
    if (!started_) {
      started_ = true;
      thread_ = std::thread([this] { run(); });
    }
  }
  cv_.notify_all();  // the new monitor may need a shorter tick
}

void Watchdog::remove(CallMonitor& m) {
  std::lock_guard<std::mutex> lock(mutex_);
  monitors_.erase(std::remove(monitors_.begin(), monitors_.end(), &m), monitors_.end());
}

WatchdogStats Watchdog::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void Watchdog::scan(std::int64_t now_wall_ns, std::int64_t& min_timeout_ns) {
  for (CallMonitor* m : monitors_) {
    const std::int64_t timeout = m->timeout_ns_.load(std::memory_order_relaxed);
    if (timeout > 0) min_timeout_ns = std::min(min_timeout_ns, timeout);
    const std::uint64_t e = m->epoch_.load(std::memory_order_relaxed);
    if ((e & 1u) == 0 || timeout <= 0) {
      m->seen_epoch_ = e;
      continue;
    }
    // CPU time of the runner thread: a preempted runner on a loaded machine
    // is not charged for the time it did not run.
    bool cpu_ok = false;
    const std::int64_t clock = m->cpu_clock_.load(std::memory_order_relaxed);
    std::int64_t cpu = clock != CallMonitor::kNoClock ? read_clock(static_cast<clockid_t>(clock), cpu_ok) : 0;
    if (e != m->seen_epoch_) {
      m->seen_epoch_ = e;
      m->seen_cpu_ns_ = cpu_ok ? cpu : -1;
      m->seen_wall_ns_ = now_wall_ns;
      continue;
    }
    const std::int64_t used = cpu_ok && m->seen_cpu_ns_ >= 0 ? cpu - m->seen_cpu_ns_ : now_wall_ns - m->seen_wall_ns_;
    if (used < timeout) continue;
    const bool first = m->trip_epoch_.load(std::memory_order_relaxed) != e;
    if (m->arm(Trip::Deadline, e, true) && first) ++stats_.deadline_trips;
  }
}

void Watchdog::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    bool ok = false;
    const std::int64_t now = read_clock(CLOCK_MONOTONIC, ok);
    std::int64_t min_timeout = std::numeric_limits<std::int64_t>::max();
    scan(now, min_timeout);
    ++stats_.ticks;
    // Idle (no deadline anywhere): sleep until a monitor is added.
    const std::int64_t tick = min_timeout == std::numeric_limits<std::int64_t>::max() ? 200 * kNsPerMs
                                                                                    : tick_for(min_timeout);
    cv_.wait_for(lock, std::chrono::nanoseconds(tick));
  }
}

}  // namespace te::script
