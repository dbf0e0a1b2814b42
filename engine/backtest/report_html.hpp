#pragma once
// Self-contained HTML reports: one file with an inline style sheet, an inline
// script written for these reports (engine/backtest/report_html.js) and the
// page's data as a JSON block. Nothing is fetched when the page opens.
//
// Long runs stay small: the price and equity series are cut into at most
// kMaxChartPoints buckets, each keeping the open/high/low/close of the price and
// the min/max/last of the equity (envelopes: no extreme is lost when zoomed
// out); trades keep their exact prices and times.
#include <string>
#include <string_view>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/backtest/metrics.hpp"
#include "engine/backtest/report.hpp"
#include "engine/core/json_writer.hpp"
#include "engine/model/bar_series.hpp"

namespace te::backtest {

inline constexpr std::size_t kMaxChartPoints = 25000;
inline constexpr std::size_t kMaxHtmlTrades = 100000;

// The page around `data_json` (an object with a "kind" the script renders:
// backtest, compare, optimize, walk_forward, monte_carlo).
std::string html_page(std::string_view title, std::string_view subtitle, std::string_view data_json);
// The same page streamed to a file (no copy of the data). Errors: Errc::io naming the file.
Status write_html_page(const std::string& path, std::string_view title, std::string_view subtitle,
                       std::string_view data_json);

// "label", "formatted value" rows of the summary grid (also used by comparisons).
std::vector<std::pair<std::string, std::string>> metric_rows(const Metrics& m, bool with_trades = true);

// The backtest report. `bars` are the bars the run traded (bar i of `bars` is
// equity point i), or null to leave out the price pane's data.
std::string backtest_html(const BacktestResult& r, const Metrics& m, const ReportStamp& st,
                          const model::BarSeries* bars);
// `monthly`: the run's month returns when already computed (else from the curve).
// `write_over`: an earlier report.html is written over (OutputFile::create_over).
Status write_backtest_html(const std::string& path, const BacktestResult& r, const Metrics& m, const ReportStamp& st,
                           const model::BarSeries* bars, const std::vector<MonthReturn>* monthly = nullptr,
                           bool write_over = false);

// Appends {"t":[...],"v":[...],"lo":[...],"hi":[...]} for a curve cut into at
// most `points` buckets (last value and min/max per bucket); t in epoch ms.
void write_curve_json(JsonWriter& j, std::span<const std::int64_t> ts_ns, std::span<const double> v,
                      std::size_t points);

}  // namespace te::backtest
