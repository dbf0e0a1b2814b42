#include "engine/app/cli.hpp"

#include <fmt/core.h>

#include "engine/app/command.hpp"

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
  register_download_data(app, ctx);

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
