#pragma once
// Hot reload of a runner's strategy, and the runner's error policy. The
// SymbolRunner methods declared in symbol_runner.hpp (reload, request_reload,
// apply_pending_reload, callback_failed) are defined in strategy_reload.cpp.
//
// A reload builds the new version in a fresh VM from the pool, carries the
// strategy's ctx over as plain data (StrategyHost::export_context /
// import_context), runs the new version's on_reload(old_ctx, ctx), and only
// then swaps it in. Everything else belongs to the runner and does not move:
// the state (Watch/CloseWatch/InTrade), the open position and working orders
// (exec and portfolio), the native indicators (RunnerIndicators, outside the
// VM). A version that fails to load, to take the context or in on_reload is
// dropped and the old one keeps running.
//
// Swaps happen only between bars: reload() is called on the runner's thread
// when no callback runs, and request_reload() (any thread) parks the source
// until the start of the runner's next bar, which the new code then handles.
// No bar is skipped or handled twice.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/script/strategy_host.hpp"

namespace te::runner {

struct ReloadReport {
  bool ok = false;
  bool changed = false;  // false: same SHA-256 as the running version, nothing done
  std::string path;
  std::string old_sha256;
  std::string new_sha256;
  std::string message;   // why it failed ("strategies/x.lua:12: ..."), or a summary
  std::int64_t bar_index = -1;  // the last bar handled by the old version
};

// A source waiting for the runner's next bar boundary. Thread-safe; the latest
// request wins.
class ReloadMailbox {
 public:
  void put(script::StrategySource source);
  std::optional<script::StrategySource> take();
  // Edited indicator files; a later version of the same path replaces an earlier one.
  void put_indicator(script::StrategySource source);
  std::vector<script::StrategySource> take_indicators();

 private:
  std::mutex mutex_;
  std::optional<script::StrategySource> pending_;
  std::vector<script::StrategySource> indicators_;
};

}  // namespace te::runner
