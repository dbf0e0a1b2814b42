// `optimize`, `optimize-merge`, `monte-carlo` and `compare-backtests` through the
// built binary: determinism across thread counts, resume after an interruption,
// shards merged equal to the unsharded run, walk-forward on real data.
#include <catch2/catch.hpp>

#include <cstdlib>
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

std::size_t lines(const std::string& text) {
  std::size_t n = 0;
  for (const char c : text) n += c == '\n';
  return n;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

double json_number(const std::string& json, const std::string& key) {
  const auto at = json.find("\"" + key + "\": ");
  REQUIRE(at != std::string::npos);
  const auto start = at + key.size() + 4;
  double v = 0;
  REQUIRE(te::parse_double(json.substr(start, json.find_first_of(",\n", start) - start), v));
  return v;
}

// A small search over generated data, shared by several tests.
struct Search {
  TempDir dir;
  std::string data = dir.file("gen.csv");
  std::string args;
  Search() {
    REQUIRE(run_cli(dir, "generate-data --bars 4000 --seed 11 --interval 1h --out " + data).code == 0);
    args = "optimize -q --strategy strategies/sma_cross.lua --data " + data +
           " --grid fast=4:16:4 --grid slow=20,30,45 --param stake=10 --commission 0.0005 --monte-carlo 50 --out ";
  }
  CliRun run(const std::string& out, const std::string& extra = "") { return run_cli(dir, args + dir.file(out) + " " + extra); }
};

}  // namespace

TEST_CASE("grid search: one row per combination, identical with 1 and 2 threads", "[backtest][optimize][cli]") {
  Search s;
  const CliRun a = s.run("t1", "--threads 1");
  INFO(a.err);
  REQUIRE(a.code == 0);
  const CliRun b = s.run("t2", "--threads 2");
  REQUIRE(b.code == 0);
  const std::string ra = read_file(s.dir.file("t1/results.csv"));
  CHECK(lines(ra) == 1 + 12);
  const auto rows = split_lines(ra);
  CHECK(rows[0].rfind("combo,fast,slow,status,objective,valid,trades,", 0) == 0);
  CHECK(rows[1].rfind("0,4,20,ok,", 0) == 0);
  CHECK(rows[12].rfind("11,16,45,ok,", 0) == 0);
  for (const char* f : {"results.csv", "results.json", "optimization.json", "report.html", "best/trades.csv",
                        "best/monte_carlo.json"}) {
    INFO(f);
    CHECK(read_file(s.dir.file(std::string("t1/") + f)) == read_file(s.dir.file(std::string("t2/") + f)));
  }
  const std::string opt = read_file(s.dir.file("t1/optimization.json"));
  CHECK_THAT(opt, Catch::Contains("\"deflated_sharpe\"") && Catch::Contains("\"pbo\"") && Catch::Contains("\"best\""));
  CHECK(json_number(opt, "combinations") == 12);

  // A row's metrics (no equity curve kept) equal a plain backtest of the same parameters.
  const CliRun bt = run_cli(s.dir, "backtest -q --strategy strategies/sma_cross.lua --data " + s.data +
                                       " --param stake=10 --commission 0.0005 --param fast=8 --param slow=30 --out " +
                                       s.dir.file("bt"));
  REQUIRE(bt.code == 0);
  const std::string report = read_file(s.dir.file("bt/report.json"));
  std::string row;
  for (const auto& r : rows)
    if (r.rfind("4,8,30,", 0) == 0) row = r;
  REQUIRE(!row.empty());
  std::vector<std::string> cells;
  std::istringstream in(row);
  for (std::string c; std::getline(in, c, ',');) cells.push_back(c);
  double sharpe = 0, ret = 0;
  REQUIRE(te::parse_double(cells[10], sharpe));  // combo,fast,slow,status,objective,valid,trades,open,total_return,annualized,sharpe
  REQUIRE(te::parse_double(cells[8], ret));
  CHECK(sharpe == json_number(report, "sharpe"));
  CHECK(ret == json_number(report, "total_return"));
  CHECK(cells[4] == cells[10]);  // objective = sharpe
}

