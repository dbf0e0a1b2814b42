#pragma once
// Indicator columns over a whole series, for `trading-engine indicators
// --compute`. Computed through the same IndicatorSet the strategies use, so a
// column equals what ind.* returns bar by bar.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/ta/spec.hpp"

namespace te::ta {

struct IndicatorColumns {
  std::vector<std::string> names;           // output_columns() of each spec, in order
  std::vector<std::vector<double>> values;  // values[c][bar]; NaN during warm-up
};

// Errors: invalid_argument for an unusable spec, limit for too many indicators.
Result<IndicatorColumns> compute_indicators(const model::BarSeries& bars, std::span<const IndicatorSpec> specs,
                                            std::int64_t base_interval_ns = 0);

// Receives the CSV text in chunks; returns false when it could not write them.
using CsvSink = std::function<bool(std::string_view chunk)>;

// Writes the CSV: header `date` (when every timestamp is at 00:00 UTC, printed as
// YYYY-MM-DD) or `time` (ISO-8601 UTC), then one column per indicator output;
// one row per bar; empty cells during warm-up; numbers in shortest round-trip
// form (te::format_double).
// Errors: invalid_argument naming the bad spec (and the valid names or
// parameters); io when the sink fails.
Status write_indicators_csv(const model::BarSeries& bars, std::string_view spec_list, const CsvSink& sink,
                            std::int64_t base_interval_ns = 0);

// One entry of an indicator list: a native spec, or `columns` computed outside
// te_ta (indicators written in Lua, `indicators --compute`).
struct ColumnGroup {
  std::optional<IndicatorSpec> native;
  std::vector<std::string> columns;  // external groups only
};
// Called once per bar, oldest first, before its row is written: appends the
// values of every external group's columns, in list order (NaN = empty cell).
using ExternalColumns = std::function<Status(std::size_t index, const model::Bar& bar, std::vector<double>& out)>;

// write_indicators_csv for a list mixing native and external groups; same
// format. Errors: as above, and the external step's errors.
Status write_indicators_csv(const model::BarSeries& bars, std::span<const ColumnGroup> groups,
                            const ExternalColumns& external, const CsvSink& sink, std::int64_t base_interval_ns = 0);

// The whole CSV as one string (tests and small files).
Result<std::string> indicators_csv(const model::BarSeries& bars, std::string_view spec_list,
                                   std::int64_t base_interval_ns = 0);

}  // namespace te::ta
