// `trading-engine rerun`: what-if re-runs. Feeds the market data a session
// recorded through the same strategy code (the exact source, stored by hash in
// the session) or another one, with the same or changed parameters, records a
// new session (mode "rerun", parent = the original) and compares it with the
// original: first divergence, summaries and per-trade differences. Without
// changes the new event stream is identical to the original's: the
// determinism proof.
#include <cstdio>
#include <filesystem>

#include <fmt/core.h>

#include "engine/app/command.hpp"
#include "engine/app/compare_report.hpp"
#include "engine/app/options.hpp"
#include "engine/app/session_common.hpp"
#include "engine/app/session_recording.hpp"
#include "engine/backtest/metrics.hpp"
#include "engine/core/value_json.hpp"
#include "engine/exec/models.hpp"
#include "engine/journal/recorded_bars.hpp"
#include "engine/journal/writable_file.hpp"

namespace te::app {
namespace {

struct RerunArgs {
  std::string dir = kDefaultSessionsDir;
  std::string session;
  std::string strategy;
  std::vector<std::string> params;
  std::string session_id;
  bool quiet = false;
};

// Typed reads of meta.config with the key named in errors.
struct ConfigReader {
  const Value& config;
  std::string session;
  std::string problem;

  double number(const char* key, double fallback) {
    const Value* v = config.find(key);
    if (v == nullptr) return fallback;
    if (!v->is_number()) {
      problem = fmt::format("session {}: meta.json config.{} must be a number", session, key);
      return fallback;
    }
    return v->as_double();
  }
  std::string text(const char* key, const std::string& fallback) {
    const Value* v = config.find(key);
    if (v == nullptr) return fallback;
    if (!v->is_string()) {
      problem = fmt::format("session {}: meta.json config.{} must be a string", session, key);
      return fallback;
    }
    return v->as_string();
  }
};

int run_rerun(const RerunArgs& a, const CommandContext& ctx) {
  auto overrides = parse_params(a.params);
  if (!overrides) return print_error(overrides.error().message), 1;
  auto orig = open_session(a.dir, a.session);
  if (!orig) return print_error(orig.error().message), 1;
  if (!orig->meta) return print_error("session " + a.session + ": cannot rerun without its meta.json: " + orig->meta_error), 1;
  const journal::SessionMeta& meta = *orig->meta;
  if (meta.mode != "backtest" && meta.mode != "rerun")
    return print_error(fmt::format("session {} was recorded by `{}`; rerun replays backtest sessions (one runner). "
                                   "Its recorded market data can be exported with `export --filter market`",
                                   a.session, meta.mode)),
           1;
  if (meta.strategies.size() != 1)
    return print_error(fmt::format("session {} has {} strategies; rerun handles one", a.session,
                                   meta.strategies.size())),
           1;
  const journal::StrategyInfo& si = meta.strategies[0];

  // The recorded bars.
  StderrReporter rep(a.session);
  journal::ReaderOptions ro;
  ro.reconstruct_state = false;
  auto reader = journal::JournalReader::open(orig->journal_path, rep, ro);
  if (!reader) return print_error(reader.error().message), 1;
  auto recorded = journal::load_recorded_bars(**reader);
  if (!recorded) return print_error(recorded.error().message), 1;
  if (recorded->size() != 1)
    return print_error(fmt::format("session {} recorded market data for {} runners; rerun handles one", a.session,
                                   recorded->size())),
           1;
  const journal::RecordedBars& rb = recorded->front();
  if (std::string loss = loss_summary(rep.counts); !loss.empty())
    std::fprintf(stderr, "warning: the original's %s: the rerun sees only the bars that survived\n", loss.c_str());

  // The code: the exact source that ran (by hash), or the one given.
  script::StrategySource source;
  std::string strategy_name = si.name, strategy_path = si.path;
  if (a.strategy.empty()) {
    auto code = orig->dir.load_source(si.sha256);
    if (!code) return print_error("session " + a.session + ": " + code.error().message), 1;
    source.path = si.path;
    source.code = std::move(*code);
    source.sha256 = si.sha256;
  } else {
    auto read = script::read_strategy(a.strategy);
    if (!read) return print_error(read.error().message), 1;
    source = std::move(*read);
    strategy_name = std::filesystem::path(a.strategy).stem().string();
    strategy_path = a.strategy;
  }

  // The config the original ran with.
  ConfigReader cr{meta.config, a.session, {}};
  backtest::BacktestConfig cfg;
  cfg.initial_cash = cr.number("initial_cash", cfg.initial_cash);
  cfg.exchange.commission.rate = cr.number("commission", 0);
  cfg.lot_size = cr.number("lot_size", cfg.lot_size);
  cfg.closewatch_timeout_bars = static_cast<std::int64_t>(cr.number("closewatch_timeout_bars", 0));
  cfg.seed = meta.seed;
  cfg.keep_transitions = false;
  auto fill = exec::parse_fill_model(cr.text("fill", "next_open"));
  if (!fill) return print_error("session " + a.session + ": config.fill: " + fill.error().message), 1;
  cfg.exchange.fill = *fill;
  // Parameters: the original's overrides (same code only: another strategy
  // has its own parameters), then --param, replacing by name.
  if (a.strategy.empty()) {
    if (const Value* p = meta.config.find("params"); p && p->is_map())
      for (const auto& [k, v] : p->as_map()) cfg.params.emplace_back(k, v.is_string() ? v.as_string() : to_json(v));
  }
  for (const auto& [k, v] : *overrides) {
    auto it = std::find_if(cfg.params.begin(), cfg.params.end(), [&](const auto& kv) { return kv.first == k; });
    if (it != cfg.params.end()) {
      it->second = v;
    } else {
      cfg.params.emplace_back(k, v);
    }
  }
  // Recorded the way the original was (the recording settings are part of
  // session_start, and they decide which state events exist).
  RecordSettings rec;
  rec.record = true;
  rec.sessions_dir = a.dir;
  rec.session_id = a.session_id;
  rec.storage_mode = std::string(journal::to_string(meta.storage_mode));
  rec.include_indicators = meta.include_indicators;
  if (meta.storage_mode == journal::StorageMode::Delta) rec.snapshot_interval = meta.snapshot_interval;
  std::string timeframe = rb.timeframe;
  if (const Value* r = meta.config.find("recording"); r && r->is_map()) {
    ConfigReader rr{*r, a.session, {}};
    rec.storage_mode = rr.text("storage_mode", rec.storage_mode);
    rec.state_events = rr.text("state_events", rec.state_events);
    rec.checkpoint_bars = static_cast<std::uint32_t>(rr.number("checkpoint_bars", rec.checkpoint_bars));
    rec.snapshot_interval = static_cast<std::uint32_t>(rr.number("snapshot_interval", rec.snapshot_interval));
    if (const Value* ind = r->find("include_indicators"); ind && ind->is_bool()) rec.include_indicators = ind->as_bool();
    timeframe = rr.text("timeframe", timeframe);
    if (!rr.problem.empty()) cr.problem = rr.problem;
  }
  if (!cr.problem.empty()) return print_error(cr.problem), 1;

  BacktestSessionSpec spec;
  spec.mode = "rerun";
  spec.engine_version = ctx.engine_version;
  spec.strategy_name = strategy_name;
  spec.strategy_path = strategy_path;
  spec.strategy_code = source.code;
  spec.param_overrides = cfg.params;
  spec.symbol = rb.symbol;
  spec.data_path = meta.data.empty() ? std::string() : meta.data[0].path;
  spec.data_sha256 = meta.data.empty() ? std::string() : meta.data[0].sha256;
  spec.start = cr.text("start", "");
  spec.end = cr.text("end", "");
  spec.timeframe = timeframe;
  spec.first_bar_ns = rb.bars.empty() ? 0 : rb.bars.ts_ns()[0];
  spec.parent_session = meta.session_id;
  auto session = start_backtest_session(rec, spec, cfg);
  if (!session) return print_error(session.error().message), 1;

  auto result = backtest::run_backtest(cfg, rb.bars, source);
  if (!result) {
    (void)(*session)->discard();
    return print_error(result.error().message), 1;
  }
  const backtest::Metrics metrics = backtest::compute_metrics(*result);
  if (auto st = finish_backtest_session(**session, *result, metrics); !st) return print_error(st.error().message), 1;
  const std::string new_id = (*session)->session_id();
  const std::string new_path = (*session)->dir().path();
  if (!a.quiet) std::printf("%s\n", session_written_line(**session).c_str());
  session->reset();

  auto fresh = open_session(a.dir, new_id);
  if (!fresh) return print_error(fresh.error().message), 1;
  auto report = compare_sessions(*orig, *fresh, journal::CompareOptions{}, "original", "rerun");
  if (!report) return print_error(report.error().message), 1;
  const std::string text_path = new_path + "/comparison.txt";
  const std::string json_path = new_path + "/comparison.json";
  std::string json;
  append_json(json, report->json, JsonStyle{2});
  json += '\n';
  for (const auto& [path, content] : {std::pair{text_path, report->text}, std::pair{json_path, json}})
    if (auto st = journal::write_file_atomically(path, content); !st) return print_error(st.error().message), 1;
  if (!a.quiet) {
    std::fputs(report->text.c_str(), stdout);
    std::printf("comparison written to %s and %s\n", text_path.c_str(), json_path.c_str());
    if (report->comparison.identical)
      std::printf("the rerun reproduces session %s exactly: every event identical (session id and mode aside)\n",
                  a.session.c_str());
  }
  if (result->fault) {
    print_error(result->fault->message);
    return 1;
  }
  return 0;
}

}  // namespace

void register_rerun(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<RerunArgs>();
  auto* cmd = app.add_subcommand("rerun", "What-if: re-run a recorded session's market data, compare with the original");
  cmd->footer(
      "Feeds the bars recorded in a session through the strategy that ran (its exact source, stored in the\n"
      "session) or through --strategy, with the original parameters changed by --param, under the original\n"
      "cash, commission, fill model and seed. Records a new session (mode rerun) and writes comparison.txt\n"
      "and comparison.json into it: first divergence, summaries and per-trade differences. With no changes\n"
      "the new session's events are identical to the original's. With --strategy, the original's parameter\n"
      "overrides are not carried over (another strategy has its own parameters).\n\n"
      "Example:\n"
      "  trading-engine rerun --session 20250301T101010Z-1a2b3c4d --param fast=5");
  add_sessions_dir_option(cmd, args->dir);
  cmd->add_option("--session", args->session, "Session id to re-run (see `trading-engine sessions`)")->required();
  cmd->add_option("--strategy", args->strategy, "Another strategy file (default: the code the session ran)");
  cmd->add_option("--param", args->params, "Change a strategy parameter: name=value (repeatable)");
  cmd->add_option("--session-id", args->session_id, "Id of the new session (default: generated)");
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing on success");
  cmd->callback([args, &ctx] { ctx.exit_code = run_rerun(*args, ctx); });
}

}  // namespace te::app
