// JournalWriter::append_deferred: batches the producer keeps in its own form
// (JournalRecorder's RecorderBatch) and the writer turns into records on its
// thread. They must give the same journal as the same events appended
// directly, obey the queue-full policies event by event, and be released
// exactly once whatever happens.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/journal/event_codec.hpp"
#include "engine/journal/journal_reader.hpp"
#include "engine/journal/journal_writer.hpp"
#include "journal_fixtures.hpp"

using namespace te;
using namespace te::journal;
using namespace te::journal::testing;

namespace {

// Holds events; market data, transitions, order updates, fills and risk decisions go
// through the consumer's paths for their parts, everything else through event().
class TestBatch final : public DeferredEvents {
 public:
  explicit TestBatch(std::vector<Event> events, std::size_t bytes = 0) : events_(std::move(events)), bytes_(bytes) {}
  std::size_t size() const noexcept override { return events_.size(); }
  std::size_t held_bytes() const noexcept override { return bytes_; }
  void emit(DeferredConsumer& out) override {
    ++emitted;
    for (Event& e : events_) {
      if (const auto* md = e.get<MarketData>()) {
        out.market_data(e.ts_event_ns, e.runner, md->instrument, md->symbol, md->timeframe, md->bar);
      } else if (const auto* u = e.get<OrderUpdate>()) {
        out.order_update(e.ts_event_ns, e.runner, u->order, u->reason_code, u->message);
      } else if (const auto* f = e.get<FillEvent>()) {
        out.fill(e.ts_event_ns, e.runner, f->fill);
      } else if (const auto* t = e.get<Transition>()) {
        out.transition(e.ts_event_ns, e.runner, t->from, t->to, t->trigger, t->reason, t->bar_ts_ns);
      } else if (const auto* d = e.get<RiskDecision>()) {
        out.risk_decision(e.ts_event_ns, e.runner, d->order, d->strategy, d->approved, d->reason_code, d->message);
      } else {
        out.event(e);
      }
    }
  }
  void release() noexcept override { ++released; }

  std::atomic<int> emitted{0};
  std::atomic<int> released{0};

 private:
  std::vector<Event> events_;
  std::size_t bytes_ = 0;
};

Event note(int i) { return make_event(i, 0, Note{"test", "event " + std::to_string(i), Value()}); }

std::vector<std::uint64_t> sequences_in(const std::string& bytes) {
  TempDir dir;
  write_file(dir.file("j"), bytes);
  CountingReporter rep;
  std::vector<std::uint64_t> out;
  for (const Event& e : read_all(dir.file("j"), rep)) out.push_back(e.sequence);
  return out;
}

WriterOptions small_queue(QueueFullPolicy policy) {
  WriterOptions o;
  o.queue_capacity = 4;
  o.block_size = 1;
  o.block_timeout_ms = 0;
  o.fsync = FsyncPolicy::None;
  o.queue_full = policy;
  return o;
}

}  // namespace

TEST_CASE("a market_data record encoded from its parts is the event's record", "[unit][journal]") {
  for (const Event& e : make_session({.bars = 50, .runners = 2})) {
    const auto* md = e.get<MarketData>();
    if (md == nullptr) continue;
    std::string direct;
    encode_market_data(e.sequence, e.ts_event_ns, e.runner, md->instrument, md->symbol, md->timeframe, md->bar,
                       direct);
    REQUIRE(direct == encode_event(e));
  }
  Event odd = make_event(-5, 3, MarketData{7, "BTC-USDT-PERP", "", {}});
  auto& bar = odd.get<MarketData>()->bar;
  bar.ts_ns = -5, bar.open = -0.0, bar.high = 1e300, bar.low = 5e-324, bar.close = 1.0, bar.volume = 0;
  bar.bid = 99.5, bar.ask = 100.25;  // bid_size/ask_size stay "no value"
  odd.sequence = 4'000'000'000ULL;
  std::string direct;
  encode_market_data(odd.sequence, odd.ts_event_ns, odd.runner, 7, "BTC-USDT-PERP", "", bar, direct);
  CHECK(direct == encode_event(odd));
}

