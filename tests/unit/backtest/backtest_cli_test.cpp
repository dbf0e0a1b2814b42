// `trading-engine backtest` through the built binary: parity with backtrader on
// real data, byte-identical reruns, and a one-line error for every bad input.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "engine/core/numbers.hpp"
#include "tests/support/temp_files.hpp"

using te::test::CliRun;
using te::test::read_file;
using te::test::run_cli;
using te::test::TempDir;
using te::test::write_file;

namespace {

const std::string kNvda = TE_SHARED_DIR "/data/nvda-1999-2014.txt";
const std::string kGolden = TE_SHARED_DIR "/golden/nvda/backtrader_sma_cross_trades.csv";

std::vector<std::vector<std::string>> csv_rows(const std::string& text, bool skip_comments = true) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || (skip_comments && line[0] == '#')) continue;
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream ls(line);
    while (std::getline(ls, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    rows.push_back(std::move(cells));
  }
  return rows;
}

double num(const std::string& s) {
  double v = 0;
  REQUIRE(te::parse_double(s, v));
  return v;
}

// The value of a top-level number in report.json (flat keys, one per line).
double json_number(const std::string& json, const std::string& key) {
  const auto at = json.find("\"" + key + "\": ");
  REQUIRE(at != std::string::npos);
  const auto start = at + key.size() + 4;
  const auto end = json.find_first_of(",\n", start);
  return num(json.substr(start, end - start));
}

bool close_to(double a, double b, double rel) { return std::fabs(a - b) <= rel * std::max(1.0, std::fabs(b)); }

// report.json without the fields that measure the machine.
std::string without_timing(const std::string& json) {
  std::istringstream in(json);
  std::string line, out;
  while (std::getline(in, line))
    if (line.find("\"elapsed_s\"") == std::string::npos && line.find("\"run_elapsed_s\"") == std::string::npos &&
        line.find("\"bars_per_second\"") == std::string::npos)
      out += line + "\n";
  return out;
}

const char* kParityArgs =
    " --strategy strategies/sma_cross.lua --cash 100000 --commission 0.001 --param fast=10 --param slow=30"
    " --param stake=1000";

}  // namespace

TEST_CASE("sma_cross reproduces backtrader's trade list and final value on NVDA", "[golden][backtest][cli]") {
  TempDir dir;
  const CliRun r = run_cli(dir, std::string("backtest") + kParityArgs + " --data " + kNvda + " --out " + dir.file("out"));
  INFO(r.err);
  REQUIRE(r.code == 0);

  const auto golden = csv_rows(read_file(kGolden));
  const auto ours = csv_rows(read_file(dir.file("out/trades.csv")));
  REQUIRE(golden.size() == 74);  // header + 73 round trips
  REQUIRE(ours.size() == golden.size());
  // golden: trade,entry_date,entry_price,exit_date,exit_price,size,entry_comm,exit_comm,pnl_gross,pnl_net
  // ours:   trade,symbol,side,entry_time,entry_price,exit_time,exit_price,quantity,entry_commission,exit_commission,
  //         pnl_gross,pnl_net,bars_held,exit_reason,mae,mfe
  for (std::size_t i = 1; i < golden.size(); ++i) {
    const auto& g = golden[i];
    const auto& o = ours[i];
    INFO("trade " << g[0]);
    CHECK(o[2] == "long");
    CHECK(o[3] == g[1]);
    CHECK(close_to(num(o[4]), num(g[2]), 1e-9));
    CHECK(o[5] == g[3]);
    CHECK(close_to(num(o[6]), num(g[4]), 1e-9));
    CHECK(num(o[7]) == num(g[5]));
    CHECK(close_to(num(o[8]), num(g[6]), 1e-6));  // golden commissions are printed to 6 decimals
    CHECK(close_to(num(o[9]), num(g[7]), 1e-6));
    CHECK(close_to(num(o[11]), num(g[9]), 1e-6));
    CHECK(o[13] == "signal");
  }
  const std::string report = read_file(dir.file("out/report.json"));
  CHECK(close_to(json_number(report, "final_equity"), 131883.482663, 1e-9));
  CHECK(json_number(report, "bars") == 4012);
  CHECK(json_number(report, "fills") == 146);
  CHECK(json_number(report, "trades") == 73);
  CHECK(json_number(report, "open_trades") == 0);
}

