#include <cstdio>
#include <filesystem>
#include <future>

#include <fmt/core.h>

#include "engine/app/command.hpp"
#include "engine/app/options.hpp"
#include "engine/app/progress.hpp"
#include "engine/backtest/backtest_engine.hpp"
#include "engine/backtest/metrics.hpp"
#include "engine/backtest/report.hpp"
#include "engine/core/clock.hpp"
#include "engine/core/sha256.hpp"
#include "engine/core/time.hpp"
#include "engine/data/csv_loader.hpp"
#include "engine/data/load_bars.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::app {
namespace {

struct BacktestArgs {
  std::string strategy, data, symbol, start, end, out, fill = "next_open";
  std::vector<std::string> params;
  double cash = 100000;
  double commission = 0;
  double lot_size = 1;
  std::int64_t closewatch_timeout = 0;
  std::uint64_t seed = 42;
  bool quiet = false;
  bool no_cache = false;
  bool no_html = false;
};

int run_backtest_command(const BacktestArgs& a, const CommandContext& ctx) {
  const std::int64_t t0 = monotonic_ns();
  auto params = parse_params(a.params);
  if (!params) return print_error(params.error().message), 1;
  auto range = parse_time_range(a.start, a.end);
  if (!range) return print_error(range.error().message), 1;
  auto fill = exec::parse_fill_model(a.fill);
  if (!fill) return print_error("--fill: " + fill.error().message), 1;
  if (!(a.cash > 0)) return print_error(fmt::format("--cash must be > 0, was {}", a.cash)), 1;
  if (!(a.commission >= 0) || a.commission >= 1)
    return print_error(fmt::format("--commission is a fraction of traded value in [0, 1), was {}", a.commission)), 1;
  if (!(a.lot_size >= 0)) return print_error(fmt::format("--lot-size must be >= 0, was {}", a.lot_size)), 1;

  // Hash the data file on the second core while this one loads and runs.
  auto data_hash = std::async(std::launch::async, [path = a.data] { return sha256_file_hex(path); });

  auto source = script::read_strategy(a.strategy);
  if (!source) return print_error(source.error().message), 1;

  data::LoadOptions lo;
  lo.symbol = a.symbol.empty() ? data::symbol_from_path(a.data) : a.symbol;
  lo.instrument = 0;
  lo.start_ns = range->start_ns;
  lo.end_ns = range->end_ns;
  lo.cache.read = lo.cache.write = !a.no_cache;
  lo.on_warning = [](const std::string& w) { std::fprintf(stderr, "warning: %s\n", w.c_str()); };
  auto bars = data::load_bars(a.data, lo);
  if (!bars) return print_error(bars.error().message), 1;

  backtest::BacktestConfig cfg;
  cfg.params = *params;
  cfg.initial_cash = a.cash;
  cfg.exchange.fill = *fill;
  cfg.exchange.commission.rate = a.commission;
  cfg.lot_size = a.lot_size;
  cfg.closewatch_timeout_bars = a.closewatch_timeout;
  cfg.seed = a.seed;
  cfg.keep_transitions = false;
  ProgressBar progress("backtest", bars->size());
  cfg.progress = [&progress](std::size_t done, std::size_t) { progress.update(done); };
  cfg.progress_every = 1 << 16;

  auto result = backtest::run_backtest(cfg, *bars, *source);
  progress.finish();
  if (!result) return print_error(result.error().message), 1;

  const backtest::Metrics metrics = backtest::compute_metrics(*result);
  backtest::ReportStamp stamp;
  stamp.engine_version = ctx.engine_version;
  stamp.strategy_path = a.strategy;
  stamp.strategy_sha256 = source->sha256;
  stamp.data_path = a.data;
  auto dh = data_hash.get();
  if (!dh) return print_error(dh.error().message), 1;
  stamp.data_sha256 = *dh;
  stamp.seed = a.seed;
  stamp.fill_model = std::string(exec::to_string(*fill));
  stamp.commission = a.commission;
  // Effective parameters, as the strategy saw them.
  auto host_params = result->params;
  stamp.params = host_params;
  stamp.config_sha256 = sha256_hex(backtest::canonical_config(cfg, host_params, bars->symbol(),
                                                              range->start_ns.value_or(0), range->end_ns.value_or(0)));
  const std::string out_dir =
      a.out.empty() ? "out/" + std::filesystem::path(a.strategy).stem().string() + "-" + bars->symbol() : a.out;
  stamp.elapsed_s = static_cast<double>(monotonic_ns() - t0) / 1e9;
  backtest::ReportOptions report_options;
  report_options.html = !a.no_html;
  report_options.bars = &*bars;
  if (auto st = backtest::write_report(out_dir, *result, metrics, stamp, report_options); !st)
    return print_error(st.error().message), 1;
  stamp.elapsed_s = static_cast<double>(monotonic_ns() - t0) / 1e9;

  if (!a.quiet) {
    for (const auto& line : result->strategy_log) std::fprintf(stderr, "[%s] %s\n", a.strategy.c_str(), line.c_str());
    std::fputs(backtest::format_summary(*result, metrics, stamp).c_str(), stdout);
    std::printf("  reports written to %s/ (report.json, trades.csv, equity.csv%s)\n", out_dir.c_str(),
                a.no_html ? "" : ", report.html");
    std::fflush(stdout);
  }
  if (result->fault) {
    const auto& f = *result->fault;
    print_error(f.message);
    std::fprintf(stderr, "  in %s at bar %zu; the runner was stopped (Faulted)\n", f.callback.c_str(),
                 result->bars > 0 ? result->bars - 1 : 0);
    if (!f.traceback.empty()) std::fprintf(stderr, "%s\n", f.traceback.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

void register_backtest(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<BacktestArgs>();
  auto* cmd = app.add_subcommand("backtest", "Run a strategy over historical bars and write a report");
  cmd->footer(
      "Writes DIR/report.json (metrics and reproducibility stamp), DIR/trades.csv (one row per round trip)\n"
      "DIR/equity.csv (one row per bar) and DIR/report.html (charts; --no-html skips it), and prints a summary. Exit status 0 on success, 1 when the\n"
      "input is bad or the strategy raised an error (the report of the run so far is still written).\n\n"
      "Example:\n"
      "  trading-engine backtest --strategy strategies/sma_cross.lua --data prices.csv \\\n"
      "      --cash 100000 --commission 0.001 --param fast=10 --param slow=30 --out out/sma");
  cmd->add_option("--strategy", args->strategy, "Strategy file (Lua)")->required();
  cmd->add_option("--data", args->data, "Bars: CSV (Yahoo, generic or Binance klines) or a .tebars cache")->required();
  cmd->add_option("--symbol", args->symbol, "Display symbol (default: the data file's name)");
  cmd->add_option("--start", args->start, "First date to trade, inclusive (YYYY-MM-DD or ISO date-time)");
  cmd->add_option("--end", args->end, "Last date to trade, inclusive");
  cmd->add_option("--param", args->params, "Override a strategy parameter: name=value (repeatable)");
  cmd->add_option("--cash", args->cash, "Initial cash")->capture_default_str();
  cmd->add_option("--commission", args->commission, "Commission as a fraction of traded value (0.001 = 0.1 %)")
      ->capture_default_str();
  cmd->add_option("--fill", args->fill, "Fill model: next_open (market orders fill at the next bar's open) or close")
      ->capture_default_str();
  cmd->add_option("--lot-size", args->lot_size,
                  "Quantity increment for sized entries (fraction/risk sizing); 0 allows any quantity")
      ->capture_default_str();
  cmd->add_option("--closewatch-timeout", args->closewatch_timeout,
                  "Bars CloseWatch may last before returning to Watch (0 = no limit)")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed for math.random inside the strategy")->capture_default_str();
  cmd->add_option("--out", args->out, "Output directory (default: out/<strategy>-<symbol>)");
  cmd->add_flag("--no-cache", args->no_cache, "Neither read nor write the binary cache of the data file");
  cmd->add_flag("--no-html", args->no_html, "Do not write report.html");
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing on success");
  cmd->callback([args, &ctx] { ctx.exit_code = run_backtest_command(*args, ctx); });
}

}  // namespace te::app
