#pragma once
// Validators for numeric options whose CLI11 defaults would accept "-1" into an
// unsigned (it wraps to 18446744073709551615), clamp an overflow silently, or
// report "not in range 0.000000 to 1.79769e+308".
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdint>
#include <string>

#include "engine/core/labels.hpp"
#include "engine/core/numbers.hpp"

namespace te::app {

// A whole number in [lo, hi], written with digits only (and a leading '-' when lo < 0).
inline CLI::Validator whole_number(std::int64_t lo, std::int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        std::int64_t v = 0;
        const bool digits = !text.empty() && text.find_first_not_of("-0123456789") == std::string::npos;
        if (!digits || !parse_int64(text, v) || v < lo || v > hi)
          return "expected a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) + ", was " +
                 printable(text);
        return {};
      },
      "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

// An unsigned 64-bit whole number (seeds).
inline CLI::Validator unsigned_whole_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const bool digits = !text.empty() && text.size() <= 20 && text.find_first_not_of("0123456789") == std::string::npos;
        // 20 digits may still exceed 2^64 - 1.
        if (!digits || (text.size() == 20 && text > "18446744073709551615"))
          return "expected a whole number from 0 to 18446744073709551615, was " + printable(text);
        return {};
      },
      "UINT");
}

// A finite number >= 0 (durations, intervals in seconds).
inline CLI::Validator non_negative_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double v = 0;
        if (!parse_double(text, v) || !std::isfinite(v) || v < 0)
          return "expected a number >= 0, was " + printable(text);
        return {};
      },
      "NUMBER >= 0");
}

// A symbol as --symbol gives it (te::symbol_problem: no spaces, slashes or
// control characters; it names the output folder and is printed).
inline CLI::Validator symbol_text() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (auto why = symbol_problem(text)) return *why;
        return {};
      },
      "SYMBOL");
}

}  // namespace te::app