TEST_CASE("two runs of the same backtest write byte-identical outputs", "[backtest][cli]") {
  TempDir dir;
  const std::string data = dir.file("gen.csv");
  REQUIRE(run_cli(dir, "generate-data --bars 20000 --seed 3 --interval 1h --out " + data).code == 0);
  for (const char* strategy : {"sma_cross", "ema_cross", "range_breakout", "rsi_mean_reversion"}) {
    INFO(strategy);
    const std::string base = std::string("backtest -q --strategy strategies/") + strategy + ".lua --data " + data +
                             " --commission 0.0005 --param " +
                             (std::string(strategy) == "sma_cross" ? "stake=100" : "fraction=0.5") + " --out ";
    const CliRun a = run_cli(dir, base + dir.file(std::string("a_") + strategy));
    const CliRun b = run_cli(dir, base + dir.file(std::string("b_") + strategy));
    INFO(a.err);
    REQUIRE(a.code == 0);
    REQUIRE(b.code == 0);
    for (const char* f : {"trades.csv", "equity.csv"})
      CHECK(read_file(dir.file(std::string("a_") + strategy + "/" + f)) ==
            read_file(dir.file(std::string("b_") + strategy + "/" + f)));
    const std::string ra = read_file(dir.file(std::string("a_") + strategy + "/report.json"));
    CHECK(without_timing(ra) == without_timing(read_file(dir.file(std::string("b_") + strategy + "/report.json"))));
    CHECK(json_number(ra, "trades") > 0);
  }
}

