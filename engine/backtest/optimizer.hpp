#pragma once
// Parameter search over backtests: the space, its deterministic enumeration
// (grid, seeded random, shards), objectives, and the parallel runner that
// streams one results row per combination to a CSV file in combination order.
//
// Safe at scale by construction:
// - every worker calls run_backtest, which builds its own runner and LuaJIT VM;
//   the BarSeries is shared read-only;
// - a combination keeps only its metrics (the engine runs without an equity
//   curve; a MetricsAccumulator listens), so memory does not grow with the
//   number of bars or of combinations;
// - rows are written in combination order through a small reorder window, so
//   the file is identical for any thread count, and a prefix of the final file
//   at any moment: an interrupted search resumes after its last complete row.
// See docs/optimization.md.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/backtest/metrics.hpp"
#include "engine/core/result.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/script/strategy_host.hpp"
#include "engine/ta/series_cache.hpp"

namespace te::backtest {

// One parameter of the space.
struct ParamAxis {
  std::string name;
  std::vector<std::string> values;  // the lattice, as --param texts ("5", "0.25", "true", "fast")
  // Random search only: uniform on [lo, hi] (integers when `integer`), no lattice.
  bool continuous = false;
  bool integer = false;
  double lo = 0, hi = 0;
};

// "a < b", "fast <= slow", "fast < 40": both sides a parameter name or a number.
struct Constraint {
  std::string left, op, right;
  std::string text;  // as written
};

struct SearchSpace {
  std::vector<ParamAxis> axes;
  std::vector<Constraint> constraints;
};

// "fast=5:50:5" (inclusive range with step), "slow=20,30,50" (list), "x=7"
// (fixed), "w=0.1:0.9" (continuous, random search only; integer when both ends
// are integers). Errors name the argument and what was expected.
Result<ParamAxis> parse_axis(std::string_view spec);
Result<Constraint> parse_constraint(std::string_view text, const SearchSpace& space);
// Checks names (unique, no clash) and that every constraint refers to axes.
Status validate_space(const SearchSpace& space);

enum class SearchMethod { Grid, Random };
Result<SearchMethod> parse_search_method(std::string_view s);
std::string_view to_string(SearchMethod m) noexcept;

enum class Objective { Sharpe, Sortino, Calmar, TotalReturn, AnnualizedReturn, ProfitFactor, Expectancy, Psr };
Result<Objective> parse_objective(std::string_view s);
std::string_view to_string(Objective o) noexcept;
// Higher is better for every objective; NaN when undefined.
double objective_value(const Metrics& m, Objective o) noexcept;

struct SearchPlan {
  SearchSpace space;
  SearchMethod method = SearchMethod::Grid;
  std::uint64_t samples = 100;  // random search
  std::uint64_t seed = 1;       // random search
  std::uint32_t shard = 0, shards = 1;
};

// Combinations in the whole space: the grid size, or `samples` for random
// search (capped at the grid size when every axis is a lattice: sampling is
// then without replacement). Errors: an empty space, a grid over 2^53, a
// continuous axis in a grid search.
Result<std::uint64_t> space_size(const SearchPlan& plan);
// The values of combination `index` (0 <= index < space_size), one per axis.
std::vector<std::string> combination(const SearchPlan& plan, std::uint64_t index);
// Combinations of this plan's shard: index = shard + k * shards.
std::uint64_t shard_size(std::uint64_t total, const SearchPlan& plan) noexcept;
bool satisfies(const SearchSpace& space, const std::vector<std::string>& values) noexcept;

// One evaluated combination.
struct ComboResult {
  std::uint64_t index = 0;
  std::vector<std::string> values;
  std::string status;  // ok | faulted | skipped (constraint) | error
  std::string error;   // faulted / error: the message
  Metrics metrics;
  ReturnBlocks blocks;
  double objective = 0;
  bool valid = false;  // ok, objective defined, at least min_trades trades
};

struct SearchJob {
  SearchPlan plan;
  Objective objective = Objective::Sharpe;
  std::size_t min_trades = 1;
  std::size_t blocks = 16;           // return blocks kept per combination (PBO)
  BacktestConfig base;               // params of the plan are appended to base.params
  const model::BarSeries* data = nullptr;
  std::size_t warmup_bars = 0;       // history-only leading bars (walk-forward)
  const script::StrategySource* strategy = nullptr;
  unsigned threads = 1;
  std::string results_path;          // CSV, appended to on resume
  std::uint64_t limit = 0;           // stop after this many new combinations (0: none)
  const std::atomic<bool>* stop = nullptr;  // set asynchronously (SIGINT): finish in-flight work and return
  // Indicator series shared by the combinations (ta::SeriesCache): each
  // distinct indicator is computed once over the data and read by every
  // combination that asks for it. Budget in bytes; 0 turns sharing off.
  std::size_t indicator_cache_bytes = std::size_t{256} << 20;
  ta::SeriesCache* indicator_cache = nullptr;  // set by run_search (or the caller); not owned
  // Progress: (done in this shard, shard total, best so far or null).
  std::function<void(std::uint64_t, std::uint64_t, const ComboResult*)> progress;
};

struct SearchOutcome {
  std::uint64_t total = 0;      // combinations in this shard
  ta::SeriesCache::Stats indicator_cache;  // what sharing indicator series saved
  std::uint64_t resumed = 0;    // rows found in the file at the start
  std::uint64_t done = 0;       // rows in the file at the end
  bool complete = false;
  std::optional<ComboResult> best;
};

// Runs (or resumes) a search. The CSV gets a header and one row per
// combination of the shard, in shard order.
// Errors: the file exists with another header (another search), cannot be
// written, or the first combination cannot load the strategy (e.g. a bad value).
Result<SearchOutcome> run_search(const SearchJob& job);

// What one worker thread of a search keeps from one combination to the next.
// The per-combination set-up that does not depend on the parameters is done
// once: the backtest settings (no equity curve, no activity log, the shared
// indicator series, the warm-up) are prepared when the worker starts, and the
// strategy VMs come from the worker's own VmPool (one watchdog thread for the
// worker's lifetime instead of one per combination). Each combination still
// gets a fresh runner, portfolio, exchange and Lua VM: nothing a strategy did
// in one combination can reach the next, so a combination's row is the same
// whether it runs first, after others on the same worker, or alone
// (optimizer_test.cpp). One thread at a time; `job` must outlive the worker.
class SearchWorker {
 public:
  explicit SearchWorker(const SearchJob& job);
  ~SearchWorker();
  SearchWorker(const SearchWorker&) = delete;
  SearchWorker& operator=(const SearchWorker&) = delete;

  ComboResult evaluate(std::uint64_t index);

 private:
  const SearchJob& job_;
  std::unique_ptr<script::VmPool> pool_;
  BacktestConfig base_;      // job.base with the search's settings applied, the axes' params removed
  std::size_t base_params_;  // base_.params before a combination's values are appended
  std::size_t traded_bars_;
};

// Evaluates one combination (what each worker does), without an equity curve,
// on a worker of its own.
ComboResult evaluate_combination(const SearchJob& job, std::uint64_t index);

// The results file format.
std::string results_header(const SearchSpace& space);
std::string format_row(const ComboResult& r);
// Parses a row written by format_row for a space with `axes` parameters.
Result<ComboResult> parse_row(std::string_view line, std::size_t axes);

}  // namespace te::backtest
