#include <fmt/core.h>

#include <cstdio>
#include <memory>
#include <string>

#include "engine/app/command.hpp"
#include "engine/ta/batch.hpp"
#include "engine/ta/listing.hpp"

namespace te::app {
namespace {

struct IndicatorsOptions {
  bool list = false;
  std::string data;
  std::string compute;
  std::string out;  // empty or "-": stdout
};

int run_indicators(const IndicatorsOptions& o, const BarLoader& load_bars) {
  if (o.list) {
    fmt::print("{}", ta::list_indicators());
    return 0;
  }
  if (o.data.empty() || o.compute.empty()) {
    fmt::print(stderr, "indicators: give --list, or --data FILE with --compute \"sma(20),rsi(14),...\"\n");
    return 2;
  }
  // Validate the list before reading a possibly large file.
  if (auto specs = ta::parse_spec_list(o.compute); !specs) {
    fmt::print(stderr, "indicators --compute: {}\n", specs.error().message);
    return 1;
  }
  if (!load_bars) {
    fmt::print(stderr, "indicators --data {}: this build has no data loader yet (engine/data)\n", o.data);
    return 1;
  }
  auto bars = load_bars(o.data);
  if (!bars) {
    fmt::print(stderr, "indicators: {}\n", bars.error().message);
    return 1;
  }
  const bool to_stdout = o.out.empty() || o.out == "-";
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(to_stdout ? nullptr : std::fopen(o.out.c_str(), "wb"), &std::fclose);
  if (!to_stdout && !file) {
    fmt::print(stderr, "indicators --out {}: cannot open for writing\n", o.out);
    return 1;
  }
  std::FILE* sink_file = to_stdout ? stdout : file.get();
  const Status st = ta::write_indicators_csv(*bars, o.compute, [sink_file](std::string_view chunk) {
    return std::fwrite(chunk.data(), 1, chunk.size(), sink_file) == chunk.size();
  });
  if (!st) {
    fmt::print(stderr, "indicators{}: {}\n", to_stdout ? "" : " --out " + o.out, st.error().message);
    return 1;
  }
  if (!to_stdout) {
    std::FILE* f = file.release();
    if (std::fclose(f) != 0) {
      fmt::print(stderr, "indicators --out {}: write failed\n", o.out);
      return 1;
    }
  }
  return 0;
}

}  // namespace

void register_indicators(CLI::App& app, CommandContext& ctx, BarLoader load_bars) {
  auto opts = std::make_shared<IndicatorsOptions>();
  auto* cmd = app.add_subcommand("indicators", "List the native indicators, or compute indicator columns over a data file");
  cmd->add_flag("--list", opts->list, "Print every indicator with its parameters, outputs and warm-up");
  cmd->add_option("--data", opts->data, "Bar data file (CSV)");
  cmd->add_option("--compute", opts->compute, "Comma-separated specs, e.g. \"sma(20),rsi(14),macd(12,26,9)\"");
  cmd->add_option("--out", opts->out, "Output CSV (default: standard output)");
  cmd->callback([&ctx, opts, load = std::move(load_bars)] { ctx.exit_code = run_indicators(*opts, load); });
}

}  // namespace te::app
