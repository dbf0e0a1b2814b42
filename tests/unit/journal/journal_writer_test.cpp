#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "engine/journal/journal_reader.hpp"
#include "engine/journal/journal_writer.hpp"
#include "engine/journal/record_format.hpp"
#include "journal_fixtures.hpp"

using namespace te;
using namespace te::journal;
using namespace te::journal::testing;
using te::Errc;
using te::Status;

namespace {

// Fails every append once `budget` bytes have been written (a disk filling up).
class FailingFile final : public WritableFile {
 public:
  explicit FailingFile(std::size_t budget) : budget_(budget) {}
  Status append(std::string_view d) override {
    if (written_ + d.size() > budget_) {
      return te::make_error(Errc::io, "write " + path_ + ": No space left on device (injected)");
    }
    written_ += d.size();
    return {};
  }
  Status sync() override { return {}; }
  Status close() override { return {}; }
  const std::string& path() const noexcept override { return path_; }

 private:
  std::size_t budget_;
  std::size_t written_ = 0;
  std::string path_ = "failing.journal";
};

Event note(int i) { return make_event(i, 0, Note{"test", "event " + std::to_string(i), te::Value()}); }

WriterOptions small_queue(QueueFullPolicy policy) {
  WriterOptions o;
  o.queue_capacity = 4;
  o.block_size = 1;  // every record is its own block, so the writer hits the file at once
  o.block_timeout_ms = 0;
  o.fsync = FsyncPolicy::None;
  o.queue_full = policy;
  return o;
}

std::vector<std::uint64_t> sequences_in(const std::string& bytes, CountingReporter& rep) {
  TempDir dir;
  write_file(dir.file("j"), bytes);
  std::vector<std::uint64_t> out;
  for (const Event& e : read_all(dir.file("j"), rep)) out.push_back(e.sequence);
  return out;
}

}  // namespace

TEST_CASE("writer and reader round-trip a session, background and inline, full and delta", "[unit][journal]") {
  TempDir dir;
  const auto events = make_session({.bars = 400, .runners = 3});
  for (StorageMode mode : {StorageMode::Full, StorageMode::Delta}) {
    for (WriterThreading threading : {WriterThreading::Background, WriterThreading::Inline}) {
      WriterOptions o;
      o.storage_mode = mode;
      o.snapshot_interval = 25;
      o.threading = threading;
      o.block_size = 8 * 1024;
      const std::string path = dir.file(std::string(to_string(mode)) + (threading == WriterThreading::Inline ? "-inline" : "-bg"));
      const WriterStats st = write_journal(path, events, o);
      CHECK(st.appended == events.size());
      CHECK(st.written == events.size());
      CHECK(st.dropped == 0);
      CHECK(st.blocks > 10);
      if (mode == StorageMode::Delta) CHECK(st.state_delta > st.state_full);
      // The writer thread's own CPU clock; none without a writer thread.
      if (threading == WriterThreading::Background) {
        CHECK(st.writer_thread_cpu_ns > 0);
      } else {
        CHECK(st.writer_thread_cpu_ns == 0);
      }

      CountingReporter rep;
      const auto back = read_all(path, rep);
      CHECK(rep.messages.empty());
      REQUIRE(back.size() == events.size());
      for (std::size_t i = 0; i < back.size(); ++i) {
        INFO("sequence " << events[i].sequence);
        REQUIRE(identical(back[i], events[i]));
      }
    }
  }
}

TEST_CASE("deterministic writers produce byte-identical files", "[unit][journal]") {
  TempDir dir;
  const auto events = make_session({.bars = 200, .runners = 2});
  for (StorageMode mode : {StorageMode::Full, StorageMode::Delta}) {
    WriterOptions o = WriterOptions::deterministic(mode);
    o.block_size = 4096;
    write_journal(dir.file("a"), events, o);
    write_journal(dir.file("b"), events, o);
    // A background thread cutting blocks by size only writes the same bytes.
    WriterOptions bg = o;
    bg.threading = WriterThreading::Background;
    bg.queue_capacity = 16;
    write_journal(dir.file("c"), events, bg);
    const std::string a = read_file(dir.file("a"));
    CHECK(a.size() > 4096);
    CHECK(a == read_file(dir.file("b")));
    CHECK(a == read_file(dir.file("c")));
    std::remove(dir.file("a").c_str());
    std::remove(dir.file("b").c_str());
    std::remove(dir.file("c").c_str());
  }
}

