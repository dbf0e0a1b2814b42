#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <utility>

#include "engine/journal/block_codec.hpp"
#include "engine/journal/event_codec.hpp"
#include "engine/journal/journal_reader.hpp"
#include "engine/journal/journal_writer.hpp"
#include "engine/journal/record_format.hpp"
#include "journal_fixtures.hpp"

using namespace te;
using namespace te::journal;
using namespace te::journal::testing;
using te::Errc;

namespace {

std::vector<BlockInfo> index_of(const std::string& path) {
  NullReporter rep;
  auto r = JournalReader::open(path, rep);
  REQUIRE(r.ok());
  return (*r)->blocks();
}

WriterOptions small_blocks(StorageMode mode, std::uint32_t block_size = 16 * 1024) {
  WriterOptions o = WriterOptions::deterministic(mode);
  o.block_size = block_size;
  o.snapshot_interval = 20;
  return o;
}

// The original events a reader must hand back when the listed sequences are lost.
std::vector<const Event*> expected_without(const std::vector<Event>& events, std::uint64_t first_lost,
                                           std::uint64_t last_lost) {
  std::vector<const Event*> out;
  for (const Event& e : events) {
    if (e.sequence < first_lost || e.sequence > last_lost) out.push_back(&e);
  }
  return out;
}

}  // namespace

