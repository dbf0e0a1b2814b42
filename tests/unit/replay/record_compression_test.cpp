// `backtest --record --record-compression none` ([event_sourcing] compression):
// the journal's blocks are stored uncompressed, and everything read from it is
// what the LZ4 journal of the same run gives.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "engine/journal/journal_reader.hpp"
#include "tests/support/temp_files.hpp"

using te::test::CliRun;
using te::test::read_file;
using te::test::run_cli;
using te::test::TempDir;
namespace j = te::journal;

namespace {

const std::string kNvda = TE_SHARED_DIR "/data/nvda-1999-2014.txt";

CliRun record(const TempDir& dir, const std::string& id, const std::string& extra) {
  return run_cli(dir, "backtest -q --no-html --strategy strategies/sma_cross.lua --data " + kNvda + " --out " +
                          dir.file("out-" + id) + " --record --sessions-dir " + dir.file("sessions") +
                          " --session-id " + id + " " + extra);
}

}  // namespace

TEST_CASE("a journal recorded without compression reads back as the LZ4 one", "[replay]") {
  TempDir dir;
  for (const char* mode : {"full", "delta"}) {
    INFO(mode);
    const std::string lz4 = std::string("lz4-") + mode, none = std::string("none-") + mode;
    const CliRun a = record(dir, lz4, std::string("--record-mode ") + mode);
    INFO(a.err);
    REQUIRE(a.code == 0);
    const CliRun b = record(dir, none, std::string("--record-mode ") + mode + " --record-compression none");
    INFO(b.err);
    REQUIRE(b.code == 0);
    const std::string ja = dir.file("sessions/" + lz4 + "/events.msgpack.lz4");
    const std::string jb = dir.file("sessions/" + none + "/events.msgpack.lz4");
    j::CountingReporter rep;
    auto r = j::JournalReader::open(jb, rep);
    REQUIRE(r.ok());
    REQUIRE(!(*r)->blocks().empty());
    for (const j::BlockInfo& blk : (*r)->blocks()) CHECK(blk.header.codec == j::BlockCodec::Stored);
    // (1.9-2.0x on NVDA since format 4's positional states: the raw journal
    // lost most of its repeated map keys, which LZ4 had compressed best.)
    CHECK(2 * std::filesystem::file_size(jb) > 3 * std::filesystem::file_size(ja));
    // The same events: compare says identical, and both export the same JSON
    // (but for the session ids, which name the sessions).
    const CliRun cmp = run_cli(dir, "compare --sessions-dir " + dir.file("sessions") + " --session1 " + lz4 +
                                        " --session2 " + none);
    INFO(cmp.out << cmp.err);
    CHECK(cmp.code == 0);
    CHECK_THAT(cmp.out, Catch::Contains("identical"));
    for (const std::string& id : {lz4, none}) {
      REQUIRE(run_cli(dir, "export --sessions-dir " + dir.file("sessions") + " --session " + id +
                               " --format json --filter fills --out " + dir.file(id + ".json"))
                  .code == 0);
    }
    const std::string ea = read_file(dir.file(lz4 + ".json")), eb = read_file(dir.file(none + ".json"));
    CHECK(!ea.empty());
    CHECK(ea == eb);
  }
  // A faster LZ4 setting: larger journals, the same events.
  const CliRun fast = record(dir, "fast", "--record-mode delta --record-compression-acceleration 16");
  INFO(fast.err);
  REQUIRE(fast.code == 0);
  CHECK(std::filesystem::file_size(dir.file("sessions/fast/events.msgpack.lz4")) >
        std::filesystem::file_size(dir.file("sessions/lz4-delta/events.msgpack.lz4")));
  const CliRun same = run_cli(dir, "compare --sessions-dir " + dir.file("sessions") + " --session1 lz4-delta --session2 fast");
  INFO(same.out << same.err);
  CHECK(same.code == 0);
  CHECK_THAT(same.out, Catch::Contains("identical"));
  // A rerun writes its journal with the original's block settings: the same
  // bytes (the determinism proof), also away from the defaults.
  for (const std::string& id : {std::string("fast"), std::string("none-full")}) {
    INFO(id);
    const CliRun re = run_cli(dir, "rerun --sessions-dir " + dir.file("sessions") + " --session " + id +
                                       " --session-id re-" + id);
    INFO(re.out << re.err);
    REQUIRE(re.code == 0);
    CHECK(read_file(dir.file("sessions/re-" + id + "/events.msgpack.lz4")) ==
          read_file(dir.file("sessions/" + id + "/events.msgpack.lz4")));
  }
  for (const char* v : {"0", "65"}) {
    const CliRun slow = record(dir, std::string("bad-") + v, std::string("--record-compression-acceleration ") + v);
    CHECK(slow.code != 0);
    CHECK_THAT(slow.err, Catch::Contains("record compression acceleration (--record-compression-acceleration, "
                                         "[event_sourcing] compression_acceleration) must be between 1 and 64, was " +
                                         std::string(v)));
  }
  const CliRun bad = record(dir, "bad", "--record-compression zstd");
  CHECK(bad.code != 0);
  CHECK_THAT(bad.err, Catch::Contains("record compression must be lz4 or none, was \"zstd\""));
}
