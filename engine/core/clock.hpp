#pragma once
// The only source of "now" in the engine. Backtests use TestClock, advanced by the
// data; LiveClock is the single place that reads the wall clock.
#include <cstdint>

namespace te {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now_ns() const noexcept = 0;
};

// Not thread-safe: owned and advanced by one runner thread.
class TestClock final : public Clock {
 public:
  explicit TestClock(std::int64_t start_ns = 0) noexcept : now_(start_ns) {}
  std::int64_t now_ns() const noexcept override { return now_; }
  // Time never goes backwards; an earlier timestamp is ignored.
  void advance_to(std::int64_t ts_ns) noexcept {
    if (ts_ns > now_) now_ = ts_ns;
  }

 private:
  std::int64_t now_;
};

class LiveClock final : public Clock {
 public:
  std::int64_t now_ns() const noexcept override;
};

// Monotonic nanoseconds for measuring durations (benchmarks, watchdog, elapsed_s);
// never used for decisions.
std::int64_t monotonic_ns() noexcept;
// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), for the same
// purposes; 0 where the clock is unavailable.
std::int64_t thread_cpu_ns() noexcept;

}  // namespace te