TEST_CASE("truncating a journal at every byte of its last blocks keeps every complete record", "[unit][journal]") {
  TempDir dir;
  const auto events = make_session({.bars = 500, .runners = 2});
  const std::string path = dir.file("j");
  write_journal(path, events, small_blocks(StorageMode::Full));
  const std::string full = read_file(path);
  const auto blocks = index_of(path);
  REQUIRE(blocks.size() >= 8);

  const std::size_t from = blocks[blocks.size() - 2].offset;
  const std::string cut_path = dir.file("cut");
  write_file(cut_path, full);
  const auto started = std::chrono::steady_clock::now();
  // Shortest last, so one file can be truncated step by step.
  for (std::size_t cut = full.size(); cut-- > from;) {
    REQUIRE(::truncate(cut_path.c_str(), static_cast<off_t>(cut)) == 0);
    // What must survive: every block that ends at or before the cut.
    std::size_t complete = 0;
    std::uint64_t records = 0;
    while (complete < blocks.size() &&
           blocks[complete].offset + kBlockHeaderSize + blocks[complete].header.stored_size <= cut) {
      records += blocks[complete].header.record_count;
      ++complete;
    }
    const std::uint64_t valid_end =
        complete == 0 ? kFileHeaderSize
                      : blocks[complete - 1].offset + kBlockHeaderSize + blocks[complete - 1].header.stored_size;

    CountingReporter rep;
    auto r = JournalReader::open(cut_path, rep);
    REQUIRE(r.ok());
    INFO("cut at " << cut << " of " << full.size());
    REQUIRE((*r)->blocks().size() == complete);
    REQUIRE((*r)->record_count() == records);
    REQUIRE(rep.bytes_dropped == cut - valid_end);
    if (cut > valid_end) {
      REQUIRE(rep.corruptions == 1);
      const BlockInfo& torn = blocks[complete];
      if (cut - torn.offset >= kBlockHeaderSize) {
        // The header survived: the loss is known to the record.
        REQUIRE(rep.records_dropped == torn.header.record_count);
      } else {
        REQUIRE(rep.unknown_record_losses == 1);
      }
    } else {
      REQUIRE(rep.corruptions == 0);
    }
    // The last complete record reads back exactly.
    auto last = (*r)->event_at(records);
    REQUIRE(last.ok());
    REQUIRE(last->has_value());
    REQUIRE(identical(**last, events[records - 1]));
    // Now and then read everything.
    if (cut % 1024 == 0 || cut == from) {
      REQUIRE((*r)->rewind().ok());
      Event e;
      std::uint64_t n = 0;
      while (*(*r)->next(e)) REQUIRE(identical(e, events[n++]));
      REQUIRE(n == records);
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  WARN("truncation sweep: " << full.size() - from << " cuts of a " << full.size() << "-byte journal with "
                            << blocks.size() << " blocks in " << secs << " s");
}

TEST_CASE("a journal cut inside its file header is not readable, with a clear error", "[unit][journal]") {
  TempDir dir;
  write_journal(dir.file("j"), one_of_each(), WriterOptions::deterministic());
  const std::string full = read_file(dir.file("j"));
  for (std::size_t cut : {std::size_t{0}, std::size_t{5}, std::size_t{8}, std::size_t{20}, kFileHeaderSize - 1}) {
    write_file(dir.file("cut"), full.substr(0, cut));
    NullReporter rep;
    auto r = JournalReader::open(dir.file("cut"), rep);
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().code == Errc::parse);
    CHECK(r.error().message.rfind("open journal " + dir.file("cut") + ": ", 0) == 0);
  }
  // Exactly the header: an empty journal.
  write_file(dir.file("cut"), full.substr(0, kFileHeaderSize));
  CountingReporter rep;
  CHECK(read_all(dir.file("cut"), rep).empty());
  CHECK(rep.corruptions == 0);
}

TEST_CASE("a flipped bit in the middle is reported, the records around it are kept", "[unit][journal]") {
  TempDir dir;
  const auto events = make_session({.bars = 300, .runners = 2});
  const std::string path = dir.file("j");
  write_journal(path, events, small_blocks(StorageMode::Full, 8 * 1024));
  const std::string full = read_file(path);
  const auto blocks = index_of(path);
  REQUIRE(blocks.size() >= 6);
  const BlockInfo& hit = blocks[blocks.size() / 2];
  const auto [lost_first, lost_last] = std::pair(hit.header.first_sequence, hit.header.last_sequence);

  struct Case {
    const char* what;
    std::size_t offset;
  };
  for (const Case& c : {Case{"payload", hit.offset + kBlockHeaderSize + hit.header.stored_size / 2},
                        Case{"header length field", hit.offset + 13}, Case{"header magic", hit.offset + 1}}) {
    INFO(c.what);
    std::string damaged = full;
    damaged[c.offset] = static_cast<char>(damaged[c.offset] ^ 0x10);
    write_file(dir.file("bad"), damaged);

    SECTION(std::string("skip past a bad ") + c.what) {
      CountingReporter rep;
      const auto back = read_all(dir.file("bad"), rep);
      const auto want = expected_without(events, lost_first, lost_last);
      REQUIRE(back.size() == want.size());
      for (std::size_t i = 0; i < back.size(); ++i) REQUIRE(identical(back[i], *want[i]));
      CHECK(rep.corruptions == 1);
      CHECK(rep.records_dropped == hit.header.record_count);
      CHECK(rep.bytes_dropped == kBlockHeaderSize + hit.header.stored_size);
      REQUIRE(rep.messages.size() == 1);
      CHECK(rep.messages[0].find("sequences " + std::to_string(lost_first) + "-" + std::to_string(lost_last)) !=
            std::string::npos);
    }
    SECTION(std::string("stop at a bad ") + c.what) {
      CountingReporter rep;
      ReaderOptions ro;
      ro.on_corruption = OnCorruption::Stop;
      const auto back = read_all(dir.file("bad"), rep, ro);
      REQUIRE(back.size() == lost_first - 1);
      for (std::size_t i = 0; i < back.size(); ++i) REQUIRE(identical(back[i], events[i]));
      CHECK(rep.corruptions == 1);
      CHECK(rep.bytes_dropped == full.size() - hit.offset);
    }
  }
  SECTION("a bad payload found only when read (verify_on_open = false)") {
    std::string damaged = full;
    const std::size_t at = hit.offset + kBlockHeaderSize + hit.header.stored_size / 2;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x01);
    write_file(dir.file("bad"), damaged);
    CountingReporter rep;
    ReaderOptions ro;
    ro.verify_on_open = false;
    const auto back = read_all(dir.file("bad"), rep, ro);
    CHECK(back.size() == events.size() - hit.header.record_count);
    CHECK(rep.corruptions == 1);
    CHECK(rep.records_dropped == hit.header.record_count);
  }
}

