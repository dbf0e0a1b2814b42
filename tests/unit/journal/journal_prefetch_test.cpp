#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <new>
#include <thread>

#include <string>
#include <vector>

#include "engine/journal/block_codec.hpp"
#include "engine/journal/block_prefetcher.hpp"
#include "engine/journal/journal_reader.hpp"
#include "engine/journal/record_format.hpp"
#include "journal_fixtures.hpp"

// The reader's second thread (BlockPrefetcher): whatever it loads ahead, the
// reader hands out the same events and reports the same damage, in the same
// order, as when it loads every block itself (ReaderOptions::prefetch = false).

using namespace te;
using namespace te::journal;
using namespace te::journal::testing;

namespace {

WriterOptions small_blocks(StorageMode mode) {
  WriterOptions o = WriterOptions::deterministic(mode);
  o.block_size = 8 * 1024;
  o.snapshot_interval = 20;
  return o;
}

struct Outcome {
  std::vector<Event> events;
  std::vector<std::string> messages;
};

Outcome read_with(const std::string& path, ReaderOptions o, bool prefetch) {
  o.prefetch = prefetch;
  CountingReporter rep;
  Outcome out;
  out.events = read_all(path, rep, o);
  out.messages = rep.messages;
  return out;
}

void require_same(const Outcome& a, const Outcome& b) {
  REQUIRE(a.events.size() == b.events.size());
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    INFO("event " << i << " of " << a.events.size());
    REQUIRE(identical(a.events[i], b.events[i]));
  }
  REQUIRE(a.messages == b.messages);
}

void require_same_both_ways(const std::string& path) {
  for (const OnCorruption policy : {OnCorruption::Skip, OnCorruption::Stop}) {
    for (const bool verify : {true, false}) {
      ReaderOptions o;
      o.on_corruption = policy;
      o.verify_on_open = verify;
      INFO("stop " << (policy == OnCorruption::Stop) << ", verify on open " << verify);
      require_same(read_with(path, o, false), read_with(path, o, true));
    }
  }
}

}  // namespace

TEST_CASE("reading ahead hands out the same events and reports the same damage", "[unit][journal]") {
  TempDir dir;
  const auto events = make_session({.bars = 400, .runners = 2});
  for (const StorageMode mode : {StorageMode::Full, StorageMode::Delta}) {
    const std::string path = dir.file(mode == StorageMode::Full ? "full" : "delta");
    write_journal(path, events, small_blocks(mode));
    const std::string whole = read_file(path);
    NullReporter quiet;
    auto r = JournalReader::open(path, quiet);
    REQUIRE(r.ok());
    const std::vector<BlockInfo> blocks = (*r)->blocks();
    REQUIRE(blocks.size() >= 10);

    SECTION("intact") {
      const Outcome plain = read_with(path, {}, false);
      CHECK(plain.events.size() == events.size());
      require_same_both_ways(path);
    }
    SECTION("a tail cut by a crash, at offsets through the last blocks") {
      const std::string cut = dir.file("cut");
      for (std::size_t at = blocks[blocks.size() - 3].offset; at < whole.size(); at += 61) {
        write_file(cut, whole.substr(0, at));
        INFO("cut at " << at);
        require_same_both_ways(cut);
      }
    }
    SECTION("a corrupt payload in the middle, and a corrupt block header") {
      const std::string bad = dir.file("bad");
      for (const std::size_t b : {std::size_t{1}, blocks.size() / 2, blocks.size() - 2}) {
        std::string bytes = whole;
        bytes[blocks[b].offset + kBlockHeaderSize + blocks[b].header.stored_size / 2] ^= 0x20;
        write_file(bad, bytes);
        INFO("payload of block " << b);
        require_same_both_ways(bad);
        bytes = whole;
        bytes[blocks[b].offset + 9] ^= 0x01;
        write_file(bad, bytes);
        INFO("header of block " << b);
        require_same_both_ways(bad);
      }
    }
  }
}

TEST_CASE("seeks in the middle of reading ahead land where they land without it", "[unit][journal]") {
  TempDir dir;
  const auto events = make_session({.bars = 400, .runners = 2});
  for (const StorageMode mode : {StorageMode::Full, StorageMode::Delta}) {
    const std::string path = dir.file(mode == StorageMode::Full ? "full" : "delta");
    write_journal(path, events, small_blocks(mode));
    // Read some, jump back, read on, jump ahead, rewind, read to the end: the
    // reader restarts and pauses its loader on the way.
    auto run = [&](bool prefetch) {
      ReaderOptions o;
      o.prefetch = prefetch;
      CountingReporter rep;
      auto r = JournalReader::open(path, rep, o);
      REQUIRE(r.ok());
      JournalReader& reader = **r;
      std::vector<Event> seen;
      Event e;
      auto read_n = [&](std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
          auto ok = reader.next(e);
          REQUIRE(ok.ok());
          if (!*ok) return;
          seen.push_back(e);
        }
      };
      read_n(events.size() / 2);
      REQUIRE(*reader.seek_sequence(events.size() / 5));
      read_n(events.size() / 4);
      REQUIRE(*reader.seek_time(events[events.size() * 3 / 4].ts_event_ns));
      read_n(50);
      auto at = reader.event_at(17);
      REQUIRE(at.ok());
      REQUIRE(at->has_value());
      seen.push_back(**at);
      read_n(events.size() / 3);
      REQUIRE(reader.rewind().ok());
      read_n(events.size() * 2);
      return Outcome{seen, rep.messages};
    };
    require_same(run(false), run(true));
  }
}

