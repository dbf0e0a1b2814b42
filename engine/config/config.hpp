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
  std::string compression = "lz4";     // lz4 | none: journal blocks compressed or stored as they are
  int compression_acceleration = 4;    // LZ4's acceleration, 1..64 (journal::kDefaultAcceleration)
  // Its bounds (journal::kMinAcceleration..kMaxAcceleration; config does not
  // include the journal's headers, app/session_recording.cpp checks they agree).
  static constexpr int kMinCompressionAcceleration = 1, kMaxCompressionAcceleration = 64;
  // A recorded state's ctx at most this many bytes as data (bigger: recorded
  // as nil, with a warning); runner::RecorderOptions::max_ctx_bytes.
  int max_ctx_bytes = 4 << 20;
  static constexpr int kMinMaxCtxBytes = 1024, kMaxMaxCtxBytes = 32 << 20;
};

// [execution] and [runners.execution] (docs/execution.md, "Configuration").
struct ExecutionSection {
  std::string type = "simulated";   // simulated | paper (| live, later)
  bool type_given = false;          // `type` was set (else a live data source implies paper)
  std::string fill = "next_open";   // next_open | close | ohlc | bid_ask
  std::string commission_model = "percent";  // percent | per_share | fixed | maker_taker
  double commission = 0;            // percent: fraction of value; per_share: per unit; fixed: per order
  double commission_minimum = 0;    // percent / per_share: least per order
  double maker_fee = 0;             // maker_taker: fractions of value
  double taker_fee = 0;
  std::string slippage_model = "percent";  // none | percent | ticks | volume
  double slippage = 0;              // percent: fraction; ticks: tick count; volume: impact coefficient
  double max_volume_fraction = 0;   // share of a bar's volume one instrument may fill (0 = no limit)
  std::int64_t latency_bars = 0;
  double tick_size = 0;             // instrument rules (0 = none)
  double lot_size = 1;              // quantity increment; 0 = any
  double min_qty = 0;
  double min_notional = 0;
  bool allow_short = true;
  int pyramiding = 1;               // entries per trade
  double leverage = 1;              // longs need 1/leverage of their value as margin
  double short_margin = 1;          // shorts need this fraction of their value as margin
  bool close_at_end = false;        // backtests: close open trades at the last close
  double initial_cash = 100000;
};

// [risk.stormguard], [risk.strategy.stormguard] (docs/risk.md).
struct StormGuardSection {
  bool enabled = false;
  double warm = 0.005;
  double storm = 0.01;
  double halt = 0.015;
  std::string basis = "drawdown";   // drawdown | daily
  double warm_size_scale = 0.5;
  bool halt_flatten = true;
  std::int64_t cooldown_bars = 0;
  std::int64_t halt_cooldown_bars = 0;
};

// [risk.strategy] (defaults of every strategy) and [runners.risk] (one runner's strategy).
struct StrategyRiskSection {
  double capital = 0;
  double max_position_qty = 0;
  double max_position_notional = 0;
  double max_position_fraction = 0;
  double max_risk_per_trade = 0;
  double max_daily_loss = 0;
  double max_drawdown = 0;
  std::int64_t max_orders = 0;
  double order_window_s = 60;
  StormGuardSection stormguard;
};

// [risk]: account-wide limits, the kill switch, and the strategy defaults.
struct RiskSection {
  bool present = false;                 // the file has a [risk] table
  bool kill_switch = false;
  std::int64_t kill_switch_at_ns = 0;   // kill_switch_at = "2024-03-01T14:30:00Z" (0 = never)
  std::string kill_switch_file;         // engage when this file appears while running ("" = none)
  std::int64_t max_open_positions = 0;
  double price_band = 0;
  double max_daily_loss = 0;
  double max_drawdown = 0;
  std::int64_t max_orders = 0;
  double order_window_s = 60;
  StormGuardSection stormguard;
  StrategyRiskSection strategy;
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
  std::uint64_t bars = 0;           // simulated: stop after this many bars (0 = until stopped)
  std::string start;                // simulated: open time of the first bar (ISO-8601; "" = 2020-01-01)
};

struct BinanceVenue {
  std::string ws_url = "wss://stream.binance.com:9443";
  std::string rest_url = "https://api.binance.com";
  std::string api_key_env;     // names of environment variables, never the secrets
  std::string api_secret_env;
};

struct RunnerSection {
  std::string key_path;        // where it was defined: "runners[0]" or "strategies[1]" (for messages)
  std::string name;            // display; defaults to "<strategy>:<symbol>"
  std::string symbol;
  std::string strategy;        // path of the .lua file
  Params params;
  Params param_at;             // name -> "<file>:<line>: runners[0].params.<name>" (for the strategy's errors)
  DataSourceSection data_source;
  ExecutionSection execution;
  StrategyRiskSection risk;    // [risk.strategy] overridden by [runners.risk]
  std::int64_t closewatch_timeout_bars = 0;
};

struct Config {
  std::string path;  // the file it came from
  EngineSection engine;
  SandboxSection sandbox;
  EventSourcingSection event_sourcing;
  ExecutionSection execution;  // defaults for every runner
  RiskSection risk;
  BinanceVenue binance;
  std::vector<RunnerSection> runners;  // [[runners]] plus the expansion of [[strategies]]
};

// Reads and validates a config file. Every problem is reported, each on its own
// line as "<file>:<line>: <key path>: <message>", in one Error (Errc::parse or
// Errc::invalid_argument); unknown keys are errors.
Result<Config> load_config(const std::string& path);
Result<Config> parse_config(std::string_view text, const std::string& name);

}  // namespace te::config
