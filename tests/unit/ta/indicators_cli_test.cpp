// The `indicators` subcommand end to end (with the test Yahoo reader standing in
// for the engine/data loader): --compute writes exactly the CSV of
// write_indicators_csv, which the golden test checks against TA-Lib.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "engine/app/command.hpp"
#include "engine/ta/batch.hpp"
#include "tests/support/yahoo_csv.hpp"

using namespace te;

namespace {

int run(const std::vector<std::string>& args, app::BarLoader loader) {
  CLI::App cli{"test", "trading-engine"};
  app::CommandContext ctx;
  app::register_indicators(cli, ctx, std::move(loader));
  std::vector<const char*> argv = {"trading-engine"};
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    cli.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError&) {
    return 2;
  }
  return ctx.exit_code;
}

}  // namespace

TEST_CASE("indicators --compute writes the golden-checked CSV", "[unit][ta][cli]") {
  const std::string data = test::shared_path("data/nvda-1999-2014.txt");
  const std::string list = "sma(20),ema(20),rsi(14),macd(12,26,9),bbands(20,2,2),atr(14),stoch(14,3,3),willr(14),"
                           "cci(20),adx(14),obv(),vwap()";
  const std::string out = std::string(TE_BINARY) + "-indicators-test.csv";
  std::remove(out.c_str());
  const app::BarLoader loader = [](const std::string& path) -> Result<model::BarSeries> {
    return test::load_yahoo_csv(path);
  };
  REQUIRE(run({"indicators", "--data", data, "--compute", list, "--out", out}, loader) == 0);
  const std::string written = test::read_text_file(out);
  std::remove(out.c_str());
  auto expected = ta::indicators_csv(test::load_yahoo_csv(data), list);
  REQUIRE(expected.ok());
  CHECK(written == *expected);
  CHECK(written.rfind("date,sma_20,ema_20,rsi_14,macd_12_26_9_macd,", 0) == 0);

  CHECK(run({"indicators", "--data", data, "--compute", "sma(20),nope(3)"}, loader) == 1);
  CHECK(run({"indicators", "--data", data, "--compute", "sma(20)"}, app::BarLoader{}) == 1);
  CHECK(run({"indicators"}, loader) == 2);
  CHECK(run({"indicators", "--data", data, "--compute", "sma(20)", "--out", "/nonexistent-dir/x.csv"}, loader) == 1);
}