// A rerun into the same --out directory deletes the earlier outputs on a second
// thread once the strategy runs (engine/app/old_outputs.hpp): the new files
// replace them, nothing hidden is left behind, a run whose strategy never
// starts leaves them as they were, and --no-html leaves an old report.html.
TEST_CASE("a rerun into the same directory replaces the outputs and leaves nothing else", "[backtest][cli]") {
  TempDir dir;
  const std::string data = dir.file("gen.csv");
  REQUIRE(run_cli(dir, "generate-data --bars 70000 --seed 5 --interval 1m --out " + data).code == 0);
  const std::string out = dir.file("o");
  const std::string base = "backtest -q --strategy strategies/sma_cross.lua --data " + data + " --out " + out;
  const std::vector<std::string> files = {"equity.csv", "report.html", "report.json", "trades.csv"};
  auto listing = [&] {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(out)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  };
  REQUIRE(run_cli(dir, base + " --param stake=100").code == 0);  // 70,000 bars: past the first progress call
  const std::string first_trades = read_file(out + "/trades.csv");
  // Held open across the rerun: the old files themselves, whatever their names become.
  const int old_json = ::open((out + "/report.json").c_str(), O_RDONLY | O_CLOEXEC);
  const int old_html = ::open((out + "/report.html").c_str(), O_RDONLY | O_CLOEXEC);
  const int old_equity = ::open((out + "/equity.csv").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(old_json >= 0);
  REQUIRE(old_html >= 0);
  REQUIRE(old_equity >= 0);
  REQUIRE(run_cli(dir, base + " --param stake=50").code == 0);
  CHECK(listing() == files);
  CHECK(read_file(out + "/trades.csv") != first_trades);
  CHECK(read_file(out + "/trades.csv").find(",50,") != std::string::npos);
  // The reports written after the run were written over the old ones' storage
  // (engine/backtest/output_file.hpp): the old files now hold the new text.
  const auto contents = [](int fd) {
    std::string text(std::size_t{1} << 20, '\0');
    const ssize_t n = ::pread(fd, text.data(), text.size(), 0);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    ::close(fd);
    return text;
  };
  const std::string new_json = read_file(out + "/report.json");
  CHECK(new_json.find("\"stake\": 50") != std::string::npos);
  CHECK(contents(old_json) == new_json.substr(0, std::size_t{1} << 20));
  CHECK(contents(old_html) == read_file(out + "/report.html").substr(0, std::size_t{1} << 20));
  // equity.csv too, written during the run once the data had passed its checks
  // (EquityStream::replace_old; this file is parsed whole, so from the first block on).
  CHECK(contents(old_equity) == read_file(out + "/equity.csv").substr(0, std::size_t{1} << 20));

  // A strategy that does not compile: the earlier outputs stay.
  const std::string broken = dir.file("broken.lua");
  write_file(broken, "this is not lua (\n");
  const std::string second_trades = read_file(out + "/trades.csv");
  CHECK(run_cli(dir, "backtest -q --strategy " + broken + " --data " + data + " --out " + out).code != 0);
  CHECK(listing() == files);
  CHECK(read_file(out + "/trades.csv") == second_trades);

  // --no-html writes no report.html, so an old one is not touched.
  write_file(out + "/report.html", "old page");
  REQUIRE(run_cli(dir, base + " --param stake=100 --no-html").code == 0);
  CHECK(listing() == files);
  CHECK(read_file(out + "/report.html") == "old page");
  CHECK(read_file(out + "/trades.csv") == first_trades);
}

// A cache's data is checked on a second thread while the strategy runs over
// the rows that passed (engine/data/cache_check.hpp): the outputs equal a run
// on the parsed CSV, and a cache whose checksum fails is never reported from.
TEST_CASE("a cache checked during the run gives the CSV's results, a corrupt one is refused", "[backtest][cli]") {
  TempDir dir;
  const std::string data = dir.file("gen.csv");
  REQUIRE(run_cli(dir, "generate-data --bars 70000 --seed 8 --interval 1m --out " + data).code == 0);
  REQUIRE(run_cli(dir, "convert-data --data " + data).code == 0);
  const std::string cache = data + ".tebars";
  REQUIRE(std::filesystem::exists(cache));
  const std::string base = "backtest -q --strategy strategies/sma_cross.lua --param stake=100 --data ";
  const CliRun parsed = run_cli(dir, base + data + " --no-cache --out " + dir.file("parsed"));
  REQUIRE(parsed.code == 0);
  const CliRun cached = run_cli(dir, base + data + " --out " + dir.file("cached"));
  INFO(cached.err);
  REQUIRE(cached.code == 0);
  CHECK(cached.err.empty());
  auto same_outputs = [&](const std::string& a, const std::string& b) {
    for (const char* f : {"/trades.csv", "/equity.csv"}) {
      INFO(f);
      CHECK(read_file(a + f) == read_file(b + f));
    }
    CHECK(without_timing(read_file(a + "/report.json")) == without_timing(read_file(b + "/report.json")));
  };
  same_outputs(dir.file("parsed"), dir.file("cached"));

  // A flipped bit in the volume of row 60,000: every bar is still plausible,
  // only the data checksum tells. The run is done again from the CSV.
  std::string bytes = read_file(cache);
  std::uint64_t volume_at = 0;
  std::memcpy(&volume_at, bytes.data() + 72 + 5 * 8, 8);
  bytes[volume_at + 60000 * 8] ^= 1;
  write_file(cache, bytes);
  const CliRun fallback = run_cli(dir, base + data + " --out " + dir.file("fallback"));
  INFO(fallback.err);
  REQUIRE(fallback.code == 0);
  CHECK(fallback.err.find("ignoring cache " + cache + ": ") != std::string::npos);
  CHECK(fallback.err.find("data checksum mismatch") != std::string::npos);
  same_outputs(dir.file("parsed"), dir.file("fallback"));

  // The same file given directly is an error, and nothing is written.
  const std::string direct = dir.file("direct.tebars");
  std::filesystem::copy_file(cache, direct);
  const CliRun refused = run_cli(dir, base + direct + " --out " + dir.file("direct"));
  CHECK(refused.code == 1);
  CHECK(refused.err.find("cache " + direct + ": data checksum mismatch (the file is corrupt)") != std::string::npos);
  CHECK(std::filesystem::is_empty(dir.file("direct")));
  // Given directly into a directory with earlier outputs: the rows waited for
  // the check (EquityStream::replace_old), which fails, so the old equity.csv
  // was never written over.
  REQUIRE(run_cli(dir, base + data + " --no-cache --out " + dir.file("direct")).code == 0);
  const std::string old_equity = read_file(dir.file("direct/equity.csv"));
  const std::string old_trades = read_file(dir.file("direct/trades.csv"));
  CHECK(run_cli(dir, base + direct + " --out " + dir.file("direct")).code == 1);
  CHECK(read_file(dir.file("direct/equity.csv")) == old_equity);
  CHECK(read_file(dir.file("direct/trades.csv")) == old_trades);
  CHECK_FALSE(std::filesystem::exists(dir.file("direct/equity.csv.partial")));
}

// A large CSV parsed without a cache is streamed into the run (the strategy
// starts after the first chunk, engine/data/csv_stream.hpp): the outputs equal
// those of a run that loaded the bars first, and a bad line near the end of the
// file is refused with the same message as before, leaving earlier outputs and
// no partial file.
TEST_CASE("a streamed CSV gives the loaded bars' results, a bad line near its end is refused as before",
          "[backtest][cli]") {
  TempDir dir;
  const std::string data = dir.file("gen.csv");
  REQUIRE(run_cli(dir, "generate-data --bars 120000 --seed 9 --interval 1m --out " + data).code == 0);
  REQUIRE(std::filesystem::file_size(data) > (std::size_t{4} << 20));  // above the streaming threshold
  const std::string base = "backtest -q --strategy strategies/sma_cross.lua --param stake=100 --data ";
  const std::string out = dir.file("streamed");
  const CliRun streamed = run_cli(dir, base + data + " --no-cache --timings --out " + out);
  INFO(streamed.err);
  REQUIRE(streamed.code == 0);
  CHECK(streamed.err.find("load (CSV: first chunk)") != std::string::npos);
  REQUIRE(run_cli(dir, "convert-data --data " + data).code == 0);
  const CliRun cached = run_cli(dir, base + data + " --out " + dir.file("cached"));
  REQUIRE(cached.code == 0);
  for (const char* f : {"/trades.csv", "/equity.csv"}) {
    INFO(f);
    CHECK(read_file(out + f) == read_file(dir.file("cached") + f));
  }
  CHECK(without_timing(read_file(out + "/report.json")) == without_timing(read_file(dir.file("cached") + "/report.json")));

  // Line 110,000 of 120,001: its close is not a number.
  std::string text = read_file(data);
  std::size_t at = 0;
  for (int line = 1; line < 110000; ++line) at = text.find('\n', at) + 1;
  std::size_t field = at;
  for (int i = 0; i < 4; ++i) field = text.find(',', field) + 1;
  text.replace(field, text.find(',', field) - field, "abc");
  const std::string bad = dir.file("bad.csv");
  write_file(bad, text);
  const std::string before = read_file(out + "/trades.csv");
  const std::string equity_before = read_file(out + "/equity.csv");
  const CliRun refused = run_cli(dir, base + bad + " --no-cache --out " + out);
  CHECK(refused.code == 1);
  CHECK(refused.err == "error: " + bad + ":110000:" + std::to_string(field - at + 1) +
                           ": close: expected a number, was 'abc'\n");
  // As when the whole file is parsed before anything runs (a time filter is never streamed).
  const CliRun filtered = run_cli(dir, base + bad + " --no-cache --start 2000-01-01 --out " + out);
  CHECK(filtered.code == 1);
  CHECK(filtered.err == refused.err);
  CHECK(read_file(out + "/trades.csv") == before);
  // Its rows waited for the data to pass (EquityStream::replace_old): the old
  // equity.csv was never written over.
  CHECK(read_file(out + "/equity.csv") == equity_before);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(out)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"equity.csv", "report.html", "report.json", "trades.csv"});
}

