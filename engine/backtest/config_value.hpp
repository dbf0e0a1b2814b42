#pragma once
// A backtest's complete configuration as a value tree, and back: what a
// recorded session stores in meta.json ("config") so that `rerun` runs with
// exactly the settings the original ran with — execution (fill, commission and
// slippage models, volume cap, latency), instrument rules, margin, risk
// (account and strategy limits, StormGuard, kill switch), sandbox budgets,
// fault policy, warm-up, seed, parameters and Lua indicator files by hash.
// The layout is documented in docs/journal-format.md ("meta.json config").
//
// Everything that can change a decision is here; callbacks, observers and
// progress reporting are not (they cannot). Doubles survive the JSON round trip
// bit for bit (value_json prints the shortest text that parses back exactly).
#include <string>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/core/result.hpp"
#include "engine/core/value.hpp"

namespace te::backtest {

inline constexpr std::int64_t kConfigValueFormat = 2;

// Indicator files appear as [{path, sha256}] (their code is stored elsewhere,
// by hash); `extra` entries (symbol, start, end, recording, ...) are merged in
// at the top level by the caller.
Value config_to_value(const BacktestConfig& config);

// Restores every field config_to_value writes into `out` (other fields of
// `out` are kept). indicator_files come back with path and sha256 only (the
// caller loads the code by hash). Keys written by format 1 (before the
// execution/risk/sandbox sections existed) are read with their defaults.
// Errors: Errc::parse listing every bad key by path ("config.execution.slippage.kind
// must be one of none, ticks, percent, volume, was \"x\""), one per line.
Status config_from_value(const Value& v, BacktestConfig& out);

}  // namespace te::backtest
