#pragma once
// The text of `trading-engine indicators --list`.
#include <string>
#include <string_view>
#include <vector>

namespace te::ta {

// One row of the listing; indicators defined elsewhere (Lua) can be appended.
struct ListingRow {
  std::string name;
  std::string params;   // "fast=12 slow=26 signal=9 [source=close]"
  std::string outputs;  // "macd signal hist"
  std::string warmup;   // "(slow - 1) + (signal - 1) = 33"
  std::string summary;
};

// Rows for every native indicator, in registry order.
std::vector<ListingRow> native_listing_rows();

// An aligned table of `rows` plus notes on sources, timeframes and examples.
std::string format_listing(const std::vector<ListingRow>& rows);

// format_listing(native_listing_rows()).
std::string list_indicators();

}  // namespace te::ta
