#pragma once
// Parsing helpers shared by commands: --param lists and --start/--end dates.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/result.hpp"

namespace te::app {

// "fast=10" -> {"fast", "10"}. Errors name the offending argument.
Result<std::vector<std::pair<std::string, std::string>>> parse_params(const std::vector<std::string>& args);

struct TimeRange {
  std::optional<std::int64_t> start_ns;  // inclusive
  std::optional<std::int64_t> end_ns;    // exclusive
};

// --start is inclusive; --end is inclusive too: a date keeps that whole day, a
// date-time keeps bars up to and including that instant.
Result<TimeRange> parse_time_range(const std::string& start, const std::string& end);

// Prints "error: <message>" to stderr (the first line is always the message).
void print_error(const std::string& message);

}  // namespace te::app
