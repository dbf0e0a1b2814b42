#pragma once
// Where runners, execution and risk send journal events. The engine holds an
// EventSink& (a JournalWriter when recording, a MemoryEventSink in tests, or a
// NullEventSink when recording is off), never a concrete writer.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/journal/event.hpp"

namespace te::journal {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Assigns the next sequence number to `event`, records it and returns the
  // number (0: the sink filtered the event out by configuration, e.g. indicator
  // values when they are not recorded). Thread-safe in every implementation.
  virtual Result<std::uint64_t> append(Event event) = 0;
};

class NullEventSink final : public EventSink {
 public:
  Result<std::uint64_t> append(Event) override { return next_.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> next_{1};
};

// Keeps every event in memory (tests, small tools).
class MemoryEventSink final : public EventSink {
 public:
  Result<std::uint64_t> append(Event event) override {
    std::lock_guard lock(mu_);
    event.sequence = events_.size() + 1;
    events_.push_back(std::move(event));
    return events_.back().sequence;
  }
  // Not synchronised with concurrent append(): read after the producers stop.
  const std::vector<Event>& events() const noexcept { return events_; }

 private:
  std::mutex mu_;
  std::vector<Event> events_;
};

}  // namespace te::journal