TEST_CASE("report.json carries every contract key", "[backtest][cli]") {
  TempDir dir;
  const CliRun r = run_cli(dir, std::string("backtest") + kParityArgs + " --data " + kNvda + " --out " + dir.file("o"));
  REQUIRE(r.code == 0);
  const std::string report = read_file(dir.file("o/report.json"));
  for (const char* key : {"bars", "trades", "fills", "initial_cash", "final_equity", "total_return",
                          "annualized_return", "sharpe", "sortino", "max_drawdown", "max_drawdown_duration", "win_rate",
                          "profit_factor", "avg_win", "avg_loss", "commission_paid", "elapsed_s", "bars_per_second",
                          "engine_version", "strategy_sha256", "data_sha256", "config_sha256", "seed"}) {
    INFO(key);
    CHECK(report.find(std::string("\"") + key + "\": ") != std::string::npos);
  }
  CHECK(report.find("\"data_sha256\": \"d16ee01711b8a39085a2c3a5d9840bb0ef43091a9e2909e5c819c3020a3ac28f\"") !=
        std::string::npos);
  CHECK(read_file(dir.file("o/equity.csv")).rfind("time,cash,position_value,equity,drawdown\n1999-01-22,", 0) == 0);
  CHECK_THAT(r.out, Catch::Contains("Final equity") && Catch::Contains("M bars/s"));

  // --no-cache: the parsed bytes are hashed while the strategy runs, not by the
  // loader; the same digest.
  const CliRun nc = run_cli(dir, std::string("backtest") + kParityArgs + " --no-cache --timings --data " + kNvda +
                                     " --out " + dir.file("nc"));
  REQUIRE(nc.code == 0);
  CHECK_THAT(nc.err, Catch::Contains("data_sha256 hashed during the run"));
  CHECK(read_file(dir.file("nc/report.json"))
            .find("\"data_sha256\": \"d16ee01711b8a39085a2c3a5d9840bb0ef43091a9e2909e5c819c3020a3ac28f\"") !=
        std::string::npos);
}

