#pragma once
// `run`: from a validated config to what the live engine runs. Each runner's
// trading settings are built exactly as `backtest` builds its own (the same
// execution_setup/risk_config), so a historical runner and a backtest of the
// same file with the same [execution] trade identically.
#include <string>
#include <vector>

#include "engine/config/config.hpp"
#include "engine/core/result.hpp"
#include "engine/live/runner_spec.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::app {

// Reads every strategy, loads every historical data file (once per path) and
// sets up generators. Errors: Errc::invalid_argument / Errc::io listing every
// runner that cannot be set up, each line naming the runner's key path.
Result<std::vector<live::RunnerSpec>> runner_specs(const config::Config& cfg,
                                                   const std::vector<script::StrategySource>& indicator_files);

// The backtest settings of one runner ([execution], [risk], [sandbox], [engine] seed).
Result<backtest::BacktestConfig> trading_config(const config::Config& cfg, const config::RunnerSection& r);

}  // namespace te::app
