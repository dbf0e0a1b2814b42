#pragma once
// Recording a session around a backtest (`backtest --record`, `rerun`), and
// the mapping from [event_sourcing] to SessionRecorderOptions for `run`.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/backtest/metrics.hpp"
#include "engine/config/config.hpp"
#include "engine/core/result.hpp"
#include "engine/runner/session_recorder.hpp"

namespace te::app {

// How to record: the command-line flags of `backtest --record`, or
// [event_sourcing] (settings_from).
struct RecordSettings {
  bool record = false;
  std::string sessions_dir = "data/sessions";
  std::string session_id;                  // empty: generated
  std::string storage_mode = "delta";      // full | delta
  std::string state_events = "activity";   // activity | every_bar
  bool include_indicators = false;
  std::uint32_t snapshot_interval = 100;
  std::uint32_t checkpoint_bars = 100;
  std::string compression = "lz4";         // lz4 | none (journal blocks)
  int compression_acceleration = journal::kDefaultAcceleration;  // LZ4's, kMinAcceleration..kMaxAcceleration
  std::size_t max_ctx_bytes = runner::RecorderOptions{}.max_ctx_bytes;  // a recorded state's ctx, as data
  // `run` only (backtests keep every event and cut blocks by size):
  std::string fsync = "interval";
  std::uint32_t fsync_interval_ms = 1000;
  std::size_t queue_capacity = 65536;
  std::string queue_full = "block";
  std::uint32_t block_timeout_ms = 200;
};

// --record, --sessions-dir, --session-id, --record-mode, --record-states,
// --record-indicators, --snapshot-interval, --checkpoint-bars, --record-compression,
// --record-compression-acceleration, --record-max-ctx-bytes.
void add_record_options(CLI::App* cmd, RecordSettings& s);

RecordSettings settings_from(const config::EventSourcingSection& es);

// Errors: Errc::invalid_argument naming the bad setting.
// `backtest` true: every event is kept (the queue blocks) and blocks are cut
// by size only, so the same run always gives the same file.
Result<runner::SessionRecorderOptions> recorder_options(const RecordSettings& s, bool backtest);

// What a recorded backtest ran: everything a rerun needs to reproduce it.
struct BacktestSessionSpec {
  std::string mode = "backtest";        // or "rerun"
  std::string engine_version;
  std::string strategy_name;            // display (file stem)
  std::string strategy_path;
  std::string strategy_code;
  std::vector<std::pair<std::string, std::string>> param_overrides;  // as given, in order
  std::string symbol;
  std::string data_path;                // the data file (a rerun on recorded bars: the original's, informational)
  std::string data_sha256;               // of that file; empty when the bars did not come from it
  std::string bars_sha256;               // journal::bars_sha256 of the bars fed to the runner
  std::uint64_t bars = 0;
  std::string start, end;               // --start/--end as given (informational)
  std::string timeframe;
  std::int64_t first_bar_ns = 0;
  std::string parent_session;
  // A rerun that reproduces its parent (same code, config, data): session_start
  // carries the parent's journal identity (its session id and mode, which are
  // wall-clock metadata) so the two event files can be byte-identical.
  std::string journal_session_id;       // empty: this session's id
  std::string journal_mode;             // empty: `mode`
};

// meta.config of a recorded backtest: backtest::config_to_value (execution,
// risk, sandbox, params, seed, warm-up, indicator files by hash, ...) plus
// symbol, start, end and recording {state_events, checkpoint_bars, timeframe,
// storage_mode, snapshot_interval, include_indicators}.
Value backtest_config_value(const backtest::BacktestConfig& cfg, const BacktestSessionSpec& spec,
                            const RecordSettings& rec);

// Creates the session (meta.json, sources — the strategy's and every Lua
// indicator file's, by hash — and the journal with session_start) and points
// cfg.observer at the runner's recorder.
Result<std::unique_ptr<runner::SessionRecorder>> start_backtest_session(const RecordSettings& rec,
                                                                        const BacktestSessionSpec& spec,
                                                                        backtest::BacktestConfig& cfg);

// Writes session_end (deterministic summary: no wall-clock figures) and
// completes meta.json (result for `sessions`).
Status finish_backtest_session(runner::SessionRecorder& session, const backtest::BacktestResult& result,
                               const backtest::Metrics& metrics);

// "session 2025...: data/sessions/2025.../ (12,345 events, 1.2 MB, 40.1 bytes/event)"
std::string session_written_line(const runner::SessionRecorder& session);

}  // namespace te::app
