#pragma once
// Each subcommand lives in its own <name>_command.cpp and registers itself with
// the CLI through a register_* function listed in cli.cpp. A command's callback
// stores its exit code in `exit_code`.
#include <CLI/CLI.hpp>

#include <string>

namespace te::app {

struct CommandContext {
  int exit_code = 0;
  std::string engine_version;  // "0.1.0+<git rev>"
};

void register_version(CLI::App& app, CommandContext& ctx);
void register_download_data(CLI::App& app, CommandContext& ctx);

}  // namespace te::app
