// generate-data and convert-data through the built binary.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include <cstdlib>
#include <filesystem>

#include "engine/data/bar_cache.hpp"
#include "engine/data/load_bars.hpp"
#include "engine/data/mapped_file.hpp"
#include "tests/unit/data/data_test_support.hpp"

using namespace te;
using namespace te::data;

namespace {

struct Run {
  int code = -1;
  std::string out, err;
};

Run run(const test::TempDir& dir, const std::string& args) {
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  const std::string cmd = std::string(TE_BINARY) + " " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  Run r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = test::read_file(out);
  r.err = test::read_file(err);
  return r;
}

}  // namespace

TEST_CASE("cli: generate-data writes a deterministic file and says what it wrote", "[unit][data][cli]") {
  test::TempDir dir;
  const std::string a = dir.file("a.csv"), b = dir.file("b.csv");
  Run r = run(dir, "generate-data --bars 1000 --seed 7 --out " + a);
  REQUIRE(r.code == 0);
  CHECK(r.out == "wrote " + a + ": 1000 bars of 1m from 2020-01-01T00:00:00Z to 2020-01-01T16:39:00Z (seed 7)\n");
  CHECK(r.err.empty());
  REQUIRE(run(dir, "generate-data --bars 1000 --seed 7 --out " + b).code == 0);
  CHECK(test::read_file(a) == test::read_file(b));

  r = run(dir, "generate-data --bars 30 --seed 7 --interval 1d --start 2021-03-01 --quotes --out " + b);
  REQUIRE(r.code == 0);
  CHECK(r.out == "wrote " + b + ": 30 bars of 1d from 2021-03-01 to 2021-03-30 (seed 7)\n");
  CHECK_THAT(test::read_file(b),
             Catch::StartsWith("timestamp,open,high,low,close,volume,bid,ask,bid_size,ask_size\n2021-03-01,"));
}

TEST_CASE("cli: generate-data errors are one line on stderr with exit code 1", "[unit][data][cli]") {
  test::TempDir dir;
  Run r = run(dir, "generate-data --bars 10 --interval 1M --out " + dir.file("x.csv"));
  CHECK(r.code == 1);
  CHECK(r.err == "error: --interval: expected a count and a unit (s, m, h, d or w) such as 1m, 15m, 1h, 1d, was '1M'\n");
  r = run(dir, "generate-data --bars 10 --start yesterday --out " + dir.file("x.csv"));
  CHECK(r.code == 1);
  CHECK(r.err == "error: --start: expected an ISO-8601 date or datetime such as 2020-01-01 or 2020-01-01T09:30:00Z, "
                 "was 'yesterday'\n");
  r = run(dir, "generate-data --bars 10 --price -5 --out " + dir.file("x.csv"));
  CHECK(r.code == 1);
  CHECK(r.err == "error: generator: start price must be a positive number, was -5\n");
  r = run(dir, "generate-data --bars 10 --out /nonexistent-dir/x.csv");
  CHECK(r.code == 1);
  CHECK(r.err == "error: /nonexistent-dir/x.csv: cannot create: No such file or directory\n");
  r = run(dir, "generate-data --out " + dir.file("x.csv"));
  CHECK(r.code == 2);  // usage error, reported by the option parser
  CHECK_THAT(r.err, Catch::Contains("--bars is required"));
  r = run(dir, "generate-data --help");
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("--volatility"));
}

