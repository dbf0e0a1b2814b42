// `trading-engine rerun`: what-if re-runs. Feeds the market data a session
// recorded through the same strategy code (the exact source, stored by hash in
// the session) or another one, with the same or changed parameters, records a
// new session (mode "rerun", parent = the original) and compares it with the
// original: first divergence, summaries and per-trade differences. Without
// changes the new event stream is identical to the original's: the
// determinism proof.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <fmt/core.h>

#include "engine/app/command.hpp"
#include "engine/app/compare_report.hpp"
#include "engine/app/options.hpp"
#include "engine/app/session_common.hpp"
#include "engine/app/session_recording.hpp"
#include "engine/backtest/config_value.hpp"
#include "engine/backtest/metrics.hpp"
#include "engine/core/sha256.hpp"
#include "engine/data/csv_loader.hpp"
#include "engine/data/load_bars.hpp"
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
  std::string data;
  bool recorded_bars = false;
  bool quiet = false;
};

std::string short_hash(const std::string& h) { return h.size() > 12 ? h.substr(0, 12) : h; }

// The bars to feed, proven to be the ones the session ran on. The data file
// (--data, else the recorded path when it still exists) must hash to what the
// session recorded; otherwise the journal's own market data is used, which must
// hash to the recorded bars unless --recorded-bars says to take what is there.
struct BarsSource {
  model::BarSeries bars;
  std::string origin;        // what to tell the user
  std::string data_sha256;   // of the file (the original's when the bars are proven equal)
  std::string timeframe;     // recorded in the journal's market data
};

