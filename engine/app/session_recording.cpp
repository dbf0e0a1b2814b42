#include "engine/app/session_recording.hpp"

#include <cmath>

#include <fmt/core.h>

#include "engine/backtest/config_value.hpp"
#include "engine/core/sha256.hpp"
#include "engine/core/value_json.hpp"
#include "engine/exec/models.hpp"

namespace te::app {

static_assert(config::EventSourcingSection{}.compression_acceleration == journal::kDefaultAcceleration,
              "[event_sourcing] compression_acceleration defaults to the journal writer's default");
static_assert(RecordSettings{}.compression_acceleration == journal::kDefaultAcceleration);
static_assert(config::EventSourcingSection::kMinCompressionAcceleration == journal::kMinAcceleration &&
                  config::EventSourcingSection::kMaxCompressionAcceleration == journal::kMaxAcceleration,
              "[event_sourcing] compression_acceleration's bounds are the journal writer's");

static_assert(static_cast<std::size_t>(config::EventSourcingSection{}.max_ctx_bytes) == runner::RecorderOptions{}.max_ctx_bytes,
              "[event_sourcing] max_ctx_bytes defaults to the recorder's default");
static_assert(static_cast<std::size_t>(config::EventSourcingSection::kMaxMaxCtxBytes) ==
                  script::StrategyHost::kMaxCtxExportLimit,
              "[event_sourcing] max_ctx_bytes' bound is the host's");

void add_record_options(CLI::App* cmd, RecordSettings& s) {
  cmd->add_flag("--record", s.record,
                "Record the session (journal of every bar, decision, order and fill) for replay, inspect-event, "
                "compare and rerun");
  cmd->add_option("--sessions-dir", s.sessions_dir, "Where recorded sessions go")->capture_default_str();
  cmd->add_option("--session-id", s.session_id,
                  "Session id (directory name; default: UTC start time and a hash)");
  cmd->add_option("--record-mode", s.storage_mode, "Journal storage: full (every state whole) or delta")
      ->capture_default_str();
  cmd->add_option("--record-states", s.state_events,
                  "When runner states are recorded: activity (bars where something happened, plus checkpoints) or "
                  "every_bar (complete, slower)")
      ->capture_default_str();
  cmd->add_flag("--record-indicators", s.include_indicators,
                "Store indicator values with each state (otherwise inspect-event recomputes them)");
  cmd->add_option("--snapshot-interval", s.snapshot_interval, "Delta mode: a full state every N state events")
      ->capture_default_str();
  cmd->add_option("--checkpoint-bars", s.checkpoint_bars,
                  "Activity mode: record the state at least every N bars (0: only on activity)")
      ->capture_default_str();
  cmd->add_option("--record-compression", s.compression,
                  "Journal blocks: lz4 (compressed) or none (stored as they are: 3x the bytes, a faster writer)")
      ->capture_default_str();
  cmd->add_option("--record-compression-acceleration", s.compression_acceleration,
                  "LZ4 acceleration, 1 to 64: higher writes faster and larger journals (docs/replay.md)")
      ->capture_default_str();
  cmd->add_option("--record-max-ctx-bytes", s.max_ctx_bytes,
                  "A recorded state's strategy ctx at most this many bytes as data; a bigger one is recorded as nil "
                  "with a warning note (1024 to 33554432)")
      ->capture_default_str();
}

RecordSettings settings_from(const config::EventSourcingSection& es) {
  RecordSettings s;
  s.record = es.enabled;
  s.sessions_dir = es.base_dir;
  s.storage_mode = es.storage_mode;
  s.state_events = es.state_events;
  s.include_indicators = es.include_indicators;
  s.snapshot_interval = static_cast<std::uint32_t>(es.snapshot_interval);
  s.checkpoint_bars = static_cast<std::uint32_t>(es.checkpoint_bars);
  s.compression = es.compression;
  s.compression_acceleration = es.compression_acceleration;
  s.max_ctx_bytes = static_cast<std::size_t>(es.max_ctx_bytes);
  s.fsync = es.fsync;
  s.fsync_interval_ms = static_cast<std::uint32_t>(es.fsync_interval_ms);
  s.queue_capacity = static_cast<std::size_t>(es.queue_capacity);
  s.queue_full = es.queue_full;
  s.block_timeout_ms = static_cast<std::uint32_t>(es.block_timeout_ms);
  return s;
}

Result<runner::SessionRecorderOptions> recorder_options(const RecordSettings& s, bool backtest) {
  runner::SessionRecorderOptions o = backtest ? runner::SessionRecorderOptions::for_backtest()
                                              : runner::SessionRecorderOptions{};
  o.base_dir = s.sessions_dir;
  o.session_id = s.session_id;
  if (!journal::parse_storage_mode(s.storage_mode, o.writer.storage_mode))
    return make_error(Errc::invalid_argument, "record mode must be full or delta, was \"" + s.storage_mode + "\"");
  if (!runner::parse_state_events(s.state_events, o.recorder.state_events))
    return make_error(Errc::invalid_argument,
                      "record states must be activity or every_bar, was \"" + s.state_events + "\"");
  if (s.snapshot_interval < 1) return make_error(Errc::invalid_argument, "snapshot interval must be >= 1, was 0");
  o.writer.snapshot_interval = s.snapshot_interval;
  o.writer.include_indicators = s.include_indicators;
  o.recorder.include_indicators = s.include_indicators;
  o.recorder.checkpoint_bars = s.checkpoint_bars;
  if (s.compression == "lz4") {
    o.writer.compress = true;
  } else if (s.compression == "none") {
    o.writer.compress = false;
  } else {
    return make_error(Errc::invalid_argument, "record compression must be lz4 or none, was \"" + s.compression + "\"");
  }
  if (s.compression_acceleration < journal::kMinAcceleration || s.compression_acceleration > journal::kMaxAcceleration) {
    return make_error(Errc::invalid_argument,
                      "record compression acceleration (--record-compression-acceleration, [event_sourcing] "
                      "compression_acceleration) must be between " + std::to_string(journal::kMinAcceleration) +
                          " and " + std::to_string(journal::kMaxAcceleration) + ", was " +
                          std::to_string(s.compression_acceleration));
  }
  o.writer.acceleration = s.compression_acceleration;
  if (s.max_ctx_bytes < static_cast<std::size_t>(config::EventSourcingSection::kMinMaxCtxBytes) ||
      s.max_ctx_bytes > static_cast<std::size_t>(config::EventSourcingSection::kMaxMaxCtxBytes)) {
    return make_error(Errc::invalid_argument,
                      fmt::format("a recorded ctx's limit (--record-max-ctx-bytes, [event_sourcing] max_ctx_bytes) "
                                  "must be between {} and {} bytes, was {}",
                                  config::EventSourcingSection::kMinMaxCtxBytes,
                                  config::EventSourcingSection::kMaxMaxCtxBytes, s.max_ctx_bytes));
  }
  o.recorder.max_ctx_bytes = s.max_ctx_bytes;
  if (!backtest) {
    if (s.fsync == "none") {
      o.writer.fsync = journal::FsyncPolicy::None;
    } else if (s.fsync == "every_block") {
      o.writer.fsync = journal::FsyncPolicy::EveryBlock;
    } else if (s.fsync == "interval") {
      o.writer.fsync = journal::FsyncPolicy::Interval;
    } else {
      return make_error(Errc::invalid_argument, "fsync must be none, every_block or interval, was \"" + s.fsync + "\"");
    }
    if (s.queue_full == "block") {
      o.writer.queue_full = journal::QueueFullPolicy::Block;
    } else if (s.queue_full == "drop_oldest") {
      o.writer.queue_full = journal::QueueFullPolicy::DropOldest;
    } else if (s.queue_full == "fail") {
      o.writer.queue_full = journal::QueueFullPolicy::Fail;
    } else {
      return make_error(Errc::invalid_argument,
                        "queue_full must be block, drop_oldest or fail, was \"" + s.queue_full + "\"");
    }
    o.writer.fsync_interval_ms = s.fsync_interval_ms;
    o.writer.queue_capacity = s.queue_capacity;
    o.writer.block_timeout_ms = s.block_timeout_ms;
    o.recorder.batch_events = 0;  // live: every bar's events leave the runner thread at the bar's end
  }
  if (std::string bad = o.writer.validate(); !bad.empty()) return make_error(Errc::invalid_argument, bad);
  return o;
}

Value backtest_config_value(const backtest::BacktestConfig& cfg, const BacktestSessionSpec& spec,
                            const RecordSettings& rec) {
  Value recording = Value::map({{"checkpoint_bars", Value(static_cast<std::int64_t>(rec.checkpoint_bars))},
                                {"include_indicators", rec.include_indicators},
                                {"snapshot_interval", Value(static_cast<std::int64_t>(rec.snapshot_interval))},
                                {"state_events", rec.state_events},
                                {"storage_mode", rec.storage_mode},
                                {"timeframe", spec.timeframe}});
  Value v = backtest::config_to_value(cfg);
  v.set("end", spec.end);
  // (Only when set: the sessions of builds before the key keep their bytes.)
  if (rec.max_ctx_bytes != RecordSettings{}.max_ctx_bytes)
    recording.set("max_ctx_bytes", Value(static_cast<std::int64_t>(rec.max_ctx_bytes)));
  v.set("recording", std::move(recording));
  v.set("start", spec.start);
  v.set("symbol", spec.symbol);
  return v;
}

Result<std::unique_ptr<runner::SessionRecorder>> start_backtest_session(const RecordSettings& rec,
                                                                        const BacktestSessionSpec& spec,
                                                                        backtest::BacktestConfig& cfg) {
  auto options = recorder_options(rec, true);
  if (!options) return std::move(options).error();
  options->recorder.timeframe = spec.timeframe;

  journal::SessionMeta meta;
  meta.mode = spec.mode;
  meta.engine_version = spec.engine_version;
  meta.config = backtest_config_value(cfg, spec, rec);
  meta.config_sha256 = sha256_hex(to_json(meta.config));
  journal::StrategyInfo si;
  si.name = spec.strategy_name;
  si.path = spec.strategy_path;
  si.symbols = {spec.symbol};
  Value::Map params;
  for (const auto& [k, v] : cfg.params) params.emplace_back(k, Value(v));
  si.params = Value(std::move(params));
  meta.strategies.push_back(std::move(si));
  meta.data.push_back({spec.data_path, spec.data_sha256, spec.symbol, spec.bars_sha256, spec.bars});
  meta.seed = cfg.seed;
  meta.data_start_ns = spec.first_bar_ns;
  meta.parent_session = spec.parent_session;

  options->journal_session_id = spec.journal_session_id;
  options->journal_mode = spec.journal_mode;

  auto session = runner::SessionRecorder::create(std::move(*options), std::move(meta), {spec.strategy_code});
  if (!session) return std::move(session).error();
  for (const auto& f : cfg.indicator_files) {
    auto stored = (*session)->store_source(f.code);
    if (!stored) {
      (void)(*session)->discard();
      return std::move(stored).error();
    }
  }
  cfg.observer = &(*session)->add_runner();
  return session;
}

Status finish_backtest_session(runner::SessionRecorder& session, const backtest::BacktestResult& result,
                               const backtest::Metrics& m) {
  auto summary = Value::map({{"bars", Value(static_cast<std::int64_t>(m.bars))},
                             {"commission_paid", m.commission_paid},
                             {"fills", Value(static_cast<std::int64_t>(m.fills))},
                             {"final_equity", m.final_equity},
                             {"initial_cash", m.initial_cash},
                             {"max_drawdown", m.max_drawdown},
                             {"open_trades", Value(static_cast<std::int64_t>(m.open_trades))},
                             {"total_return", m.total_return},
                             {"trades", Value(static_cast<std::int64_t>(m.trades))},
                             {"win_rate", m.win_rate}});
  if (result.fault) summary.set("fault", result.fault->message);
  Value res = summary;
  Value::Map params;
  for (const auto& p : result.params) params.emplace_back(p.name, Value(p.value));
  res.set("params", Value(std::move(params)));
  res.set("sharpe", m.sharpe);
  return session.finish(result.fault ? "strategy_fault" : "end_of_data", std::move(summary), std::move(res));
}

std::string session_written_line(const runner::SessionRecorder& session) {
  const journal::WriterStats st = session.writer_stats();
  const double per = st.written > 0 ? static_cast<double>(st.file_bytes) / static_cast<double>(st.written) : 0;
  std::string line = fmt::format("  session {} recorded in {}/ ({} events, {:.1f} MB, {:.1f} bytes/event)",
                                 session.session_id(), session.dir().path(), st.written,
                                 static_cast<double>(st.file_bytes) / 1e6, per);
  for (const auto& [w, runners] : session.warnings())
    line += runners > 1 ? fmt::format("\n  warning ({} runners): {}", runners, w) : "\n  warning: " + w;
  return line;
}

}  // namespace te::app
