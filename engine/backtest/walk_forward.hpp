#pragma once
// Walk-forward analysis (docs/optimization.md): the data is cut into train/test
// windows (rolling, or anchored at the first bar); each train window is searched
// like `optimize` does, the best combination is then run on the following test
// window it never saw, and the test windows are stitched into one
// out-of-sample equity curve with its own full report.
//
// Indicators are warmed up over the bars before a window (history only: no
// orders, no equity), so a test window trades from its first bar.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/backtest/optimizer.hpp"
#include "engine/backtest/report.hpp"

namespace te::backtest {

struct WalkForwardWindow {
  std::size_t train_begin = 0, train_end = 0, test_begin = 0, test_end = 0;  // bar indices, end exclusive
};

// "500" (bars) or a duration "2y", "6m", "8w", "30d", "12h"; both lengths of one
// analysis must be of the same kind. Windows step by the test length.
// Errors: unreadable lengths, mixed kinds, no complete window in the data.
Result<std::vector<WalkForwardWindow>> walk_forward_windows(const model::BarSeries& data, const std::string& train,
                                                            const std::string& test, bool anchored);

struct WalkForwardJob {
  SearchPlan plan;
  Objective objective = Objective::Sharpe;
  std::size_t min_trades = 1;
  std::size_t blocks = 16;
  BacktestConfig base;
  const model::BarSeries* data = nullptr;
  const script::StrategySource* strategy = nullptr;
  unsigned threads = 1;
  std::string dir;
  std::string train, test;
  bool anchored = false;
  std::uint64_t warmup_bars = 0;  // history before a window; 0: everything before it
  const std::atomic<bool>* stop = nullptr;
  ReportStamp stamp;              // params are filled per window
  std::uint64_t monte_carlo_runs = 0;
  std::uint64_t seed = 1;
  // (window, windows, combinations done, combinations in the window)
  std::function<void(std::size_t, std::size_t, std::uint64_t, std::uint64_t)> progress;
};

struct WalkForwardWindowResult {
  WalkForwardWindow w;
  std::int64_t train_start_ns = 0, train_end_ns = 0, test_start_ns = 0, test_end_ns = 0;  // first / last bar
  std::optional<ComboResult> best;  // chosen on the train window (none: no valid combination, no trading)
  Metrics oos;
  double oos_objective = 0;
  double efficiency = 0;  // OOS annualized return / IS annualized return
};

struct WalkForwardResult {
  std::vector<WalkForwardWindowResult> windows;
  std::size_t windows_done = 0;
  bool complete = false;
  Metrics oos;                  // of the stitched out-of-sample run
  double efficiency = 0;        // stitched OOS annualized return / mean IS annualized return of the choices
  double mean_window_efficiency = 0;
  std::string objective;
  std::vector<std::string> param_names;
};

// Writes DIR/windows/NN/ (train_results.csv and the OOS backtest report of the
// window), DIR/oos/ (the stitched OOS report), walk_forward.csv/.json and
// report.html. Resumes like run_search (per window).
Result<WalkForwardResult> run_walk_forward(const WalkForwardJob& job);

std::string walk_forward_summary(const WalkForwardResult& r);

}  // namespace te::backtest
