#pragma once
// Command-line front end (CLI11 stays inside engine/app).
namespace te::app {

// Parses argv, runs the chosen subcommand, returns the process exit code:
// 0 success, 1 the command failed (bad input, strategy fault), 2 usage error.
int run_cli(int argc, char** argv);

}  // namespace te::app
