#pragma once
// Loading bars from CSV. The format (Yahoo, generic, Binance klines) is detected
// from the header; see docs/data.md for the formats and every error message.
#include <string>
#include <string_view>

#include "engine/core/result.hpp"
#include "engine/data/csv_format.hpp"
#include "engine/data/load_options.hpp"
#include "engine/model/bar_series.hpp"

namespace te::data {

// Parses the whole file (memory-mapped) into an owned columnar series, then keeps
// the bars inside [start_ns, end_ns). Every row is validated, including rows
// outside the time range. Ignores options.cache (see load_bars for the cache).
// Errors: Errc::not_found / Errc::io for the file; Errc::parse for bad content,
// as "<path>:<line>:<column>: <what was wrong and what was expected>";
// Errc::invalid_argument when the time range is empty or selects no bars.
Result<model::BarSeries> load_csv(const std::string& path, const LoadOptions& options);

// Same for text already in memory; `name` stands for the path in messages.
// `detected`, when given, receives the format of the header.
Result<model::BarSeries> parse_csv(std::string_view text, const std::string& name, const LoadOptions& options,
                                   CsvFormat* detected = nullptr);

// The default display symbol for a data file: its name without directories and
// without the last extension ("data/nvda-1999-2014.txt" -> "nvda-1999-2014").
std::string symbol_from_path(const std::string& path);

}  // namespace te::data