TEST_CASE("a reader stopped or destroyed while reading ahead ends cleanly", "[unit][journal]") {
  TempDir dir;
  const auto events = make_session({.bars = 300, .runners = 2});
  const std::string path = dir.file("j");
  write_journal(path, events, small_blocks(StorageMode::Delta));
  const Outcome all = read_with(path, {}, false);
  // Stop after n events (the loader then is anywhere: idle, loading, queue
  // full) and destroy the reader; what was read is the start of the journal.
  for (std::size_t n = 0; n < all.events.size(); n += 97) {
    NullReporter quiet;
    auto r = JournalReader::open(path, quiet);
    REQUIRE(r.ok());
    Event e;
    for (std::size_t i = 0; i < n; ++i) {
      REQUIRE(*(*r)->next(e));
      REQUIRE(identical(e, all.events[i]));
    }
  }
}

namespace {
// A 200-bar full-mode journal in small blocks (at least 6): its block index
// and its bytes, for a prefetcher with a read function of the test's own.
struct SmallJournal {
  std::vector<BlockInfo> blocks;
  std::string bytes;
};
SmallJournal small_journal(TempDir& dir) {
  const auto events = make_session({.bars = 200, .runners = 1});
  const std::string path = dir.file("j");
  write_journal(path, events, small_blocks(StorageMode::Full));
  NullReporter quiet;
  auto r = JournalReader::open(path, quiet);
  REQUIRE(r.ok());
  SmallJournal j{(*r)->blocks(), read_file(path)};
  REQUIRE(j.blocks.size() >= 6);
  return j;
}
}  // namespace

TEST_CASE("a block that cannot be read is the reader's error, from the loader too", "[unit][journal]") {
  TempDir dir;
  const SmallJournal j = small_journal(dir);
  const std::vector<BlockInfo>& blocks = j.blocks;
  const std::string& whole = j.bytes;
  const std::uint64_t bad_offset = blocks[4].offset + kBlockHeaderSize;
  auto read = [&](std::uint64_t offset, std::size_t n, char* dst) -> Status {
    if (offset == bad_offset) return make_error(Errc::io, "read failed");
    std::copy_n(whole.data() + offset, n, dst);
    return {};
  };
  BlockPrefetcher p(blocks, read, 2);
  CHECK(p.next_block() == BlockPrefetcher::npos);
  p.restart(2);
  std::string raw;
  for (std::size_t b = 2; b < blocks.size(); ++b) {
    REQUIRE(p.next_block() == b);
    const BlockPrefetcher::Loaded got = p.take(raw);
    if (b == 4) {
      CHECK_FALSE(got.read.ok());
      continue;
    }
    REQUIRE(got.read.ok());
    REQUIRE(got.opened.ok());
    // What open_block makes of the stored payload (format 3: bar runs expanded).
    std::string want;
    REQUIRE(open_block(blocks[b].header,
                       std::string_view(whole).substr(blocks[b].offset + kBlockHeaderSize, blocks[b].header.stored_size),
                       want));
    CHECK(raw == want);
    CHECK(check_records(raw, blocks[b].header.record_count).ok());
  }
  CHECK(p.next_block() == blocks.size());
  p.restart(0);  // loads again from the start, into the same buffers
  CHECK(p.take(raw).opened.ok());
  CHECK(check_records(raw, blocks[0].header.record_count).ok());
  p.pause();
  CHECK(p.next_block() == BlockPrefetcher::npos);
}

TEST_CASE("a loader thread that runs out of memory leaves the reader to load every block", "[unit][journal]") {
  TempDir dir;
  const SmallJournal j = small_journal(dir);
  const std::vector<BlockInfo>& blocks = j.blocks;
  const std::string& whole = j.bytes;
  const std::thread::id reader = std::this_thread::get_id();
  std::atomic<int> thrown{0};
  auto read = [&](std::uint64_t offset, std::size_t n, char* dst) -> Status {
    if (std::this_thread::get_id() != reader) {
      ++thrown;
      throw std::bad_alloc();  // before: std::terminate, the process ended
    }
    std::copy_n(whole.data() + offset, n, dst);
    return {};
  };
  BlockPrefetcher p(blocks, read, 2);
  p.restart(0);
  // The loader's first read throws (wait for it: up to 20 s on a loaded machine).
  for (int spin = 0; thrown.load() == 0 && spin < 40000; ++spin)
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  REQUIRE(thrown.load() == 1);
  std::string raw;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    REQUIRE(p.next_block() == b);
    const BlockPrefetcher::Loaded got = p.take(raw);
    REQUIRE(got.read.ok());
    REQUIRE(got.opened.ok());
    CHECK(check_records(raw, blocks[b].header.record_count).ok());
  }
  CHECK(thrown.load() == 1);  // it tried once and stopped
  CHECK(p.next_block() == blocks.size());
}
