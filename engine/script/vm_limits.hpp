#pragma once
// Budgets of one strategy VM (docs/sandbox.md, "Limits"). Plain values: the
// config module resolves [sandbox] into these, the host enforces them.
#include <cstddef>
#include <cstdint>

namespace te::script {

inline constexpr std::size_t kMiB = std::size_t{1} << 20;
inline constexpr std::size_t kDefaultMemoryLimitBytes = 64 * kMiB;

// Per-callback CPU deadlines by mode. Backtests are generous: a deadline there
// only catches runaway code and must never fire on a merely busy machine (it
// measures the runner thread's CPU time, not wall time). Live callbacks run
// between bars of a real feed, so a runaway one must be stopped quickly.
inline constexpr double kBacktestCallbackTimeoutMs = 1000;
inline constexpr double kLiveCallbackTimeoutMs = 100;
// Loading the chunk, on_start and on_reload may build tables and create (and
// warm up) indicators over long histories.
inline constexpr double kStartupTimeoutMs = 10000;

enum class RunMode : std::uint8_t { Backtest, Live };

struct VmLimits {
  // Bytes of Lua objects the VM may hold (tables, strings, closures, stacks,
  // JIT bookkeeping); 0 = unlimited.
  std::size_t memory_limit_bytes = kDefaultMemoryLimitBytes;
  // CPU time one strategy callback may use; 0 = no deadline.
  double callback_timeout_ms = 0;
  // CPU time for loading the chunk, on_start and on_reload; 0 = no deadline.
  double startup_timeout_ms = 0;
};

// The limits of `mode` with [sandbox]-style overrides: callback_timeout_ms 0
// picks the mode's default; memory_limit_mb 0 means unlimited.
inline VmLimits make_limits(RunMode mode, double callback_timeout_ms = 0, double memory_limit_mb = 64) {
  VmLimits l;
  l.callback_timeout_ms = callback_timeout_ms > 0 ? callback_timeout_ms
                          : mode == RunMode::Live ? kLiveCallbackTimeoutMs
                                                  : kBacktestCallbackTimeoutMs;
  l.startup_timeout_ms = l.callback_timeout_ms > kStartupTimeoutMs ? l.callback_timeout_ms : kStartupTimeoutMs;
  l.memory_limit_bytes = memory_limit_mb > 0 ? static_cast<std::size_t>(memory_limit_mb * static_cast<double>(kMiB)) : 0;
  return l;
}

}  // namespace te::script
