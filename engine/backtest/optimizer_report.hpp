#pragma once
// What a finished search reports: one pass over results.csv (memory bounded by
// the report's size, not by the number of combinations) gives the best
// combination, the overfitting guards, the parameter-stability heatmaps and
// marginals, and results.json; then optimization.json and report.html.
// Everything here is a function of results.csv alone, so a merged sharded
// search reports byte for byte what the unsharded search reports.
#include <optional>
#include <string>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/backtest/metrics.hpp"
#include "engine/backtest/optimizer.hpp"
#include "engine/backtest/optimizer_guards.hpp"

namespace te::backtest {

struct StabilityMap {
  std::size_t x = 0, y = 0;  // axes
  std::vector<std::string> xs, ys;
  std::vector<std::vector<double>> z;  // [y][x], best objective in the cell (NaN: none)
  int best_x = -1, best_y = -1;
};

struct Marginal {
  std::size_t axis = 0;
  std::vector<std::string> values;
  std::vector<double> best, mean;
};

struct SearchSummary {
  std::uint64_t rows = 0, ok = 0, valid = 0, skipped = 0, faulted = 0, errors = 0;
  std::optional<ComboResult> best;
  std::vector<ComboResult> top;  // best first
  DeflatedSharpe dsr;
  std::optional<PboResult> pbo;
  std::string pbo_note;          // why it is missing, when it is
  std::vector<StabilityMap> maps;
  std::vector<Marginal> marginals;
};

struct SummaryOptions {
  std::size_t top = 50;
  std::size_t pbo_max_combinations = 50000;  // beyond: PBO is not computed (memory and time)
  std::size_t pbo_max_splits = 20000;
  std::uint64_t seed = 1;
  std::string json_path;                     // results.json to write while reading (empty: none)
};

// Reads a complete results file. Errors: unreadable or malformed rows.
Result<SearchSummary> summarize_search(const SearchPlan& plan, Objective objective, const std::string& results_path,
                                       const SummaryOptions& options);

struct SearchReportInput {
  const SearchPlan* plan = nullptr;
  Objective objective = Objective::Sharpe;
  std::size_t min_trades = 0;
  std::string title, subtitle;
  std::vector<std::pair<std::string, std::string>> settings;  // shown in the summary and optimization.json
  const BacktestResult* best_run = nullptr;  // the best combination rerun with its curve (optional)
  const Metrics* best_metrics = nullptr;
};

// optimization.json (summary, best, guards) and report.html in `dir`.
Status write_search_reports(const std::string& dir, const SearchReportInput& in, const SearchSummary& s);

// One-line verdicts used by the CLI and the HTML.
std::string dsr_verdict(const DeflatedSharpe& d);
std::string pbo_verdict(const PboResult& p);

}  // namespace te::backtest