TEST_CASE("deferred batches give the journal of the same events appended directly", "[unit][journal]") {
  TempDir dir;
  const auto events = make_session({.bars = 400, .runners = 2, .seed = 11, .indicators = false});
  for (StorageMode mode : {StorageMode::Full, StorageMode::Delta}) {
    for (WriterThreading threading : {WriterThreading::Background, WriterThreading::Inline}) {
      WriterOptions o = WriterOptions::deterministic(mode);
      o.threading = threading;
      o.queue_capacity = 64;  // smaller than some batches: those wait for an empty queue
      const std::string direct = dir.file("direct");
      const std::string deferred = dir.file("deferred");
      std::remove(direct.c_str());
      std::remove(deferred.c_str());
      write_journal(direct, events, o);

      auto w = JournalWriter::create(deferred, o);
      REQUIRE(w.ok());
      std::vector<std::shared_ptr<TestBatch>> batches;
      std::uint64_t expect_first = 1;
      for (std::size_t i = 0; i < events.size();) {
        const std::size_t n = std::min(events.size() - i, 1 + (i * 7) % 97);
        std::vector<Event> part(events.begin() + static_cast<std::ptrdiff_t>(i),
                                events.begin() + static_cast<std::ptrdiff_t>(i + n));
        for (Event& e : part) e.sequence = 0;  // the writer numbers them
        auto b = std::make_shared<TestBatch>(std::move(part));
        batches.push_back(b);
        auto first = (*w)->append_deferred(b);
        REQUIRE(first.ok());
        CHECK(*first == expect_first);
        expect_first += n;
        i += n;
      }
      REQUIRE((*w)->close().ok());
      for (const auto& b : batches) {
        CHECK(b->emitted == 1);
        CHECK(b->released == 1);
      }
      // Same events, same sequence numbers, same bytes.
      CHECK(read_file(deferred) == read_file(direct));
      CountingReporter rep;
      const auto back = read_all(deferred, rep);
      REQUIRE(back.size() == events.size());
      for (std::size_t i = 0; i < back.size(); ++i) REQUIRE(identical(back[i], events[i]));
      CHECK((*w)->stats().appended == events.size());
    }
  }
}

TEST_CASE("deferred records with texts past the in-block bound give the same journal", "[unit][journal]") {
  // Orders, transitions and risk decisions are encoded straight into the
  // block when their bound is at most 4,096 bytes, else through the scratch
  // record and add_record's size check: texts around and far past that bound
  // must give the bytes of the same events appended directly.
  TempDir dir;
  auto events = make_session({.bars = 300, .runners = 2, .seed = 19, .indicators = false});
  const std::size_t lengths[] = {3'900, 4'080, 4'096, 4'100, 5'000, 20'000};
  std::size_t k = 0, long_texts = 0;
  for (Event& e : events) {
    std::string* text = nullptr;
    if (auto* u = e.get<OrderUpdate>()) text = &u->message;
    if (auto* t = e.get<Transition>()) text = &t->reason;
    if (auto* d = e.get<RiskDecision>()) text = &d->message;
    if (text == nullptr) continue;
    *text = std::string(lengths[k % std::size(lengths)], static_cast<char>('a' + k % 26));
    ++k;
    ++long_texts;
  }
  REQUIRE(long_texts >= 12);
  for (StorageMode mode : {StorageMode::Full, StorageMode::Delta}) {
    WriterOptions o = WriterOptions::deterministic(mode);
    const std::string direct = dir.file("direct-long");
    const std::string deferred = dir.file("deferred-long");
    std::remove(direct.c_str());
    std::remove(deferred.c_str());
    write_journal(direct, events, o);
    auto w = JournalWriter::create(deferred, o);
    REQUIRE(w.ok());
    std::vector<Event> all = events;
    for (Event& e : all) e.sequence = 0;
    REQUIRE((*w)->append_deferred(std::make_shared<TestBatch>(std::move(all))).ok());
    REQUIRE((*w)->close().ok());
    CHECK(read_file(deferred) == read_file(direct));
    CountingReporter rep;
    const auto back = read_all(deferred, rep);
    REQUIRE(back.size() == events.size());
    for (std::size_t i = 0; i < back.size(); ++i) REQUIRE(identical(back[i], events[i]));
  }
}

