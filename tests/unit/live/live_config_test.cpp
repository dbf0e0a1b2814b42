// Config checks for `run`: every example in configs/ is valid, and a bad
// config gets all of its problems at once, with key paths (and lines), before
// anything starts.
#include <catch2/catch.hpp>

#include <filesystem>

#include "engine/config/config.hpp"
#include "engine/live/config_check.hpp"
#include "tests/support/temp_files.hpp"

using namespace te;
using te::test::run_cli;
using te::test::TempDir;
using te::test::write_file;

namespace {

// Config paths are relative to the working directory: run from the checkout.
class InSourceDir {
 public:
  InSourceDir() : old_(std::filesystem::current_path()) { std::filesystem::current_path(TE_SOURCE_DIR); }
  ~InSourceDir() { std::filesystem::current_path(old_); }

 private:
  std::filesystem::path old_;
};

}  // namespace

TEST_CASE("every example config in configs/ passes validation", "[live][config]") {
  InSourceDir here;
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("configs")) {
    if (e.path().extension() != ".toml") continue;
    ++n;
    auto cfg = live::validate_config_file(e.path().string());
    INFO(e.path().string() << ": " << (cfg ? "" : cfg.error().message));
    CHECK(cfg.ok());
    if (cfg) CHECK_FALSE(cfg->runners.empty());
  }
  CHECK(n >= 4);
  auto mixed = live::validate_config_file("configs/mixed.toml");
  REQUIRE(mixed.ok());
  REQUIRE(mixed->runners.size() == 3);
  CHECK(mixed->runners[0].execution.type == "paper");
  CHECK(mixed->runners[1].data_source.simulate_realtime);
  CHECK(mixed->runners[1].data_source.speed == 10);
  CHECK(mixed->runners[2].data_source.type == "simulated");
  auto paper = live::validate_config_file("configs/paper_binance.toml");
  REQUIRE(paper.ok());
  CHECK(paper->runners.size() == 2);  // [[strategies]] x 2 symbols
  CHECK(paper->runners[1].name == "sma:ETHUSDT");
}

TEST_CASE("a bad run config lists every problem with its key path", "[live][config]") {
  const char* text = R"([engine]
threads = -1

[[runners]]
symbol = "BTCUSDT"
strategy = "strategies/sma_cross.lua"
[runners.data_source]
type = "historical"
path = "x.csv"
speed = 10
volatility = 0.2

[[runners]]
symbol = "ETHUSDT"
strategy = "strategies/sma_cross.lua"
[runners.data_source]
type = "live"
simulate_realtime = true
[runners.execution]
type = "simulated"

[[runners]]
symbol = "SIM"
strategy = "strategies/sma_cross.lua"
[runners.data_source]
type = "simulated"
bars_per_second = "fast"
[runners.execution]
type = "paper"
slippage = 2
)";
  auto cfg = config::parse_config(text, "bad.toml");
  REQUIRE_FALSE(cfg.ok());
  const std::string& m = cfg.error().message;
  CHECK_THAT(m, Catch::Contains("bad.toml:2: engine.threads: must be between 0 and 1024, was -1"));
  CHECK_THAT(m, Catch::Contains("bad.toml:10: runners[0].data_source.speed: speed paces a real-time replay"));
  CHECK_THAT(m, Catch::Contains("runners[0].data_source.volatility: applies only to type = \"simulated\""));
  CHECK_THAT(m, Catch::Contains("runners[1].data_source.simulate_realtime: applies only to type = \"historical\""));
  CHECK_THAT(m, Catch::Contains("runners[1].execution.type: live data trades with execution.type = \"paper\""));
  CHECK_THAT(m, Catch::Contains("runners[2].data_source.bars_per_second: expected a number, was a string"));
  CHECK_THAT(m, Catch::Contains("runners[2].execution.type: paper execution needs live data"));
  CHECK_THAT(m, Catch::Contains("runners[2].execution.slippage: percent slippage"));
}

TEST_CASE("live data defaults to paper execution", "[live][config]") {
  auto cfg = config::parse_config(R"(
[[runners]]
symbol = "BTCUSDT"
strategy = "s.lua"
[runners.data_source]
type = "live"
)",
                                  "ok.toml");
  REQUIRE(cfg.ok());
  CHECK(cfg->runners[0].execution.type == "paper");
}

