#pragma once
// What `trading-engine validate` checks (docs/strategy-guide.md, "Validate"):
// the strategy loads in the sandbox; a static scan of its bytecode finds
// undeclared and forbidden globals with their lines; the required callbacks
// and the params table are well formed; a dry run over generated bars (several
// market shapes) runs every callback it can reach, with the real runner, order
// flow and budgets; a hot reload mid-run carries the ctx over; and a lookahead
// probe shows that decisions at bar t do not change when later bars are added.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/core/result.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::app {

struct ValidationProblem {
  std::string file;      // the strategy (or config) file
  int line = 0;          // 0 when no line applies
  std::string check;     // "syntax", "globals", "callbacks", "params", "dry run", "hot reload", "lookahead", ...
  std::string message;
  std::string detail;    // e.g. a traceback; printed indented under the message
  bool warning = false;  // worth knowing, but not a reason to fail (unless --strict)

  // "file:line: message" (or "file: message" without a line).
  std::string text() const;
};

// One row of the summary table.
struct CheckRow {
  std::string check;
  std::string result;  // "ok", "warning", "FAILED", "skipped"
  std::string detail;
};

struct ValidateOptions {
  std::string path;                                       // the strategy file
  std::vector<std::pair<std::string, std::string>> overrides;  // --param name=value
  std::uint64_t seed = 42;
  std::size_t bars = 5000;        // per generated series
  std::size_t series = 3;         // market shapes tried by the dry run (calm drift, up-trend, volatile down-trend)
  std::size_t lookahead_cuts = 4; // truncation points of the lookahead probe
  script::VmLimits limits = script::make_limits(script::RunMode::Backtest);
  std::vector<script::StrategySource> indicator_files;  // indicators written in Lua
  // Called after each finished dry or probe run with (done, total) runs.
  std::function<void(std::size_t, std::size_t)> progress;
};

struct ValidationReport {
  std::string path;
  std::string sha256;
  std::vector<ValidationProblem> problems;  // in check order, then by line
  std::vector<CheckRow> rows;
  std::vector<std::string> callbacks;       // defined, sorted
  std::vector<script::ParamInfo> params;    // effective values
  std::vector<std::string> indicators;      // used in the dry run, in first-use order
  std::map<std::string, std::int64_t> calls;  // callback -> times it ran in the dry run
  std::size_t bars_run = 0;
  std::size_t trades = 0;

  bool ok(bool strict = false) const;
  std::size_t errors() const;
  std::size_t warnings() const;
};

ValidationReport validate_strategy(const ValidateOptions& options);

// --- the lookahead probe, exposed for tests ------------------------------------

// What a strategy decided, bar by bar: (bar index, "detect_opportunity: setup
// reason=..."), in order. Transitions are included ("watch -> close_watch").
using DecisionLog = std::vector<std::pair<std::size_t, std::string>>;

// Runs `strategy` over `data` with `config` (its observer is replaced) and
// records every decision. A fault ends the log with a "fault: ..." entry.
// Errors: the strategy does not load.
Result<DecisionLog> record_decisions(backtest::BacktestConfig config, const model::BarSeries& data,
                                     const script::StrategySource& strategy);

struct LookaheadFinding {
  bool ok = true;
  std::size_t cuts_checked = 0;
  std::size_t decisions_compared = 0;
  // When not ok: the first bar whose decisions differ, the cut that showed it,
  // and both versions.
  std::size_t bar = 0, cut = 0;
  std::string truncated, full;
};

// For each cut t: runs `run` on bars [0, t) and compares its decisions at bars
// < t with those of the run on all of `data`. Errors: a run failed to start.
using DecisionRunner = std::function<Result<DecisionLog>(const model::BarSeries&)>;
Result<LookaheadFinding> probe_lookahead(const model::BarSeries& data, const DecisionRunner& run,
                                         std::span<const std::size_t> cuts);

}  // namespace te::app