TEST_CASE("DropOldest drops the front of a deferred batch event by event", "[unit][journal]") {
  auto file = std::make_unique<GatedFile>();
  GatedFile* gate = file.get();
  auto w = JournalWriter::create(std::move(file), small_queue(QueueFullPolicy::DropOldest));
  REQUIRE(w.ok());
  gate->close_gate();
  REQUIRE((*w)->append(note(1)).ok());
  gate->wait_until_stalled();
  // Six events into a queue of four: let in whole (the queue is empty), then
  // the next event pushes the batch's first three out.
  auto batch = std::make_shared<TestBatch>(std::vector<Event>{note(2), note(3), note(4), note(5), note(6), note(7)});
  REQUIRE(*(*w)->append_deferred(batch) == 2);
  REQUIRE(*(*w)->append(note(8)) == 8);
  CHECK((*w)->stats().dropped == 3);
  CHECK(batch->released == 0);
  // Three more push out 5, 6 and 7: the whole batch is gone, released unwritten.
  REQUIRE((*w)->append(note(9)).ok());
  REQUIRE((*w)->append(note(10)).ok());
  REQUIRE((*w)->append(note(11)).ok());
  CHECK((*w)->stats().dropped == 6);
  CHECK(batch->released == 1);  // every event of it dropped: released without being emitted
  CHECK(batch->emitted == 0);
  gate->open_gate();
  REQUIRE((*w)->close().ok());
  CHECK(sequences_in(gate->data()) == std::vector<std::uint64_t>{1, 8, 9, 10, 11});
}

TEST_CASE("a partly dropped deferred batch writes the rest", "[unit][journal]") {
  auto file = std::make_unique<GatedFile>();
  GatedFile* gate = file.get();
  auto w = JournalWriter::create(std::move(file), small_queue(QueueFullPolicy::DropOldest));
  REQUIRE(w.ok());
  gate->close_gate();
  REQUIRE((*w)->append(note(1)).ok());
  gate->wait_until_stalled();
  auto batch = std::make_shared<TestBatch>(std::vector<Event>{note(2), note(3), note(4), note(5)});
  REQUIRE(*(*w)->append_deferred(batch) == 2);
  REQUIRE((*w)->append(note(6)).ok());  // drops 2
  CHECK((*w)->stats().dropped == 1);
  gate->open_gate();
  REQUIRE((*w)->close().ok());
  CHECK(batch->emitted == 1);
  CHECK(batch->released == 1);
  CHECK(sequences_in(gate->data()) == std::vector<std::uint64_t>{1, 3, 4, 5, 6});
}

