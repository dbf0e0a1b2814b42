#include <catch2/catch.hpp>

#include "engine/config/config.hpp"

using namespace te;

TEST_CASE("a config with runners and a strategies shorthand", "[unit][config]") {
  const char* text = R"(
[engine]
threads = 2
seed = 7

[execution]
commission = 0.001

[[runners]]
symbol = "BTCUSDT"
strategy = "strategies/sma_cross.lua"
params = { fast = 5, slow = 20, note = "x", on = true }
[runners.data_source]
type = "historical"
path = "data/btc.csv"
simulate_realtime = true
speed = 10.0

[[strategies]]
name = "ema"
script = "strategies/ema_cross.lua"
symbols = ["ETHUSDT", "SOLUSDT"]
[strategies.data_source]
type = "simulated"
seed = 3
[strategies.execution]
fill = "close"
)";
  auto cfg = config::parse_config(text, "t.toml");
  INFO((cfg ? "" : cfg.error().message));
  REQUIRE(cfg.ok());
  CHECK(cfg->engine.threads == 2);
  CHECK(cfg->engine.seed == 7);
  REQUIRE(cfg->runners.size() == 3);
  const auto& r0 = cfg->runners[0];
  CHECK(r0.name == "strategies/sma_cross.lua:BTCUSDT");
  CHECK(r0.params == config::Params{{"fast", "5"}, {"note", "x"}, {"on", "true"}, {"slow", "20"}});
  CHECK(r0.data_source.speed == 10);
  CHECK(r0.execution.commission == 0.001);  // inherited from [execution]
  CHECK(cfg->runners[1].symbol == "ETHUSDT");
  CHECK(cfg->runners[2].name == "ema:SOLUSDT");
  CHECK(cfg->runners[2].execution.fill == "close");
  CHECK(cfg->runners[2].execution.commission == 0.001);
}

TEST_CASE("every config problem is reported at once with its line and key path", "[unit][config]") {
  const char* text = R"([engine]
threads = "two"
colour = "blue"

[venues.binance]
ws_url = "http://x"
api_secret = "hunter2"

[[runners]]
strategy = "s.lua"
[runners.data_source]
type = "historical"
[runners.execution]
type = "paper"
fill = "mid"
)";
  auto cfg = config::parse_config(text, "bad.toml");
  REQUIRE_FALSE(cfg.ok());
  const std::string& m = cfg.error().message;
  CHECK_THAT(m, Catch::Contains("bad.toml:2: engine.threads: expected a whole number, was a string"));
  CHECK_THAT(m, Catch::Contains("bad.toml:3: engine.colour: unknown key"));
  CHECK_THAT(m, Catch::Contains("venues.binance.ws_url: must start with ws://"));
  CHECK_THAT(m, Catch::Contains("venues.binance.api_secret: secrets never go in the config file"));
  CHECK_THAT(m, Catch::Contains("runners[0].symbol: missing"));
  CHECK_THAT(m, Catch::Contains("runners[0].data_source.path: a historical data source needs a data file path"));
  CHECK_THAT(m, Catch::Contains("runners[0].execution.fill: must be one of next_open, close, ohlc, bid_ask, was \"mid\""));
  CHECK_THAT(m, Catch::Contains("paper execution needs live data"));
  CHECK(m.find("hunter2") == std::string::npos);
}

TEST_CASE("[event_sourcing] compression_acceleration is read and a value out of range names the key", "[unit][config]") {
  auto ok = config::parse_config("[event_sourcing]\ncompression_acceleration = 8\n", "a.toml");
  INFO((ok ? "" : ok.error().message));
  REQUIRE(ok.ok());
  CHECK(ok->event_sourcing.compression_acceleration == 8);
  auto dflt = config::parse_config("[event_sourcing]\ncompression = \"lz4\"\n", "d.toml");
  REQUIRE(dflt.ok());
  CHECK(dflt->event_sourcing.compression_acceleration == 4);
  for (const char* v : {"0", "65", "\"fast\""}) {
    INFO(v);
    auto bad = config::parse_config(std::string("[event_sourcing]\ncompression_acceleration = ") + v + "\n", "b.toml");
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().message, Catch::Contains("b.toml:2: event_sourcing.compression_acceleration: "));
  }
  auto zero = config::parse_config("[event_sourcing]\ncompression_acceleration = 0\n", "z.toml");
  REQUIRE_FALSE(zero.ok());
  CHECK_THAT(zero.error().message,
             Catch::Contains("event_sourcing.compression_acceleration: must be between 1 and 64, was 0"));
}