TEST_CASE("an interrupted search resumes to the same final files", "[backtest][optimize][cli]") {
  Search s;
  REQUIRE(s.run("full", "--threads 2").code == 0);
  // Stopped by --limit, then a torn last line as a crash mid-write leaves it.
  const CliRun part = s.run("resumed", "--threads 2 --limit 5");
  INFO(part.err);
  REQUIRE(part.code == 0);
  CHECK_THAT(part.err, Catch::Contains("after 5 of 12 combinations"));
  CHECK(lines(read_file(s.dir.file("resumed/results.csv"))) == 6);
  {
    std::string text = read_file(s.dir.file("resumed/results.csv"));
    text += "5,8,20,ok,0.1";  // no newline: torn
    write_file(s.dir.file("resumed/results.csv"), text);
  }
  const CliRun rest = s.run("resumed", "--threads 1");
  INFO(rest.err);
  REQUIRE(rest.code == 0);
  for (const char* f : {"results.csv", "results.json", "optimization.json", "report.html"}) {
    INFO(f);
    CHECK(read_file(s.dir.file(std::string("full/") + f)) == read_file(s.dir.file(std::string("resumed/") + f)));
  }
  // Another search in the same directory is refused.
  const CliRun other = run_cli(s.dir, "optimize -q --strategy strategies/sma_cross.lua --data " + s.data +
                                          " --grid fast=5,6 --out " + s.dir.file("full"));
  CHECK(other.code == 1);
  CHECK_THAT(other.err, Catch::Contains("holds another search"));
}

TEST_CASE("Ctrl-C stops a search cleanly and the same command resumes it", "[backtest][optimize][cli]") {
  TempDir dir;
  const std::string data = dir.file("gen.csv");
  REQUIRE(run_cli(dir, "generate-data --bars 2000 --seed 5 --interval 1h --out " + data).code == 0);
  const std::string args = "optimize -q --strategy strategies/sma_cross.lua --data " + data +
                           " --grid fast=2:101:1 --grid slow=20,30,45 --param stake=10 --monte-carlo 0 --threads 2 --out ";
  // Interrupt once a few rows are on disk (300 combinations take a while longer).
  const std::string results = dir.file("int/results.csv");
  const std::string cmd = "cd " TE_SOURCE_DIR " && (" TE_BINARY " " + args + dir.file("int") +
                          " 2>/dev/null & p=$!; for i in $(seq 1 600); do n=$(cat " + results +
                          " 2>/dev/null | wc -l); [ \"$n\" -ge 4 ] && break; sleep 0.05; done; kill -INT $p;"
                          " wait $p; echo rc=$? >" + dir.file("rc.txt") + ")";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const std::string rc = read_file(dir.file("rc.txt"));
  const std::size_t rows = lines(read_file(results));
  INFO(rc << rows);
  CHECK((rc == "rc=130\n" || (rc == "rc=0\n" && rows == 301)));  // 0 only if it finished first
  CHECK(rows >= 4);
  const CliRun resumed = run_cli(dir, args + dir.file("int"));
  INFO(resumed.err);
  REQUIRE(resumed.code == 0);
  REQUIRE(run_cli(dir, args + dir.file("whole")).code == 0);
  CHECK(read_file(results) == read_file(dir.file("whole/results.csv")));
  CHECK(read_file(dir.file("int/optimization.json")) == read_file(dir.file("whole/optimization.json")));
}