TEST_CASE("a refused or failed deferred batch is released and counted", "[unit][journal]") {
  SECTION("Fail: all or nothing") {
    auto file = std::make_unique<GatedFile>();
    GatedFile* gate = file.get();
    auto w = JournalWriter::create(std::move(file), small_queue(QueueFullPolicy::Fail));
    REQUIRE(w.ok());
    gate->close_gate();
    REQUIRE((*w)->append(note(1)).ok());
    gate->wait_until_stalled();
    auto fits = std::make_shared<TestBatch>(std::vector<Event>{note(2), note(3), note(4)});
    REQUIRE(*(*w)->append_deferred(fits) == 2);
    auto refused = std::make_shared<TestBatch>(std::vector<Event>{note(5), note(6)});
    auto r = (*w)->append_deferred(refused);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::limit);
    CHECK(refused->released == 1);
    CHECK(refused->emitted == 0);
    CHECK((*w)->stats().rejected == 2);
    gate->open_gate();
    REQUIRE((*w)->close().ok());
    CHECK(fits->released == 1);
    CHECK(sequences_in(gate->data()) == std::vector<std::uint64_t>{1, 2, 3, 4});
  }
  SECTION("after close") {
    TempDir dir;
    auto w = JournalWriter::create(dir.file("j"), WriterOptions::deterministic());
    REQUIRE(w.ok());
    REQUIRE((*w)->close().ok());
    auto late = std::make_shared<TestBatch>(std::vector<Event>{note(1)});
    CHECK_FALSE((*w)->append_deferred(late).ok());
    CHECK(late->released == 1);
  }
  SECTION("an empty batch is released, no sequence used") {
    TempDir dir;
    auto w = JournalWriter::create(dir.file("j"), WriterOptions::deterministic());
    REQUIRE(w.ok());
    auto empty = std::make_shared<TestBatch>(std::vector<Event>{});
    CHECK(*(*w)->append_deferred(empty) == 0);
    CHECK(empty->released == 1);
    CHECK(*(*w)->append(note(1)) == 1);
    REQUIRE((*w)->close().ok());
  }
  SECTION("sinks without a queue expand on the caller's thread") {
    MemoryEventSink sink;
    auto b = std::make_shared<TestBatch>(make_session({.bars = 5, .runners = 1}));
    const std::size_t n = b->size();
    CHECK(*sink.append_deferred(b) == 1);
    CHECK(b->released == 1);
    REQUIRE(sink.events().size() == n);
    const auto expect = make_session({.bars = 5, .runners = 1});
    for (std::size_t i = 0; i < n; ++i) CHECK(identical(sink.events()[i], expect[i]));
  }
}

// The deferred path's bars (Emitter::bar_at) cut bar runs as the direct path
// does: two runners' alternating quiet bars keep blocks at their size (before
// the fix such a block grew until the reader refused it) and give the direct
// journal's bytes.
TEST_CASE("deferred alternating bars of two runners keep blocks at their size", "[unit][journal]") {
  TempDir dir;
  std::vector<Event> events = alternating_bars(20'000);
  for (Event& e : events) e.sequence = 0;  // the writer numbers them
  WriterOptions o = WriterOptions::deterministic();
  o.block_size = 16 * 1024;
  const std::string direct = dir.file("direct");
  const std::string deferred = dir.file("deferred");
  write_journal(direct, events, o);
  auto w = JournalWriter::create(deferred, o);
  REQUIRE(w.ok());
  for (std::size_t i = 0; i < events.size(); i += 500) {
    std::vector<Event> part(events.begin() + static_cast<std::ptrdiff_t>(i),
                            events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), i + 500)));
    REQUIRE((*w)->append_deferred(std::make_shared<TestBatch>(std::move(part))).ok());
  }
  REQUIRE((*w)->close().ok());
  CHECK(read_file(deferred) == read_file(direct));
  NullReporter quiet;
  auto r = JournalReader::open(deferred, quiet);
  REQUIRE(r.ok());
  REQUIRE((*r)->blocks().size() > 10);
  for (const BlockInfo& b : (*r)->blocks()) CHECK(b.header.raw_size < o.block_size + 64);
  CHECK(read_all(deferred, quiet).size() == events.size());
}