TEST_CASE("delta mode after damage: state is unavailable until the runner's next snapshot", "[unit][journal]") {
  TempDir dir;
  const auto events = make_session({.bars = 300, .runners = 2});
  const std::string path = dir.file("j");
  write_journal(path, events, small_blocks(StorageMode::Delta, 4 * 1024));
  const std::string full = read_file(path);
  const auto blocks = index_of(path);
  const BlockInfo& hit = blocks[blocks.size() / 2];
  std::string damaged = full;
  damaged[hit.offset + kBlockHeaderSize + 3] ^= 0x40;
  write_file(dir.file("bad"), damaged);

  CountingReporter rep;
  const auto back = read_all(dir.file("bad"), rep);
  CHECK(rep.records_dropped == hit.header.record_count);
  CHECK(rep.unavailable_states >= 1);
  std::map<std::uint64_t, const Event*> by_seq;
  for (const Event& e : events) by_seq[e.sequence] = &e;
  std::size_t as_delta = 0;
  std::uint64_t last_delta_seq = 0;
  for (const Event& e : back) {
    const auto* s = e.get<RunnerState>();
    if (s != nullptr && s->encoding == StateEncoding::Delta) {
      ++as_delta;
      last_delta_seq = e.sequence;
      CHECK(e.sequence > hit.header.last_sequence);
      continue;
    }
    REQUIRE(identical(e, *by_seq.at(e.sequence)));
  }
  CHECK(as_delta > 0);
  // Every runner took a snapshot within snapshot_interval state events.
  CHECK(last_delta_seq < back.back().sequence);
}

TEST_CASE("delta reconstruction equals full mode at every sequence", "[unit][journal]") {
  TempDir dir;
  const auto events = make_session({.bars = 400, .runners = 3});
  write_journal(dir.file("full"), events, small_blocks(StorageMode::Full));
  write_journal(dir.file("delta"), events, small_blocks(StorageMode::Delta));
  NullReporter rep;
  auto full = JournalReader::open(dir.file("full"), rep);
  auto delta = JournalReader::open(dir.file("delta"), rep);
  REQUIRE(full.ok());
  REQUIRE(delta.ok());
  CHECK((*delta)->header().storage_mode == StorageMode::Delta);
  CHECK((*delta)->header().snapshot_interval == 20);

  // Reading in order.
  Event a, b;
  std::uint64_t n = 0;
  while (*(*full)->next(a)) {
    REQUIRE(*(*delta)->next(b));
    REQUIRE(identical(a, b));
    ++n;
  }
  CHECK(n == events.size());

  // Jumping to every sequence: a delta state is rebuilt from its snapshot.
  for (std::uint64_t seq = 1; seq <= events.size(); ++seq) {
    auto ea = (*full)->event_at(seq);
    auto eb = (*delta)->event_at(seq);
    REQUIRE(ea.ok());
    REQUIRE(eb.ok());
    REQUIRE(ea->has_value());
    REQUIRE(eb->has_value());
    INFO("sequence " << seq);
    REQUIRE(identical(**ea, **eb));
    REQUIRE(identical(**eb, events[seq - 1]));
  }

  // Full state of a runner as of any sequence equals the last state a linear scan saw.
  std::map<te::model::RunnerId, const Event*> last_state;
  for (const Event& e : events) {
    if (e.get<RunnerState>() != nullptr) last_state[e.runner] = &e;
    if (e.sequence % 5 != 0) continue;
    for (te::model::RunnerId r = 0; r < 3; ++r) {
      auto got = (*delta)->state_at(r, e.sequence);
      REQUIRE(got.ok());
      if (last_state.count(r) == 0) {
        REQUIRE_FALSE(got->has_value());
      } else {
        REQUIRE(got->has_value());
        REQUIRE(identical(**got, *last_state[r]));
      }
    }
  }
}

