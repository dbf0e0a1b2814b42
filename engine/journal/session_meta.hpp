#pragma once
// meta.json of a recorded session: what ran, on what, with which code, config,
// data and seed, so a session can be listed, compared and re-run. Wall-clock
// times live here (never in the journal), which is why the determinism proof
// compares journals and leaves meta.json out.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/journal/record_format.hpp"
#include "engine/core/value.hpp"

namespace te::journal {

inline constexpr std::int64_t kMetaFormat = 1;

struct StrategyInfo {
  std::string name;
  std::string path;                  // as given on the command line / in the config
  std::string sha256;                // of the source; the code is in sources/<sha256>.lua
  std::vector<std::string> symbols;
  Value params;                      // effective parameters (nil if none)
};

struct DataInfo {
  std::string path;
  std::string sha256;                // of the data file as read (empty when the bars came from another journal)
  std::string symbol;
  std::string bars_sha256;           // of the bars the runner was fed (journal::bars_sha256), whatever their source
  std::uint64_t bars = 0;            // how many
};

struct SessionMeta {
  std::string session_id;
  std::string mode;                  // "backtest", "run", "paper", "live", "rerun"
  std::string status = "running";    // "running", "completed", "failed", "interrupted"
  std::int64_t started_at_ns = 0;    // wall clock; 0 = unknown
  std::int64_t ended_at_ns = 0;      // wall clock; 0 while running or after a crash
  std::int64_t data_start_ns = 0;    // data time range covered (0 = unknown)
  std::int64_t data_end_ns = 0;
  std::string engine_version;
  std::string config_path;
  std::string config_sha256;
  Value config;                      // the effective configuration
  std::vector<StrategyInfo> strategies;
  std::vector<DataInfo> data;
  std::uint64_t seed = 0;
  StorageMode storage_mode = StorageMode::Full;
  std::uint32_t snapshot_interval = 0;
  bool include_indicators = false;
  // How the journal's blocks were compressed (meta.json only, written when not
  // the default: they change the journal's bytes, not its events, so they are
  // not in session_start, where compare would call them a setup difference).
  // rerun writes its journal the same way, so a re-run is byte-identical.
  bool compressed = true;
  std::uint32_t compression_acceleration = 0;  // 0 = the writer's default
  std::string parent_session;        // rerun: the session it re-ran (empty otherwise)
  Value result;                      // summary for listings (final equity, trades, ...), nil if none
};

Value to_value(const SessionMeta& m);
// Unknown keys are ignored (a newer engine may add some).
// Errors: Errc::parse naming the field: "strategies[0].sha256 must be a string, was int".
Result<SessionMeta> meta_from_value(const Value& v);

// Pretty JSON (2-space indent, sorted keys, trailing newline).
std::string meta_to_json(const SessionMeta& m);
Result<SessionMeta> meta_from_json(std::string_view text);

}  // namespace te::journal