TEST_CASE("bad inputs give a one-line error naming the place and a non-zero exit", "[backtest][cli]") {
  TempDir dir;
  const std::string good = dir.file("good.csv");
  write_file(good, "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,10,11,9,10.5,10.5,100\n"
                   "2020-01-03,10.5,12,10,11,11,100\n");
  auto expect_error = [&](const std::string& args, const std::string& first_line_has) {
    const CliRun r = run_cli(dir, "backtest --out " + dir.file("o") + " " + args);
    INFO(args << "\n" << r.err);
    CHECK(r.code == 1);
    const std::string first = r.err.substr(0, r.err.find('\n'));
    CHECK_THAT(first, Catch::StartsWith("error: ") && Catch::Contains(first_line_has));
  };
  const std::string header = "Date,Open,High,Low,Close,Adj Close,Volume\n";
  const struct {
    const char* name;
    std::string content;
    std::string where;
  } bad_data[] = {
      {"columns.csv", header + "2020-01-02,10,11,9,10.5,10.5\n", "columns.csv:2:"},
      {"nonnum.csv", header + "2020-01-02,10,11,abc,10.5,10.5,100\n", "nonnum.csv:2:"},
      {"highlow.csv", header + "2020-01-02,10,9,11,10,10,100\n", "highlow.csv:2:"},
      {"outside.csv", header + "2020-01-02,10,11,9,12,12,100\n", "outside.csv:2:"},
      {"order.csv", header + "2020-01-03,10,11,9,10,10,100\n2020-01-02,10,11,9,10,10,100\n", "order.csv:3:"},
      {"empty.csv", "", "empty.csv"},
      {"header.csv", "when,price\n2020-01-02,10\n", "header.csv:1:"},
      {"negative.csv", header + "2020-01-02,-10,-9,-11,-10,-10,100\n", "negative.csv:2:"},
  };
  for (const auto& b : bad_data) {
    write_file(dir.file(b.name), b.content);
    expect_error("--strategy strategies/sma_cross.lua --no-cache --data " + dir.file(b.name), b.where);
  }
  expect_error("--strategy strategies/sma_cross.lua --data " + good + " --param nope=1", "--param nope");
  expect_error("--strategy strategies/sma_cross.lua --data " + good + " --param fast=ten", "--param fast=ten");
  expect_error("--strategy strategies/sma_cross.lua --data " + dir.file("missing.csv"), "missing.csv");
  expect_error("--strategy " + dir.file("none.lua") + " --data " + good, "none.lua");

  // Numbers the CLI would otherwise wrap (-1 into an unsigned) or clamp.
  for (const std::string flags : {"--seed -1", "--seed 99999999999999999999999", "--closewatch-timeout -1"}) {
    const CliRun r = run_cli(dir, "backtest --strategy strategies/sma_cross.lua --data " + good + " " + flags);
    INFO(flags << "\n" << r.err);
    CHECK(r.code == 2);  // a usage error, like every other bad flag
    CHECK_THAT(r.err, Catch::Contains(flags.substr(0, flags.find(' '))) && Catch::Contains("expected a whole number"));
  }
  // A symbol names the default output folder and is printed: no slashes, no
  // emptiness (audit: --symbol ../../x wrote two levels up, --symbol "" ran).
  for (const std::string flags : {"--symbol ../../x", "--symbol ''", "--symbol 'A B'"}) {
    const CliRun r = run_cli(dir, "backtest --strategy strategies/sma_cross.lua --data " + good + " " + flags);
    INFO(flags << "\n" << r.err);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("--symbol: "));
  }
  write_file(dir.file("params5.lua"), "params = {}\nparams = 5\nfunction detect_opportunity() end\n"
                                      "function filter_commitment() end\nfunction manage_position() end\n");
  expect_error("--strategy " + dir.file("params5.lua") + " --data " + good,
               "params5.lua: params must be a table of defaults, was 5");

  write_file(dir.file("syntax.lua"), "params = {}\nfunction detect_opportunity(bar\n");
  expect_error("--strategy " + dir.file("syntax.lua") + " --data " + good, "syntax.lua:3:");
  write_file(dir.file("runtime.lua"),
             "params = {}\nfunction detect_opportunity(bar)\n  return bar.close + nil\nend\n"
             "function filter_commitment() end\nfunction manage_position() end\n");
  const CliRun rt = run_cli(dir, "backtest --strategy " + dir.file("runtime.lua") + " --data " + good + " --out " +
                                     dir.file("rt"));
  CHECK(rt.code == 1);
  CHECK_THAT(rt.err, Catch::Contains("error: " + dir.file("runtime.lua") + ":3: attempt to perform arithmetic"));
  CHECK_THAT(rt.err, Catch::Contains("in detect_opportunity") && Catch::Contains("stack traceback:"));
  CHECK_THAT(read_file(dir.file("rt/report.json")), Catch::Contains("\"status\": \"faulted\""));
}

