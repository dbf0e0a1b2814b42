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

  // Appends `events` in order with consecutive sequence numbers and returns the
  // first (0 when all were filtered out); leaves `events` empty. On error,
  // `events` keeps those that were not recorded. Sinks that can take a batch at
  // once (JournalWriter) override this.
  virtual Result<std::uint64_t> append_batch(std::vector<Event>& events) {
    std::uint64_t first = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
      auto seq = append(std::move(events[i]));
      if (!seq) {
        events.erase(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(i));
        return seq;
      }
      if (first == 0) first = *seq;
    }
    events.clear();
    return first;
  }
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
