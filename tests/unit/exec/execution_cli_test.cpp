// The backtest command's execution and risk flags on real data: each knob
// changes the outcome the way docs/execution.md says, bad values are refused
// with a message naming the flag, and a kill-switch control file stops all trading.
#include <catch2/catch.hpp>

#include <string>

#include "tests/support/temp_files.hpp"

using te::test::CliRun;
using te::test::read_file;
using te::test::run_cli;
using te::test::TempDir;

namespace {

const std::string kNvda = TE_SHARED_DIR "/data/nvda-1999-2014.txt";
const std::string kBase = " --strategy strategies/bracket_trend.lua --data " + kNvda + " --cash 100000 --no-html -q";

// The number after `"key": ` in report.json.
double field(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\": ";
  const auto at = json.find(k);
  REQUIRE(at != std::string::npos);
  return std::stod(json.substr(at + k.size()));
}

std::string backtest(const TempDir& dir, const std::string& name, const std::string& flags) {
  const CliRun r = run_cli(dir, "backtest" + kBase + flags + " --out " + dir.file(name));
  INFO(r.err);
  REQUIRE(r.code == 0);
  return read_file(dir.file(name) + "/report.json");
}

}  // namespace

TEST_CASE("backtest execution flags change fills and costs as documented", "[exec][cli]") {
  TempDir dir;
  const std::string base = backtest(dir, "base", " --commission 0.001");
  const double trades = field(base, "trades");
  REQUIRE(trades >= 40);
  // Per-share commission with a minimum of 1 per order: every fill pays at least 1.
  const std::string per_share = backtest(dir, "ps", " --commission-model per_share:0.0001:1");
  CHECK(field(per_share, "commission_paid") >= 2 * field(per_share, "trades"));
  // Slippage can only cost money on the same signals.
  const std::string slipped = backtest(dir, "slip", " --commission 0.001 --slippage percent:0.002");
  CHECK(field(slipped, "final_equity") < field(base, "final_equity"));
  // A volume cap splits fills: more fills than two per trade.
  const std::string capped = backtest(dir, "cap", " --commission 0.001 --max-volume-fraction 0.0001");
  CHECK(field(capped, "fills") > 2 * field(capped, "trades"));
  // ohlc is a different model: it runs and books the same kind of trades.
  const std::string ohlc = backtest(dir, "ohlc", " --commission 0.001 --fill ohlc");
  CHECK(field(ohlc, "trades") >= 40);
  // Two runs of the same settings are identical (determinism).
  const std::string again = backtest(dir, "again", " --commission 0.001");
  CHECK(read_file(dir.file("again") + "/trades.csv") == read_file(dir.file("base") + "/trades.csv"));
}

TEST_CASE("backtest refuses bad execution flags, naming the flag", "[exec][cli]") {
  TempDir dir;
  const struct {
    const char* flags;
    const char* says;
  } cases[] = {
      {" --fill sometimes", "--fill"},
      {" --slippage percent:2", "--slippage"},
      {" --commission-model per_lot:3", "--commission-model"},
      {" --max-volume-fraction 1.5", "--max-volume-fraction"},
      {" --slippage ticks:2", "--tick-size"},
      {" --kill-switch-at yesterday", "--kill-switch-at"},
      // Not finite: refused by name, never an abort or a run that rejects every order.
      {" --leverage inf", "--leverage must be a finite number"},
      {" --short-margin inf", "--short-margin must be a finite number"},
      {" --lot-size inf", "--lot-size must be a finite number"},
      {" --tick-size inf", "--tick-size must be a finite number"},
      {" --min-notional inf", "--min-notional must be a finite number"},
      {" --max-volume-fraction nan", "--max-volume-fraction must be a finite number"},
      {" --commission nan", "--commission must be a finite number"},
      // The config file's ranges hold for the flags too (audit: --cash 1e300 ran).
      {" --latency-bars 99999999999", "--latency-bars must be between 0 and "},
      {" --pyramiding 2000000000", "--pyramiding must be between 1 and 1000"},
      {" --leverage 1e300", "--leverage must be between 1 and 1000"},
      {" --lot-size 1e300", "--lot-size must be between 0 and "},
      {" --short-margin 1e300", "--short-margin must be between 0 and 100"},
  };
  for (const auto& c : cases) {
    INFO(c.flags);
    const CliRun r = run_cli(dir, "backtest" + kBase + c.flags + " --out " + dir.file("bad"));
    CHECK(r.code == 1);  // a reported error, not an abort (134)
    CHECK_THAT(r.err, Catch::Contains(c.says));
  }
  const CliRun cash = run_cli(dir, "backtest --strategy strategies/bracket_trend.lua --data " + kNvda +
                                       " --cash inf --no-html -q --out " + dir.file("bad"));
  CHECK(cash.code == 1);
  CHECK_THAT(cash.err, Catch::Contains("--cash must be a finite number, was inf"));
  const CliRun rich = run_cli(dir, "backtest --strategy strategies/bracket_trend.lua --data " + kNvda +
                                       " --cash 1e300 --no-html -q --out " + dir.file("bad"));
  CHECK(rich.code == 1);
  CHECK_THAT(rich.err, Catch::Contains("--cash must be between 1e-09 and 1e+18, was 1e+300"));
}

TEST_CASE("backtest --kill-switch-file: a present control file blocks every entry", "[exec][risk][cli]") {
  TempDir dir;
  const std::string kill = dir.file("KILL");
  te::test::write_file(kill, "");
  const std::string report = backtest(dir, "killed", " --kill-switch-file " + kill);
  CHECK(field(report, "trades") == 0);
  CHECK(report.find("\"kill_switch\": true") != std::string::npos);
  CHECK(field(report, "risk_rejections_total") > 0);
  CHECK(field(report, "final_equity") == 100000);
  // Without the file the same run trades.
  const std::string free = backtest(dir, "free", " --kill-switch-file " + dir.file("ABSENT"));
  CHECK(field(free, "trades") >= 40);
  CHECK(free.find("\"kill_switch\": false") != std::string::npos);
  // Engaged from the start by a flag: no engage event happens, the report still says so.
  const std::string flag = backtest(dir, "flag", " --kill-switch");
  CHECK(field(flag, "trades") == 0);
  CHECK(flag.find("\"kill_switch\": true") != std::string::npos);
}