TEST_CASE("bytes per event in full and delta mode", "[unit][journal]") {
  TempDir dir;
  const auto events = make_session({.bars = 2000, .runners = 2});
  std::size_t state_events = 0;
  for (const Event& e : events) state_events += e.get<RunnerState>() != nullptr;
  std::map<std::string, WriterStats> by_mode;
  for (StorageMode mode : {StorageMode::Full, StorageMode::Delta}) {
    WriterOptions o = WriterOptions::deterministic(mode);
    o.snapshot_interval = 100;
    by_mode[std::string(to_string(mode))] = write_journal(dir.file(std::string(to_string(mode))), events, o);
  }
  const WriterStats& f = by_mode["full"];
  const WriterStats& d = by_mode["delta"];
  const auto per = [&](std::uint64_t bytes) { return static_cast<double>(bytes) / static_cast<double>(events.size()); };
  std::cout << "journal bytes/event over " << events.size() << " events (" << state_events
            << " runner states): full raw " << per(f.raw_bytes) << ", on disk " << per(f.file_bytes)
            << "; delta raw " << per(d.raw_bytes) << ", on disk " << per(d.file_bytes) << "\n";
  CHECK(d.raw_bytes < f.raw_bytes);
  CHECK(d.file_bytes < f.file_bytes);
}

TEST_CASE("seek by sequence and by time equal a linear scan", "[unit][journal]") {
  TempDir dir;
  const auto events = make_session({.bars = 600, .runners = 2});
  // Fills carry earlier times than the bar events around them.
  bool non_monotonic = false;
  for (std::size_t i = 1; i < events.size(); ++i) non_monotonic |= events[i].ts_event_ns < events[i - 1].ts_event_ns;
  REQUIRE(non_monotonic);

  for (StorageMode mode : {StorageMode::Full, StorageMode::Delta}) {
    const std::string path = dir.file(std::string(to_string(mode)));
    write_journal(path, events, small_blocks(mode, 4 * 1024));
    NullReporter rep;
    auto r = JournalReader::open(path, rep);
    REQUIRE(r.ok());
    REQUIRE((*r)->blocks().size() > 20);

    std::set<std::int64_t> probes = {INT64_MIN, INT64_MAX};
    for (const Event& e : events) probes.insert({e.ts_event_ns - 1, e.ts_event_ns, e.ts_event_ns + 1});
    for (std::int64_t t : probes) {
      const auto linear = std::find_if(events.begin(), events.end(), [t](const Event& e) { return e.ts_event_ns >= t; });
      auto seq = (*r)->sequence_at_time(t);
      REQUIRE(seq.ok());
      auto found = (*r)->seek_time(t);
      REQUIRE(found.ok());
      INFO("time " << t);
      if (linear == events.end()) {
        REQUIRE_FALSE(seq->has_value());
        REQUIRE_FALSE(*found);
        continue;
      }
      REQUIRE(seq->has_value());
      REQUIRE(**seq == linear->sequence);
      REQUIRE(*found);
      Event e;
      REQUIRE(*(*r)->next(e));
      REQUIRE(identical(e, *linear));
    }

    for (std::uint64_t s : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{777},
                            std::uint64_t{events.size()}}) {
      REQUIRE(*(*r)->seek_sequence(s));
      Event e;
      REQUIRE(*(*r)->next(e));
      CHECK(e.sequence == std::max<std::uint64_t>(s, 1));
    }
    CHECK_FALSE(*(*r)->seek_sequence(events.size() + 1));
    Event e;
    CHECK_FALSE(*(*r)->next(e));
    CHECK((*r)->first_sequence() == 1);
    CHECK((*r)->last_sequence() == events.size());
  }
}