TEST_CASE("compress = false stores every block as it is, and the events read back the same", "[unit][journal]") {
  TempDir dir;
  const auto events = make_session({.bars = 1500, .runners = 2});
  for (StorageMode mode : {StorageMode::Full, StorageMode::Delta}) {
    WriterOptions o = WriterOptions::deterministic(mode);
    o.block_size = 16 * 1024;
    write_journal(dir.file("lz4"), events, o);
    o.compress = false;
    write_journal(dir.file("stored"), events, o);
    for (const char* name : {"lz4", "stored"}) {
      CountingReporter rep;
      auto r = JournalReader::open(dir.file(name), rep);
      REQUIRE(r.ok());
      REQUIRE((*r)->blocks().size() > 3);
      std::size_t stored = 0;
      for (const BlockInfo& b : (*r)->blocks()) stored += b.header.codec == BlockCodec::Stored;
      CHECK(stored == (std::string(name) == "stored" ? (*r)->blocks().size() : 0));
      const auto back = read_all(dir.file(name), rep);
      CHECK(rep.messages.empty());
      REQUIRE(back.size() == events.size());
      for (std::size_t i = 0; i < back.size(); ++i) REQUIRE(identical(back[i], events[i]));
    }
    CHECK(read_file(dir.file("stored")).size() > 2 * read_file(dir.file("lz4")).size());
    std::remove(dir.file("lz4").c_str());
    std::remove(dir.file("stored").c_str());
  }
}

TEST_CASE("journals written at every LZ4 acceleration read back alike", "[unit][journal]") {
  TempDir dir;
  const auto events = make_session({.bars = 3000, .runners = 2});
  for (StorageMode mode : {StorageMode::Full, StorageMode::Delta}) {
    WriterOptions o = WriterOptions::deterministic(mode);
    o.block_size = 16 * 1024;
    write_journal(dir.file("default"), events, o);
    const std::string plain = read_file(dir.file("default"));
    std::size_t previous = 0;
    for (int a : {1, 2, 4, 8, 16, 64}) {
      INFO("acceleration " << a);
      o.acceleration = a;
      std::string name = "a";  // (not "a" + to_string: GCC 12's -Wrestrict false positive)
      name += std::to_string(a);
      write_journal(dir.file(name), events, o);
      const std::string bytes = read_file(dir.file(name));
      if (a == kDefaultAcceleration) CHECK(bytes == plain);
      // More acceleration, fewer matches found: never fewer bytes here.
      CHECK(bytes.size() >= previous);
      previous = bytes.size();
      CountingReporter rep;
      auto r = JournalReader::open(dir.file(name), rep);
      REQUIRE(r.ok());
      REQUIRE((*r)->blocks().size() > 3);
      std::size_t lz4 = 0;  // (a block LZ4 does not shrink is stored)
      for (const BlockInfo& b : (*r)->blocks()) lz4 += b.header.codec == BlockCodec::Lz4;
      CHECK(lz4 > 3);
      const auto back = read_all(dir.file(name), rep);
      CHECK(rep.messages.empty());
      REQUIRE(back.size() == events.size());
      for (std::size_t i = 0; i < back.size(); ++i) REQUIRE(identical(back[i], events[i]));
      std::remove(dir.file(name).c_str());
    }
    CHECK(previous > plain.size());  // 64 loses bytes against the default
    std::remove(dir.file("default").c_str());
  }
  for (int a : {0, 65}) {
    WriterOptions bad;
    bad.acceleration = a;
    CHECK_THAT(bad.validate(), Catch::Contains("acceleration must be between 1 and 64, was " + std::to_string(a)));
    CHECK_FALSE(JournalWriter::create(dir.file("bad"), bad).ok());
  }
}

