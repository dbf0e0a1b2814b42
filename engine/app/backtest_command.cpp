#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <optional>

#include <fmt/core.h>

#include "engine/app/cli_checks.hpp"
#include "engine/app/command.hpp"
#include "engine/app/execution_options.hpp"
#include "engine/app/old_outputs.hpp"
#include "engine/app/options.hpp"
#include "engine/app/phase_timer.hpp"
#include "engine/app/progress.hpp"
#include "engine/app/sandbox_options.hpp"
#include "engine/app/session_common.hpp"
#include "engine/app/session_recording.hpp"
#include "engine/backtest/backtest_engine.hpp"
#include "engine/backtest/equity_stream.hpp"
#include "engine/backtest/metrics.hpp"
#include "engine/backtest/report.hpp"
#include "engine/core/clock.hpp"
#include "engine/core/huge_heap.hpp"
#include "engine/core/sha256.hpp"
#include "engine/core/time.hpp"
#include "engine/data/cache_check.hpp"
#include "engine/data/csv_loader.hpp"
#include "engine/data/csv_stream.hpp"
#include "engine/data/load_bars.hpp"
#include "engine/journal/recorded_bars.hpp"
#include "engine/config/config.hpp"
#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::app {
namespace {

struct BacktestArgs {
  std::string strategy, data, symbol, start, end, out, indicators_dir;
  std::vector<std::string> params;
  // Execution and risk (docs/execution.md, docs/risk.md); flags override --config.
  ExecutionFlags exec;
  std::int64_t closewatch_timeout = 0;
  std::uint64_t seed = 42;
  bool quiet = false;
  bool no_cache = false;
  RecordSettings record;
  bool no_html = false;
  bool timings = false;
  // Set for the second attempt when the cache checked during the first run
  // turned out bad: this time the loader checks it first (and falls back to
  // parsing the CSV as usual).
  bool check_cache_first = false;
  // Set for the second attempt when the CSV parsed during the first run turned
  // out bad: this time it is parsed whole first, which reports the problem
  // exactly as it always did (engine/data/csv_stream.hpp).
  bool parse_whole = false;
};

// The run reads a bar of a cache only once the cache's check passed it. Row
// numbers are the cache's; the data may be a time-filtered part of it.
class CheckedRows final : public backtest::BarGate {
 public:
  // Whether `data`'s rows are rows of the checked cache (load_bars returns the
  // cache's own columns, time-filtered or not); otherwise the check is waited for.
  static bool covers(const data::CacheCheck& check, const model::BarSeries& data) noexcept {
    const std::int64_t* const all = check.series().columns().ts_ns;
    const std::int64_t* const ts = data.columns().ts_ns;
    return !data.empty() && std::less_equal<>()(all, ts) &&
           std::less_equal<>()(ts + data.size(), all + check.series().size());
  }
  CheckedRows(const data::CacheCheck& check, const model::BarSeries& data)
      : check_(check), offset_(static_cast<std::size_t>(data.columns().ts_ns - check.series().columns().ts_ns)) {}
  std::size_t ready(std::size_t bars) noexcept override {
    const std::size_t rows = check_.wait_rows(offset_ + bars);
    return rows > offset_ ? rows - offset_ : 0;
  }

 private:
  const data::CacheCheck& check_;
  std::size_t offset_;
};

// The run reads a bar of a CSV only once the streamed parse has reached it.
class StreamedRows final : public backtest::BarGate {
 public:
  explicit StreamedRows(data::CsvStream& stream) : stream_(stream) {}
  // At most kGrant bars past those asked for: the run asks again that often,
  // so a parse that fails stops the (discarded) run soon after. While the
  // rows asked for are not parsed yet, this thread parses chunks itself.
  std::size_t ready(std::size_t bars) noexcept override { return std::min(stream_.wait_rows(bars), bars + kGrant); }

