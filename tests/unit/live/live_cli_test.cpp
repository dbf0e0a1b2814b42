// `trading-engine run` through the built binary: a historical and a simulated
// run write the same trades.csv/equity.csv as `backtest` on the same bars, a
// mixed live + historical + simulated config runs with --duration and writes
// every runner's report, SIGTERM stops cleanly with the journal complete.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "engine/core/value_json.hpp"
#include "tests/support/temp_files.hpp"
#include "tests/support/test_exchange.hpp"

using te::test::read_file;
using te::test::run_cli;
using te::test::TempDir;
using te::test::write_file;

namespace {

namespace fs = std::filesystem;

const std::string kNvda = TE_SHARED_DIR "/data/nvda-1999-2014.txt";

bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(120)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// The only session directory under `base`.
std::string session_dir(const std::string& base) {
  std::vector<std::string> dirs;
  for (const auto& e : fs::directory_iterator(base))
    if (e.is_directory()) dirs.push_back(e.path().string());
  REQUIRE(dirs.size() == 1);
  return dirs[0];
}

// `run --config cfg` as a child process in the source directory, stdout and
// stderr into `out`; the caller signals and waits for it.
pid_t start_run(const std::string& cfg, const std::string& out) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (chdir(TE_SOURCE_DIR) != 0) _exit(127);
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(TE_BINARY, TE_BINARY, "run", "--config", cfg.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

}  // namespace

TEST_CASE("run: a historical runner writes the same trades and equity as backtest", "[live][cli]") {
  TempDir dir;
  write_file(dir.file("hist.toml"), R"(
[engine]
threads = 2
status_interval_s = 0

[execution]
commission = 0.001

[event_sourcing]
base_dir = ")" + dir.file("sessions") + R"("

[[runners]]
name = "nvda"
symbol = "NVDA"
strategy = "strategies/sma_cross.lua"
params = { fast = 10, slow = 30, stake = 100 }
[runners.data_source]
type = "historical"
path = ")" + kNvda + R"("
)");
  auto run = run_cli(dir, "run --config " + dir.file("hist.toml"));
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  CHECK_THAT(run.out, Catch::Contains("every runner finished"));
  auto bt = run_cli(dir, "backtest --strategy strategies/sma_cross.lua --data " + kNvda +
                             " --symbol NVDA --param fast=10 --param slow=30 --param stake=100 --commission 0.001 "
                             "--no-html --out " + dir.file("bt"));
  INFO(bt.err);
  REQUIRE(bt.code == 0);
  const std::string s = session_dir(dir.file("sessions"));
  const std::string r = s + "/runners/nvda/";
  const std::string trades = read_file(r + "trades.csv");
  CHECK(trades.size() > 1000);
  CHECK(trades == read_file(dir.file("bt/trades.csv")));
  CHECK(read_file(r + "equity.csv") == read_file(dir.file("bt/equity.csv")));
  // The report's orders, rejections, risk events and faults come from the same
  // recorder as backtest's, and the data file is stamped with its hash.
  auto run_report = te::parse_json(read_file(r + "report.json"));
  auto bt_report = te::parse_json(read_file(dir.file("bt/report.json")));
  REQUIRE(run_report.ok());
  REQUIRE(bt_report.ok());
  const te::Value* activity = run_report->find("activity");
  REQUIRE(activity != nullptr);
  REQUIRE(activity->find("orders_total") != nullptr);
  CHECK(activity->find("orders_total")->as_int() > 100);
  CHECK(*activity == *bt_report->find("activity"));
  CHECK(run_report->find("data_sha256") != nullptr);
  CHECK(*run_report->find("data_sha256") == *bt_report->find("data_sha256"));
  CHECK_THAT(read_file(s + "/meta.json"), Catch::Contains("\"completed\""));
}

TEST_CASE("run: a simulated runner equals a backtest of generate-data with the same options", "[live][cli]") {
  TempDir dir;
  write_file(dir.file("sim.toml"), R"(
[engine]
status_interval_s = 0
[event_sourcing]
enabled = false
[[runners]]
name = "sim"
symbol = "SIM"
strategy = "strategies/sma_cross.lua"
params = { fast = 5, slow = 20, stake = 10 }
[runners.data_source]
type = "simulated"
interval = "5m"
seed = 17
volatility = 0.3
start_price = 80
start = "2024-03-01"
bars = 2500
bars_per_second = 0
)");
  auto run = run_cli(dir, "run --config " + dir.file("sim.toml") + " --out " + dir.file("run"));
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  auto gen = run_cli(dir, "generate-data --bars 2500 --seed 17 --interval 5m --volatility 0.3 --price 80 --start "
                          "2024-03-01 --out " + dir.file("sim.csv"));
  REQUIRE(gen.code == 0);
  auto bt = run_cli(dir, "backtest --strategy strategies/sma_cross.lua --data " + dir.file("sim.csv") +
                             " --symbol SIM --param fast=5 --param slow=20 --param stake=10 --no-html --out " +
                             dir.file("bt"));
  REQUIRE(bt.code == 0);
  const std::string trades = read_file(dir.file("run/runners/sim/trades.csv"));
  CHECK(trades.size() > 500);
  CHECK(trades == read_file(dir.file("bt/trades.csv")));
  CHECK(read_file(dir.file("run/runners/sim/equity.csv")) == read_file(dir.file("bt/equity.csv")));
}

TEST_CASE("run: a mixed live-paper + historical 10x + simulated config runs for --duration and reports each runner",
          "[live][cli][net]") {
  te::testing::TestExchangeOptions o;
  o.bars["BTCUSDT"] = te::testing::make_bars(1'700'000'040'000, 60'000, 100000, 8, 100.0);
  o.pace = std::chrono::milliseconds(30);
  te::testing::TestExchange ex(o);
  REQUIRE(ex.start().ok());
  TempDir dir;
  write_file(dir.file("mixed.toml"), R"(
[engine]
threads = 2
status_interval_s = 0.5
[venues.binance]
ws_url = ")" + ex.ws_url() + R"("
rest_url = ")" + ex.rest_url() + R"("
[event_sourcing]
base_dir = ")" + dir.file("sessions") + R"("

[[runners]]
name = "btc-paper"
symbol = "BTCUSDT"
strategy = "strategies/sma_cross.lua"
params = { fast = 3, slow = 8, stake = 1 }
[runners.data_source]
type = "live"
interval = "1m"

[[runners]]
name = "replay-10x"
symbol = "NVDA"
strategy = "strategies/sma_cross.lua"
[runners.data_source]
type = "historical"
path = ")" + kNvda + R"("
simulate_realtime = true
speed = 10.0

[[runners]]
name = "sim"
symbol = "SIM"
strategy = "strategies/sma_cross.lua"
params = { fast = 3, slow = 8, stake = 1 }
[runners.data_source]
type = "simulated"
bars_per_second = 50
)");
  auto run = run_cli(dir, "run --config " + dir.file("mixed.toml") + " --duration 3");
  ex.stop();
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  CHECK_THAT(run.out, Catch::Contains("btc-paper"));
  CHECK_THAT(run.out, Catch::Contains("live/paper"));
  CHECK_THAT(run.out, Catch::Contains("historical/sim"));
  CHECK_THAT(run.out, Catch::Contains("stopped (duration)"));
  const std::string s = session_dir(dir.file("sessions"));
  for (const char* name : {"btc-paper", "replay-10x", "sim"}) {
    INFO(name);
    CHECK(fs::exists(s + "/runners/" + name + "/report.json"));
    CHECK(fs::exists(s + "/runners/" + name + "/trades.csv"));
    CHECK(fs::exists(s + "/runners/" + name + "/equity.csv"));
  }
  // The paper runner saw live bars; the simulated one generated bars.
  const std::string paper_eq = read_file(s + "/runners/btc-paper/equity.csv");
  const std::string sim_eq = read_file(s + "/runners/sim/equity.csv");
  CHECK(std::count(paper_eq.begin(), paper_eq.end(), '\n') > 2);
  CHECK(std::count(sim_eq.begin(), sim_eq.end(), '\n') > 2);
}

TEST_CASE("run: SIGTERM stops feeds, flushes the journal, writes reports and exits 0", "[live][cli]") {
  TempDir dir;
  write_file(dir.file("endless.toml"), R"(
[engine]
status_interval_s = 0
[event_sourcing]
base_dir = ")" + dir.file("sessions") + R"("
[[strategies]]
name = "sim"
script = "strategies/sma_cross.lua"
symbols = ["AAA", "BBB"]
params = { fast = 3, slow = 8, stake = 1 }
[strategies.data_source]
type = "simulated"
bars_per_second = 200
)");
  const std::string out = dir.file("out.txt");
  const pid_t pid = start_run(dir.file("endless.toml"), out);
  REQUIRE(pid >= 0);
  // Wait until both runners have produced bars (the journal holds them).
  const bool started = eventually([&] {
    if (!fs::exists(dir.file("sessions"))) return false;
    return read_file(out).find("Ctrl-C") != std::string::npos;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  INFO(read_file(out));
  REQUIRE(started);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_THAT(read_file(out), Catch::Contains("SIGTERM received"));
  const std::string s = session_dir(dir.file("sessions"));
  const std::string meta = read_file(s + "/meta.json");
  CHECK_THAT(meta, Catch::Contains("\"interrupted\""));
  for (const char* name : {"sim_AAA", "sim_BBB"}) {
    INFO(name);
    CHECK(fs::exists(s + "/runners/" + name + "/report.json"));
    CHECK(fs::exists(s + "/runners/" + name + "/trades.csv"));
  }
  // The journal is complete: it ends with session_end (reason signal) and
  // holds every bar the reports counted.
  const std::string id = fs::path(s).filename().string();
  auto ev = run_cli(dir, "export --sessions-dir " + dir.file("sessions") + " --session " + id +
                             " --format csv --out " + dir.file("events.csv"));
  INFO(ev.err);
  REQUIRE(ev.code == 0);
  const std::string events = read_file(dir.file("events.csv"));
  CHECK_THAT(events, Catch::Contains("session_end"));
  CHECK_THAT(events, Catch::Contains("signal"));
  const auto lines = static_cast<std::size_t>(std::count(events.begin(), events.end(), '\n'));
  const std::string eq = read_file(s + "/runners/sim_AAA/equity.csv");
  const auto bars = static_cast<std::size_t>(std::count(eq.begin(), eq.end(), '\n'));
  CHECK(bars > 2);
  CHECK(lines > bars);
}

TEST_CASE("run: SIGUSR1 engages the kill switch of every runner, without [risk] it is ignored", "[live][cli][risk]") {
  for (const bool with_risk : {true, false}) {
    INFO("with [risk]: " << with_risk);
    TempDir dir;
    write_file(dir.file("k.toml"), std::string(R"(
[engine]
status_interval_s = 0
[event_sourcing]
base_dir = ")") + dir.file("sessions") + "\"\n" +
                                       (with_risk ? "[risk]\nmax_open_positions = 5\n" : "") + R"(
[[runners]]
name = "sim"
symbol = "AAA"
strategy = "strategies/sma_cross.lua"
params = { fast = 3, slow = 8, stake = 1 }
[runners.data_source]
type = "simulated"
bars_per_second = 200
)");
    const std::string out = dir.file("out.txt");
    const pid_t pid = start_run(dir.file("k.toml"), out);
    REQUIRE(pid >= 0);
    const bool started = eventually([&] { return read_file(out).find("Ctrl-C") != std::string::npos; });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    kill(pid, SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    INFO(read_file(out));
    REQUIRE(started);
    REQUIRE(WIFEXITED(status));  // never killed by the signal's default action
    CHECK(WEXITSTATUS(status) == 0);
    const std::string report = read_file(session_dir(dir.file("sessions")) + "/runners/sim/report.json");
    CHECK_THAT(report, Catch::Contains(with_risk ? "\"kill_switch\": true" : "\"kill_switch\": false"));
  }
}