// Keeps what is written in memory, and where each append() began and ended.
class PieceFile final : public WritableFile {
 public:
  Status append(std::string_view d) override {
    data_.append(d);
    ends_.push_back(data_.size());
    return {};
  }
  Status sync() override { return {}; }
  Status close() override { return {}; }
  const std::string& path() const noexcept override { return path_; }
  const std::string& data() const noexcept { return data_; }
  const std::vector<std::size_t>& ends() const noexcept { return ends_; }

 private:
  std::string data_;
  std::vector<std::size_t> ends_;
  std::string path_ = "pieces.journal";
};

TEST_CASE("write_stretch hands the file the same bytes in whole aligned pieces, the rest at flush", "[unit][journal]") {
  const auto events = make_session({.bars = 600, .runners = 3});
  for (StorageMode mode : {StorageMode::Full, StorageMode::Delta}) {
    for (WriterThreading threading : {WriterThreading::Inline, WriterThreading::Background}) {
      WriterOptions o = WriterOptions::deterministic(mode);
      o.threading = threading;
      o.block_size = 700;  // blocks of a few hundred bytes: many of them per piece, and pieces cut inside them
      o.queue_capacity = 64;
      auto plain_file = std::make_unique<PieceFile>();
      PieceFile& plain = *plain_file;
      auto w0 = JournalWriter::create(std::move(plain_file), o);
      REQUIRE(w0.ok());
      WriterOptions held = o;
      held.write_stretch = 4096;
      auto held_file = std::make_unique<PieceFile>();
      PieceFile& pieces = *held_file;
      auto w1 = JournalWriter::create(std::move(held_file), held);
      REQUIRE(w1.ok());
      const std::size_t half = events.size() / 2;
      for (std::size_t i = 0; i < events.size(); ++i) {
        REQUIRE((*w0)->append(events[i]).ok());
        REQUIRE((*w1)->append(events[i]).ok());
        if (i + 1 == half) {
          // flush() hands over what is held: the file is whole up to here.
          REQUIRE((*w0)->flush().ok());
          REQUIRE((*w1)->flush().ok());
          CHECK(pieces.data() == plain.data());
          CHECK(pieces.data().size() == (*w1)->stats().file_bytes);
        }
      }
      REQUIRE((*w0)->close().ok());
      REQUIRE((*w1)->close().ok());
      REQUIRE(plain.data().size() > 8 * 4096);
      CHECK(pieces.data() == plain.data());
      // After the header, every append ends at a multiple of 4096 but those
      // made by flush() and close() (one each, the flush's within the pieces).
      const std::vector<std::size_t>& ends = pieces.ends();
      std::size_t unaligned = 0;
      for (std::size_t i = 1; i < ends.size(); ++i) unaligned += ends[i] % 4096 != 0;
      CHECK(unaligned <= 2);
      CHECK(ends.back() == plain.data().size());
      CHECK(ends.size() < plain.ends().size() / 4);  // (blocks of ≈ 700 raw bytes: many per piece)
    }
  }
}

TEST_CASE("write_stretch: after an error that is not the file's, the finished blocks still reach it", "[unit][journal]") {
  // A record over the size limit stops the writer (Errc::limit). The blocks
  // finished before it were in the file of a writer without the stretch; one
  // with it holds up to a stretch of them, which the close must still write.
  for (WriterThreading threading : {WriterThreading::Inline, WriterThreading::Background}) {
    std::string files[2];
    for (int k = 0; k < 2; ++k) {
      WriterOptions o = WriterOptions::deterministic(StorageMode::Full);
      o.threading = threading;
      o.write_stretch = k == 0 ? 0 : WriterOptions::kBacktestWriteStretch;
      auto f = std::make_unique<PieceFile>();
      PieceFile& pf = *f;
      auto w = JournalWriter::create(std::move(f), o);
      REQUIRE(w.ok());
      std::uint64_t x = 88172645463325252ull;  // xorshift: texts LZ4 cannot shrink much
      for (int i = 0; i < 3000; ++i) {
        std::string text(200, ' ');
        for (char& c : text) {
          x ^= x << 13, x ^= x >> 7, x ^= x << 17;
          c = static_cast<char>('a' + x % 26);
        }
        REQUIRE((*w)->append(make_event(i, 0, Note{"test", std::move(text), Value()})).ok());
      }
      (void)(*w)->append(make_event(9999, 0, Note{"test", std::string(kMaxRecordSize + 10, 'x'), Value()}));
      CHECK_FALSE((*w)->close().ok());
      files[k] = pf.data();
    }
    INFO("threading " << static_cast<int>(threading));
    REQUIRE(files[0].size() > WriterOptions::kBacktestWriteStretch);
    CHECK(files[1] == files[0]);
  }
}

