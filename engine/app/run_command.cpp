// `trading-engine run --config F.toml`: the live engine (engine/live) driven
// by a config file, with a status table, --duration, SIGINT/SIGTERM handling,
// the session journal and per-runner reports.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/core.h>

#include "engine/app/cli_checks.hpp"
#include "engine/app/command.hpp"
#include "engine/app/key_reader.hpp"
#include "engine/app/options.hpp"
#include "engine/app/run_setup.hpp"
#include "engine/app/session_recording.hpp"
#include "engine/backtest/metrics.hpp"
#include "engine/backtest/report.hpp"
#include "engine/core/clock.hpp"
#include "engine/core/sha256.hpp"
#include "engine/core/time.hpp"
#include "engine/live/config_check.hpp"
#include "engine/live/live_engine.hpp"
#include "engine/live/status_table.hpp"
#include "engine/journal/session_dir.hpp"
#include "engine/runner/session_recorder.hpp"

namespace te::app {
namespace {

struct RunArgs {
  std::string config;
  double duration_s = 0;
  std::string out;
  double status_interval_s = -1;  // -1: [engine] status_interval_s
  int threads = -1;               // -1: [engine] threads
  bool quiet = false;
  std::string indicators_dir;  // empty: ./indicators if present, else the built-in ones
  std::string session_id;
};

// Set by SIGINT/SIGTERM; the main loop polls it (nothing else is safe in a handler).
volatile std::sig_atomic_t g_run_signal = 0;
extern "C" void run_command_on_signal(int sig) { g_run_signal = sig; }
class SignalScope {
 public:
  SignalScope() {
    g_run_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = run_command_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
    // SIGUSR1 engages the kill switch when [risk] watches it; otherwise (and
    // SIGUSR2, always) it must not end the process with the journal unflushed.
    for (auto [sig, old] : {std::pair{SIGUSR1, &old_usr1_}, std::pair{SIGUSR2, &old_usr2_}}) {
      sigaction(sig, nullptr, old);
      if (old->sa_handler == SIG_DFL) {
        struct sigaction ign {};
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        sigaction(sig, &ign, nullptr);
      }
    }
  }
  ~SignalScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGUSR1, &old_usr1_, nullptr);
    sigaction(SIGUSR2, &old_usr2_, nullptr);
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
  struct sigaction old_usr1_ {};
  struct sigaction old_usr2_ {};
};

int level_rank(std::string_view s) {
  if (s == "trace" || s == "debug") return 0;
  if (s == "info") return 1;
  if (s == "warn") return 2;
  return 3;
}


Value params_value(const config::Params& p) {
  Value::Map m;
  for (const auto& [k, v] : p) m.emplace_back(k, Value(v));
  return Value(std::move(m));
}

// meta.config of a `run` session: the runners as configured.
Value run_config_value(const config::Config& cfg) {
  Value::Array runners;
  for (const auto& r : cfg.runners) {
    runners.push_back(Value::map({{"name", r.name},
                                  {"symbol", r.symbol},
                                  {"strategy", r.strategy},
                                  {"params", params_value(r.params)},
                                  {"data_source", r.data_source.type},
                                  {"interval", r.data_source.interval},
                                  {"path", r.data_source.path},
                                  {"execution", r.execution.type},
                                  {"fill", r.execution.fill},
                                  {"commission", r.execution.commission},
                                  {"initial_cash", r.execution.initial_cash}}));
  }
  return Value::map({{"config_path", cfg.path},
                     {"runners", Value(std::move(runners))},
                     {"seed", Value(static_cast<std::int64_t>(cfg.engine.seed))},
                     {"threads", Value(static_cast<std::int64_t>(cfg.engine.threads))}});
}

Result<std::unique_ptr<runner::SessionRecorder>> start_run_session(const config::Config& cfg,
                                                                   const std::vector<live::RunnerSpec>& specs,
                                                                   const RunArgs& a, const CommandContext& ctx,
                                                                   const std::string& config_sha256) {
  RecordSettings rec = settings_from(cfg.event_sourcing);
  if (!a.session_id.empty()) rec.session_id = a.session_id;
  auto options = recorder_options(rec, false);
  if (!options) return std::move(options).error();
  journal::SessionMeta meta;
  meta.mode = "run";
  meta.engine_version = ctx.engine_version;
  meta.config_path = cfg.path;
  meta.config = run_config_value(cfg);
  meta.config_sha256 = config_sha256;
  meta.seed = cfg.engine.seed;
  std::vector<std::string_view> code;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    journal::StrategyInfo si;
    si.name = specs[i].name;
    si.path = specs[i].strategy.path;
    si.symbols = {specs[i].symbol};
    si.params = params_value(cfg.runners[i].params);
    meta.strategies.push_back(std::move(si));
    code.push_back(specs[i].strategy.code);
    if (specs[i].source.kind == live::SourceKind::Historical) {
      journal::DataInfo d;
      d.path = cfg.runners[i].data_source.path;
      if (auto h = sha256_file_hex(d.path)) d.sha256 = *h;  // unreadable files were refused by the config checks
      d.symbol = specs[i].symbol;
      meta.data.push_back(std::move(d));
    }
  }
  return runner::SessionRecorder::create(std::move(*options), std::move(meta), code);
}

