#pragma once
// Backtest outputs: report.json, trades.csv and equity.csv (formats in
// MISSION.md §4 and docs/metrics.md) and the summary table printed to stdout.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/backtest/metrics.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::backtest {

// Who ran what: the reproducibility stamp and the run's settings.
struct ReportStamp {
  std::string engine_version;
  std::string strategy_path;
  std::string strategy_sha256;
  std::string data_path;
  std::string data_sha256;
  std::string config_sha256;
  std::uint64_t seed = 0;
  std::vector<script::ParamInfo> params;  // effective values
  std::string fill_model;
  double commission = 0;
  double elapsed_s = 0;  // whole command (load, run, write); measurement only
};

// Canonical text of everything that influences results besides the strategy
// source and the data; its SHA-256 is the config_sha256 of the stamp.
std::string canonical_config(const BacktestConfig& config, const std::vector<script::ParamInfo>& params,
                             const std::string& symbol, std::int64_t start_ns, std::int64_t end_ns);

std::string report_json(const BacktestResult& result, const Metrics& metrics, const ReportStamp& stamp);
std::string trades_csv(const BacktestResult& result);
std::string equity_csv(const BacktestResult& result);

// Time spent on each file (`backtest --timings`): wall and CPU time of the
// thread that produced it, in milliseconds. Files are written concurrently.
struct ReportFileTimes {
  struct Time {
    double wall_ms = 0, cpu_ms = 0;
  };
  Time json, trades, equity, equity_second_half, html;
};

struct ReportOptions {
  bool html = true;                        // also write report.html
  const model::BarSeries* bars = nullptr;  // the traded bars, for the HTML price chart
  ReportFileTimes* times = nullptr;        // filled in when not null
  // false: equity.csv is not written (an EquityStream wrote it during the run).
  bool equity_csv = true;
  // The run's calendar-month returns when already known (an EquityStream's
  // accumulator); otherwise they are computed from the equity curve.
  const std::vector<MonthReturn>* monthly = nullptr;
  // report.json, trades.csv and report.html are written over the files of an
  // earlier run they replace (OutputFile::create_over), not as new files.
  bool write_over = false;
  // Called on the calling thread once report.json and trades.csv are written,
  // while report.html may still be (the longer of the two): the caller's
  // clean-up that would otherwise come after both (the command unmaps the
  // data file there, CsvStream::release_file).
  std::function<void()> while_html;
};

// Writes report.json, trades.csv, equity.csv and (by default) report.html into
// `dir` (created if missing). Errors: Errc::io naming the file that could not be written.
Status write_report(const std::string& dir, const BacktestResult& result, const Metrics& metrics,
                    const ReportStamp& stamp, const ReportOptions& options = {});

// A readable multi-line summary for the terminal.
std::string format_summary(const BacktestResult& result, const Metrics& metrics, const ReportStamp& stamp);

}  // namespace te::backtest