TEST_CASE("files that are not journals, or are from a newer format, give clear errors", "[unit][journal]") {
  TempDir dir;
  NullReporter rep;

  write_file(dir.file("csv"), "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,2,0.5,1.5,1.5,100\n");
  auto csv = JournalReader::open(dir.file("csv"), rep);
  REQUIRE_FALSE(csv.ok());
  CHECK(csv.error().code == Errc::parse);
  CHECK(csv.error().message == "open journal " + dir.file("csv") +
                                   ": not a journal: bad magic bytes (expected 89 54 45 4a 0d 0a 1a 0a)");

  write_file(dir.file("empty"), "");
  auto empty = JournalReader::open(dir.file("empty"), rep);
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().message.find("not a journal: the file is empty") != std::string::npos);

  auto missing = JournalReader::open(dir.file("nope"), rep);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == Errc::not_found);
  CHECK(missing.error().message == "open journal " + dir.file("nope") + ": No such file or directory");

  auto directory = JournalReader::open(dir.path(), rep);
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.error().message.find("is a directory") != std::string::npos);

  write_journal(dir.file("j"), one_of_each(), WriterOptions::deterministic());
  const std::string good = read_file(dir.file("j"));

  // Format 7.0: a newer major version (its header may differ; the version alone decides).
  std::string v7 = good;
  v7[8] = 7;
  write_file(dir.file("v7"), v7);
  auto newer = JournalReader::open(dir.file("v7"), rep);
  REQUIRE_FALSE(newer.ok());
  CHECK(newer.error().code == Errc::unsupported);
  CHECK(newer.error().message == "open journal " + dir.file("v7") +
                                     ": journal format version 7.0 is newer than this build reads (6.x); upgrade "
                                     "trading-engine");

  // Format 1.0 (every market_data record full, as one_of_each's single one is): still read.
  FileHeader h1;
  h1.major = 1;
  std::string v1 = good;
  v1.replace(0, kFileHeaderSize, encode_file_header(h1));
  write_file(dir.file("v1"), v1);
  auto older = JournalReader::open(dir.file("v1"), rep);
  REQUIRE(older.ok());
  CHECK((*older)->header().major == 1);
  const auto old_events = read_all(dir.file("v1"), rep);
  const auto new_events = read_all(dir.file("j"), rep);
  REQUIRE(old_events.size() == one_of_each().size());
  REQUIRE(new_events.size() == old_events.size());
  for (std::size_t i = 0; i < old_events.size(); ++i) CHECK(encode_event(old_events[i]) == encode_event(new_events[i]));

  // Format 1.7: a newer minor version reads (unknown additions are surfaced per event).
  FileHeader h;
  h.minor = 7;
  h.writer = "future";
  std::string v17 = good;
  v17.replace(0, kFileHeaderSize, encode_file_header(h));
  write_file(dir.file("v17"), v17);
  auto minor = JournalReader::open(dir.file("v17"), rep);
  REQUIRE(minor.ok());
  CHECK((*minor)->header().minor == 7);
  CHECK((*minor)->record_count() == one_of_each().size());

  std::string corrupt = good;
  corrupt[20] ^= 1;
  write_file(dir.file("corrupt"), corrupt);
  auto bad_header = JournalReader::open(dir.file("corrupt"), rep);
  REQUIRE_FALSE(bad_header.ok());
  CHECK(bad_header.error().message.find("journal header is corrupt: checksum mismatch") != std::string::npos);
}

TEST_CASE("the journal header records how it was written", "[unit][journal]") {
  TempDir dir;
  WriterOptions o = WriterOptions::deterministic(StorageMode::Delta);
  o.snapshot_interval = 50;
  o.include_indicators = false;
  o.created_ns = 1'700'000'000'123'456'789;
  o.writer_info = "trading-engine 0.1.0";
  write_journal(dir.file("j"), one_of_each(), o);
  NullReporter rep;
  auto r = JournalReader::open(dir.file("j"), rep);
  REQUIRE(r.ok());
  const FileHeader& h = (*r)->header();
  CHECK(h.major == kFormatMajor);
  CHECK(h.minor == kFormatMinor);
  CHECK(h.storage_mode == StorageMode::Delta);
  CHECK(h.snapshot_interval == 50);
  CHECK_FALSE(h.include_indicators);
  CHECK(h.created_ns == 1'700'000'000'123'456'789);
  CHECK(h.writer == "trading-engine 0.1.0");
}

