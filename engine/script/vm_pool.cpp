#include "engine/script/vm_pool.hpp"

#include <algorithm>
#include <cmath>

#include "engine/core/assert.hpp"

namespace te::script {

std::string_view to_string(Discard d) noexcept {
  switch (d) {
    case Discard::Closed: return "closed";
    case Discard::Replaced: return "replaced";
    case Discard::Faulted: return "faulted";
    case Discard::Deadline: return "deadline";
    case Discard::Memory: return "memory";
  }
  return "?";
}

void VmReturn::operator()(LuaVm* vm) const noexcept {
  if (vm == nullptr) return;
  if (pool) {
    pool->release(vm);
  } else {
    delete vm;
  }
}

VmPool::VmPool(VmLimits limits) : limits_(limits) {}

VmPool::~VmPool() {
  std::lock_guard<std::mutex> lock(live_mutex_);
  TE_ASSERT(live_.empty(), "VmPool destroyed while %zu VMs are still leased", live_.size());
}

VmLease VmPool::acquire(const VmLimits& limits) {
  auto vm = std::make_unique<LuaVm>(limits.memory_limit_bytes);
  vm->monitor().set_timeout_ns(static_cast<std::int64_t>(std::llround(limits.callback_timeout_ms * 1e6)));
  {
    std::lock_guard<std::mutex> lock(live_mutex_);
    live_.push_back(vm.get());
  }
  watchdog_.add(vm->monitor());
  created_.fetch_add(1, std::memory_order_relaxed);
  return VmLease(vm.release(), VmReturn{this});
}

void VmPool::discard(VmLease vm, Discard why) noexcept {
  switch (why) {
    case Discard::Closed: break;
    case Discard::Replaced: replaced_.fetch_add(1, std::memory_order_relaxed); break;
    case Discard::Faulted: faulted_.fetch_add(1, std::memory_order_relaxed); break;
    case Discard::Deadline: deadline_.fetch_add(1, std::memory_order_relaxed); break;
    case Discard::Memory: memory_.fetch_add(1, std::memory_order_relaxed); break;
  }
  vm.reset();
}

void VmPool::release(LuaVm* vm) noexcept {
  watchdog_.remove(vm->monitor());  // after this the watchdog cannot touch the VM
  {
    std::lock_guard<std::mutex> lock(live_mutex_);
    live_.erase(std::remove(live_.begin(), live_.end(), vm), live_.end());
  }
  delete vm;
  destroyed_.fetch_add(1, std::memory_order_relaxed);
}

VmPoolStats VmPool::stats() const {
  VmPoolStats s;
  s.created = created_.load(std::memory_order_relaxed);
  s.destroyed = destroyed_.load(std::memory_order_relaxed);
  s.replaced = replaced_.load(std::memory_order_relaxed);
  s.faulted = faulted_.load(std::memory_order_relaxed);
  s.deadline_trips = deadline_.load(std::memory_order_relaxed);
  s.memory_trips = memory_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(live_mutex_);
  s.live = live_.size();
  for (const LuaVm* vm : live_) s.live_memory_bytes += vm->memory_bytes();
  return s;
}

}  // namespace te::script
