#include "engine/app/cli.hpp"

#include <cstdio>
#include <string_view>
#include <utility>

#include <fmt/core.h>

#include "engine/app/command.hpp"
#include "engine/data/load_bars.hpp"
#include "te_git_rev.hpp"  // TE_GIT_REV, generated at every build (cmake/git_rev.cmake)

namespace te::app {

int run_cli(int argc, char** argv) {
  CommandContext ctx;
  ctx.engine_version = std::string(TE_VERSION) + "+" + TE_GIT_REV;

  CLI::App app{
      "trading-engine: backtest, validate and run Lua trading strategies on one code path.\n"
      "Run `trading-engine <command> --help` for the options of each command.",
      "trading-engine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", ctx.engine_version);

  // Each command's options cost CLI11 thousands of allocations to declare
  // (~3.8M instructions for all twenty, about 1 ms of every run): a command
  // named first is the only one declared. Anything else (--help, --version, a
  // mistyped name) gets them all, for the command list and its messages.
  using Register = void (*)(CLI::App&, CommandContext&);
  static constexpr std::pair<std::string_view, Register> kCommands[] = {
      {"version", register_version},
      {"backtest", register_backtest},
      {"indicators",
       [](CLI::App& a, CommandContext& c) {
         register_indicators(a, c, [](const std::string& path) {
           data::LoadOptions o;
           return data::load_bars(path, o);
         });
       }},
      {"generate-data", register_generate_data},
      {"convert-data", register_convert_data},
      {"download-data", register_download_data},
      {"sessions", register_sessions},
      {"replay", register_replay},
      {"inspect-event", register_inspect_event},
      {"compare", register_compare},
      {"export", register_export},
      {"rerun", register_rerun},
      {"optimize", register_optimize},
      {"optimize-merge", register_optimize_merge},
      {"compare-backtests", register_compare_backtests},
      {"monte-carlo", register_monte_carlo},
      {"validate", register_validate},
      {"new-strategy", register_new_strategy},
      {"run", register_run},
  };
  const std::string_view first = argc > 1 ? std::string_view(argv[1]) : std::string_view();
  bool one = false;
  for (const auto& [name, add] : kCommands)
    if (name == first) {
      add(app, ctx);
      one = true;
    }
  if (!one)
    for (const auto& [name, add] : kCommands) add(app, ctx);

  // CLI11 would say only "A subcommand is required" for a mistyped command.
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    std::string names;
    for (const CLI::App* sub : app.get_subcommands({})) {
      known = known || sub->check_name(argv[1]);
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      std::fprintf(stderr, "error: unknown command '%s'\ncommands: %s\nRun `trading-engine --help` for what each does.\n",
                   argv[1], names.c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  return ctx.exit_code;
}

}  // namespace te::app