TEST_CASE("[event_sourcing] max_ctx_bytes is read and a value out of range names the key", "[unit][config]") {
  auto ok = config::parse_config("[event_sourcing]\nmax_ctx_bytes = 65536\n", "a.toml");
  INFO((ok ? "" : ok.error().message));
  REQUIRE(ok.ok());
  CHECK(ok->event_sourcing.max_ctx_bytes == 65536);
  auto dflt = config::parse_config("[event_sourcing]\ncompression = \"lz4\"\n", "d.toml");
  REQUIRE(dflt.ok());
  CHECK(dflt->event_sourcing.max_ctx_bytes == 4 << 20);
  for (const char* v : {"1023", "33554433", "\"4MB\""}) {
    INFO(v);
    auto bad = config::parse_config(std::string("[event_sourcing]\nmax_ctx_bytes = ") + v + "\n", "b.toml");
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().message, Catch::Contains("b.toml:2: event_sourcing.max_ctx_bytes: "));
  }
}

TEST_CASE("keys and values quoted in config errors carry no terminal control bytes", "[unit][config]") {
  auto cfg = config::parse_config("[engine]\n\"col\\u001b[31mour\" = 1\n[[runners]]\nstrategy = \"s.lua\"\nsymbol = \"X\"\n"
                                  "[runners.data_source]\ntype = \"historical\"\npath = \"d.csv\"\n"
                                  "[runners.execution]\ntype = \"paper\"\nfill = \"\\u001b]0;t\\u0007\"\n",
                                  "bad.toml");
  REQUIRE_FALSE(cfg.ok());
  const std::string& m = cfg.error().message;
  CHECK_THAT(m, Catch::Contains("bad.toml:2: engine.col\\x1b[31mour: unknown key"));
  CHECK_THAT(m, Catch::Contains("runners[0].execution.fill: must be one of next_open, close, ohlc, bid_ask, was \"\\x1b]0;t\\x07\""));
  CHECK(m.find('\x1b') == std::string::npos);
}

TEST_CASE("TOML syntax errors name the line and column", "[unit][config]") {
  auto cfg = config::parse_config("[engine\nthreads = 1\n", "x.toml");
  REQUIRE_FALSE(cfg.ok());
  CHECK_THAT(cfg.error().message, Catch::StartsWith("x.toml:1:"));
}

TEST_CASE("runner names and symbols that would reach a terminal raw or move a folder are refused", "[unit][config]") {
  // TOML's \u001b is the ESC a status table would print.
  const char* text = R"([[runners]]
name = "x\u001b[2J"
symbol = "../../etc"
strategy = "s.lua"
[runners.data_source]
type = "simulated"

[[strategies]]
strategy = "s.lua"
symbols = ["OK", "BAD SYMBOL"]
[strategies.data_source]
type = "simulated"
)";
  auto cfg = config::parse_config(text, "n.toml");
  REQUIRE_FALSE(cfg.ok());
  const std::string& m = cfg.error().message;
  CHECK_THAT(m, Catch::Contains("n.toml:2: runners[0].name: \"x\\x1b[2J\" holds a control character"));
  CHECK_THAT(m, Catch::Contains("runners[0].symbol: \"../../etc\" holds '/'"));
  CHECK_THAT(m, Catch::Contains("strategies[0].symbol: \"BAD SYMBOL\" holds ' '"));
  CHECK(m.find('\x1b') == std::string::npos);
}
