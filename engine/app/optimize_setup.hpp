#pragma once
// What `optimize` and `optimize-merge` share: the settings of a search, their
// canonical manifest (DIR/manifest.json, the identity of a search: a re-run
// with the same manifest resumes, shards with equal manifests merge), loading
// the data and strategy once, and the reports of a finished search.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/backtest/optimizer.hpp"
#include "engine/core/result.hpp"
#include "engine/core/value.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::app {

struct OptimizeSettings {
  std::string strategy, data, symbol, start, end;
  std::vector<std::string> axes;         // canonical "name=spec" (the --grid syntax)
  std::vector<std::string> constraints;
  std::vector<std::string> fixed_params; // name=value, applied to every combination
  std::string method = "grid";           // grid | random | walk-forward
  std::string search = "grid";           // walk-forward: the search inside each train window
  std::string objective = "sharpe";
  std::uint64_t samples = 100, seed = 1, min_trades = 1, blocks = 16;
  // The execution/risk flags given (execution_args(): "--slippage=0.001", ...),
  // resolved exactly as `backtest` resolves them.
  std::vector<std::string> execution;
  std::string indicators_dir;
  std::int64_t closewatch_timeout = 0;
  std::uint64_t strategy_seed = 42;
  std::string train, test;               // walk-forward window lengths (bars or durations)
  bool anchored = false;
  std::uint64_t warmup_bars = 0;         // walk-forward: history before each window (0: all)
  std::uint32_t shard = 0, shards = 1;
  std::string strategy_sha256, data_sha256;
  std::string config_sha256;  // of --config ("" without one), set by load_search
  std::vector<std::string> indicator_files;  // "path=sha256" of the Lua indicators loaded, set by load_search
};

// The loaded inputs of a search.
struct SearchInputs {
  script::StrategySource strategy;
  model::BarSeries bars;
  backtest::SearchPlan plan;
  backtest::Objective objective = backtest::Objective::Sharpe;
  backtest::BacktestConfig base;
  std::uint64_t combinations = 0;
  std::string fill_model;  // resolved, for report stamps
  double commission = 0;
};

// Parses and checks everything that does not need the files.
Result<backtest::SearchPlan> make_plan(const OptimizeSettings& s);
// Loads strategy and data (hashing both), builds the plan and base config.
Result<SearchInputs> load_search(OptimizeSettings& s, bool use_cache);

std::string manifest_json(const OptimizeSettings& s, std::uint64_t combinations);
Result<OptimizeSettings> settings_from_manifest(const std::string& path);
// The manifest text without the shard fields (shards of one search compare equal).
std::string manifest_identity(const std::string& manifest_text);

// Writes results.json, optimization.json, report.html, best/ (the best
// combination's full backtest report) and, when mc_runs > 0, best/monte_carlo.*.
// Prints a summary to stdout unless quiet.
Status finish_search(const std::string& dir, const OptimizeSettings& s, const SearchInputs& in, unsigned threads,
                     std::uint64_t mc_runs, bool quiet, const std::string& engine_version);

}  // namespace te::app