TEST_CASE("the worked file example in docs/journal-format.md is what the writer writes", "[unit][journal]") {
  // Keep in sync with the "Worked example" section of the format document.
  TempDir dir;
  WriterOptions o = WriterOptions::deterministic();
  Event e = make_event(1'700'000'000'000'000'000, 0,
                       Transition{0, 1, "setup_detected", "close > sma(20)", 1'700'000'000'000'000'000});
  write_journal(dir.file("j"), {e}, o);
  const std::string bytes = read_file(dir.file("j"));
  std::string dump;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02x%s", static_cast<unsigned char>(bytes[i]),
                  i + 1 == bytes.size() ? "" : (i + 1) % 16 == 0 ? "\n" : " ");
    dump += buf;
  }
  CHECK(dump ==
        "89 54 45 4a 0d 0a 1a 0a 06 00 00 00 40 00 00 01\n"
        "00 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00\n"
        "74 72 61 64 69 6e 67 2d 65 6e 67 69 6e 65 00 00\n"
        "00 00 00 00 00 00 00 00 c1 d8 da f3 6d 8c 1f c0\n"
        "54 45 42 4b 90 36 6e 93 00 00 00 00 38 00 00 00\n"
        "38 00 00 00 01 00 00 00 01 00 00 00 00 00 00 00\n"
        "01 00 00 00 00 00 00 00 00 00 2a 36 fe 9c 97 17\n"
        "00 00 2a 36 fe 9c 97 17 0d 6e d5 af b6 a9 77 88\n"
        "37 99 05 01 cf 17 97 9c fe 36 2a 00 00 00 00 01\n"
        "ae 73 65 74 75 70 5f 64 65 74 65 63 74 65 64 af\n"
        "63 6c 6f 73 65 20 3e 20 73 6d 61 28 32 30 29 cf\n"
        "17 97 9c fe 36 2a 00 00");
}

TEST_CASE("format 2: market_data is compact once its block names the runner's stream, and reads back anywhere",
          "[unit][journal]") {
  // make_session: three runners, two symbols, quotes on every third bar (those
  // stay full records), blocks of 16 KiB so that streams are named again often.
  TempDir dir;
  const auto events = make_session({.bars = 300, .runners = 3});
  WriterOptions o = WriterOptions::deterministic();
  o.block_size = 16 * 1024;
  const WriterStats st = write_journal(dir.file("j"), events, o);
  REQUIRE(st.written == events.size());

  NullReporter rep;
  auto r = JournalReader::open(dir.file("j"), rep);
  REQUIRE(r.ok());
  JournalReader& reader = **r;
  REQUIRE(reader.blocks().size() > 5);

  // Block by block: a compact record only after a full one of its runner in
  // the same block, and a full one only when the compact form cannot say it.
  const std::string file = read_file(dir.file("j"));
  std::size_t compact = 0, full = 0;
  for (const BlockInfo& b : reader.blocks()) {
    std::string raw;
    REQUIRE(open_block(b.header, std::string_view(file).substr(b.offset + kBlockHeaderSize, b.header.stored_size), raw));
    RecordSplitter split(raw);
    std::string_view rec;
    std::set<model::RunnerId> named;
    while (split.next(rec)) {
      EventEnvelope env;
      REQUIRE(decode_envelope(rec, env));
      if (env.type != static_cast<std::uint16_t>(EventType::MarketData)) continue;
      const Event& want = events[env.sequence - 1];
      const auto& md = std::get<MarketData>(want.body);
      if (is_compact_market_data(rec)) {
        ++compact;
        CHECK(named.count(env.runner) == 1);
        const std::size_t seq_bytes = env.sequence < 128 ? 1 : env.sequence < 256 ? 2 : 3;
        CHECK(rec.size() == 1 + 1 + seq_bytes + 9 + 1 + 45);  // fixarray, type, sequence, ts, runner, 5 doubles
        CHECK(std::isnan(md.bar.bid));
        // Alone, without its block, it cannot be completed: an UnknownEvent says why.
        const Event alone = decode_event(rec);
        const auto* u = alone.get<UnknownEvent>();
        REQUIRE(u != nullptr);
        CHECK(u->error == "compact market_data without a full market_data record of its runner earlier in its block");
      } else {
        ++full;
        CHECK(rec == encode_event(want));
        CHECK((named.count(env.runner) == 0 || !std::isnan(md.bar.bid)));
        named.insert(env.runner);
      }
    }
  }
  INFO("compact " << compact << ", full " << full << ", blocks " << reader.blocks().size());
  CHECK(compact > full);
  CHECK(compact + full == 900);

  // Read from the start, and after a seek into the middle of a block (the
  // block's earlier records are then skipped, so the reader finds the stream).
  const auto back = read_all(dir.file("j"), rep);
  REQUIRE(back.size() == events.size());
  for (std::size_t i = 0; i < back.size(); ++i) REQUIRE(encode_event(back[i]) == encode_event(events[i]));
  for (std::uint64_t seq = 1; seq <= events.size(); seq += 7) {
    auto e = reader.event_at(seq);
    REQUIRE(e.ok());
    REQUIRE(e->has_value());
    INFO("sequence " << seq);
    CHECK(encode_event(**e) == encode_event(events[seq - 1]));
  }
}