TEST_CASE("shards merged equal the unsharded search", "[backtest][optimize][cli]") {
  Search s;
  REQUIRE(s.run("whole", "--threads 2").code == 0);
  for (int i = 0; i < 3; ++i) {
    const CliRun r = s.run("shard" + std::to_string(i), "--threads 1 --shard " + std::to_string(i) + "/3");
    INFO(r.err);
    REQUIRE(r.code == 0);
  }
  CHECK(lines(read_file(s.dir.file("shard0/results.csv"))) == 1 + 4);
  CHECK(!std::filesystem::exists(s.dir.file("shard0/report.html")));
  const std::string shards = s.dir.file("shard2") + " " + s.dir.file("shard0") + " " + s.dir.file("shard1");
  const CliRun m = run_cli(s.dir, "optimize-merge -q --monte-carlo 50 --out " + s.dir.file("merged") + " " + shards);
  INFO(m.err);
  REQUIRE(m.code == 0);
  for (const char* f : {"results.csv", "results.json", "optimization.json", "report.html", "manifest.json",
                        "best/report.json", "best/monte_carlo.json"}) {
    INFO(f);
    const std::string whole = read_file(s.dir.file(std::string("whole/") + f));
    const std::string merged = read_file(s.dir.file(std::string("merged/") + f));
    if (std::string(f) == "best/report.json") {  // timing fields differ
      CHECK(whole.substr(0, whole.find("\"elapsed_s\"")) == merged.substr(0, merged.find("\"elapsed_s\"")));
    } else {
      CHECK(whole == merged);
    }
  }
  // A missing or incomplete shard is refused.
  const CliRun missing = run_cli(s.dir, "optimize-merge -q --out " + s.dir.file("m2") + " " + s.dir.file("shard0") + " " +
                                            s.dir.file("shard1"));
  CHECK(missing.code == 1);
  CHECK_THAT(missing.err, Catch::Contains("shard 2/3 is missing"));
  REQUIRE(s.run("part2", "--threads 1 --shard 2/3 --limit 1").code == 0);
  const CliRun partial = run_cli(s.dir, "optimize-merge -q --out " + s.dir.file("m3") + " " + s.dir.file("shard0") + " " +
                                            s.dir.file("shard1") + " " + s.dir.file("part2"));
  CHECK(partial.code == 1);
  CHECK_THAT(partial.err, Catch::Contains("incomplete"));
}

TEST_CASE("random search with constraints, bad spaces are refused clearly", "[backtest][optimize][cli]") {
  Search s;
  const std::string base = "optimize -q --strategy strategies/sma_cross.lua --data " + s.data +
                           " --grid fast=2:40:2 --grid slow=10:60:5 --method random --samples 15 --seed 4"
                           " --constraint 'fast < slow' --param stake=10 --monte-carlo 0 --out ";
  REQUIRE(run_cli(s.dir, base + s.dir.file("r1") + " --threads 1").code == 0);
  REQUIRE(run_cli(s.dir, base + s.dir.file("r2") + " --threads 2").code == 0);
  const std::string r1 = read_file(s.dir.file("r1/results.csv"));
  CHECK(r1 == read_file(s.dir.file("r2/results.csv")));
  CHECK(lines(r1) == 16);
  for (const auto& row : split_lines(r1)) {
    if (row.rfind("combo", 0) == 0) continue;
    std::vector<std::string> c;
    std::istringstream in(row);
    for (std::string x; std::getline(in, x, ',');) c.push_back(x);
    const bool ok = std::stoi(c[1]) < std::stoi(c[2]);
    CHECK(c[3] == (ok ? "ok" : "skipped"));
  }
  auto expect_error = [&](const std::string& extra, const std::string& text) {
    const CliRun r = run_cli(s.dir, "optimize -q --strategy strategies/sma_cross.lua --data " + s.data + " --out " +
                                        s.dir.file("bad") + " " + extra);
    INFO(extra << "\n" << r.err);
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Catch::Contains(text));
  };
  expect_error("--grid fast=5:1:1", "parameter space fast=5:1:1");
  expect_error("--grid fast=5:10:1 --objective alpha", "unknown objective alpha");
  expect_error("--grid fast=ten,11", "combination 0 (fast=ten)");
  expect_error("--grid fast=1:5", "continuous range");
  expect_error("--grid fast=5,6 --constraint 'fast < nope'", "constraint fast < nope");
  expect_error("--grid fast=5,6 --shard 3/3", "--shard 3/3");
  expect_error("--grid fast=5,6 --param fast=3", "--param fast is also searched");
  // Refused at its first combination: the claim on the directory is undone, so
  // the corrected command runs without --fresh.
  expect_error("--grid nope=1:3:1", "nope");
  CHECK_FALSE(std::filesystem::exists(s.dir.file("bad/manifest.json")));
  const CliRun fixed = run_cli(s.dir, "optimize -q --strategy strategies/sma_cross.lua --data " + s.data +
                                          " --grid fast=5,6 --monte-carlo 0 --out " + s.dir.file("bad"));
  INFO(fixed.err);
  CHECK(fixed.code == 0);
  CHECK(lines(read_file(s.dir.file("bad/results.csv"))) == 3);
}

