#include <cstdio>
#include <filesystem>
#include <future>

#include <fmt/core.h>

#include "engine/app/command.hpp"
#include "engine/app/execution_options.hpp"
#include "engine/app/options.hpp"
#include "engine/app/progress.hpp"
#include "engine/app/sandbox_options.hpp"
#include "engine/app/session_common.hpp"
#include "engine/app/session_recording.hpp"
#include "engine/backtest/backtest_engine.hpp"
#include "engine/backtest/metrics.hpp"
#include "engine/backtest/report.hpp"
#include "engine/core/clock.hpp"
#include "engine/core/sha256.hpp"
#include "engine/core/time.hpp"
#include "engine/data/csv_loader.hpp"
#include "engine/data/load_bars.hpp"
#include "engine/journal/recorded_bars.hpp"
#include "engine/config/config.hpp"
#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::app {
namespace {

struct BacktestArgs {
  std::string strategy, data, symbol, start, end, out, fill = "next_open", indicators_dir;
  std::vector<std::string> params;
  double cash = 100000;
  double commission = 0;
  double lot_size = 1;
  // Execution and risk (docs/execution.md, docs/risk.md); flags override --config.
  std::string config, slippage, commission_model, kill_switch_at, kill_switch_file;
  double max_volume_fraction = 0, tick_size = 0, min_qty = 0, min_notional = 0, leverage = 1, short_margin = 1;
  std::int64_t latency_bars = 0;
  int pyramiding = 1;
  bool allow_short = true, close_at_end = false, kill_switch = false;
  const CLI::App* cmd = nullptr;
  bool given(const char* flag) const { return cmd != nullptr && cmd->count(flag) > 0; }
  std::int64_t closewatch_timeout = 0;
  std::uint64_t seed = 42;
  bool quiet = false;
  bool no_cache = false;
  RecordSettings record;
  bool no_html = false;
};

// Execution and risk settings: defaults, then --config's [execution] and
// [risk], then the flags given on the command line.
// [sandbox] of --config (defaults without one) lands in `sandbox`.
Result<std::pair<ExecutionSetup, std::optional<risk::RiskConfig>>> execution_settings(const BacktestArgs& a,
                                                                                     config::SandboxSection& sandbox) {
  config::ExecutionSection sec;
  config::RiskSection risk_sec;
  if (!a.config.empty()) {
    auto file = config::load_config(a.config);
    if (!file) return std::move(file).error();
    sec = file->execution;
    risk_sec = file->risk;
    sandbox = file->sandbox;
  }
  if (a.given("--fill")) sec.fill = a.fill;
  if (a.given("--cash")) sec.initial_cash = a.cash;
  if (a.given("--lot-size")) sec.lot_size = a.lot_size;
  if (a.given("--tick-size")) sec.tick_size = a.tick_size;
  if (a.given("--min-qty")) sec.min_qty = a.min_qty;
  if (a.given("--min-notional")) sec.min_notional = a.min_notional;
  if (a.given("--max-volume-fraction")) sec.max_volume_fraction = a.max_volume_fraction;
  if (a.given("--latency-bars")) sec.latency_bars = a.latency_bars;
  if (a.given("--allow-short")) sec.allow_short = a.allow_short;
  if (a.given("--pyramiding")) sec.pyramiding = a.pyramiding;
  if (a.given("--leverage")) sec.leverage = a.leverage;
  if (a.given("--short-margin")) sec.short_margin = a.short_margin;
  if (a.given("--close-at-end")) sec.close_at_end = a.close_at_end;
  auto setup = execution_setup(sec);
  if (!setup) return std::move(setup).error();
  ExecutionSetup& out = *setup;
  if (a.given("--commission")) {
    if (!(a.commission >= 0) || (out.exchange.commission.kind == exec::CommissionModel::Kind::Percent && a.commission >= 1))
      return make_error(Errc::invalid_argument,
                        fmt::format("--commission is a fraction of traded value in [0, 1), was {}", a.commission));
    out.exchange.commission.rate = a.commission;
  }
  if (a.given("--commission-model")) {
    std::string spec = a.commission_model;
    // A bare kind takes its rate from --commission.
    if (spec.find(':') == std::string::npos && (spec == "percent" || spec == "per_share" || spec == "fixed"))
      spec += ":" + format_double(a.commission);
    auto m = exec::parse_commission_model(spec);
    if (!m) return make_error(Errc::invalid_argument, "--commission-model: " + m.error().message);
    out.exchange.commission = *m;
  }
  if (a.given("--slippage")) {
    auto m = exec::parse_slippage_model(a.slippage);
    if (!m) return make_error(Errc::invalid_argument, "--slippage: " + m.error().message);
    out.exchange.slippage = *m;
  }
  if (!(out.lot_size >= 0)) return make_error(Errc::invalid_argument, "--lot-size must be >= 0");
  if (out.exchange.max_volume_fraction < 0 || out.exchange.max_volume_fraction > 1)
    return make_error(Errc::invalid_argument,
                      fmt::format("--max-volume-fraction must be in [0, 1], was {}", out.exchange.max_volume_fraction));
  if (out.exchange.latency_bars < 0)
    return make_error(Errc::invalid_argument, fmt::format("--latency-bars must be >= 0, was {}", out.exchange.latency_bars));
  if (out.pyramiding < 1) return make_error(Errc::invalid_argument, fmt::format("--pyramiding must be >= 1, was {}", out.pyramiding));
  if (!(out.margin.leverage >= 1))
    return make_error(Errc::invalid_argument, fmt::format("--leverage must be >= 1, was {}", out.margin.leverage));
  if (!(out.margin.short_margin >= 0))
    return make_error(Errc::invalid_argument, fmt::format("--short-margin must be >= 0, was {}", out.margin.short_margin));
  if (!(out.tick_size >= 0) || !(out.min_qty >= 0) || !(out.min_notional >= 0))
    return make_error(Errc::invalid_argument, "--tick-size, --min-qty and --min-notional must be >= 0");
  if (out.exchange.slippage.kind == exec::SlippageModel::Kind::Ticks && !(out.tick_size > 0))
    return make_error(Errc::invalid_argument, "--slippage ticks:N needs --tick-size");
  std::optional<risk::RiskConfig> risk;
  if (risk_sec.present || a.kill_switch || !a.kill_switch_at.empty() || !a.kill_switch_file.empty()) {
    risk = risk_config(risk_sec);
    if (a.kill_switch) risk->kill_switch = true;
    if (!a.kill_switch_file.empty()) risk->kill_switch_file = a.kill_switch_file;
    risk->kill_switch_signal = true;  // `kill -USR1 <pid>` engages it while the backtest runs
    if (!a.kill_switch_at.empty()) {
      auto at = parse_iso8601_ns(a.kill_switch_at);
      if (!at)
        return make_error(Errc::invalid_argument,
                          "--kill-switch-at: expected an ISO-8601 date or date-time, was '" + a.kill_switch_at + "'");
      risk->kill_switch_at_ns = *at;
    }
  }
  return std::make_pair(std::move(out), std::move(risk));
}

int run_backtest_command(const BacktestArgs& a, const CommandContext& ctx) {
  const std::int64_t t0 = monotonic_ns();
  auto params = parse_params(a.params);
  if (!params) return print_error(params.error().message), 1;
  auto range = parse_time_range(a.start, a.end);
  if (!range) return print_error(range.error().message), 1;
  auto fill = exec::parse_fill_model(a.fill);
  if (!fill) return print_error("--fill: " + fill.error().message), 1;
  if (!(a.cash > 0)) return print_error(fmt::format("--cash must be > 0, was {}", a.cash)), 1;
  if (!(a.lot_size >= 0)) return print_error(fmt::format("--lot-size must be >= 0, was {}", a.lot_size)), 1;
  config::SandboxSection sandbox;
  auto exec_settings = execution_settings(a, sandbox);
  if (!exec_settings) return print_error(exec_settings.error().message), 1;

  // Hash the data file on the second core while this one loads and runs.
  auto data_hash = std::async(std::launch::async, [path = a.data] { return sha256_file_hex(path); });

  auto source = script::read_strategy(a.strategy);
  if (!source) return print_error(source.error().message), 1;
  auto indicator_files = script::find_indicator_files(a.indicators_dir);
  if (!indicator_files) return print_error(indicator_files.error().message), 1;

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
  const ExecutionSetup& ex = exec_settings->first;
  cfg.initial_cash = ex.initial_cash;
  cfg.exchange = ex.exchange;
  cfg.lot_size = ex.lot_size;
  cfg.tick_size = ex.tick_size;
  cfg.min_qty = ex.min_qty;
  cfg.min_notional = ex.min_notional;
  cfg.margin = ex.margin;
  cfg.allow_short = ex.allow_short;
  cfg.pyramiding = ex.pyramiding;
  cfg.close_at_end = ex.close_at_end;
  cfg.risk = exec_settings->second;
  cfg.closewatch_timeout_bars = a.closewatch_timeout;
  cfg.limits = sandbox_limits(sandbox, script::RunMode::Backtest);
  cfg.max_consecutive_errors = sandbox.max_consecutive_errors;
  cfg.flatten_on_fault = sandbox.flatten_on_fault;
  cfg.seed = a.seed;
  cfg.keep_transitions = false;
  cfg.indicator_files = std::move(*indicator_files);
  ProgressBar progress("backtest", bars->size());
  cfg.progress = [&progress](std::size_t done, std::size_t) { progress.update(done); };
  cfg.progress_every = 1 << 16;

  std::unique_ptr<runner::SessionRecorder> session;
  std::string data_sha256;
  if (a.record.record) {
    // The session's meta and session_start carry the data hash: wait for it.
    auto dh = data_hash.get();
    if (!dh) return print_error(dh.error().message), 1;
    data_sha256 = *dh;
    BacktestSessionSpec spec;
    spec.engine_version = ctx.engine_version;
    spec.strategy_name = std::filesystem::path(a.strategy).stem().string();
    spec.strategy_path = a.strategy;
    spec.strategy_code = source->code;
    spec.param_overrides = *params;
    spec.symbol = bars->symbol();
    spec.data_path = a.data;
    spec.data_sha256 = data_sha256;
    spec.bars_sha256 = journal::bars_sha256(*bars);
    spec.bars = bars->size();
    spec.start = a.start;
    spec.end = a.end;
    spec.timeframe = detect_timeframe(*bars);
    spec.first_bar_ns = bars->empty() ? 0 : bars->ts_ns()[0];
    auto started = start_backtest_session(a.record, spec, cfg);
    if (!started) return print_error("--record: " + started.error().message), 1;
    session = std::move(*started);
  }

  auto result = backtest::run_backtest(cfg, *bars, *source);
  progress.finish();
  if (!result) {
    if (session) (void)session->discard();  // the strategy never ran: nothing worth keeping
    return print_error(result.error().message), 1;
  }

  const backtest::Metrics metrics = backtest::compute_metrics(*result);
  if (session) {
    if (auto st = finish_backtest_session(*session, *result, metrics); !st)
      return print_error("--record: " + st.error().message), 1;
  }
  backtest::ReportStamp stamp;
  stamp.engine_version = ctx.engine_version;
  stamp.strategy_path = a.strategy;
  stamp.strategy_sha256 = source->sha256;
  stamp.data_path = a.data;
  if (data_sha256.empty()) {
    auto dh = data_hash.get();
    if (!dh) return print_error(dh.error().message), 1;
    data_sha256 = *dh;
  }
  stamp.data_sha256 = data_sha256;
  stamp.seed = a.seed;
  stamp.fill_model = std::string(exec::to_string(cfg.exchange.fill));
  stamp.commission = cfg.exchange.commission.rate;
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
    if (session) std::printf("%s\n", session_written_line(*session).c_str());
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
      "Writes DIR/report.json (metrics and reproducibility stamp), DIR/trades.csv (one row per round trip),\n"
      "DIR/equity.csv (one row per bar) and DIR/report.html (charts; --no-html skips it), and prints a\n"
      "summary. Exit status 0 on success, 1 when the input is bad or the strategy raised an error (the\n"
      "report of the run so far is still written).\n"
      "With --record the session is also journaled under --sessions-dir for `sessions`, `replay`,\n"
      "`inspect-event`, `compare`, `export` and `rerun` (docs/replay.md).\n\n"
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
  cmd->add_option("--fill", args->fill,
                  "Fill model: next_open (market orders at the next open; stops/limits on the bar's range), close "
                  "(market orders at the signal bar's close), ohlc (stops/limits along a modelled intrabar path) or "
                  "bid_ask (at the bar's quote)")
      ->capture_default_str();
  cmd->add_option("--commission-model", args->commission_model,
                  "percent:RATE[:MIN], per_share:RATE[:MIN], fixed:AMOUNT or maker_taker:MAKER:TAKER (a bare "
                  "percent/per_share/fixed takes --commission as its rate)");
  cmd->add_option("--slippage", args->slippage,
                  "Slippage of taker fills: none, a fraction (0.0005), percent:F, ticks:N (needs --tick-size) or "
                  "volume:K (square-root impact)");
  cmd->add_option("--max-volume-fraction", args->max_volume_fraction,
                  "Largest share of a bar's volume that may fill (0 = no limit); the rest carries to later bars");
  cmd->add_option("--latency-bars", args->latency_bars, "Bars before orders, cancels and amendments take effect");
  cmd->add_option("--tick-size", args->tick_size, "Price increment: order prices are rounded to it (0 = none)");
  cmd->add_option("--min-qty", args->min_qty, "Smallest order quantity (0 = none)");
  cmd->add_option("--min-notional", args->min_notional, "Smallest order value (0 = none)");
  cmd->add_option("--allow-short", args->allow_short, "Allow short entries (true/false)")->capture_default_str();
  cmd->add_option("--pyramiding", args->pyramiding, "Entries allowed per trade (1 = no adding)")->capture_default_str();
  cmd->add_option("--leverage", args->leverage, "Longs need 1/leverage of their value as margin")->capture_default_str();
  cmd->add_option("--short-margin", args->short_margin, "Shorts need this fraction of their value as margin")
      ->capture_default_str();
  cmd->add_flag("--close-at-end", args->close_at_end, "Close an open trade at the last bar's close (end_of_data)");
  cmd->add_flag("--kill-switch", args->kill_switch, "Engage the kill switch from the start: no orders at all");
  cmd->add_option("--kill-switch-at", args->kill_switch_at,
                  "Engage the kill switch at this time (ISO-8601): flatten, then refuse new orders");
  cmd->add_option("--kill-switch-file", args->kill_switch_file,
                  "Engage the kill switch when this file appears while the backtest runs (also: SIGUSR1)");
  cmd->add_option("--config", args->config,
                  "TOML file whose [execution], [risk] and [sandbox] sections apply (flags given here override them)");
  cmd->add_option("--lot-size", args->lot_size,
                  "Quantity increment for sized entries (fraction/risk sizing); 0 allows any quantity")
      ->capture_default_str();
  cmd->add_option("--closewatch-timeout", args->closewatch_timeout,
                  "Bars CloseWatch may last before returning to Watch (0 = no limit)")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed for math.random inside the strategy")->capture_default_str();
  cmd->add_option("--out", args->out, "Output directory (default: out/<strategy>-<symbol>)");
  cmd->add_option("--indicators-dir", args->indicators_dir,
                  "Folder of indicators written in Lua (default: ./indicators if present, else the built-in ones)");
  cmd->add_flag("--no-cache", args->no_cache, "Neither read nor write the binary cache of the data file");
  cmd->add_flag("--no-html", args->no_html, "Do not write report.html");
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing on success");
  args->cmd = cmd;
  add_record_options(cmd, args->record);
  cmd->callback([args, &ctx] { ctx.exit_code = run_backtest_command(*args, ctx); });
}

}  // namespace te::app