TEST_CASE("every command in --help answers by its name, declared alone", "[backtest][cli]") {
  // run_cli declares only the command named first (CLI11's declarations of all
  // twenty cost ~1 ms a run): each name must reach its own command.
  TempDir dir;
  const CliRun help = run_cli(dir, "--help");
  REQUIRE(help.code == 0);
  const std::size_t list = help.out.find("Subcommands:\n");
  REQUIRE(list != std::string::npos);
  std::vector<std::string> names;
  std::istringstream lines(help.out.substr(list + 13));
  for (std::string line; std::getline(lines, line);) {
    if (line.size() < 3 || line[0] != ' ' || line[2] == ' ') continue;  // a description's second line
    names.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  REQUIRE(names.size() >= 19);
  for (const std::string& name : names) {
    INFO(name);
    const CliRun r = run_cli(dir, name + " --help");
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("Usage: trading-engine " + name + " "));
  }
  CHECK(run_cli(dir, "backtest --bogus-option 1").code != 0);
}

TEST_CASE("a mistyped command is named, with the list of commands", "[backtest][cli]") {
  TempDir dir;
  const CliRun r = run_cli(dir, "bogus --x 1");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::StartsWith("error: unknown command 'bogus'") && Catch::Contains("backtest, "));
  const CliRun g = run_cli(dir, "generate-data --bars 0 --out " + dir.file("g.csv"));
  CHECK(g.code != 0);
  CHECK_THAT(g.err, Catch::Contains("--bars") && Catch::Contains("expected a whole number from 1 to 2000000000, was 0"));
}