 private:
  static constexpr std::size_t kGrant = std::size_t{1} << 16;
  data::CsvStream& stream_;
};

int run_backtest_command(const BacktestArgs& a, const CommandContext& ctx) {
  const std::int64_t t0 = monotonic_ns();
  PhaseTimer timer;
  reserve_huge_heap(std::size_t{64} << 20);
  auto params = parse_params(a.params);
  if (!params) return print_error(params.error().message), 1;
  auto range = parse_time_range(a.start, a.end);
  if (!range) return print_error(range.error().message), 1;
  auto exec_settings = resolve_execution(a.exec);
  if (!exec_settings) return print_error(exec_settings.error().message), 1;

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
  // The report's data_sha256: hashed by the loader on the second core while it
  // parses, or read from the cache that was built from this very file (same
  // size and mtime, or same content); docs/backtesting.md "Reproducibility".
  lo.source_sha256 = true;
  lo.defer_source_sha256 = true;  // --no-cache: hashed below, during the run
  // A cache's data is checked on the second core while the strategy already
  // runs over the rows that passed (engine/data/cache_check.hpp); a recorded
  // session starts journaling before the run, so it checks first.
  lo.cache.defer_verify = !a.check_cache_first && !a.record.record;
  // Likewise a large CSV parsed without a cache is parsed on the second core
  // in chunks while the strategy runs over the rows parsed so far
  // (engine/data/csv_stream.hpp); the stream's worker then hashes the file.
  lo.stream_csv = !a.parse_whole && !a.record.record;
  timer.mark("setup");
  data::LoadReport load_report;
  auto bars = data::load_bars(a.data, lo, &load_report);
  if (!bars) return print_error(bars.error().message), 1;
  timer.mark(load_report.csv_stream                        ? "load (CSV: first chunk)"
             : load_report.source == data::LoadSource::csv ? "load (parse CSV)"
                                                           : "load (binary cache)");
  // Otherwise (a .tebars file given directly, an older cache) hash the file on
  // the second core while this one runs.
  // A CSV parsed without writing a cache (--no-cache) left its bytes for this:
  // the parse had both cores, and the hash fits beside the equity worker.
  std::future<Result<std::string>> data_hash;
  const std::shared_ptr<data::CsvStream> stream = load_report.csv_stream;
  if (stream) {
    // hashed by the stream's worker once it has parsed the file
  } else if (load_report.source_sha256.empty() && load_report.source_bytes)
    data_hash = std::async(std::launch::async, [bytes = std::move(load_report.source_bytes)]() mutable {
      const auto mapped = std::move(bytes);  // unmapped as soon as it is hashed
      return Result<std::string>(sha256_hex(mapped->view()));
    });
  else if (load_report.source_sha256.empty())
    data_hash = std::async(std::launch::async, [path = a.data] { return sha256_file_hex(path); });
  auto data_sha256_now = [&]() -> Result<std::string> {
    if (!load_report.source_sha256.empty()) return load_report.source_sha256;
    if (stream) {
      TE_TRY(stream->result());
      return stream->source_sha256();
    }
    return data_hash.get();
  };

  backtest::BacktestConfig cfg;
  cfg.params = *params;
  apply_execution(*exec_settings, cfg);
  cfg.closewatch_timeout_bars = a.closewatch_timeout;
  cfg.seed = a.seed;
  cfg.keep_transitions = false;
  cfg.indicator_files = std::move(*indicator_files);

  std::unique_ptr<runner::SessionRecorder> session;
  std::string data_sha256;
  if (a.record.record) {
    // The session's meta and session_start carry the data hash: wait for it.
    // The bars' hash first: it is this thread's work (80 bytes a bar, ~44 ms
    // per 1M bars), done while the file's hash may still run on the second
    // core (a .tebars file given directly: ~28 ms per 48 MB), not after it.
    std::string bars_hash = journal::bars_sha256(*bars);
    auto dh = data_sha256_now();
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
    spec.bars_sha256 = std::move(bars_hash);
    spec.bars = bars->size();
    spec.start = a.start;
    spec.end = a.end;
    spec.timeframe = detect_timeframe(*bars);
    spec.first_bar_ns = bars->empty() ? 0 : bars->ts_ns()[0];
    auto started = start_backtest_session(a.record, spec, cfg);
    if (!started) return print_error("--record: " + started.error().message), 1;
    session = std::move(*started);
  }

  // equity.csv (a row per bar) and the curve metrics are produced on the second
  // core while the strategy runs (engine/backtest/equity_stream.hpp).
  const std::string out_dir =
      a.out.empty() ? "out/" + std::filesystem::path(a.strategy).stem().string() + "-" + bars->symbol() : a.out;
  std::error_code dir_error;
  std::filesystem::create_directories(out_dir, dir_error);
  if (dir_error) return print_error("create output directory " + out_dir + ": " + dir_error.message()), 1;
  // Outputs of an earlier run in out_dir are deleted on a second thread once
  // the strategy is running (engine/app/old_outputs.hpp): replacing them in
  // place cost tens of milliseconds on the critical path.
  // Only equity.csv, written during the run, and only when the equity stream
  // does not write over it (EquityStream::replace_old: no usable old file, or
  // the stream stopped waiting for the data to pass); the reports written
  // after the run go over their old files' storage (ReportOptions::write_over).
  OldOutputs old_outputs({out_dir + "/equity.csv"});
  ProgressBar progress("backtest", bars->size());
  // The earlier outputs go only once this run's data is known good: a data
  // file found bad during the run leaves them as they were.
  auto data_passed = [&load_report, &stream] {
    return (!stream || stream->passed()) && (!load_report.cache_check || load_report.cache_check->passed());
  };
  // The stream's worker also keeps the columns the reports read (time, equity,
  // drawdown): the run thread keeps no curve, so the fresh memory of a row per
  // bar is filled on the second core.
  auto equity_stream =
      backtest::EquityStream::open(out_dir + "/equity.csv", cfg.initial_cash, bars->date_only(), bars->size());
  if (!equity_stream) return print_error(equity_stream.error().message), 1;
  // equity.csv is written over the old one's storage once the data passed
  // (the strategy is running by then: the first block is handed over after
  // its first bars); unless the stream gives up waiting, the old one is then
  // not for old_outputs to delete.
  backtest::EquityStream& equity = **equity_stream;
  equity.replace_old(data_passed);
  cfg.progress = [&progress, &old_outputs, &data_passed, &equity](std::size_t done, std::size_t) {
    progress.update(done);
    if (data_passed() && !equity.waiting_for_old()) old_outputs.discard();
  };
  cfg.progress_every = 1 << 16;
  cfg.equity_listener = equity_stream->get();
  cfg.keep_equity_curve = false;
  std::optional<CheckedRows> checked_rows;
  if (load_report.cache_check && CheckedRows::covers(*load_report.cache_check, *bars))
    cfg.bar_gate = &checked_rows.emplace(*load_report.cache_check, *bars);
  std::optional<StreamedRows> streamed_rows;
  if (stream) cfg.bar_gate = &streamed_rows.emplace(*stream);
  // A cache that failed its check: nothing of this attempt counts. Run again
  // with the checks up front, where the loader warns and parses the CSV
  // instead (or, for a .tebars file given directly, fails with the reason).
  auto again_checked_first = [&] {
    equity_stream->reset();  // removes equity.csv.partial
    BacktestArgs again = a;
    again.check_cache_first = true;
    return run_backtest_command(again, ctx);
  };
  if (load_report.cache_check && !checked_rows && !load_report.cache_check->result()) return again_checked_first();
  // A CSV that turned out bad while streaming: nothing of this attempt counts
  // (no output is written, the earlier ones stay); parsed whole, the same file
  // fails to load with the message it always had.
  auto again_parsed_whole = [&] {
    equity_stream->reset();  // removes equity.csv.partial
    BacktestArgs again = a;
    again.parse_whole = true;
    return run_backtest_command(again, ctx);
  };
  timer.mark("prepare run");
  auto result = backtest::run_backtest(cfg, *bars, *source);
  progress.finish();
  timer.mark("run (strategy loop)");
  if (load_report.cache_check) {  // the run counts only if the whole cache passed
    if (!load_report.cache_check->result()) return again_checked_first();
    timer.mark("cache check (rest)");
  }
  if (stream) {  // likewise the streamed CSV: before anything else is reported
    if (!stream->result()) return again_parsed_whole();
    timer.mark("CSV parse (rest)");
  }
  if (!result) {
    if (session) (void)session->discard();  // the strategy never ran: nothing worth keeping
    return print_error(result.error().message), 1;
  }
  // A run shorter than the first progress call; finish() takes the old
  // equity.csv if the stream still waits for it (the data passed by now).
  if (!equity.waiting_for_old()) old_outputs.discard();
  if (auto st = equity.finish(); !st) return print_error(st.error().message), 1;
  result->equity = (*equity_stream)->take_curve();
  timer.mark("equity.csv (rest)");

  // The accumulator saw the points compute_metrics would replay, in order.
  const backtest::Metrics metrics = (*equity_stream)->accumulator().finish(*result);
  const std::vector<backtest::MonthReturn> months = (*equity_stream)->accumulator().monthly();
  timer.mark("metrics");
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
    auto dh = data_sha256_now();
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
  stamp.elapsed_s = static_cast<double>(monotonic_ns() - t0) / 1e9;
  backtest::ReportOptions report_options;
  report_options.html = !a.no_html;
  report_options.bars = &*bars;
  report_options.equity_csv = false;  // written during the run
  report_options.monthly = &months;
  report_options.write_over = true;
  // The CSV's bytes are parsed and hashed by now: unmapped while report.html
  // is written (this thread's report.json is the shorter job), not at exit.
  if (stream) report_options.while_html = [&stream] { stream->release_file(); };
  backtest::ReportFileTimes file_times;
  if (a.timings) report_options.times = &file_times;
  timer.mark("stamp");
  if (auto st = backtest::write_report(out_dir, *result, metrics, stamp, report_options); !st)
    return print_error(st.error().message), 1;
  old_outputs.wait();
  stamp.elapsed_s = static_cast<double>(monotonic_ns() - t0) / 1e9;
  timer.mark("write reports");

  if (!a.quiet) {
    for (const auto& line : result->strategy_log) std::fprintf(stderr, "[%s] %s\n", a.strategy.c_str(), line.c_str());
    std::fputs(backtest::format_summary(*result, metrics, stamp).c_str(), stdout);
    std::printf("  reports written to %s/ (report.json, trades.csv, equity.csv%s)\n", out_dir.c_str(),
                a.no_html ? "" : ", report.html");
    if (session) std::printf("%s\n", session_written_line(*session).c_str());
    std::fflush(stdout);
  }
  if (a.timings) {
    timer.mark("summary");
    std::string t = timer.table();
    auto file = [&t](const char* name, const backtest::ReportFileTimes::Time& x) {
      t += fmt::format("  {:<22}{:>12.1f}{:>16}{:>18.1f}\n", name, x.wall_ms, "", x.cpu_ms);
    };
    t += "write reports, per file (concurrent; wall and CPU of the thread that wrote it):\n";
    file("report.json", file_times.json);
    file("trades.csv", file_times.trades);
    if (!a.no_html) file("report.html", file_times.html);
    t += fmt::format("data: {} ({}), data_sha256 {}\n", a.data,
                     load_report.source == data::LoadSource::csv ? "parsed" : "cache " + load_report.cache_path,
                     load_report.source_sha256.empty() ? "hashed during the run" : "from the loader");
    std::fputs(t.c_str(), stderr);
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
  cmd->add_option("--symbol", args->symbol, "Display symbol (default: the data file's name)")
      ->check(symbol_text());
  cmd->add_option("--start", args->start, "First date to trade, inclusive (YYYY-MM-DD or ISO date-time)");
  cmd->add_option("--end", args->end, "Last date to trade, inclusive");
  cmd->add_option("--param", args->params, "Override a strategy parameter: name=value (repeatable)");
  add_execution_flags(cmd, args->exec);
  cmd->add_option("--closewatch-timeout", args->closewatch_timeout,
                  "Bars CloseWatch may last before returning to Watch (0 = no limit)")
      ->check(whole_number(0, std::int64_t{1} << 53))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed for math.random inside the strategy")
      ->check(unsigned_whole_number())
      ->capture_default_str();
  cmd->add_option("--out", args->out, "Output directory (default: out/<strategy>-<symbol>)");
  cmd->add_option("--indicators-dir", args->indicators_dir,
                  "Folder of indicators written in Lua (default: ./indicators if present, else the built-in ones)");
  cmd->add_flag("--no-cache", args->no_cache, "Neither read nor write the binary cache of the data file");
  cmd->add_flag("--no-html", args->no_html, "Do not write report.html");
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing on success");
  cmd->add_flag("--timings", args->timings,
                "Print the time of each phase (load, run, reports, ...) to stderr: wall, main-thread CPU, all threads");
  add_record_options(cmd, args->record);
  cmd->callback([args, &ctx] { ctx.exit_code = run_backtest_command(*args, ctx); });
}

}  // namespace te::app
