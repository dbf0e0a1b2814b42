#pragma once
// Where strategy VMs come from. Every runner gets its VM from a pool; the pool
// registers it with the pool's one watchdog thread (CPU deadlines) and counts
// it. A VM is never reused: when its lease ends (the runner is gone, the VM
// faulted, broke a budget, or was replaced by a hot reload) it is destroyed.
// A fresh VM costs well under a millisecond, and nothing a strategy did can
// leak into the next one.
//
// Thread-safe. The pool must outlive every lease it handed out (asserted).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "engine/script/lua_vm.hpp"
#include "engine/script/vm_limits.hpp"
#include "engine/script/watchdog.hpp"

namespace te::script {

class VmPool;

struct VmReturn {
  VmPool* pool = nullptr;
  void operator()(LuaVm* vm) const noexcept;
};
using VmLease = std::unique_ptr<LuaVm, VmReturn>;

// Why a VM was given back (for the pool's statistics).
enum class Discard : std::uint8_t { Closed, Replaced, Faulted, Deadline, Memory };
std::string_view to_string(Discard d) noexcept;

struct VmPoolStats {
  std::uint64_t created = 0;
  std::uint64_t destroyed = 0;
  std::uint64_t live = 0;
  std::uint64_t replaced = 0;         // hot reloads
  std::uint64_t faulted = 0;          // strategy errors that stopped a runner
  std::uint64_t deadline_trips = 0;   // VMs discarded for a CPU deadline
  std::uint64_t memory_trips = 0;     // VMs discarded for the memory budget
  std::size_t live_memory_bytes = 0;  // sum over live VMs (allocator counts)
};

class VmPool {
 public:
  explicit VmPool(VmLimits limits = {});
  ~VmPool();
  VmPool(const VmPool&) = delete;
  VmPool& operator=(const VmPool&) = delete;

  const VmLimits& limits() const noexcept { return limits_; }

  // A fresh VM with `limits`' memory budget and callback deadline, watched by
  // this pool's watchdog. Aborts only when the process itself is out of memory.
  VmLease acquire(const VmLimits& limits);
  VmLease acquire() { return acquire(limits_); }

  // Ends a lease early, recording why (the VM is destroyed).
  void discard(VmLease vm, Discard why) noexcept;

  VmPoolStats stats() const;

 private:
  friend struct VmReturn;
  void release(LuaVm* vm) noexcept;

  VmLimits limits_;
  Watchdog watchdog_;
  std::atomic<std::uint64_t> created_{0}, destroyed_{0}, replaced_{0}, faulted_{0}, deadline_{0}, memory_{0};
  mutable std::mutex live_mutex_;
  std::vector<const LuaVm*> live_;
};

}  // namespace te::script
