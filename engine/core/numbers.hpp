#pragma once
// Number parsing and printing for data files and reports. Parsing is exact
// (the same double strtod would give) but takes a fast path for the short
// decimals that price files are made of; printing is shortest round-trip.
#include <cstdint>
#include <string>
#include <string_view>

namespace te {

// Parses a complete decimal number ("-12.5", "3e-4", "42"); the whole input must
// be consumed. Rejects empty input, "nan", "inf" and trailing characters.
bool parse_double(std::string_view text, double& out) noexcept;

bool parse_int64(std::string_view text, std::int64_t& out) noexcept;

// Shortest text that parses back to the same double: "0.1", "100000", "0.00001";
// exponent form only outside 1e-7 <= |v| < 1e21 ("1e-08"), as JavaScript prints
// numbers. Writes at most 32 chars; returns the count. Non-finite values print as
// "nan", "inf", "-inf".
std::size_t format_double(double v, char* buf) noexcept;
std::string format_double(double v);
void append_double(std::string& out, double v);

}  // namespace te