Result<BarsSource> rerun_bars(const RerunArgs& a, const OpenedSession& orig, const journal::SessionMeta& meta,
                              const Value& config) {
  const journal::DataInfo none;
  const journal::DataInfo& d = meta.data.empty() ? none : meta.data[0];
  const std::string& id = a.session;
  BarsSource out;

  // The journal's market data: the timeframe always comes from it.
  StderrReporter rep(id);
  journal::ReaderOptions ro;
  ro.reconstruct_state = false;
  auto reader = journal::JournalReader::open(orig.journal_path, rep, ro);
  if (!reader) return std::move(reader).error();
  auto recorded = journal::load_recorded_bars(**reader);
  if (!recorded) return std::move(recorded).error();
  if (recorded->size() > 1)
    return make_error(Errc::unsupported, fmt::format("session {} recorded market data for {} runners; rerun handles one",
                                                     id, recorded->size()));
  if (!recorded->empty()) out.timeframe = recorded->front().timeframe;

  std::string file = a.data;
  if (file.empty() && !a.recorded_bars && !d.path.empty() && std::filesystem::exists(d.path)) file = d.path;
  if (!file.empty()) {
    auto sha = sha256_file_hex(file);
    if (!sha) return std::move(sha).error();
    if (!d.sha256.empty() && *sha != d.sha256)
      return make_error(Errc::invalid_argument,
                        fmt::format("data file {} is not the data session {} ran on: its sha256 is {}, the session "
                                    "recorded {} for {}. A rerun must see the same bars: restore the original file and "
                                    "pass it with --data, or use --recorded-bars to run on the bars stored in the "
                                    "session's journal",
                                    file, id, *sha, d.sha256, d.path.empty() ? "its data" : d.path));
    const Value* start = config.find("start");
    const Value* end = config.find("end");
    auto range = parse_time_range(start && start->is_string() ? start->as_string() : "",
                                  end && end->is_string() ? end->as_string() : "");
    if (!range) return make_error(Errc::parse, "session " + id + ": meta.json config.start/end: " + range.error().message);
    data::LoadOptions lo;
    lo.symbol = d.symbol.empty() ? data::symbol_from_path(file) : d.symbol;
    lo.instrument = 0;
    lo.start_ns = range->start_ns;
    lo.end_ns = range->end_ns;
    lo.on_warning = [](const std::string& w) { std::fprintf(stderr, "warning: %s\n", w.c_str()); };
    auto bars = data::load_bars(file, lo);
    if (!bars) return std::move(bars).error();
    out.bars = std::move(*bars);
    out.data_sha256 = *sha;
    out.origin = file;
    if (!d.bars_sha256.empty() && journal::bars_sha256(out.bars) != d.bars_sha256)
      return make_error(Errc::invalid_argument,
                        fmt::format("the bars read from {} ({}) differ from the {} the session {} ran on, although the "
                                    "file's hash matches: the loader or its options changed",
                                    file, out.bars.size(), d.bars, id));
    return out;
  }

  if (recorded->empty()) return make_error(Errc::not_found, "session " + id + " recorded no market data");
  out.bars = std::move(recorded->front().bars);
  out.origin = "the bars recorded in the session's journal";
  const std::string loss = loss_summary(rep.counts);
  if (!d.bars_sha256.empty() && journal::bars_sha256(out.bars) != d.bars_sha256) {
    const std::string why = fmt::format(
        "the journal of session {} holds {} bars but the session ran on {} (bars sha256 {}){}", id, out.bars.size(),
        d.bars, short_hash(d.bars_sha256),
        !loss.empty() ? " — " + loss
                      : " — bars the runner never saw (a warm-up, or the strategy faulted before the end) are not "
                        "in the journal");
    if (!a.recorded_bars)
      return make_error(Errc::invalid_argument,
                        why + ". Pass the original data file with --data (sha256 " + short_hash(d.sha256) +
                            "), or --recorded-bars to run on what the journal holds");
    std::fprintf(stderr, "warning: %s; running on them as asked (--recorded-bars)\n", why.c_str());
  } else {
    out.data_sha256 = d.sha256;  // proven the same bars
    if (!loss.empty())
      std::fprintf(stderr, "warning: the original's %s: the rerun sees only the bars that survived\n", loss.c_str());
  }
  return out;
}

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

  // The configuration the original ran with, every setting of it.
  backtest::BacktestConfig cfg;
  if (auto st = backtest::config_from_value(meta.config, cfg); !st)
    return print_error("session " + a.session + ": meta.json: " + st.error().message), 1;
  cfg.keep_transitions = false;
  if (meta.config.find("indicator_files") != nullptr) {
    for (auto& f : cfg.indicator_files) {
      auto code = orig->dir.load_source(f.sha256);
      if (!code)
        return print_error(fmt::format("session {}: indicator file {}: {}", a.session, f.path, code.error().message)), 1;
      f.code = std::move(*code);
    }
  } else {  // recorded before indicator files were stored: today's
    auto files = script::find_indicator_files("");
    if (!files) return print_error(files.error().message), 1;
    cfg.indicator_files = std::move(*files);
  }

  auto bars = rerun_bars(a, *orig, meta, meta.config);
  if (!bars) return print_error(bars.error().message), 1;

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
    // Another strategy has its own parameters: the original's overrides do not carry over.
    if (source.sha256 != si.sha256) cfg.params.clear();
  }
  // --param replaces by name.
  for (const auto& [k, v] : *overrides) {
    auto it = std::find_if(cfg.params.begin(), cfg.params.end(), [&](const auto& kv) { return kv.first == k; });
    if (it != cfg.params.end()) {
      it->second = v;
    } else {
      cfg.params.emplace_back(k, v);
    }
  }

  // Recorded the way the original was (the recording settings decide which
  // state events exist).
  ConfigReader cr{meta.config, a.session, {}};
  RecordSettings rec;
  rec.record = true;
  rec.sessions_dir = a.dir;
  rec.session_id = a.session_id;
  rec.storage_mode = std::string(journal::to_string(meta.storage_mode));
  rec.include_indicators = meta.include_indicators;
  if (meta.storage_mode == journal::StorageMode::Delta) rec.snapshot_interval = meta.snapshot_interval;
  // The journal's bytes depend on its block compression too.
  rec.compression = meta.compressed ? "lz4" : "none";
  if (meta.compression_acceleration != 0) rec.compression_acceleration = static_cast<int>(meta.compression_acceleration);
  std::string timeframe = bars->timeframe;
  if (const Value* r = meta.config.find("recording"); r && r->is_map()) {
    ConfigReader rr{*r, a.session, {}};
    rec.storage_mode = rr.text("storage_mode", rec.storage_mode);
    rec.state_events = rr.text("state_events", rec.state_events);
    rec.checkpoint_bars = static_cast<std::uint32_t>(rr.number("checkpoint_bars", rec.checkpoint_bars));
    rec.snapshot_interval = static_cast<std::uint32_t>(rr.number("snapshot_interval", rec.snapshot_interval));
    rec.max_ctx_bytes = static_cast<std::size_t>(rr.number("max_ctx_bytes", static_cast<double>(rec.max_ctx_bytes)));
    if (const Value* ind = r->find("include_indicators"); ind && ind->is_bool()) rec.include_indicators = ind->as_bool();
    timeframe = rr.text("timeframe", timeframe);
    if (!rr.problem.empty()) cr.problem = rr.problem;
  }
  const journal::DataInfo none;
  const journal::DataInfo& d = meta.data.empty() ? none : meta.data[0];

  BacktestSessionSpec spec;
  spec.mode = "rerun";
  spec.engine_version = ctx.engine_version;
  spec.strategy_name = strategy_name;
  spec.strategy_path = strategy_path;
  spec.strategy_code = source.code;
  spec.param_overrides = cfg.params;
  spec.symbol = cr.text("symbol", d.symbol);
  spec.data_path = d.path;
  spec.data_sha256 = bars->data_sha256;
  spec.bars_sha256 = journal::bars_sha256(bars->bars);
  spec.bars = bars->bars.size();
  spec.start = cr.text("start", "");
  spec.end = cr.text("end", "");
  spec.timeframe = timeframe;
  spec.first_bar_ns = bars->bars.empty() ? 0 : bars->bars.ts_ns()[0];
  spec.parent_session = meta.session_id;
  if (!cr.problem.empty()) return print_error(cr.problem), 1;

  // Same code, same effective config and the same bars: a reproduction. Its
  // session_start then names the journal it reproduces (ids and modes are
  // wall-clock metadata), so the two event files can be compared byte for byte.
  const bool same_code = sha256_hex(source.code) == si.sha256;
  const bool same_config = sha256_hex(to_json(backtest_config_value(cfg, spec, rec))) == meta.config_sha256;
  const bool same_bars = spec.bars_sha256 == d.bars_sha256 && spec.data_sha256 == d.sha256;
  if (same_code && same_config && same_bars) {
    journal::NullReporter quiet;
    auto r = journal::JournalReader::open(orig->journal_path, quiet);
    if (!r) return print_error(r.error().message), 1;
    journal::Event first;
    auto got = (*r)->next(first);
    if (!got) return print_error(got.error().message), 1;
    if (*got) {
      if (const auto* ss = first.get<journal::SessionStart>()) {
        spec.journal_session_id = ss->session_id;
        spec.journal_mode = ss->mode;
      }
    }
  }

  auto session = start_backtest_session(rec, spec, cfg);
  if (!session) return print_error(session.error().message), 1;
  if (!a.quiet) {
    std::printf("rerun of session %s on %s (%zu bars)%s\n", a.session.c_str(), bars->origin.c_str(),
                bars->bars.size(),
                !spec.journal_session_id.empty() ? ": same code, config and data (a reproduction)" : "");
    std::fflush(stdout);
  }

  auto result = backtest::run_backtest(cfg, bars->bars, source);
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
      std::printf("the rerun reproduces session %s exactly: every event identical\n", a.session.c_str());
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
      "Feeds the market data a session ran on through the strategy that ran (its exact source, stored in the\n"
      "session) or through --strategy, with the original parameters changed by --param, under the original's\n"
      "whole configuration: cash, fill/commission/slippage models, volume cap, latency, instrument rules,\n"
      "margin, risk limits and StormGuard, sandbox budgets, Lua indicator files (stored by hash), warm-up and\n"
      "seed. The bars come from the original data file (its recorded path, or --data) after checking its\n"
      "sha256, else from the session's journal; a data file whose hash differs is refused.\n"
      "Records a new session (mode rerun, parent = the original) and writes comparison.txt and\n"
      "comparison.json into it: first divergence, summaries and per-trade differences. With no changes the\n"
      "new journal (events.msgpack.lz4) is byte-identical to the original's. With --strategy, the original's\n"
      "parameter overrides are not carried over (another strategy has its own parameters).\n\n"
      "Examples:\n"
      "  trading-engine rerun --session 20250301T101010Z-1a2b3c4d\n"
      "  trading-engine rerun --session 20250301T101010Z-1a2b3c4d --param fast=5\n"
      "  trading-engine rerun --session 20250301T101010Z-1a2b3c4d --strategy strategies/ema_cross.lua");
  add_sessions_dir_option(cmd, args->dir);
  cmd->add_option("--session", args->session, "Session id to re-run (see `trading-engine sessions`)")->required();
  cmd->add_option("--data", args->data,
                  "The data file the session ran on (default: its recorded path if the file is still there, else "
                  "the bars in the journal); refused when its sha256 differs from the recorded one");
  cmd->add_flag("--recorded-bars", args->recorded_bars,
                "Run on the bars stored in the journal even when they are not all the session ran on");
  cmd->add_option("--strategy", args->strategy, "Another strategy file (default: the code the session ran)");
  cmd->add_option("--param", args->params, "Change a strategy parameter: name=value (repeatable)");
  cmd->add_option("--session-id", args->session_id, "Id of the new session (default: generated)");
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing on success");
  cmd->callback([args, &ctx] { ctx.exit_code = run_rerun(*args, ctx); });
}

}  // namespace te::app
