#pragma once
// Turns the [execution] and [risk] config sections (plain values, validated by
// engine/config) into the engine's execution and risk settings. Shared by the
// backtest command and `run`.
#include "engine/config/config.hpp"
#include "engine/core/result.hpp"
#include "engine/exec/simulated_exchange.hpp"
#include "engine/portfolio/portfolio.hpp"
#include "engine/risk/risk_config.hpp"

namespace te::app {

struct ExecutionSetup {
  exec::SimulatedExchangeConfig exchange;
  double tick_size = 0;
  double lot_size = 1;
  double min_qty = 0;
  double min_notional = 0;
  portfolio::MarginPolicy margin;
  bool allow_short = true;
  int pyramiding = 1;
  bool close_at_end = false;
  double initial_cash = 100000;
};

// Errors: Errc::invalid_argument naming the setting (combinations the config
// reader cannot see, e.g. a fill model name from the command line).
Result<ExecutionSetup> execution_setup(const config::ExecutionSection& section);
risk::StrategyLimits strategy_limits(const config::StrategyRiskSection& section);
risk::RiskConfig risk_config(const config::RiskSection& section);

}  // namespace te::app
