#include "engine/app/cli.hpp"

#include <cstdio>

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

  register_version(app, ctx);
  register_backtest(app, ctx);
  register_indicators(app, ctx, [](const std::string& path) {
    data::LoadOptions o;
    return data::load_bars(path, o);
  });
  register_generate_data(app, ctx);
  register_convert_data(app, ctx);
  register_download_data(app, ctx);
  register_sessions(app, ctx);
  register_replay(app, ctx);
  register_inspect_event(app, ctx);
  register_compare(app, ctx);
  register_export(app, ctx);
  register_rerun(app, ctx);
  register_optimize(app, ctx);
  register_optimize_merge(app, ctx);
  register_compare_backtests(app, ctx);
  register_monte_carlo(app, ctx);
  register_validate(app, ctx);
  register_new_strategy(app, ctx);
  register_run(app, ctx);

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