TEST_CASE("a record that does not decode as its type is reported once and handed out as unknown", "[unit][journal]") {
  // Checksums intact, the record itself bad: what a journal altered by something
  // other than the writer looks like (its checksums recomputed).
  TempDir dir;
  std::vector<Event> events = one_of_each();
  Event note;
  note.body = Note{"c", "t", Value()};
  std::string bytes = encode_event(note);
  bytes[0] = static_cast<char>(bytes[0] - 1);  // one field fewer in the array header...
  bytes.pop_back();                            // ... and the last field (nil) gone
  Event bad;
  bad.sequence = events.size() + 1;
  bad.body = UnknownEvent{static_cast<std::uint16_t>(EventType::Note), bytes, ""};
  events.push_back(bad);
  write_journal(dir.file("j"), events, WriterOptions::deterministic());

  CountingReporter rep;
  auto r = JournalReader::open(dir.file("j"), rep);
  REQUIRE(r.ok());
  for (int pass = 0; pass < 2; ++pass) {  // a second pass does not report it again
    REQUIRE((*r)->rewind().ok());
    Event e;
    std::size_t n = 0;
    while (true) {
      auto ok = (*r)->next(e);
      REQUIRE(ok.ok());
      if (!*ok) break;
      ++n;
    }
    CHECK(n == events.size());
    REQUIRE(e.is_unknown());
    CHECK(e.sequence == bad.sequence);
    CHECK(e.type_code() == static_cast<std::uint16_t>(EventType::Note));
  }
  CHECK(rep.damaged_records == 1);
  CHECK(rep.corruptions == 0);
  REQUIRE(rep.messages.size() == 1);
  CHECK(rep.messages[0].find("sequence " + std::to_string(bad.sequence) + " (type 14) does not decode") !=
        std::string::npos);
}

TEST_CASE("a finished block is its header and payload, compressed or stored", "[unit][journal]") {
  // finish() compresses behind the header's room in its own buffer: both
  // codecs must come back whole, the stored one (LZ4 no smaller) included.
  std::string noise(3000, '\0');
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  for (char& c : noise) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x & 0xff);
  }
  const std::string text(3000, 'a');
  BlockBuilder b;  // reused, as the writer does
  for (const std::string* record : {&std::as_const(noise), &text, &std::as_const(noise)}) {
    b.add(*record, 7, 100);
    b.add("tail", 8, 90);
    const std::string_view block = b.finish();
    REQUIRE(block.size() > kBlockHeaderSize);
    BlockHeader h;
    REQUIRE(decode_block_header(block.data(), h) == nullptr);  // no error
    CHECK(h.codec == (record == &noise ? BlockCodec::Stored : BlockCodec::Lz4));
    CHECK(h.record_count == 2);
    CHECK(h.first_sequence == 7);
    CHECK(h.min_ts_ns == 90);
    CHECK(block.size() == kBlockHeaderSize + h.stored_size);
    std::string raw;
    REQUIRE(open_block(h, block.substr(kBlockHeaderSize), raw));
    RecordSplitter split(raw);
    std::string_view rec;
    REQUIRE(split.next(rec));
    CHECK(rec == *record);
    REQUIRE(split.next(rec));
    CHECK(rec == "tail");
    CHECK_FALSE(split.next(rec));
  }
}
