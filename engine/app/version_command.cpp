#include <fmt/core.h>

#include "engine/app/command.hpp"

namespace te::app {

void register_version(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("version", "Print the engine version and build information");
  cmd->callback([&ctx] {
    fmt::print("trading-engine {}\n", ctx.engine_version);
    ctx.exit_code = 0;
  });
}

}  // namespace te::app