int run_run_command(const RunArgs& a, const CommandContext& ctx) {
  const std::int64_t t0 = monotonic_ns();
  // SIGHUP reloads every strategy (the engine reads it from a signalfd). Block
  // it before any thread exists (session writer, workers inherit the mask):
  // an unblocked thread would let SIGHUP's default action end the process.
  {
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &hup, nullptr);
  }
  auto cfg = live::validate_config_file(a.config);
  if (!cfg) {
    const std::string& m = cfg.error().message;
    const auto n = static_cast<std::size_t>(std::count(m.begin(), m.end(), '\n') + 1);
    if (cfg.error().code == Errc::io) return print_error(m), 2;
    print_error(fmt::format("config {} has {} problem{}; nothing was started:", a.config, n, n == 1 ? "" : "s"));
    std::fprintf(stderr, "%s\n", m.c_str());
    return 2;
  }
  auto indicator_files = script::find_indicator_files(a.indicators_dir);
  if (!indicator_files) return print_error(indicator_files.error().message), 2;
  auto specs = runner_specs(*cfg, *indicator_files);
  if (!specs) {
    print_error("cannot set up the runners; nothing was started:");
    std::fprintf(stderr, "%s\n", specs.error().message.c_str());
    return 2;
  }

  std::unique_ptr<runner::SessionRecorder> session;
  if (cfg->event_sourcing.enabled) {
    auto hash = sha256_file_hex(a.config);
    auto s = start_run_session(*cfg, *specs, a, ctx, hash ? *hash : std::string());
    if (!s) return print_error("session journal: " + s.error().message), 2;
    session = std::move(*s);
  }

  LiveClock clock;
  std::mutex log_mutex;
  const int min_level = level_rank(cfg->engine.log_level);
  live::EngineOptions eo;
  eo.threads = a.threads >= 0 ? a.threads : cfg->engine.threads;
  eo.binance.ws_url = cfg->binance.ws_url;
  eo.binance.rest_url = cfg->binance.rest_url;
  eo.clock = &clock;
  eo.session = session.get();
  eo.reload_on_sighup = true;
  eo.limits = script::make_limits(script::RunMode::Live, cfg->sandbox.callback_timeout_ms,
                                  cfg->sandbox.memory_limit_mb);
  eo.log = [&](live::LogLevel level, std::string_view text) {
    static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
    const int rank = static_cast<int>(level);
    if (rank < min_level) return;
    const std::string ts = format_iso8601(clock.now_ns()).substr(0, 19);
    std::lock_guard lock(log_mutex);
    std::fprintf(stderr, "%s %-5s %.*s\n", ts.c_str(), kNames[rank], static_cast<int>(text.size()), text.data());
  };
  auto engine = live::LiveEngine::create(eo, *specs);
  if (!engine) {
    if (session) (void)session->discard();
    print_error("cannot start the runners; nothing was started:");
    std::fprintf(stderr, "%s\n", engine.error().message.c_str());
    return 2;
  }
  live::LiveEngine& eng = **engine;

  SignalScope signals;
  if (auto st = eng.start(); !st) {
    (void)eng.shutdown();
    if (session) (void)session->finish("error", Value(), Value(), "failed");
    return print_error(st.error().message), 1;
  }
  if (!a.quiet)
    std::printf("run: %zu runner(s) from %s%s; Ctrl-C stops and writes the reports\n", eng.runner_count(),
                a.config.c_str(), a.duration_s > 0 ? fmt::format(" for {:g} s", a.duration_s).c_str() : "");
  std::fflush(stdout);

  const double status_every = a.status_interval_s >= 0 ? a.status_interval_s : cfg->engine.status_interval_s;
  const std::int64_t started = monotonic_ns();
  std::int64_t next_status = started + static_cast<std::int64_t>(status_every * 1e9);
  std::string reason = "end_of_data";
  int speed_steps = 0;
  const KeyReader keys;
  for (;;) {
    if (g_run_signal != 0) {
      reason = "signal";
      if (!a.quiet) std::printf("\n%s received: stopping\n", g_run_signal == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    if (eng.finished()) break;
    // On a terminal: + and - double and halve real-time replays, q stops (as in `replay`).
    // SIGUSR1 is the kill switch's, so speed has no signal.
    const char key = keys.wait(50);
    if (key == 'q') {
      reason = "quit";
      if (!a.quiet) std::printf("\nq pressed: stopping\n");
      break;
    }
    if (key == '+' || key == '-') {
      speed_steps += key == '+' ? 1 : -1;
      const double factor = std::pow(2.0, speed_steps);
      for (const auto& spec : *specs)
        if (spec.source.kind == live::SourceKind::Historical && spec.source.simulate_realtime &&
            eng.set_speed(spec.name, spec.source.speed * factor) && !a.quiet)
          std::printf("%s: replay speed %gx\n", spec.name.c_str(), spec.source.speed * factor);
      std::fflush(stdout);
    }
    const std::int64_t now = monotonic_ns();
    if (a.duration_s > 0 && static_cast<double>(now - started) / 1e9 >= a.duration_s) {
      reason = "duration";
      break;
    }
    if (!a.quiet && status_every > 0 && now >= next_status) {
      std::fputs(live::format_status_table(eng.status(), eng.feed_status(), static_cast<double>(now - started) / 1e9)
                     .c_str(),
                 stdout);
      std::fflush(stdout);
      next_status = now + static_cast<std::int64_t>(status_every * 1e9);
    }
  }
  const auto feed = eng.feed_status();
  auto outcomes = eng.shutdown();
  const auto final_status = eng.status();  // after shutdown: final states

  // Reports: one folder per runner inside the session (or --out).
  std::string out_dir = a.out;
  if (out_dir.empty()) out_dir = session ? session->dir().path() : "data/runs/" + journal::make_session_id(clock.now_ns(), a.config);
  int halted = 0;
  Value::Array runner_results;
  std::int64_t first_ns = 0, last_ns = 0;
  int write_errors = 0;
  std::map<std::string, std::string> data_hashes;  // path -> SHA-256
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    auto& o = outcomes[i];
    const live::RunnerSpec& spec = (*specs)[i];
    if (o.state == live::UnitState::Halted) ++halted;
    const backtest::Metrics metrics = backtest::compute_metrics(o.result);
    backtest::ReportStamp stamp;
    stamp.engine_version = ctx.engine_version;
    stamp.strategy_path = spec.strategy.path;
    stamp.strategy_sha256 = spec.strategy.sha256;
    stamp.data_path = cfg->runners[i].data_source.type == "historical" ? cfg->runners[i].data_source.path
                                                                      : cfg->runners[i].data_source.type;
    if (cfg->runners[i].data_source.type == "historical") {
      // The reproducibility stamp, as backtest's; runners sharing a file hash it once.
      auto [it, fresh] = data_hashes.try_emplace(stamp.data_path);
      if (fresh) {
        if (auto h = sha256_file_hex(stamp.data_path)) it->second = *h;
      }
      stamp.data_sha256 = it->second;
    }
    stamp.seed = spec.trading.seed;
    stamp.params = o.result.params;
    stamp.fill_model = std::string(exec::to_string(spec.trading.exchange.fill));
    stamp.commission = spec.trading.exchange.commission.rate;
    stamp.elapsed_s = o.result.elapsed_s;
    if (!o.result.equity.ts_ns.empty()) {
      const std::int64_t a0 = o.result.equity.ts_ns[0], a1 = o.result.equity.ts_ns[o.result.equity.ts_ns.size() - 1];
      first_ns = first_ns == 0 ? a0 : std::min(first_ns, a0);
      last_ns = std::max(last_ns, a1);
      stamp.config_sha256 = sha256_hex(backtest::canonical_config(spec.trading, o.result.params, spec.symbol, a0, a1));
    }
    const std::string dir = out_dir + "/runners/" + live::report_dir_name(o.name);
    if (auto st = backtest::write_report(dir, o.result, metrics, stamp); !st) {
      print_error(st.error().message);
      ++write_errors;
    }
    runner_results.push_back(Value::map({{"name", o.name},
                                         {"state", std::string(live::to_string(o.state))},
                                         {"halt_reason", o.halt_reason},
                                         {"bars", Value(static_cast<std::int64_t>(metrics.bars))},
                                         {"trades", Value(static_cast<std::int64_t>(metrics.trades))},
                                         {"final_equity", metrics.final_equity},
                                         {"total_return", metrics.total_return}}));
  }
  if (session) {
    Value summary = Value::map({{"runners", Value(static_cast<std::int64_t>(outcomes.size()))},
                                {"halted", Value(static_cast<std::int64_t>(halted))}});
    Value result = Value::map({{"runners", Value(std::move(runner_results))}});
    if (auto st = session->finish(reason, std::move(summary), std::move(result),
                                  reason == "signal" ? "interrupted" : "completed");
        !st) {
      print_error("session journal: " + st.error().message);
      ++write_errors;
    }
  }
  if (!a.quiet) {
    std::fputs(live::format_status_table(final_status, feed, static_cast<double>(monotonic_ns() - started) / 1e9).c_str(),
               stdout);
    std::printf("stopped (%s) after %.1f s; reports in %s/runners/<runner>/ (report.json, trades.csv, equity.csv)\n",
                reason == "end_of_data" ? "every runner finished" : reason.c_str(),
                static_cast<double>(monotonic_ns() - t0) / 1e9, out_dir.c_str());
    if (session) std::printf("%s\n", session_written_line(*session).c_str());
    if (halted) std::printf("%d runner(s) halted; see the table above and the log\n", halted);
    std::fflush(stdout);
  }
  (void)first_ns;
  return write_errors ? 1 : 0;
}

}  // namespace