TEST_CASE("config checks that need the file system: missing files and unknown intervals", "[live][config]") {
  TempDir dir;
  write_file(dir.file("c.toml"), R"(
[[runners]]
symbol = "BTC-USDT"
strategy = "no/such/strategy.lua"
[runners.data_source]
type = "live"
interval = "7m"

[[strategies]]
script = "strategies/sma_cross.lua"
symbols = ["A", "B"]
[strategies.data_source]
type = "historical"
path = "no/such/data.csv"

[[runners]]
symbol = "SIM"
strategy = "strategies/sma_cross.lua"
[runners.data_source]
type = "simulated"
interval = "fortnight"
start = "yesterday"
)");
  InSourceDir here;
  auto cfg = live::validate_config_file(dir.file("c.toml"));
  REQUIRE_FALSE(cfg.ok());
  const std::string& m = cfg.error().message;
  CHECK_THAT(m, Catch::Contains("runners[0].strategy: no such file: no/such/strategy.lua"));
  CHECK_THAT(m, Catch::Contains("runners[0].data_source.interval:"));
  CHECK_THAT(m, Catch::Contains("runners[0].symbol: a Binance symbol is letters and digits"));
  CHECK_THAT(m, Catch::Contains("strategies[0].data_source.path: no such file: no/such/data.csv"));
  CHECK_THAT(m, Catch::Contains("runners[1].data_source.interval: unknown interval \"fortnight\""));
  CHECK_THAT(m, Catch::Contains("runners[1].data_source.start: expected an ISO-8601"));
  // One line for the shared path of [[strategies]], not one per symbol.
  CHECK(m.find("no/such/data.csv") == m.rfind("no/such/data.csv"));
}

TEST_CASE("run refuses a bad config with every problem and starts nothing", "[live][cli]") {
  TempDir dir;
  write_file(dir.file("bad.toml"), R"([engine]
threads = "many"
colour = 1
[event_sourcing]
base_dir = ")" + dir.file("sessions") + R"("
[[runners]]
symbol = "X"
strategy = "strategies/sma_cross.lua"
[runners.data_source]
type = "historical"
)");
  auto r = run_cli(dir, "run --config " + dir.file("bad.toml"));
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("has 3 problems; nothing was started"));
  CHECK_THAT(r.err, Catch::Contains("engine.threads: expected a whole number"));
  CHECK_THAT(r.err, Catch::Contains("engine.colour: unknown key"));
  CHECK_THAT(r.err, Catch::Contains("runners[0].data_source.path: a historical data source needs a data file path"));
  CHECK_FALSE(std::filesystem::exists(dir.file("sessions")));
  auto missing = run_cli(dir, "run --config " + dir.file("nope.toml"));
  CHECK(missing.code == 2);
  CHECK_THAT(missing.err, Catch::Contains("nope.toml"));
}

TEST_CASE("runners whose report folders would collide are refused by name", "[live][config]") {
  TempDir dir;
  write_file(dir.file("c.toml"), R"(
[[runners]]
name = "x/y"
symbol = "A"
strategy = "strategies/sma_cross.lua"
[runners.data_source]
type = "simulated"
[[runners]]
name = "x_y"
symbol = "B"
strategy = "strategies/sma_cross.lua"
[runners.data_source]
type = "simulated"
)");
  InSourceDir here;
  CHECK(live::report_dir_name("x/y") == "x_y");
  CHECK(live::report_dir_name("..hidden") == "hidden");
  auto cfg = live::validate_config_file(dir.file("c.toml"));
  REQUIRE_FALSE(cfg.ok());
  CHECK_THAT(cfg.error().message,
             Catch::Contains("runners[1].name: runner \"x_y\" would write its reports to the same folder runners/x_y/ "
                             "as runner \"x/y\" (runners[0])"));
}

TEST_CASE("run names every bad param of every runner with its key path, and starts nothing", "[live][cli]") {
  TempDir dir;
  write_file(dir.file("p.toml"), R"(
[event_sourcing]
base_dir = ")" + dir.file("sessions") + R"("
[[runners]]
name = "a"
symbol = "A"
strategy = "strategies/sma_cross.lua"
params = { fast = "abc", nosuch = 3, slow = 2.5 }
[runners.data_source]
type = "simulated"
bars = 50
[[runners]]
name = "b"
symbol = "B"
strategy = "strategies/sma_cross.lua"
params = { fast = "x" }
[runners.data_source]
type = "simulated"
bars = 50
)");
  const auto r = run_cli(dir, "run --config " + dir.file("p.toml"));
  INFO(r.out << r.err);
  CHECK(r.code != 0);
  // file:line and key path of each value, as for every other config error (MISSION: key paths).
  const std::string at = dir.file("p.toml");
  CHECK_THAT(r.err, Catch::Contains(at + ":8: runners[0].params.fast = abc: expected a number"));
  CHECK_THAT(r.err, Catch::Contains(at + ":8: runners[0].params.nosuch: the strategy has no parameter nosuch (it declares: fast, slow, stake) (runner a)"));
  CHECK_THAT(r.err, Catch::Contains(at + ":8: runners[0].params.slow = 2.5: expected a whole number"));
  CHECK_THAT(r.err, Catch::Contains(at + ":16: runners[1].params.fast = x: expected a number"));
}
