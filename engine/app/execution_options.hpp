#pragma once
// Turns the [execution] and [risk] config sections (plain values, validated by
// engine/config) into the engine's execution and risk settings. Shared by the
// backtest command and `run`; the command-line flags that override them
// (ExecutionFlags) are shared by `backtest` and `optimize`, so a search runs
// every combination under exactly the settings a backtest would use.
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "engine/backtest/backtest_engine.hpp"
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

// --config and the execution/risk flags of `backtest` and `optimize`.
struct ExecutionFlags {
  std::string config, fill = "next_open", slippage, commission_model, kill_switch_at, kill_switch_file;
  double cash = 100000, commission = 0, lot_size = 1;
  double max_volume_fraction = 0, tick_size = 0, min_qty = 0, min_notional = 0, leverage = 1, short_margin = 1;
  std::int64_t latency_bars = 0;
  int pyramiding = 1;
  bool allow_short = true, close_at_end = false, kill_switch = false;
  const CLI::App* cmd = nullptr;  // set by add_execution_flags: which flags were given
  bool given(const char* flag) const { return cmd != nullptr && cmd->count(flag) > 0; }
};

// Registers the flags on `cmd` (their help text, defaults) and remembers `cmd`.
void add_execution_flags(CLI::App* cmd, ExecutionFlags& flags);

// The flags that were given, as "--name=value" in a fixed order (a search's
// manifest stores them; parse_execution_args reads them back).
std::vector<std::string> execution_args(const ExecutionFlags& flags);
// Fills `flags` from execution_args() output. `holder` owns the parser that
// `flags.cmd` then points to. Errors: an unknown or malformed argument.
Status parse_execution_args(const std::vector<std::string>& args, ExecutionFlags& flags,
                            std::unique_ptr<CLI::App>& holder);

struct ResolvedExecution {
  ExecutionSetup setup;
  std::optional<risk::RiskConfig> risk;
  config::SandboxSection sandbox;  // [sandbox] of --config (defaults without one)
  std::string config_sha256;  // of the --config file ("" without one)
};

// Defaults, then --config's [execution], [risk] and [sandbox], then the flags given.
// Errors: Errc::invalid_argument naming the flag or key.
Result<ResolvedExecution> resolve_execution(const ExecutionFlags& flags);
// Copies the resolved settings into a backtest configuration (execution, risk,
// the sandbox's budgets and error policy).
void apply_execution(const ResolvedExecution& r, backtest::BacktestConfig& cfg);

}  // namespace te::app
