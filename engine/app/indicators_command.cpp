#include <fmt/core.h>

#include <cstdio>
#include <memory>
#include <string>

#include "engine/app/command.hpp"
#include "engine/runner/bar_history.hpp"
#include "engine/runner/runner_indicators.hpp"
#include "engine/script/strategy_host.hpp"
#include "engine/ta/batch.hpp"
#include "engine/ta/listing.hpp"

namespace te::app {
namespace {

struct IndicatorsOptions {
  bool list = false;
  std::string indicators_dir;  // Lua indicators; empty: ./indicators, else the built-in ones
  std::string data;
  std::string compute;
  std::string out;  // empty or "-": stdout
};

// The indicators written in Lua, as a strategy would see them: the files are
// loaded into a sandboxed VM exactly as for a backtest (so a broken file fails
// here with the same message) and each describes itself.
Result<std::vector<ta::ListingRow>> lua_listing_rows(const std::string& dir) {
  auto files = script::find_indicator_files(dir);
  if (!files) return std::move(files).error();
  runner::GrowingHistory history;
  runner::RunnerIndicators indicators(history);
  script::HostOptions ho;
  ho.symbol = "LIST";
  ho.indicator_files = std::move(*files);
  ho.limits = script::make_limits(script::RunMode::Backtest);
  auto probe = script::make_strategy_source("(indicators --list)",
                                            "function detect_opportunity() end\n"
                                            "function filter_commitment() end\n"
                                            "function manage_position() end\n");
  if (!probe) return std::move(probe).error();
  auto host = script::StrategyHost::create(*probe, ho, indicators, nullptr);
  if (!host) return std::move(host).error();
  std::vector<ta::ListingRow> rows;
  for (const auto& info : (*host)->lua_indicators()) {
    ta::ListingRow r;
    r.name = info.name;
    r.params = info.params.empty() ? "-" : info.params;
    r.outputs = info.outputs;
    r.warmup = info.warmup.empty() ? "?" : info.warmup;
    r.summary = info.summary + " [" + info.path + "]";
    rows.push_back(std::move(r));
  }
  return rows;
}

int run_indicators(const IndicatorsOptions& o, const BarLoader& load_bars) {
  if (o.list) {
    auto rows = ta::native_listing_rows();
    auto lua_rows = lua_listing_rows(o.indicators_dir);
    if (!lua_rows) {
      fmt::print(stderr, "indicators --list: Lua indicators: {}\n", lua_rows.error().message);
      return 1;
    }
    rows.insert(rows.end(), lua_rows->begin(), lua_rows->end());
    fmt::print("{}", ta::format_listing(rows));
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
  auto* cmd = app.add_subcommand("indicators", "List the indicators (native and Lua), or compute indicator columns over a data file");
  cmd->add_flag("--list", opts->list,
                "Print every indicator (native and written in Lua) with its parameters, outputs and warm-up");
  cmd->add_option("--indicators-dir", opts->indicators_dir,
                  "Folder of indicators written in Lua for --list (default: ./indicators, else the built-in ones)");
  cmd->add_option("--data", opts->data, "Bar data file (CSV)");
  cmd->add_option("--compute", opts->compute, "Comma-separated specs, e.g. \"sma(20),rsi(14),macd(12,26,9)\"");
  cmd->add_option("--out", opts->out, "Output CSV (default: standard output)");
  cmd->callback([&ctx, opts, load = std::move(load_bars)] { ctx.exit_code = run_indicators(*opts, load); });
}

}  // namespace te::app