TEST_CASE("write_stretch needs fsync none and no block timeout", "[unit][journal]") {
  WriterOptions o;
  o.write_stretch = 4096;
  CHECK_THAT(o.validate(), Catch::Contains("write_stretch (4096) needs fsync = none and block_timeout_ms = 0"));
  o.fsync = FsyncPolicy::None;
  CHECK_FALSE(o.validate().empty());  // block_timeout_ms is still 200
  o.block_timeout_ms = 0;
  CHECK(o.validate().empty());
  WriterOptions interval;
  interval.write_stretch = 4096;
  auto w = JournalWriter::create(std::make_unique<PieceFile>(), interval);
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().code == Errc::invalid_argument);
}

TEST_CASE("flush makes every appended event readable while the writer stays open", "[unit][journal]") {
  TempDir dir;
  WriterOptions o;
  o.block_timeout_ms = 0;  // only flush() can cut the partial block
  auto w = JournalWriter::create(dir.file("j"), o);
  REQUIRE(w.ok());
  for (int round = 1; round <= 3; ++round) {
    for (int i = 0; i < 100; ++i) REQUIRE((*w)->append(note(i)).ok());
    REQUIRE((*w)->flush().ok());
    CountingReporter rep;
    CHECK(read_all(dir.file("j"), rep).size() == static_cast<std::size_t>(100 * round));
    CHECK(rep.messages.empty());
  }
  CHECK((*w)->stats().syncs >= 3);
  REQUIRE((*w)->close().ok());
  CHECK((*w)->close().ok());  // idempotent
  auto after = (*w)->append(note(1));
  REQUIRE_FALSE(after.ok());
  CHECK(after.error().message.find("after close()") != std::string::npos);
}

