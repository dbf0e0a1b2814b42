#pragma once
// The `run` configuration as plain structs (no TOML types leak out of this
// module). Shapes follow seed 003 §5.7/§9.1; every key is documented in
// docs/configuration.md. Each section is parsed in its own <section>_section.cpp.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/result.hpp"

namespace te::config {

using Params = std::vector<std::pair<std::string, std::string>>;  // name, value as text, sorted by name

struct EngineSection {
  int threads = 0;                 // 0: one per core
  std::string log_level = "info";  // trace, debug, info, warn, error
  double status_interval_s = 5;    // status table period; 0 disables it
  std::uint64_t seed = 42;         // math.random seed of every strategy
};

struct SandboxSection {
  // Per-callback CPU deadline; 0 picks the mode's default (see docs/sandbox.md).
  double callback_timeout_ms = 0;
  double memory_limit_mb = 64;      // per strategy VM
  int max_consecutive_errors = 1;   // errors in a row before the runner faults
  bool flatten_on_fault = false;    // close a faulted runner's position
};

// Session journal of `run` (docs/replay.md, "Configuration").
struct EventSourcingSection {
  bool enabled = true;
  std::string base_dir = "data/sessions";
  std::string storage_mode = "delta";  // full | delta
  int snapshot_interval = 100;         // delta: a full state every N state events of a runner
  bool include_indicators = false;     // false: replay recomputes indicator values from the bars
  std::string state_events = "activity";  // activity | every_bar: when runner states are recorded
  int checkpoint_bars = 100;           // activity: a state at least every N bars (0 = only on activity)
  std::string fsync = "interval";      // none | every_block | interval
  int fsync_interval_ms = 1000;
  int queue_capacity = 65536;          // events waiting for the writer thread
  std::string queue_full = "block";    // block | drop_oldest | fail: when that queue is full
  int block_timeout_ms = 200;          // a partly filled block is written after this long (crash loss bound)
};

struct ExecutionSection {
  std::string type = "simulated";   // simulated | paper (| live, later)
  std::string fill = "next_open";   // next_open | close
  double commission = 0;            // fraction of traded value
  double lot_size = 1;              // quantity increment for sized entries; 0 = any
  double initial_cash = 100000;
};

struct DataSourceSection {
  std::string type;                 // live | historical | simulated
  std::string source = "binance";   // live: the venue
  std::string interval = "1m";
  std::string path;                 // historical: the data file
  bool simulate_realtime = false;   // historical: pace bars by their timestamps
  double speed = 1;                 // historical realtime speed-up
  std::uint64_t seed = 1;           // simulated
  double volatility = 0.2;          // simulated, annualised
  double start_price = 100;         // simulated
  double bars_per_second = 1;       // simulated pace (0 = as fast as possible)
};

struct BinanceVenue {
  std::string ws_url = "wss://stream.binance.com:9443";
  std::string rest_url = "https://api.binance.com";
  std::string api_key_env;     // names of environment variables, never the secrets
  std::string api_secret_env;
};

struct RunnerSection {
  std::string name;            // display; defaults to "<strategy>:<symbol>"
  std::string symbol;
  std::string strategy;        // path of the .lua file
  Params params;
  DataSourceSection data_source;
  ExecutionSection execution;
  std::int64_t closewatch_timeout_bars = 0;
};

struct Config {
  std::string path;  // the file it came from
  EngineSection engine;
  SandboxSection sandbox;
  EventSourcingSection event_sourcing;
  ExecutionSection execution;  // defaults for every runner
  BinanceVenue binance;
  std::vector<RunnerSection> runners;  // [[runners]] plus the expansion of [[strategies]]
};

// Reads and validates a config file. Every problem is reported, each on its own
// line as "<file>:<line>: <key path>: <message>", in one Error (Errc::parse or
// Errc::invalid_argument); unknown keys are errors.
Result<Config> load_config(const std::string& path);
Result<Config> parse_config(std::string_view text, const std::string& name);

}  // namespace te::config
