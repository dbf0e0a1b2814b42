// `trading-engine convert-data`: build the binary bar cache of a CSV ahead of time.
#include <fmt/core.h>

#include <memory>

#include "engine/app/command.hpp"
#include "engine/core/clock.hpp"
#include "engine/data/load_bars.hpp"

namespace te::app {
namespace {

struct ConvertArgs {
  std::string data;
  std::string out;
};

int run_convert(const ConvertArgs& a) {
  const std::int64_t t0 = monotonic_ns();
  auto built = data::build_bar_cache(a.data, a.out);
  if (!built) {
    fmt::print(stderr, "error: {}\n", built.error().message);
    return 1;
  }
  const double secs = static_cast<double>(monotonic_ns() - t0) * 1e-9;
  fmt::print("wrote {}: {} bars from {} ({} CSV), {:.1f} MB in {:.2f} s\n", built->cache_path, built->rows, a.data,
             data::format_name(built->format), static_cast<double>(built->bytes) / 1e6, secs);
  return 0;
}

}  // namespace

void register_convert_data(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<ConvertArgs>();
  auto* cmd = app.add_subcommand(
      "convert-data",
      "Convert a CSV bar file (Yahoo, generic or Binance klines) into the binary columnar cache (.tebars) that\n"
      "loads by memory-mapping instead of parsing.");
  cmd->add_option("--data", args->data, "CSV file to convert")->required();
  cmd->add_option("--out", args->out, "Cache file to write (default: <data>.tebars, where backtests look for it)");
  cmd->footer(
      "Backtests create and refresh <data>.tebars by themselves; this command does it ahead of time, or writes a\n"
      "cache elsewhere. A cache records the CSV's size, modification time and content hash and is ignored once\n"
      "the CSV changes. A .tebars file can also be passed to --data directly. Format: docs/data.md.");
  cmd->callback([args, &ctx] { ctx.exit_code = run_convert(*args); });
}

}  // namespace te::app