TEST_CASE("begin_close lets the writer finish while the caller works, close then waits for it", "[unit][journal]") {
  for (const bool background : {true, false}) {
    CAPTURE(background);
    TempDir dir;
    WriterOptions o = background ? WriterOptions{} : WriterOptions::deterministic();
    o.block_timeout_ms = 0;
    auto w = JournalWriter::create(dir.file("j"), o);
    REQUIRE(w.ok());
    for (int i = 0; i < 500; ++i) REQUIRE((*w)->append(note(i)).ok());
    (*w)->begin_close();
    (*w)->begin_close();  // idempotent
    if (background) {
      // Appends are refused as after close(); a flush waits for the writer's last sync.
      auto after = (*w)->append(note(1));
      REQUIRE_FALSE(after.ok());
      CHECK(after.error().message.find("after close()") != std::string::npos);
      REQUIRE((*w)->flush().ok());
      CountingReporter early;
      CHECK(read_all(dir.file("j"), early).size() == 500);
    }
    REQUIRE((*w)->close().ok());
    CountingReporter rep;
    CHECK(read_all(dir.file("j"), rep).size() == 500);
    CHECK(rep.messages.empty());
    CHECK((*w)->stats().syncs >= 1);
  }
  // A write error reaches close() after begin_close, as without it.
  auto w = JournalWriter::create(std::make_unique<FailingFile>(1'000), WriterOptions{});
  REQUIRE(w.ok());
  for (int i = 0; i < 2000; ++i) {
    if (!(*w)->append(note(i)).ok()) break;
  }
  (*w)->begin_close();
  Status c = (*w)->close();
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message.find("No space left on device") != std::string::npos);
}

TEST_CASE("a partial block is written after block_timeout_ms without a flush", "[unit][journal]") {
  TempDir dir;
  WriterOptions o;
  o.block_timeout_ms = 20;
  auto w = JournalWriter::create(dir.file("j"), o);
  REQUIRE(w.ok());
  REQUIRE((*w)->append(note(1)).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((*w)->stats().written < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK((*w)->stats().written == 1);
  NullReporter rep;
  CHECK(read_all(dir.file("j"), rep).size() == 1);
  REQUIRE((*w)->close().ok());
}

TEST_CASE("queue full under QueueFullPolicy::Fail refuses the event and counts it", "[unit][journal]") {
  auto file = std::make_unique<GatedFile>();
  GatedFile* gate = file.get();
  auto w = JournalWriter::create(std::move(file), small_queue(QueueFullPolicy::Fail));
  REQUIRE(w.ok());
  gate->close_gate();
  REQUIRE((*w)->append(note(1)).ok());
  gate->wait_until_stalled();  // the writer holds event 1 and is stuck writing it
  for (int i = 2; i <= 5; ++i) REQUIRE((*w)->append(note(i)).ok());
  auto full = (*w)->append(note(6));
  REQUIRE_FALSE(full.ok());
  CHECK(full.error().code == Errc::limit);
  CHECK(full.error().message.find("write queue full") != std::string::npos);
  CHECK((*w)->stats().rejected == 1);
  gate->open_gate();
  REQUIRE((*w)->close().ok());
  CountingReporter rep;
  CHECK(sequences_in(gate->data(), rep) == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
  CHECK(rep.missing == 0);  // a refused event never got a sequence number
}

TEST_CASE("queue full under QueueFullPolicy::DropOldest drops, counts, and leaves a visible gap", "[unit][journal]") {
  auto file = std::make_unique<GatedFile>();
  GatedFile* gate = file.get();
  auto w = JournalWriter::create(std::move(file), small_queue(QueueFullPolicy::DropOldest));
  REQUIRE(w.ok());
  gate->close_gate();
  REQUIRE((*w)->append(note(1)).ok());
  gate->wait_until_stalled();
  for (int i = 2; i <= 7; ++i) REQUIRE((*w)->append(note(i)).ok());  // 2 and 3 are pushed out
  CHECK((*w)->stats().dropped == 2);
  gate->open_gate();
  REQUIRE((*w)->close().ok());
  CountingReporter rep;
  CHECK(sequences_in(gate->data(), rep) == std::vector<std::uint64_t>{1, 4, 5, 6, 7});
  CHECK(rep.missing == 2);
  REQUIRE_FALSE(rep.messages.empty());
  CHECK(rep.messages[0] == "2 sequence numbers missing in 2-3 (dropped by the writer)");
}

TEST_CASE("queue full under QueueFullPolicy::Block waits for room and loses nothing", "[unit][journal]") {
  auto file = std::make_unique<GatedFile>();
  GatedFile* gate = file.get();
  auto w = JournalWriter::create(std::move(file), small_queue(QueueFullPolicy::Block));
  REQUIRE(w.ok());
  gate->close_gate();
  REQUIRE((*w)->append(note(1)).ok());
  gate->wait_until_stalled();
  for (int i = 2; i <= 5; ++i) REQUIRE((*w)->append(note(i)).ok());
  std::atomic<bool> returned{false};
  std::thread producer([&] {
    REQUIRE((*w)->append(note(6)).ok());
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(returned.load());
  CHECK((*w)->stats().blocked_appends == 1);
  gate->open_gate();
  producer.join();
  CHECK(returned.load());
  REQUIRE((*w)->close().ok());
  CountingReporter rep;
  CHECK(sequences_in(gate->data(), rep) == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6});
  CHECK((*w)->stats().dropped == 0);
}

TEST_CASE("write errors are surfaced by append, flush, close and status", "[unit][journal]") {
  SECTION("background writer") {
    auto w = JournalWriter::create(std::make_unique<FailingFile>(1'000), WriterOptions{});
    REQUIRE(w.ok());
    for (int i = 0; i < 2000; ++i) {
      if (!(*w)->append(note(i)).ok()) break;  // may start failing once the writer has hit the error
    }
    Status f = (*w)->flush();
    REQUIRE_FALSE(f.ok());
    CHECK(f.error().code == Errc::io);
    CHECK(f.error().message.find("No space left on device") != std::string::npos);
    auto later = (*w)->append(note(1));
    REQUIRE_FALSE(later.ok());
    CHECK(later.error().message == f.error().message);
    CHECK_FALSE((*w)->status().ok());
    Status c = (*w)->close();
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().message == f.error().message);
    CHECK((*w)->stats().rejected >= 1);
  }
  SECTION("inline writer fails the append that hits the disk") {
    WriterOptions o = WriterOptions::deterministic();
    o.block_size = 512;
    auto w = JournalWriter::create(std::make_unique<FailingFile>(2'000), o);
    REQUIRE(w.ok());
    int failed_at = -1;
    for (int i = 0; i < 5000 && failed_at < 0; ++i) {
      if (!(*w)->append(note(i)).ok()) failed_at = i;
    }
    CHECK(failed_at > 0);
    CHECK_FALSE((*w)->close().ok());
  }
  SECTION("a full disk at creation") {
    WriterOptions o;
    o.overwrite = true;
    auto w = JournalWriter::create("/dev/full", o);
    REQUIRE_FALSE(w.ok());
    CHECK(w.error().code == Errc::io);
    CHECK_THAT(w.error().message, Catch::StartsWith("write /dev/full: No space left on device"));
    CHECK_THAT(w.error().message, Catch::Contains("--sessions-dir"));  // and what to do about it
  }
}

TEST_CASE("creating a journal refuses to replace a file and reports bad paths and options", "[unit][journal]") {
  TempDir dir;
  write_file(dir.file("exists"), "x");
  auto again = JournalWriter::create(dir.file("exists"), WriterOptions{});
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message.find("create " + dir.file("exists") + ": File exists") == 0);

  auto nodir = JournalWriter::create(dir.file("missing/events.msgpack.lz4"), WriterOptions{});
  REQUIRE_FALSE(nodir.ok());
  CHECK(nodir.error().code == Errc::not_found);

  WriterOptions bad;
  bad.snapshot_interval = 0;
  bad.queue_capacity = 0;
  bad.writer_info = std::string(30, 'w');
  auto invalid = JournalWriter::create(dir.file("new"), bad);
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error().code == Errc::invalid_argument);
  CHECK(invalid.error().message.find("snapshot_interval must be >= 1, was 0") != std::string::npos);
  CHECK(invalid.error().message.find("queue_capacity must be >= 1, was 0") != std::string::npos);
  CHECK(invalid.error().message.find("writer_info must be at most 24 bytes, was 30") != std::string::npos);
}

TEST_CASE("include_indicators = false leaves indicator values out", "[unit][journal]") {
  TempDir dir;
  WriterOptions o = WriterOptions::deterministic();
  o.include_indicators = false;
  auto w = JournalWriter::create(dir.file("j"), o);
  REQUIRE(w.ok());
  RunnerState st;
  st.context = Value::map({{"a", 1}});
  st.indicators = Value::map({{"sma(20)", 1.5}});
  CHECK(*(*w)->append(make_event(1, 0, st)) == 1);
  CHECK(*(*w)->append(make_event(1, 0, IndicatorValues{Value::map({{"x", 1.0}})})) == 0);
  CHECK(*(*w)->append(make_event(2, 0, st)) == 2);
  REQUIRE((*w)->close().ok());
  CHECK((*w)->stats().filtered == 1);
  NullReporter rep;
  auto back = read_all(dir.file("j"), rep);
  REQUIRE(back.size() == 2);
  CHECK(std::get<RunnerState>(back[0].body).indicators.is_nil());
  CHECK(std::get<RunnerState>(back[0].body).context == st.context);
}

TEST_CASE("concurrent producers get unique, gapless sequence numbers", "[unit][journal]") {
  TempDir dir;
  WriterOptions o;
  o.queue_capacity = 64;
  auto w = JournalWriter::create(dir.file("j"), o);
  REQUIRE(w.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&w, t] {
      for (int i = 0; i < 2500; ++i) {
        if (!(*w)->append(make_event(i, static_cast<te::model::RunnerId>(t), Note{"t", "x", Value()})).ok()) return;
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE((*w)->close().ok());
  CountingReporter rep;
  const auto back = read_all(dir.file("j"), rep);
  REQUIRE(back.size() == 10000);
  for (std::size_t i = 0; i < back.size(); ++i) REQUIRE(back[i].sequence == i + 1);
  CHECK(rep.messages.empty());
}

TEST_CASE("append_batch queues events in order with consecutive sequences", "[unit][journal]") {
  TempDir dir;
  const auto events = make_session({.bars = 300, .runners = 2});
  for (WriterThreading threading : {WriterThreading::Background, WriterThreading::Inline}) {
    WriterOptions o;
    o.threading = threading;
    o.queue_capacity = 16;  // smaller than some batches: those wait for an empty queue
    o.storage_mode = StorageMode::Delta;
    const std::string path = dir.file(threading == WriterThreading::Inline ? "inline" : "bg");
    auto w = JournalWriter::create(path, o);
    REQUIRE(w.ok());
    std::vector<Event> batch;
    std::uint64_t expect_first = 1;
    for (std::size_t i = 0; i < events.size(); i += 1 + i % 23) {
      const std::size_t end = std::min(events.size(), i + 1 + i % 23);
      for (std::size_t j = i; j < end; ++j) batch.push_back(events[j]);
      auto first = (*w)->append_batch(batch);
      REQUIRE(first.ok());
      CHECK(*first == expect_first);
      CHECK(batch.empty());
      expect_first += end - i;
    }
    REQUIRE((*w)->close().ok());
    CountingReporter rep;
    const auto back = read_all(path, rep);
    REQUIRE(back.size() == events.size());
    for (std::size_t i = 0; i < back.size(); ++i) REQUIRE(identical(back[i], events[i]));
  }
}

TEST_CASE("append_batch under QueueFullPolicy::Fail queues all or nothing", "[unit][journal]") {
  auto file = std::make_unique<GatedFile>();
  GatedFile* gate = file.get();
  auto w = JournalWriter::create(std::move(file), small_queue(QueueFullPolicy::Fail));
  REQUIRE(w.ok());
  gate->close_gate();
  REQUIRE((*w)->append(note(1)).ok());
  gate->wait_until_stalled();
  std::vector<Event> three = {note(2), note(3), note(4)};
  REQUIRE(*(*w)->append_batch(three) == 2);
  std::vector<Event> two = {note(5), note(6)};
  auto refused = (*w)->append_batch(two);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == Errc::limit);
  CHECK((*w)->stats().rejected == 2);
  gate->open_gate();
  REQUIRE((*w)->close().ok());
  CountingReporter rep;
  CHECK(sequences_in(gate->data(), rep) == std::vector<std::uint64_t>{1, 2, 3, 4});
}


TEST_CASE("the block checksum is XXH3-64 whichever kernel the CPU runs", "[unit][journal]") {
  // Values of the portable XXH3_64bits (xxhash.h compiled for baseline x86-64)
  // over the same bytes: the AVX2 kernel checksum64 picks for blocks on a CPU
  // that has it must give them (journals are read on any machine).
  std::vector<unsigned char> b(70'000);
  unsigned s = 1;
  for (auto& c : b) {
    s = s * 1103515245u + 12345u;
    c = static_cast<unsigned char>(s >> 16);
  }
  const std::pair<std::size_t, std::uint64_t> known[] = {
      {255, 0xa88268bb584966d3ULL},  {256, 0xcdb34974678d6687ULL},   {1000, 0xe106af998512cee7ULL},
      {4096, 0x869423345af97371ULL}, {65536, 0x3387c315d69e9c87ULL}, {70000, 0xec72118ff3d3b6bdULL}};
  for (const auto& [size, hash] : known) {
    INFO(size << " bytes");
    CHECK(te::journal::checksum64(b.data(), size) == hash);
  }
}