TEST_CASE("cli: convert-data writes the cache load_bars then uses", "[unit][data][cli]") {
  test::TempDir dir;
  const std::string csv = dir.file("sim.csv");
  REQUIRE(run(dir, "generate-data --bars 500 --out " + csv).code == 0);
  Run r = run(dir, "convert-data --data " + csv);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("wrote " + csv + ".tebars: 500 bars from " + csv + " (generic CSV), 0.0 MB in "));
  LoadReport rep;
  auto s = load_bars(csv, {}, &rep);
  REQUIRE(s.ok());
  CHECK(rep.source == LoadSource::csv_cache);
  CHECK(s->size() == 500);

  const std::string other = dir.file("elsewhere.tebars");
  REQUIRE(run(dir, "convert-data --data " + csv + " --out " + other).code == 0);
  auto direct = load_bars(other, {}, &rep);
  REQUIRE(direct.ok());
  CHECK(rep.source == LoadSource::cache_file);

  r = run(dir, "convert-data --data " + other);
  CHECK(r.code == 1);
  CHECK(r.err == "error: " + other + ": is already a bar cache, expected a CSV file\n");
  test::write_file(dir.file("bad.csv"), "Date,Open\n");
  r = run(dir, "convert-data --data " + dir.file("bad.csv"));
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("error: " + dir.file("bad.csv") + ":1:10: unknown header: 2 columns, the Yahoo format has 7"));
  r = run(dir, "convert-data --data " + dir.file("missing.csv"));
  CHECK(r.code == 1);
  CHECK(r.err == "error: " + dir.file("missing.csv") + ": cannot open: No such file or directory\n");
}

// Audit: inputs that never end and outputs that are not files. /dev/zero as
// --data, --strategy or --config was read until memory ran out (an abort on
// std::bad_alloc, or a hang); convert-data renamed its cache over a device node
// (it turned /dev/full into a regular file); download-data read a device --out
// as an endless first line.
TEST_CASE("cli: devices are refused as inputs and outputs, never read forever or replaced", "[unit][data][cli][audit]") {
  test::TempDir dir;
  const std::string csv = dir.file("bars.csv");
  REQUIRE(run(dir, "generate-data --bars 200 --out " + csv).code == 0);
  const std::string strategy = TE_SOURCE_DIR "/strategies/sma_cross.lua";
  const std::string out = " --no-html -q --out " + dir.file("bt");
  Run data = run(dir, "backtest --strategy " + strategy + " --data /dev/zero" + out);
  CHECK(data.code == 1);
  CHECK_THAT(data.err, Catch::Contains("/dev/zero: is a device, expected a file"));
  Run strat = run(dir, "backtest --strategy /dev/zero --data " + csv + out);
  CHECK(strat.code == 1);
  CHECK_THAT(strat.err, Catch::Contains("/dev/zero: the strategy file is larger than the limit of 16 MB"));
  Run config = run(dir, "backtest --strategy " + strategy + " --data " + csv + " --config /dev/zero" + out);
  CHECK(config.code == 1);
  CHECK_THAT(config.err, Catch::Contains("/dev/zero: a config file is at most 16 MB"));
  Run space = run(dir, "optimize --strategy " + strategy + " --data " + csv + " --space /dev/zero -q --out " +
                          dir.file("opt"));
  CHECK(space.code == 1);
  CHECK_THAT(space.err, Catch::Contains("/dev/zero: a parameter space file is at most 16 MB"));

  // A FIFO stands for any node that is not a regular file (a regression must
  // not be able to replace a real device while the test runs).
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  Run convert = run(dir, "convert-data --data " + csv + " --out " + fifo);
  CHECK(convert.code == 1);
  CHECK_THAT(convert.err, Catch::Contains("cache " + fifo + ": exists and is not a regular file"));
  CHECK(std::filesystem::is_fifo(fifo));
  Run download = run(dir, "download-data --source binance --symbol BTCUSDT --start 2024-01-01 --end 2024-01-01 "
                          "--rest-url http://127.0.0.1:1 --out " + fifo);
  CHECK(download.code == 1);
  CHECK_THAT(download.err, Catch::Contains(fifo + ": exists and is not a regular file"));
  CHECK(std::filesystem::is_fifo(fifo));

  // A pipe that does not end is read up to the limit, then refused.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const auto old_handler = std::signal(SIGPIPE, SIG_IGN);  // the writer outlives the reader
  std::thread writer([w = fds[1]] {
    const std::string block(1 << 16, 'x');
    while (::write(w, block.data(), block.size()) > 0) {
    }
    ::close(w);
  });
  auto limited = MappedFile::open("/proc/self/fd/" + std::to_string(fds[0]), 1 << 20);
  ::close(fds[0]);
  writer.join();
  std::signal(SIGPIPE, old_handler);
  REQUIRE_FALSE(limited.ok());
  CHECK_THAT(limited.error().message, Catch::Contains("not a regular file, and it gave more than 1048576 bytes"));
}
