#include "engine/config/sections.hpp"

namespace te::config::detail {

void read_engine(TableReader& t, EngineSection& out) {
  t.read("threads", out.threads, 0, 1024);
  t.read_choice("log_level", out.log_level, {"trace", "debug", "info", "warn", "error"});
  t.read("status_interval_s", out.status_interval_s, 0, 86400);
  t.read("seed", out.seed);
}

void read_sandbox(TableReader& t, SandboxSection& out) {
  t.read("callback_timeout_ms", out.callback_timeout_ms, 0, 3'600'000);
  t.read("memory_limit_mb", out.memory_limit_mb, 1, 65536);
  t.read("max_consecutive_errors", out.max_consecutive_errors, 1, 1'000'000);
  t.read("flatten_on_fault", out.flatten_on_fault);
}

void read_event_sourcing(TableReader& t, EventSourcingSection& out) {
  t.read("enabled", out.enabled);
  t.read("base_dir", out.base_dir);
  t.read_choice("storage_mode", out.storage_mode, {"full", "delta"});
  t.read("snapshot_interval", out.snapshot_interval, 1, 1'000'000);
  t.read("include_indicators", out.include_indicators);
  t.read_choice("state_events", out.state_events, {"activity", "every_bar"});
  t.read("checkpoint_bars", out.checkpoint_bars, 0, 100'000'000);
  t.read_choice("fsync", out.fsync, {"none", "every_block", "interval"});
  t.read("fsync_interval_ms", out.fsync_interval_ms, 1, 3'600'000);
  t.read("queue_capacity", out.queue_capacity, 1, 100'000'000);
  t.read_choice("queue_full", out.queue_full, {"block", "drop_oldest", "fail"});
  t.read("block_timeout_ms", out.block_timeout_ms, 0, 3'600'000);
  t.read_choice("compression", out.compression, {"lz4", "none"});
  t.read("compression_acceleration", out.compression_acceleration, EventSourcingSection::kMinCompressionAcceleration,
         EventSourcingSection::kMaxCompressionAcceleration);
  t.read("max_ctx_bytes", out.max_ctx_bytes, EventSourcingSection::kMinMaxCtxBytes,
         EventSourcingSection::kMaxMaxCtxBytes);
}

void read_venues(TableReader& t, BinanceVenue& out) {
  t.table("binance", [&](TableReader& b) {
    b.read("ws_url", out.ws_url);
    b.read("rest_url", out.rest_url);
    b.read("api_key_env", out.api_key_env);
    b.read("api_secret_env", out.api_secret_env);
    auto scheme_ok = [&](std::string_view key, const std::string& url, std::string_view a, std::string_view s) {
      if (url.rfind(std::string(a) + "://", 0) != 0 && url.rfind(std::string(s) + "://", 0) != 0)
        b.problem(key, "must start with " + std::string(a) + ":// (loopback tests) or " + std::string(s) +
                           "://, was \"" + url + "\"");
    };
    scheme_ok("ws_url", out.ws_url, "ws", "wss");
    scheme_ok("rest_url", out.rest_url, "http", "https");
    for (const char* key : {"api_key", "api_secret", "secret", "key"})
      if (b.has(key))
        b.problem(key, "secrets never go in the config file: set api_key_env / api_secret_env to the names of "
                       "environment variables that hold them");
  });
}

}  // namespace te::config::detail
