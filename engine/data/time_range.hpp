#pragma once
// The [start_ns, end_ns) filter of LoadOptions, shared by every load path so the
// messages are the same whichever way the bars arrive.
#include <cstdint>
#include <string>

#include "engine/core/result.hpp"
#include "engine/data/load_options.hpp"
#include "engine/model/bar_series.hpp"

namespace te::data {

// A timestamp as a date when it is midnight, else as an ISO-8601 datetime.
std::string timestamp_text(std::int64_t ts_ns);

// Errors: Errc::invalid_argument when start_ns >= end_ns.
Status check_time_range(const LoadOptions& options, const std::string& name);

// The error for a filter that selects nothing, naming the range the file covers.
Error no_bars_in_range(const LoadOptions& options, const std::string& name, std::int64_t first_ns,
                       std::int64_t last_ns);

// The bars of `series` inside the filter (shares storage).
// Errors: as check_time_range, and no_bars_in_range when nothing is left.
Result<model::BarSeries> apply_time_range(const model::BarSeries& series, const LoadOptions& options,
                                          const std::string& name);

}  // namespace te::data