void register_run(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Run the runners of a config: live paper trading, historical replay, simulated feeds");
  cmd->footer(
      "Every [[runners]] entry (and every symbol of a [[strategies]] entry) runs its strategy on its own data\n"
      "source: live Binance klines (paper trading: simulated fills on the live feed), a historical file replayed\n"
      "immediately or in real time at `speed`, or a seeded simulated random walk. See docs/configuration.md\n"
      "for every key and configs/ for examples.\n\n"
      "A status table is printed every [engine] status_interval_s seconds. The command ends when every runner\n"
      "has reached the end of its data, after --duration seconds, or on SIGINT/SIGTERM: feeds stop, each\n"
      "runner finishes its bar, the journal is flushed, and each runner's report.json, trades.csv and\n"
      "equity.csv (the backtest formats) are written to <session>/runners/<runner>/.\n"
      "On a terminal, + and - double and halve the speed of real-time historical replays while they run,\n"
      "and q stops like SIGINT. SIGUSR1 engages the kill switch when [risk] is configured (docs/risk.md).\n"
      "Hot reload: saving a strategy file or a Lua indicator file (indicators/) reloads it in every runner\n"
      "using it at that runner's next bar (state, ctx and position kept; a broken version is refused with\n"
      "file:line and the old one keeps running); `kill -HUP <pid>` re-reads them all (docs/live.md).\n"
      "Exit status: 0 after a clean stop (a halted runner is reported, not fatal), 1 when reports could not\n"
      "be written, 2 when the config has problems (all are listed; nothing is started).");
  cmd->add_option("--config", args->config, "TOML config file (docs/configuration.md)")->required();
  cmd->add_option("--duration", args->duration_s, "Stop after this many seconds (0: run until done or signalled)")
      ->check(non_negative_number());
  cmd->add_option("--out", args->out,
                  "Directory for the per-runner reports (default: the session directory, or data/runs/<id> when "
                  "[event_sourcing] enabled = false)");
  cmd->add_option("--status-interval", args->status_interval_s,
                  "Seconds between status tables (overrides [engine] status_interval_s; 0 disables)")
      ->check(non_negative_number());
  cmd->add_option("--threads", args->threads, "Worker threads (overrides [engine] threads; 0: one per core)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--session-id", args->session_id, "Name of the recorded session (default: generated)");
  cmd->add_option("--indicators-dir", args->indicators_dir,
                  "Folder of indicators written in Lua (default: ./indicators if present, else the built-in ones)");
  cmd->add_flag("--quiet", args->quiet, "No status tables or summary (errors and the log still go to stderr)");
  cmd->callback([args, &ctx] { ctx.exit_code = run_run_command(*args, ctx); });
}

}  // namespace te::app
