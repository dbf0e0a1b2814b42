// A strategy must not be able to exhaust the engine's memory through what a
// recording keeps of its ctx. A table of references to one long string is a
// single string in Lua (within the VM's budget) but exports each reference
// whole: 70 references to 1 MB made every recorded state 70 MB, and the
// recorder's batches and the writer's queue, bounded by event counts only,
// held thousands of them (session 21: std::bad_alloc under a 6 GB address
// limit, 22 GB without one). The recorded backtest runs the built binary
// under an address-space limit and its peak resident size is checked.
#include <sys/resource.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "tests/support/temp_files.hpp"

using te::test::read_file;
using te::test::TempDir;
using te::test::write_file;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;  // (ASan reserves terabytes of address space: no ulimit -v)
#else
constexpr bool kAsan = false;
#endif

// `refs` references to one 1 MB string in ctx from the 1500th call on, and a
// ctx field that changes on every call: each recorded state's ctx differs.
std::string strategy(int refs) {
  return R"(params = { stake = 10 }
local k = 0
function detect_opportunity(bar, ctx, ind)
  k = k + 1
  ctx.k = k
  ctx.pad = { bar.close, bar.open, k * 3, "x" .. k }
  if k == 1500 and not ctx.big then
    local s = string.rep("y", 1000000)
    local t = {}
    for i = 1, )" + std::to_string(refs) + R"( do t[i] = s end
    ctx.big = t
  end
  if k % 5 == 0 then return { reason = "setup " .. k } end
end
function filter_commitment(bar, ctx, ind)
  return enter_long { qty = params.stake, reason = "go" }
end
function manage_position(bar, ctx, ind)
  if ctx.bars_in_state >= 2 then return exit_position("held") end
end
)";
}

struct Run {
  int code = -1;
  std::string out, err;
  long peak_kb = 0;  // the largest descendant's peak resident size so far
};

Run recorded_backtest(const TempDir& dir, int refs, const std::string& states) {
  write_file(dir.file("big.lua"), strategy(refs));
  const std::string limit = kAsan ? "" : "ulimit -v 4000000 && ";
  const std::string cmd = "cd " + dir.path().string() + " && " + limit + TE_BINARY " backtest --strategy big.lua --data " +
                          TE_SHARED_DIR "/data/nvda-1999-2014.txt --record --record-states " + states +
                          " --sessions-dir sessions --out out >stdout.txt 2>stderr.txt";
  Run r;
  const int status = std::system(cmd.c_str());
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(dir.file("stdout.txt"));
  r.err = read_file(dir.file("stderr.txt"));
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  r.peak_kb = ru.ru_maxrss;
  return r;
}

}  // namespace

TEST_CASE("a ctx of references to one long string cannot make a recording exhaust memory", "[sandbox][journal]") {
  TempDir dir;
  // 70 MB a state as data: over the recorded ctx limit (4 MiB), recorded as nil.
  const Run over = recorded_backtest(dir, 70, "activity");
  INFO(over.out << over.err);
  REQUIRE(over.code == 0);
  CHECK_THAT(over.out, Catch::Contains("recorded in") &&
                           Catch::Contains("\n  warning: the strategy context cannot be recorded: ctx.big["));
  CHECK(over.peak_kb < (kAsan ? 2'000'000 : 1'000'000));
  const std::string notes = [&] {
    const std::string cmd = "cd " + dir.path().string() + " && " TE_BINARY
                            " export --sessions-dir sessions --session \"$(ls sessions | head -1)\" --format json "
                            "--filter notes > notes.json 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    return read_file(dir.file("notes.json"));
  }();
  CHECK_THAT(notes, Catch::Contains("the strategy context cannot be recorded") &&
                        Catch::Contains("more than 4194304 bytes as data"));
  // 3 MB a state, a different one each bar: within the limit, recorded on
  // every bar; the queue and batches hold them by bytes (2.4 GB before).
  TempDir dir2;
  const Run within = recorded_backtest(dir2, 3, "every_bar");
  INFO(within.out << within.err);
  REQUIRE(within.code == 0);
  CHECK(within.peak_kb < (kAsan ? 2'000'000 : 1'000'000));
}

TEST_CASE("the recorded ctx's limit is set by --record-max-ctx-bytes and a value out of range is refused", "[journal]") {
  TempDir dir;
  // ctx.text is 3,000 bytes: recorded under the default, not under 2,000.
  write_file(dir.file("s.lua"), R"(params = {}
function detect_opportunity(bar, ctx, ind) ctx.text = string.rep("z", 3000) end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
)");
  auto notes_of = [&](const std::string& flag) {
    const std::string cmd = "cd " + dir.path().string() + " && rm -rf sessions && " TE_BINARY
                            " backtest --strategy s.lua --data " TE_SHARED_DIR "/data/nvda-1999-2014.txt --record "
                            "--sessions-dir sessions --out out " + flag + " >run.txt 2>&1 && " TE_BINARY
                            " export --sessions-dir sessions --session \"$(ls sessions | head -1)\" --format json "
                            "--filter notes > notes.json 2>&1";
    const int rc = std::system(cmd.c_str());
    INFO(read_file(dir.file("run.txt")));
    REQUIRE(rc == 0);
    return read_file(dir.file("notes.json"));
  };
  CHECK_THAT(notes_of(""), !Catch::Contains("cannot be recorded"));
  CHECK_THAT(notes_of("--record-max-ctx-bytes 2000"),
             Catch::Contains("ctx.text: the context is more than 2000 bytes as data"));
  const std::string cmd = "cd " + dir.path().string() + " && " TE_BINARY
                          " backtest --strategy s.lua --data " TE_SHARED_DIR "/data/nvda-1999-2014.txt --record "
                          "--sessions-dir sessions --out out --record-max-ctx-bytes 100 >bad.txt 2>&1";
  CHECK(std::system(cmd.c_str()) != 0);
  CHECK_THAT(read_file(dir.file("bad.txt")), Catch::Contains("--record-max-ctx-bytes") &&
                                                 Catch::Contains("must be between 1024 and 33554432 bytes, was 100"));
}
