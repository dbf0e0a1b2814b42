#pragma once
// Each subcommand lives in its own <name>_command.cpp and registers itself with
// the CLI through a register_* function listed in cli.cpp. A command's callback
// stores its exit code in `exit_code`.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "engine/core/result.hpp"
#include "engine/model/bar_series.hpp"

namespace te::app {

struct CommandContext {
  int exit_code = 0;
  std::string engine_version;  // "0.1.0+<git rev>"
};

// Reads a data file into bars (the engine/data loader, injected by cli.cpp).
using BarLoader = std::function<Result<model::BarSeries>(const std::string& path)>;

void register_version(CLI::App& app, CommandContext& ctx);
void register_backtest(CLI::App& app, CommandContext& ctx);
// `indicators --list` and `indicators --data F --compute LIST [--out O]`. With an
// empty loader (an embedding without engine/data), --data is refused with exit 1.
void register_indicators(CLI::App& app, CommandContext& ctx, BarLoader load_bars);
void register_generate_data(CLI::App& app, CommandContext& ctx);
void register_convert_data(CLI::App& app, CommandContext& ctx);
void register_download_data(CLI::App& app, CommandContext& ctx);
// Recorded sessions (docs/replay.md).
void register_sessions(CLI::App& app, CommandContext& ctx);
void register_replay(CLI::App& app, CommandContext& ctx);
void register_inspect_event(CLI::App& app, CommandContext& ctx);
void register_compare(CLI::App& app, CommandContext& ctx);
void register_export(CLI::App& app, CommandContext& ctx);
void register_rerun(CLI::App& app, CommandContext& ctx);
void register_optimize(CLI::App& app, CommandContext& ctx);
void register_optimize_merge(CLI::App& app, CommandContext& ctx);
void register_compare_backtests(CLI::App& app, CommandContext& ctx);
void register_monte_carlo(CLI::App& app, CommandContext& ctx);
// Strategy authoring (docs/strategy-guide.md).
void register_validate(CLI::App& app, CommandContext& ctx);
void register_new_strategy(CLI::App& app, CommandContext& ctx);
// `run --config F.toml`: the live engine (engine/live).
void register_run(CLI::App& app, CommandContext& ctx);

}  // namespace te::app
