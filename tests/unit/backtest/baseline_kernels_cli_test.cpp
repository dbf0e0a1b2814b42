// The built binary with every kernel dispatcher on its baseline kernels
// (TE_NO_AVX2=1) against the same binary as the CPU allows: a streamed CSV
// (newline counts), ten indicators (the block loops, the ring copies), a
// recorded session (bar runs, block checksums) and a run from the binary
// cache (XXH3) must give the same outputs, and each session must read back
// under the other's checksum kernel as the same events. On a machine without
// AVX2 both runs take the baseline and this only checks the runs agree.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include "tests/support/temp_files.hpp"

using te::test::CliRun;
using te::test::read_file;
using te::test::TempDir;

namespace {

// `trading-engine <args>` from the repository root, with TE_NO_AVX2=1 in its
// environment when `baseline`.
CliRun run_as(const TempDir& dir, bool baseline, const std::string& args, const std::string& tag) {
  const std::string out = dir.file("stdout-" + tag), err = dir.file("stderr-" + tag);
  const std::string cmd = std::string("cd " TE_SOURCE_DIR " && ") +
                          (baseline ? "TE_NO_AVX2=1 " : "env -u TE_NO_AVX2 ") + TE_BINARY + " " + args + " >" + out +
                          " 2>" + err;
  const int status = std::system(cmd.c_str());
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

std::string without_timing(const std::string& json) {
  std::istringstream in(json);
  std::string line, out;
  while (std::getline(in, line))
    if (line.find("\"elapsed_s\"") == std::string::npos && line.find("\"run_elapsed_s\"") == std::string::npos &&
        line.find("\"bars_per_second\"") == std::string::npos)
      out += line + "\n";
  return out;
}

std::string only_session(const std::string& dir) {
  std::string id;
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    id = e.path().filename().string();
    ++n;
  }
  REQUIRE(n == 1);
  return id;
}

}  // namespace

TEST_CASE("a backtest gives the same outputs and session with every kernel dispatcher on its baseline",
          "[backtest][cli][dispatch]") {
  TempDir dir;
  const std::string data = dir.file("gen.csv");
  REQUIRE(run_as(dir, false, "generate-data --bars 120000 --seed 9 --interval 1m --out " + data, "gen").code == 0);
  REQUIRE(std::filesystem::file_size(data) > (std::size_t{4} << 20));  // streamed (csv_stream)
  const std::string base =
      "backtest -q --timings --strategy bench/backtest/strategies/ten_indicators.lua --data " + data;
  for (bool baseline : {false, true}) {
    const std::string tag = baseline ? "baseline" : "dispatched";
    // Streamed (a recorded run parses the file whole first) ...
    const CliRun r = run_as(dir, baseline, base + " --no-cache --out " + dir.file(tag), tag);
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.err.find("load (CSV: first chunk)") != std::string::npos);
    // ... and recorded.
    const CliRun rec = run_as(dir, baseline,
                              base + " --no-cache --record --record-mode delta --sessions-dir " +
                                  dir.file("s-" + tag) + " --out " + dir.file("rec-" + tag),
                              "rec-" + tag);
    INFO(rec.err);
    REQUIRE(rec.code == 0);
  }
  // The binary cache written by the dispatched build, read by the baseline one.
  REQUIRE(run_as(dir, false, "convert-data --data " + data, "convert").code == 0);
  const CliRun cached = run_as(dir, true, base + " --out " + dir.file("cached"), "cached");
  INFO(cached.err);
  REQUIRE(cached.code == 0);
  CHECK(cached.err.find("load (binary cache)") != std::string::npos);

  for (const char* f : {"trades.csv", "equity.csv"}) {
    INFO(f);
    const std::string want = read_file(dir.file(std::string("dispatched/") + f));
    CHECK(want.size() > 1000);
    CHECK(read_file(dir.file(std::string("baseline/") + f)) == want);
    CHECK(read_file(dir.file(std::string("cached/") + f)) == want);
    CHECK(read_file(dir.file(std::string("rec-dispatched/") + f)) == want);
    CHECK(read_file(dir.file(std::string("rec-baseline/") + f)) == want);
  }
  const std::string report = without_timing(read_file(dir.file("dispatched/report.json")));
  CHECK(without_timing(read_file(dir.file("baseline/report.json"))) == report);
  CHECK(without_timing(read_file(dir.file("cached/report.json"))) == report);

  // Both sessions in one directory, compared (every block's checksum checked
  // on reading) by each build.
  const std::string a = only_session(dir.file("s-dispatched"));
  const std::string b = only_session(dir.file("s-baseline"));
  std::filesystem::rename(dir.file("s-baseline/" + b), dir.file("s-dispatched/" + b));
  for (bool baseline : {false, true}) {
    const CliRun c = run_as(dir, baseline,
                            "compare --sessions-dir " + dir.file("s-dispatched") + " --session1 " + a +
                                " --session2 " + b,
                            baseline ? "compare-baseline" : "compare-dispatched");
    INFO(c.out << c.err);
    CHECK(c.code == 0);
    CHECK(c.out.find("identical") != std::string::npos);
  }
}