// The queue is bounded by the bytes its deferred batches hold (a recorder's
// strategy contexts) as well as by events: a few batches holding big
// contexts must wait, drop or be refused under the queue-full policy though
// the event count has room (before, a recording of a ctx exporting 70 MB per
// state queued thousands of them and the process ran out of memory).
TEST_CASE("deferred batches are queued within queue_bytes under every queue-full policy", "[unit][journal]") {
  WriterOptions o = small_queue(QueueFullPolicy::Fail);  // 4 events: never more than 3 queued here
  o.queue_bytes = 100;
  auto batch = [](int i, std::size_t bytes) { return std::make_shared<TestBatch>(std::vector<Event>{note(i)}, bytes); };
  // A writer whose thread is stuck writing note 1 (the gate closed): what
  // follows stays queued until the gate opens.
  auto stalled_writer = [](const WriterOptions& opts) {
    auto file = std::make_unique<GatedFile>();
    GatedFile* gate = file.get();
    auto created = JournalWriter::create(std::move(file), opts);
    REQUIRE(created.ok());
    gate->close_gate();
    REQUIRE((*created)->append(note(1)).ok());
    gate->wait_until_stalled();
    return std::pair{gate, std::move(*created)};
  };
  SECTION("Fail") {
    auto [gate, w] = stalled_writer(o);
    auto a = batch(2, 60);
    REQUIRE(*w->append_deferred(a) == 2);
    auto b = batch(3, 60);
    auto r = w->append_deferred(b);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::limit);
    CHECK_THAT(r.error().message, Catch::Contains("100 bytes of contexts"));
    CHECK(b->released == 1);
    auto c = batch(3, 40);  // exactly fills it
    REQUIRE(*w->append_deferred(c) == 3);
    CHECK(w->stats().queue_bytes_high_water == 100);
    gate->open_gate();
    REQUIRE(w->close().ok());
    CHECK(sequences_in(gate->data()) == std::vector<std::uint64_t>{1, 2, 3});
  }
  SECTION("DropOldest") {
    o.queue_full = QueueFullPolicy::DropOldest;
    auto [gate, w] = stalled_writer(o);
    auto a = batch(2, 60);
    REQUIRE(w->append_deferred(a).ok());
    auto b = batch(3, 60);
    REQUIRE(w->append_deferred(b).ok());  // a is dropped for it
    CHECK(w->stats().dropped == 1);
    CHECK(a->released == 1);
    CHECK(a->emitted == 0);
    CHECK(w->stats().queue_bytes_high_water == 60);
    gate->open_gate();
    REQUIRE(w->close().ok());
    CHECK(sequences_in(gate->data()) == std::vector<std::uint64_t>{1, 3});
  }
  SECTION("Block") {
    o.queue_full = QueueFullPolicy::Block;
    auto [gate, w] = stalled_writer(o);
    REQUIRE(w->append_deferred(batch(2, 60)).ok());
    std::atomic<bool> done{false};
    bool queued = false;  // (no Catch assertion on another thread)
    std::thread producer([&] {
      queued = w->append_deferred(batch(3, 60)).ok();
      done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK_FALSE(done.load());  // waits for room in bytes, not events
    gate->open_gate();
    producer.join();
    CHECK(queued);
    CHECK(w->stats().blocked_appends == 1);
    CHECK(w->stats().queue_bytes_high_water == 60);
    // A batch bigger than queue_bytes is let into an empty queue.
    REQUIRE(w->flush().ok());
    REQUIRE(w->append_deferred(batch(4, 500)).ok());
    REQUIRE(w->close().ok());
    CHECK(sequences_in(gate->data()) == std::vector<std::uint64_t>{1, 2, 3, 4});
  }
}

TEST_CASE("a quarter of queue_bytes queued wakes the writer before its event threshold", "[unit][journal]") {
  // No block timeout and a wake threshold of 250 events: only the bytes can
  // wake the writer thread for one event before flush() or close().
  TempDir dir;
  WriterOptions o;
  o.queue_capacity = 1000;
  o.queue_bytes = 1000;
  o.block_size = 1;
  o.block_timeout_ms = 0;
  o.fsync = FsyncPolicy::None;
  auto w = JournalWriter::create(dir.file("j"), o);
  REQUIRE(w.ok());
  auto small = std::make_shared<TestBatch>(std::vector<Event>{note(1)}, 249);
  REQUIRE((*w)->append_deferred(small).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(small->emitted == 0);  // below both thresholds: still queued
  auto big = std::make_shared<TestBatch>(std::vector<Event>{note(2)}, 1);
  REQUIRE((*w)->append_deferred(big).ok());  // 250 bytes queued
  for (int i = 0; i < 400 && big->emitted == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(big->emitted == 1);
  REQUIRE((*w)->close().ok());
}