TEST_CASE("space file plus command line", "[backtest][optimize][cli]") {
  Search s;
  write_file(s.dir.file("space.toml"),
             "[params]\nfast = { min = 4, max = 12, step = 4 }\nslow = [20, 30]\nstake = 10\n"
             "[search]\nobjective = \"total_return\"\nmin_trades = 3\n");
  const CliRun r = run_cli(s.dir, "optimize -q --strategy strategies/sma_cross.lua --data " + s.data + " --space " +
                                      s.dir.file("space.toml") + " --grid slow=25,35,45 --monte-carlo 0 --out " +
                                      s.dir.file("sp"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  const std::string res = read_file(s.dir.file("sp/results.csv"));
  CHECK(res.rfind("combo,fast,stake,slow,", 0) == 0);  // file axes first, the command line's after
  CHECK(lines(res) == 1 + 3 * 3);
  CHECK_THAT(read_file(s.dir.file("sp/optimization.json")), Catch::Contains("\"objective\": \"total_return\""));
}

TEST_CASE("walk-forward on real data writes an out-of-sample report per window", "[backtest][optimize][cli][golden]") {
  TempDir dir;
  const std::string base = "optimize -q --strategy strategies/sma_cross.lua --data " + kNvda +
                           " --grid fast=5,10,20 --grid slow=30,50 --param stake=100 --commission 0.001"
                           " --method walk-forward --monte-carlo 40 --threads 2 ";
  const CliRun r = run_cli(dir, base + "--train 3y --test 1y --out " + dir.file("wf"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  const std::string csv = read_file(dir.file("wf/walk_forward.csv"));
  const auto rows = split_lines(csv);
  REQUIRE(rows.size() >= 10);  // 1999-2014: 3 years to train, then a window a year
  CHECK(rows[0].rfind("window,train_start,train_end,test_start,test_end,train_bars,test_bars,fast,slow,", 0) == 0);
  CHECK(rows[1].rfind("1,1999-01-22,", 0) == 0);
  for (std::size_t w = 1; w < rows.size(); ++w) {
    const std::string win = dir.file("wf/windows/" + std::string(w < 10 ? "0" : "") + std::to_string(w));
    INFO(win);
    for (const char* f : {"report.json", "trades.csv", "equity.csv", "report.html", "train_results.csv"})
      CHECK(std::filesystem::exists(win + "/" + f));
    CHECK(lines(read_file(win + "/train_results.csv")) == 1 + 6);
  }
  // Test windows follow each other: the stitched OOS run covers them all.
  const std::string oos = read_file(dir.file("wf/oos/report.json"));
  CHECK(json_number(oos, "bars") > 2000);
  CHECK(std::filesystem::exists(dir.file("wf/oos/report.html")));
  CHECK(std::filesystem::exists(dir.file("wf/oos/monte_carlo.json")));
  const std::string wfj = read_file(dir.file("wf/walk_forward.json"));
  CHECK_THAT(wfj, Catch::Contains("\"efficiency\"") && Catch::Contains("\"windows\""));
  CHECK_THAT(read_file(dir.file("wf/report.html")), Catch::Contains("\"kind\":\"walk_forward\""));
  // Anchored windows in bars.
  const CliRun a = run_cli(dir, base + "--train 1000 --test 500 --anchored --out " + dir.file("wfa"));
  INFO(a.err);
  REQUIRE(a.code == 0);
  const auto arows = split_lines(read_file(dir.file("wfa/walk_forward.csv")));
  REQUIRE(arows.size() == 1 + 7);  // (4012 - 1000) / 500 rounded up
  CHECK(arows[1].find(",1000,500,") != std::string::npos);
  CHECK(arows[2].find(",1500,500,") != std::string::npos);
  CHECK(arows[7].find(",4000,12,") != std::string::npos);
}

TEST_CASE("Monte Carlo on a backtest is reproducible with a seed", "[backtest][montecarlo][cli]") {
  TempDir dir;
  REQUIRE(run_cli(dir, "backtest -q --no-html --strategy strategies/sma_cross.lua --data " + kNvda +
                           " --param stake=100 --commission 0.001 --out " + dir.file("bt"))
              .code == 0);
  std::filesystem::create_directories(dir.file("a"));
  std::filesystem::create_directories(dir.file("b"));
  const CliRun a = run_cli(dir, "monte-carlo " + dir.file("bt") + " --runs 300 --seed 5 --threads 1 --out " + dir.file("a"));
  INFO(a.err);
  REQUIRE(a.code == 0);
  CHECK_THAT(a.out, Catch::Contains("Trade order shuffled") && Catch::Contains("Bar returns resampled"));
  REQUIRE(run_cli(dir, "monte-carlo -q " + dir.file("bt") + " --runs 300 --seed 5 --threads 2 --out " + dir.file("b")).code == 0);
  // --out creates the directory it is given.
  REQUIRE(run_cli(dir, "monte-carlo -q " + dir.file("bt") + " --runs 300 --seed 6 --out " + dir.file("c")).code == 0);
  const std::string ja = read_file(dir.file("a/monte_carlo.json"));
  CHECK(ja == read_file(dir.file("b/monte_carlo.json")));
  CHECK(ja != read_file(dir.file("c/monte_carlo.json")));
  CHECK_THAT(ja, Catch::Contains("\"trade-shuffle\"") && Catch::Contains("\"percentile\": 95"));
  CHECK(std::filesystem::exists(dir.file("a/monte_carlo.html")));
}

TEST_CASE("compare-backtests prints metrics side by side and writes the overlay", "[backtest][cli]") {
  TempDir dir;
  for (const char* s : {"sma_cross", "ema_cross"}) {
    const CliRun r = run_cli(dir, std::string("backtest -q --no-html --strategy strategies/") + s + ".lua --data " + kNvda +
                                      " --commission 0.001 --out " + dir.file(s));
    INFO(r.err);
    REQUIRE(r.code == 0);
  }
  const CliRun c = run_cli(dir, "compare-backtests " + dir.file("sma_cross") + " " + dir.file("ema_cross") + " --out " +
                                    dir.file("cmp/compare.html"));
  INFO(c.err);
  REQUIRE(c.code == 0);
  CHECK_THAT(c.out, Catch::Contains("sma_cross") && Catch::Contains("ema_cross") && Catch::Contains("Sharpe") &&
                        Catch::Contains("Max drawdown"));
  const std::string html = read_file(dir.file("cmp/compare.html"));
  CHECK_THAT(html, Catch::Contains("\"kind\":\"compare\""));
  const CliRun bad = run_cli(dir, "compare-backtests " + dir.file("nope"));
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Catch::Contains("nope/report.json"));
}

TEST_CASE("optimize runs under the backtest's execution settings: every row re-runs as a backtest bit for bit",
          "[backtest][optimize][cli]") {
  TempDir dir;
  // Execution and risk from a config file, then flags on top of it: the same
  // text is given to both commands.
  const std::string config = dir.file("exec.toml");
  write_file(config, R"([execution]
fill = "ohlc"
commission_model = "per_share"
commission = 0.005
commission_minimum = 1

[risk]
[risk.stormguard]
enabled = true
warm = 0.03
storm = 0.06
halt = 0.12
cooldown_bars = 10
)");
  const std::string exec = " --config " + config +
                           " --slippage percent:0.0005 --tick-size 0.01 --min-qty 1 --leverage 2 --short-margin 0.5"
                           " --cash 50000 --lot-size 1";
  CliRun r = run_cli(dir, "optimize -q --strategy strategies/bracket_trend.lua --data " + kNvda +
                              " --grid fast=10,20 --grid slow=50,80 --monte-carlo 0 --strategy-seed 42" + exec +
                              " --out " + dir.file("opt"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto rows = split_lines(read_file(dir.file("opt/results.csv")));
  REQUIRE(rows.size() == 5);
  const auto header = [&] {
    std::vector<std::string> h;
    std::stringstream ss(rows[0]);
    for (std::string c; std::getline(ss, c, ',');) h.push_back(c);
    return h;
  }();
  auto column = [&](const std::string& name) {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    FAIL("no column " << name);
    return std::size_t{0};
  };
  // results.csv column -> report.json key
  const std::vector<std::pair<std::string, std::string>> metrics = {
      {"trades", "trades"}, {"open_trades", "open_trades"}, {"total_return", "total_return"},
      {"annualized_return", "annualized_return"}, {"sharpe", "sharpe"}, {"sortino", "sortino"}, {"calmar", "calmar"},
      {"max_drawdown", "max_drawdown"}, {"profit_factor", "profit_factor"}, {"win_rate", "win_rate"},
      {"expectancy", "expectancy"}, {"exposure", "exposure"}, {"final_equity", "final_equity"},
      {"sharpe_per_bar", "sharpe_per_bar"}, {"probabilistic_sharpe", "probabilistic_sharpe"}, {"bars", "bars"}};
  double any_trades = 0;
  for (std::size_t k = 1; k < rows.size(); ++k) {
    std::vector<std::string> cells;
    std::stringstream ss(rows[k]);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    const std::string params = " --param fast=" + cells[column("fast")] + " --param slow=" + cells[column("slow")];
    INFO("combination " << cells[0] << ":" << params);
    REQUIRE(cells[column("status")] == "ok");
    const std::string out = dir.file("bt" + std::to_string(k));
    r = run_cli(dir, "backtest -q --no-html --strategy strategies/bracket_trend.lua --data " + kNvda + exec + params +
                         " --seed 42 --out " + out);
    INFO(r.err);
    REQUIRE(r.code == 0);
    const std::string report = read_file(out + "/report.json");
    for (const auto& [col, key] : metrics) {
      INFO(col);
      const std::string& text = cells[column(col)];
      if (text.empty()) {  // undefined: null in the report
        CHECK(report.find("\"" + key + "\": null") != std::string::npos);
        continue;
      }
      double v = 0;
      REQUIRE(te::parse_double(text, v));
      CHECK(json_number(report, key) == v);  // bit for bit
    }
    any_trades += json_number(report, "trades");
  }
  CHECK(any_trades > 0);
  // The settings matter: without them the same combination ends elsewhere.
  r = run_cli(dir, "backtest -q --no-html --strategy strategies/bracket_trend.lua --data " + kNvda +
                       " --param fast=10 --param slow=50 --out " + dir.file("plain"));
  REQUIRE(r.code == 0);
  CHECK(json_number(read_file(dir.file("plain/report.json")), "final_equity") !=
        json_number(read_file(dir.file("bt1/report.json")), "final_equity"));
  // The best combination's own report (best/) is the same backtest.
  const std::string best = read_file(dir.file("opt/best/report.json"));
  CHECK(best.find("\"fill_model\": \"ohlc\"") != std::string::npos);

  // The manifest keeps the flags and the config's hash: a changed config file
  // is another search, not a resume.
  const std::string manifest = read_file(dir.file("opt/manifest.json"));
  CHECK(manifest.find("--slippage=percent:0.0005") != std::string::npos);
  CHECK(manifest.find("\"config_sha256\": \"\"") == std::string::npos);
  write_file(config, read_file(config) + "\n# edited\n");
  r = run_cli(dir, "optimize -q --strategy strategies/bracket_trend.lua --data " + kNvda +
                       " --grid fast=10,20 --grid slow=50,80 --monte-carlo 0" + exec + " --out " + dir.file("opt"));
  CHECK(r.code == 1);
  CHECK(r.err.find("holds another search") != std::string::npos);
}

TEST_CASE("shared indicator series change nothing in the results", "[backtest][optimize][cli]") {
  Search s;
  CliRun a = s.run("shared", "--threads 2");
  INFO(a.err);
  REQUIRE(a.code == 0);
  CliRun b = s.run("own", "--threads 2 --indicator-cache-mb 0");
  INFO(b.err);
  REQUIRE(b.code == 0);
  const std::string shared = read_file(s.dir.file("shared/results.csv"));
  CHECK(lines(shared) == 1 + 4 * 3);
  CHECK(shared == read_file(s.dir.file("own/results.csv")));
}
