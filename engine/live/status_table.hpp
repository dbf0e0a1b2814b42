#pragma once
// The table `run` prints every few seconds: one row per runner (symbol,
// source and execution, state, position, PnL, last bar, feed lag, progress
// with ETA for runners with a known end) and a line about the Binance feed.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/live/live_engine.hpp"

namespace te::live {

// `elapsed_s`: wall seconds since the run started (for ETAs).
std::string format_status_table(const std::vector<UnitStatus>& rows, const FeedStatus& feed, double elapsed_s);

}  // namespace te::live
