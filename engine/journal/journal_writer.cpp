#include "engine/journal/journal_writer.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/core/clock.hpp"
#include "engine/journal/bar_run.hpp"
#include "engine/journal/block_codec.hpp"
#include "engine/journal/event_codec.hpp"
#include "engine/journal/positional_state.hpp"
#include "engine/journal/state_delta.hpp"

namespace te::journal {

WriterOptions WriterOptions::deterministic(StorageMode mode) {
  WriterOptions o;
  o.storage_mode = mode;
  o.block_timeout_ms = 0;
  o.fsync = FsyncPolicy::None;
  o.threading = WriterThreading::Inline;
  return o;
}

std::string WriterOptions::validate() const {
  std::string out;
  auto bad = [&out](const std::string& what) { out += (out.empty() ? "" : "\n") + what; };
  if (snapshot_interval < 1) bad("snapshot_interval must be >= 1, was 0");
  if (block_size < 1 || block_size > kMaxBlockRawSize / 2) {
    bad("block_size must be between 1 and " + std::to_string(kMaxBlockRawSize / 2) + ", was " +
        std::to_string(block_size));
  }
  if (queue_capacity < 1) bad("queue_capacity must be >= 1, was 0");
  if (queue_bytes < 1) bad("queue_bytes must be >= 1, was 0");
  if (write_stretch != 0 && (fsync != FsyncPolicy::None || block_timeout_ms != 0)) {
    bad("write_stretch (" + std::to_string(write_stretch) +
        ") needs fsync = none and block_timeout_ms = 0: held blocks would not reach the file when those promise");
  }
  if (acceleration < kMinAcceleration || acceleration > kMaxAcceleration) {
    bad("acceleration must be between " + std::to_string(kMinAcceleration) + " and " +
        std::to_string(kMaxAcceleration) + ", was " + std::to_string(acceleration));
  }
  if (fsync == FsyncPolicy::Interval && fsync_interval_ms < 1) bad("fsync_interval_ms must be >= 1, was 0");
  if (writer_info.size() > kWriterInfoSize) {
    bad("writer_info must be at most " + std::to_string(kWriterInfoSize) + " bytes, was " +
        std::to_string(writer_info.size()));
  }
  return out;
}

// Threading: fields under "shared" are guarded by mu; fields under "writer" are
// touched only by the thread doing the I/O (the writer thread, or in Inline mode
// the appending thread while it holds mu).
struct JournalWriter::Impl {
  explicit Impl(const WriterOptions& o, std::unique_ptr<WritableFile> f)
      : opts(o),
        positional_(o.bar_runs && o.positional_states),
        wake_threshold(std::clamp<std::size_t>(o.queue_capacity / 4, 1,
                                               o.write_stretch != 0 ? kMaxWakeThreshold : kMaxLiveWakeThreshold)),
        file(std::move(f)),
        delta(o.snapshot_interval),
        stretch(o.write_stretch) {
    block.set_runs_apart(o.bar_runs && o.positional_states && o.runs_apart);
  }

  const WriterOptions& opts;
  // positional(), read once: asked three times per state, through opts' reference.
  const bool positional_;
  // Producers wake a sleeping writer only once this many events are queued (or
  // on the first event when blocks have a timeout): a futex wake per append
  // would cost more than the append itself. At most kMaxWakeThreshold (a
  // quarter of the queue below that): 4096 events, four of a recorded
  // backtest's batches per wake-up instead of one at 512; each wake-up is a
  // futex call on each side and a writer that comes back to caches other
  // processes used meanwhile. Writer thread CPU per bar, 24 rounds each
  // alternated with 512 (docs/performance.md, session 21): delta 64.9 ->
  // 62.4 ns, full 70.0 -> 68.6.
  // A writer whose file may be read while it runs (no write_stretch: a live
  // `run`, whose events must reach the file even with block_timeout_ms = 0,
  // where only the threshold wakes the writer) keeps the earlier 512.
  static constexpr std::size_t kMaxWakeThreshold = 4096;
  static constexpr std::size_t kMaxLiveWakeThreshold = 512;
  const std::size_t wake_threshold;

  // shared
  mutable std::mutex mu;
  std::condition_variable work_cv;   // the writer thread waits for events, flushes, stop
  std::condition_variable space_cv;  // producers wait for room (Block)
  std::condition_variable done_cv;   // flush() waits for its ticket
  // Events waiting for the writer thread, as the chunks producers handed over:
  // append_batch() moves the caller's whole vector in and hands back a spare
  // one, so the trading thread never copies events or grows a vector here (the
  // per-event moves and the page faults of a growing queue cost more than the
  // rest of recording). The writer takes every chunk at once, processes them,
  // and returns the emptied vectors, capacity kept, to `spare`. DropOldest
  // drops from the front chunk (advancing its head).
  // A chunk is either events (built by the producer) or a deferred batch of
  // `count` events expanded by the writer thread (append_deferred), whose
  // sequence numbers start at `first`; `head` counts dropped events at its front.
  struct Chunk {
    std::vector<Event> events;
    std::size_t head = 0;
    std::shared_ptr<DeferredEvents> deferred;
    std::size_t count = 0;
    std::uint64_t first = 0;
    std::size_t bytes = 0;  // deferred->held_bytes()
    std::size_t size() const noexcept { return deferred ? count : events.size(); }
    bool takes_events() const noexcept { return !deferred && events.size() < 4096; }
  };
  std::vector<Chunk> queue;
  std::size_t queued_count = 0;
  std::size_t queued_bytes = 0;  // held_bytes of the queued deferred batches
  std::vector<std::vector<Event>> spare;
  static constexpr std::size_t kMaxSpare = 8;
  std::size_t queued() const noexcept { return queued_count; }
  // Enough is queued for the writer thread to take it: wake_threshold events,
  // or a quarter of queue_bytes (a producer of big contexts would otherwise
  // wait for room before the writer looked). Requires mu.
  bool wake_due() const noexcept { return queued() >= wake_threshold || queued_bytes >= opts.queue_bytes / 4; }

  std::vector<Event> take_spare() {
    if (spare.empty()) return {};
    std::vector<Event> v = std::move(spare.back());
    spare.pop_back();
    return v;
  }
  void recycle(std::vector<Event>&& v) {  // requires mu
    v.clear();
    if (spare.size() < kMaxSpare && v.capacity() > 0) spare.push_back(std::move(v));
  }
  // A single event (append): into the last chunk when it is small, else a new one.
  void enqueue(Event&& e) {
    if (queue.empty() || !queue.back().takes_events()) queue.push_back(Chunk{take_spare(), 0, {}, 0, 0});
    queue.back().events.push_back(std::move(e));
    ++queued_count;
  }
  void drop_oldest() {
    Chunk& c = queue.front();
    if (c.deferred) {
      ++c.head;  // the writer thread skips it after expanding the batch
    } else {
      c.events[c.head++] = Event();  // release what the dropped event held
    }
    --queued_count;
    if (c.head == c.size()) {
      queued_bytes -= c.bytes;
      if (c.deferred) c.deferred->release();
      recycle(std::move(c.events));
      queue.erase(queue.begin());
    }
  }
  std::int64_t first_queued_ns = 0;  // when the oldest queued event arrived (block_timeout_ms > 0)
  std::uint64_t next_sequence = 1;
  std::uint64_t flush_requested = 0;
  std::uint64_t flush_done = 0;
  bool writer_waiting = false;
  // Producers blocked for room (Block policy). The writer must not go back to
  // sleep below wake_threshold while one waits: a batch bigger than the room
  // left would otherwise wait for a writer that waits for more events.
  int producers_waiting = 0;
  bool stopping = false;
  bool stopped = false;  // the writer thread has closed the file and is leaving
  bool closed = false;
  Status error;         // first failure, sticky
  Status close_status;  // what close() returned
  WriterStats stats;

  // writer
  std::unique_ptr<WritableFile> file;
  BlockBuilder block;
  MarketStreams streams;  // runners' market-data streams named in the current block
  StateDeltaEncoder delta;
  // Runners whose states come in parts (process_state): their delta chain and
  // the encoded bytes of their last ctx and orders.
  struct PartsTrack {
    StatePartsBase base;
    std::uint64_t last_sequence = 0;
    std::uint64_t snapshot_sequence = 0;
    std::uint32_t since_snapshot = 0;
  };
  std::map<model::RunnerId, PartsTrack> parts_tracks;
  // The runner's track, the last one asked for without a map search (a
  // recorded backtest has one runner; map nodes stay where they are).
  PartsTrack* last_track = nullptr;
  model::RunnerId last_track_runner = 0;
  PartsTrack& track(model::RunnerId runner) {
    if (last_track == nullptr || last_track_runner != runner) {
      last_track = &parts_tracks[runner];
      last_track_runner = runner;
    }
    return *last_track;
  }
  StateParts tree_parts;  // a RunnerState event's tree as parts (process)
  // The bar run being collected (bar_runs): its bars are the block's next
  // events; it goes into the block as one record before anything else does.
  BarRun bars;
  int run_hints[5] = {0, 0, 0, 0, 0};  // encode_bar_run's exponent search starts
  std::string record;
  std::int64_t block_started_ns = 0;  // when the block's first record was queued
  std::int64_t batch_queued_ns = 0;   // when the current batch's first event was queued
  std::int64_t last_sync_ns = 0;
  bool dirty = false;  // blocks written since the last sync
  std::uint64_t file_at = 0;       // bytes handed to the file (its header included)
  std::uint64_t writeback_at = 0;  // FsyncPolicy::None: handed to start_writeback() up to here
  static constexpr std::size_t kWritebackBytes = 1 << 20;
  // Blocks held back and handed to the file in whole opts.write_stretch
  // pieces of it (hold()), when the options say nothing may look at the file
  // before flush()/close() (WriterOptions::write_stretch). Why: the kernel's
  // share of the writer thread. A write() per block (≈ 28 KB in a recorded
  // backtest, ending anywhere in a page) made the page cache take it page by
  // page, and the page a block ended in again with the next block, perhaps
  // after start_writeback() had put it under writeback; 256 KiB pieces at
  // 256 KiB offsets ext4 takes as large folios. A stand-alone loop over such
  // sizes (15 MiB of 20-36 KB blocks, start_writeback every MiB): 6.9-7.6 ns
  // of thread CPU per 14.8 bytes (a bar of sma_cross delta) as blocks,
  // 2.7-2.9 in 256 KiB pieces (docs/performance.md, session 21).
  const std::size_t stretch;
  std::string held;  // the file's bytes from file_at on
  bool file_failed = false;  // an append of held bytes failed: none is tried again
  Status hold(std::string_view out) {
    held.append(out);
    const std::uint64_t end = file_at + held.size();
    const std::uint64_t cut = end / stretch * stretch;
    if (cut <= file_at) return {};
    const auto n = static_cast<std::size_t>(cut - file_at);
    if (Status s = file->append(std::string_view(held).substr(0, n)); !s) {
      file_failed = true;
      return s;
    }
    held.erase(0, n);  // (what is left is part of the last block)
    file_at = cut;
    return {};
  }
  // The held bytes to the file: by flush()/close(), and by the close after
  // an error that was not the file's (a record over the limit, a bad event):
  // held holds finished blocks only, which a writer without the stretch had
  // already written, so the journal keeps them as it would have.
  Status write_held() {
    if (held.empty() || file_failed) return {};
    if (Status s = file->append(held); !s) {
      file_failed = true;
      return s;
    }
    file_at += held.size();
    held.clear();
    return {};
  }
  WriterStats wstats;  // the writer-owned counters, published under mu
  std::thread thread;

  // ---- writer side ----

  Status write_block() {
    flush_run();
    const std::uint32_t n = block.record_count();
    const std::string_view out = block.finish(opts.compress, opts.acceleration);
    streams.clear();  // the next block names its runners' streams again
    if (stretch != 0) {
      TE_TRY(hold(out));
    } else {
      TE_TRY(file->append(out));
      file_at += out.size();
    }
    wstats.written += n;
    wstats.blocks += 1;
    wstats.file_bytes += out.size();
    dirty = true;
    if (opts.fsync == FsyncPolicy::None) {
      // Nothing waits for the disk until flush()/close(), which then wait
      // only for the last stretch: the rest is already on its way (a 7 MB
      // journal's fdatasync at close took 15-30 ms on the test VM).
      if (file_at - writeback_at >= kWritebackBytes) {
        file->start_writeback();
        writeback_at = file_at;
      }
      return {};
    }
    if (opts.fsync == FsyncPolicy::EveryBlock) return sync();
    if (opts.fsync == FsyncPolicy::Interval && monotonic_ns() - last_sync_ns >= ms(opts.fsync_interval_ms)) {
      return sync();
    }
    return {};
  }

  Status sync() {
    TE_TRY(file->sync());
    ++wstats.syncs;
    dirty = false;
    last_sync_ns = monotonic_ns();
    return {};
  }

  static std::int64_t ms(std::uint32_t v) { return static_cast<std::int64_t>(v) * 1'000'000; }

  // A market_data record into `record`: compact when this block already holds
  // a full one of the runner's stream (format 2, docs/journal-format.md).
  void encode_bar(std::uint64_t sequence, std::int64_t ts, model::RunnerId runner, model::InstrumentId instrument,
                  std::string_view symbol, std::string_view timeframe, const model::Bar& bar) {
    record.clear();
    if (can_be_compact(streams, ts, runner, instrument, symbol, timeframe, bar)) {
      encode_market_data_compact(sequence, ts, runner, bar, record);
    } else {
      encode_market_data(sequence, ts, runner, instrument, symbol, timeframe, bar, record);
      streams.set(runner, instrument, symbol, timeframe);
    }
  }

  // The bar run (if any) into the block as one record.
  // (The test inline: every record calls it, and mostly no run is pending
  // after the first; the call cost ≈ 3.7 instructions a bar.)
  [[gnu::always_inline]] void flush_run() {
    if (bars.count != 0) flush_pending_run();
  }
  void flush_pending_run() {
    if (bars.count == 1) {
      // A run of one bar is its compact record (a bar_run record would be
      // longer: interleaved runners, a live runner's single bars). Format 6
      // as first made wrote it as a one-bar run stored apart from LZ4: 3.5
      // writer instructions a bar fewer, every journal larger on disk
      // (docs/performance.md); readers still read one.
      char* p = block.begin_small(kMaxCompactMarketData);
      model::Bar bar;
      bar.ts_ns = bars.ts[0];
      bar.open = bars.col[0][0];
      bar.high = bars.col[1][0];
      bar.low = bars.col[2][0];
      bar.close = bars.col[3][0];
      bar.volume = bars.col[4][0];
      const std::size_t n = encode_market_data_compact(bars.first_sequence, bars.ts[0], bars.runner, bar, p);
      block.end_small(n, bars.first_sequence, bars.ts[0]);
      wstats.raw_bytes += n + 1;
      bars.count = 0;
      return;
    }
    // Encoded where the block keeps it (not in a scratch buffer then copied).
    TsRange range;
    const std::size_t n = encode_bar_run(bars, run_hints, block.begin_run(kMaxBarRunRecord), runs_apart(), &range);
    block.end_run(n, bars.first_sequence, bars.count, range.lo, range.hi);
    wstats.raw_bytes += n + varint32_size(static_cast<std::uint32_t>(n));
    bars.count = 0;
  }

  // Before a market_data event is placed: a run this bar does not extend (its
  // runner differs, or events came between) goes into the block, and a block
  // that is then full goes to the file, before the caller decides whether the
  // bar can be compact (a new block names its runners' streams again). Format
  // 2 checked the size after every bar; without this, runners whose bars
  // alternate with nothing else between them cut each other's runs without a
  // size check, and the block grew past what a reader accepts.
  Status cut_run_before(std::uint64_t sequence, model::RunnerId runner) {
    if (bars.count == 0 || (runner == bars.runner && sequence == bars.first_sequence + bars.count)) return {};
    flush_run();
    if (block.raw_size() >= opts.block_size) return write_block();
    return {};
  }

  // A market_data event that could be compact (the caller checked, after
  // cut_run_before), as the next bar of the run, or of a new one when the last
  // run's runner differs or events came between.
  Status add_run_bar(std::uint64_t sequence, std::int64_t ts, model::RunnerId runner, const model::Bar& bar) {
    if (bars.count > 0 && (runner != bars.runner || sequence != bars.first_sequence + bars.count)) flush_run();
    if (bars.count == 0) {
      bars.runner = runner;
      bars.first_sequence = sequence;
    }
    bars.add(ts, bar);
    if (bars.count == kMaxBarRun) return end_full_run();
    return {};
  }
  // A run of kMaxBarRun bars goes into the block; the block to the file when full.
  Status end_full_run() {
    flush_run();
    if (block.raw_size() >= opts.block_size) return write_block();
    return {};
  }

  // A compact market_data event straight into the block (the caller checked
  // that it can be compact): into the bar run, or as a compact record.
  Status add_compact_bar(std::uint64_t sequence, std::int64_t ts, model::RunnerId runner, const model::Bar& bar) {
    if (opts.bar_runs) return add_run_bar(sequence, ts, runner, bar);
    if (block.empty()) block_started_ns = batch_queued_ns;
    char* p = block.begin_small(kMaxCompactMarketData);
    const std::size_t n = encode_market_data_compact(sequence, ts, runner, bar, p);
    block.end_small(n, sequence, ts);
    wstats.raw_bytes += n + 1;
    if (block.raw_size() >= opts.block_size) return write_block();
    return {};
  }

  Status process(Event& e) {
    record.clear();
    if (const auto* md = std::get_if<MarketData>(&e.body)) {
      if (opts.bar_runs) TE_TRY(cut_run_before(e.sequence, e.runner));
      if (opts.bar_runs &&
          can_be_compact(streams, e.ts_event_ns, e.runner, md->instrument, md->symbol, md->timeframe, md->bar)) {
        return add_run_bar(e.sequence, e.ts_event_ns, e.runner, md->bar);
      }
      encode_bar(e.sequence, e.ts_event_ns, e.runner, md->instrument, md->symbol, md->timeframe, md->bar);
      return add_record(e.sequence, e.ts_event_ns);
    }
    if (auto* s = std::get_if<RunnerState>(&e.body)) {
      // A state of the recorder's shape is written as its parts would be:
      // the same event gives the same record whichever way it came.
      if (positional() && s->encoding == StateEncoding::Full && state_parts_from_context(s->context, tree_parts)) {
        tree_parts.phase = s->phase;
        tree_parts.state = s->state;
        return process_state(e.sequence, e.ts_event_ns, e.runner, tree_parts, s->indicators);
      }
      if (!opts.include_indicators) s->indicators = Value();
      if (last_track_runner == e.runner) last_track = nullptr;
      parts_tracks.erase(e.runner);  // one encoder per runner chain
      bool full = true;
      if (opts.storage_mode == StorageMode::Delta) {
        full = delta.encode(e, record);
      } else {
        encode_event(e, record);
      }
      ++(full ? wstats.state_full : wstats.state_delta);
    } else {
      encode_event(e, record);
    }
    return add_record(e.sequence, e.ts_event_ns);
  }

  // Format 4 (positional runner states) or the map form of format 3 and 2.
  bool positional() const noexcept { return positional_; }
  bool runs_apart() const noexcept { return positional() && opts.runs_apart; }
  bool format6() const noexcept { return runs_apart() && opts.format6; }
  void encode_full_state(std::uint64_t sequence, std::int64_t ts, model::RunnerId runner, const StateParts& p,
                         const Value& indicators, StatePartsBase& cache, RecordOut& o) {
    if (positional()) {
      encode_state_positional(sequence, ts, runner, p, indicators, cache, o);
    } else {
      encode_state_parts(sequence, ts, runner, p, indicators, cache, record);
    }
  }

  // A runner_state in parts (a JournalRecorder's): the same record as
  // process() of the event it stands for, written without its value tree.
  Status process_state(std::uint64_t sequence, std::int64_t ts, model::RunnerId runner, const StateParts& p,
                       Value& indicators) {
    if (write_state(sequence, ts, runner, p, indicators)) return {};
    return std::move(state_error);
  }
  // process_state's work, true when it went well, else its error in
  // `state_error`: the Status it returned (a Result<void> of 48 bytes with a
  // string) was built, checked and destroyed across the call for every state
  // of a recorder (Emitter::runner_state), ≈ 15 instructions. Inline there:
  // the call and its own frame were ≈ 13 more a state.
  Status state_error;
  [[gnu::always_inline]] bool write_state(std::uint64_t sequence, std::int64_t ts, model::RunnerId runner, const StateParts& p,
                   Value& indicators) {
    // (nil mostly: a variant reset and move per state saved)
    if (!opts.include_indicators && !indicators.is_nil()) indicators = Value();
    record.clear();
    // A positional record is written straight into the block (BlockOut), as
    // the direct records are; the map form (format 3) into `record`.
    if (positional()) flush_run();  // the run's bars come before this record
    BlockOut o(*this);
    PartsTrack& t = track(runner);
    bool full = true;
    if (opts.storage_mode == StorageMode::Delta) {
      delta.forget(runner);  // one encoder per runner chain
      full = !t.base.valid || opts.snapshot_interval <= 1 || t.since_snapshot + 1 >= opts.snapshot_interval ||
             !(positional() ? encode_state_positional_delta_if_patch(sequence, ts, runner, p, indicators, t.base,
                                                                      t.last_sequence, t.snapshot_sequence, o,
                                                                      format6())
                            : encode_state_parts_delta_if_patch(sequence, ts, runner, p, indicators, t.base,
                                                                t.last_sequence, t.snapshot_sequence, record));
      if (full) {
        encode_full_state(sequence, ts, runner, p, indicators, t.base, o);
        t.snapshot_sequence = sequence;
        t.since_snapshot = 0;
      } else {
        ++t.since_snapshot;
      }
      if (positional()) {
        keep_positional_base(t.base, p);  // raw orders kept as their fields, not their value
      } else {
        t.base.parts = p;  // shared pointers and numbers: nothing is copied deep
        own_orders(t.base.parts);  // a producer's orders are its own only while it hands them over
      }
      if (!(indicators.is_nil() && t.base.indicators.is_nil())) t.base.indicators = indicators;
      t.base.valid = true;
      t.last_sequence = sequence;
    } else {
      encode_full_state(sequence, ts, runner, p, indicators, t.base, o);
    }
    ++(full ? wstats.state_full : wstats.state_delta);
    Status r = end_block_out(o, sequence, ts);
    if (r) return true;
    state_error = std::move(r);
    return false;
  }

  // An order_update, fill or risk_decision from its parts (a JournalRecorder's):
  // the same record as process() of the event, without building it.
  // Encoded straight into the block (BlockBuilder::begin_record), or, for a
  // record that may be longer than kInPlaceMax (a long message), into
  // `record` and through add_record's size check.
  template <class Encode>
  Status process_direct(std::uint64_t sequence, std::int64_t ts, Encode&& encode) {
    flush_run();  // the run's bars come before this record
    BlockOut o(*this);
    encode(o);
    return end_block_out(o, sequence, ts);
  }
  static constexpr std::size_t kInPlaceMax = 4096;
  struct BlockOut final : RecordOut {
    explicit BlockOut(Impl& impl) : im(impl) {}
    Impl& im;
    bool in_block = false;
    std::size_t n = 0;
    char* room(std::size_t most) override {
      if (most <= kInPlaceMax) [[likely]] {
        in_block = true;
        return im.block.begin_record(most);
      }
      return room_in_record(most);
    }
    // (Out of line: a record past kInPlaceMax is rare, and its resize() call
    // made room() save and restore registers for every record.)
    [[gnu::noinline]] char* room_in_record(std::size_t most) {
      im.record.resize(most);
      return im.record.data();
    }
    char* grow(std::size_t used, std::size_t most) override {
      if (in_block && most <= kInPlaceMax) return im.block.grow_record(most);
      if (in_block) {
        // Longer than records written in place: on in `record`, with the
        // bytes so far, through add_record's size check.
        im.record.assign(im.block.grow_record(used), used);
        in_block = false;
      }
      im.record.resize(most);
      return im.record.data();
    }
    void written(std::size_t k) override {
      n = k;
      if (!in_block) im.record.resize(k);
    }
  };

  // The record `o` took: placed in the block (the block to the file when
  // full), or, when it went to `record` (the map form, or longer than
  // kInPlaceMax), through add_record's size check.
  // (Inline: out of line it cost a call and a frame per record, ≈ 10 per bar.)
  [[gnu::always_inline]] Status end_block_out(const BlockOut& o, std::uint64_t sequence, std::int64_t ts) {
    if (!o.in_block) return add_record(sequence, ts);
    if (block.empty()) block_started_ns = batch_queued_ns;
    block.end_record(o.n, sequence, ts);
    wstats.raw_bytes += o.n + varint32_size(static_cast<std::uint32_t>(o.n));
    if (block.raw_size() >= opts.block_size) return write_block();
    return {};
  }

  // `record` (just encoded) into the block; the block to the file when full.
  Status add_record(std::uint64_t sequence, std::int64_t ts_event_ns) {
    if (record.size() > kMaxRecordSize) {
      return make_error(Errc::limit, "journal record at sequence " + std::to_string(sequence) + " is " +
                                         std::to_string(record.size()) + " bytes, over the " +
                                         std::to_string(kMaxRecordSize) + "-byte limit");
    }
    flush_run();  // the run's bars come before this record
    if (block.empty()) block_started_ns = batch_queued_ns;
    wstats.raw_bytes += record.size() + varint32_size(static_cast<std::uint32_t>(record.size()));
    block.add(record, sequence, ts_event_ns);
    if (block.raw_size() >= opts.block_size) return write_block();
    return {};
  }

  // Writes a deferred batch's events as it emits them, numbered from
  // `first`, skipping the `head` events DropOldest dropped. After the first
  // error the rest are counted as lost.
  struct Emitter final : DeferredConsumer {
    Emitter(Impl& impl, std::uint64_t first_seq, std::size_t dropped) : im(impl), first(first_seq), head(dropped) {}
    Impl& im;
    std::uint64_t first;
    std::size_t head;
    std::size_t index = 0;
    std::uint64_t lost = 0;
    Status s;
    // A batch's bars name one stream through the same strings: once the
    // block's streams matched them, pointers and the streams' version say
    // they still do, without comparing the strings again.
    const char* known_symbol = nullptr;
    const char* known_timeframe = nullptr;
    std::size_t known_sizes = 0;
    model::RunnerId known_runner = kNoRunner;
    model::InstrumentId known_instrument = model::kNoInstrument;
    std::uint64_t known_version = ~std::uint64_t{0};

    // An event's outcome: kept only when it is an error (moving an ok Status
    // over `s` moved its empty message too, ~25 instructions a bar).
    void take(Status r) {
      if (r) return;
      s = std::move(r);
      ++lost;
    }

    void event(Event& e) override {
      const std::size_t k = index++;
      if (k < head) return;
      if (!s) {
        ++lost;
        return;
      }
      e.sequence = first + k;
      take(im.process(e));
    }
    void runner_state(std::int64_t ts, model::RunnerId runner, const StateParts& p, Value& indicators) override {
      const std::size_t k = index++;
      if (k < head) return;
      if (!s) {
        ++lost;
        return;
      }
      if (!im.write_state(first + k, ts, runner, p, indicators)) take(std::move(im.state_error));
    }
    // The next event's sequence number, or 0 when it is not written (dropped
    // by DropOldest, or after an error: counted as lost).
    std::uint64_t next_sequence() {
      const std::size_t k = index++;
      if (k < head) return 0;
      if (!s) {
        ++lost;
        return 0;
      }
      return first + k;
    }
    void order_update(std::int64_t ts, model::RunnerId runner, const model::Order& order,
                      std::string_view reason_code, std::string_view message) override {
      const std::uint64_t seq = next_sequence();
      if (seq == 0) return;
      take(im.process_direct(seq, ts, [&](RecordOut& out) {
        encode_order_update(seq, ts, runner, order, reason_code, message, out);
      }));
    }
    void fill(std::int64_t ts, model::RunnerId runner, const model::Fill& f) override {
      const std::uint64_t seq = next_sequence();
      if (seq == 0) return;
      take(im.process_direct(seq, ts, [&](RecordOut& out) { encode_fill(seq, ts, runner, f, out); }));
    }
    void risk_decision(std::int64_t ts, model::RunnerId runner, std::uint64_t order, model::StrategyId strategy,
                       bool approved, std::string_view reason_code, std::string_view message) override {
      const std::uint64_t seq = next_sequence();
      if (seq == 0) return;
      take(im.process_direct(seq, ts, [&](RecordOut& out) {
        encode_risk_decision(seq, ts, runner, order, strategy, approved, reason_code, message, out);
      }));
    }
    void transition(std::int64_t ts, model::RunnerId runner, std::uint8_t from, std::uint8_t to,
                    std::string_view trigger, std::string_view reason, std::int64_t bar_ts_ns) override {
      const std::uint64_t seq = next_sequence();
      if (seq == 0) return;
      take(im.process_direct(seq, ts, [&](RecordOut& out) {
        encode_transition(seq, ts, runner, from, to, trigger, reason, bar_ts_ns, out);
      }));
    }
    void strategy_action(std::int64_t ts, model::RunnerId runner, model::StrategyId strategy, std::string_view kind,
                         const ActionParam* params, std::size_t n_params, std::string_view reason) override {
      const std::uint64_t seq = next_sequence();
      if (seq == 0) return;
      take(im.process_direct(seq, ts, [&](RecordOut& out) {
        encode_strategy_action(seq, ts, runner, strategy, kind, params, n_params, reason, out);
      }));
    }
    void market_data(std::int64_t ts, model::RunnerId runner, model::InstrumentId instrument,
                     std::string_view symbol, std::string_view timeframe, const model::Bar& bar) override {
      const std::size_t k = index++;
      if (k < head) return;
      if (!s) {
        ++lost;
        return;
      }
      bar_at(first + k, ts, runner, instrument, symbol, timeframe, bar);
    }
    void market_data_columns(model::RunnerId runner, model::InstrumentId instrument, std::string_view symbol,
                             std::string_view timeframe, const model::BarSeries::Columns& columns, std::size_t from,
                             std::size_t count) override {
      // One call for a run of a series' bars (RecorderBatch), not one per
      // bar; while they extend the bar run they are copied into it column by
      // column.
      const bool quotes = columns.bid != nullptr || columns.ask != nullptr || columns.bid_size != nullptr ||
                          columns.ask_size != nullptr;
      if (!quotes && !knows(runner, instrument, symbol, timeframe)) learn_stream(runner, instrument, symbol, timeframe);
      std::size_t i = 0;
      while (i < count) {
        const std::size_t k = index;
        if (k >= head && s && !quotes && (extends_run(first + k, runner, instrument, symbol, timeframe) ||
                                          starts_run(runner, instrument, symbol, timeframe))) {
          BarRun& r = im.bars;
          if (r.count == 0) {
            r.runner = runner;
            r.first_sequence = first + k;
          }
          const std::size_t n = std::min<std::size_t>(count - i, kMaxBarRun - r.count);
          const std::size_t at = from + i;
          std::copy_n(columns.ts_ns + at, n, r.ts + r.count);
          std::copy_n(columns.open + at, n, r.col[0] + r.count);
          std::copy_n(columns.high + at, n, r.col[1] + r.count);
          std::copy_n(columns.low + at, n, r.col[2] + r.count);
          std::copy_n(columns.close + at, n, r.col[3] + r.count);
          std::copy_n(columns.volume + at, n, r.col[4] + r.count);
          r.count += static_cast<std::uint32_t>(n);
          index += n;
          i += n;
          if (r.count == kMaxBarRun) take(im.end_full_run());
          continue;
        }
        ++index;
        ++i;
        if (k < head) continue;
        if (!s) {
          ++lost;
          continue;
        }
        const model::Bar bar = columns.at(from + i - 1);
        bar_at(first + k, bar.ts_ns, runner, instrument, symbol, timeframe, bar);
      }
    }
    // The stream last remember()ed, which the block still names (the streams
    // did not change since): a bar of it can be compact.
    bool knows(model::RunnerId runner, model::InstrumentId instrument, std::string_view symbol,
               std::string_view timeframe) const noexcept {
      return im.streams.version() == known_version && symbol.data() == known_symbol &&
             timeframe.data() == known_timeframe && (symbol.size() << 16 | timeframe.size()) == known_sizes &&
             runner == known_runner && instrument == known_instrument;
    }
    // A batch's first columns: when the block already names this stream (the
    // test can_be_compact makes of a bar without quotes at its own time, which
    // every bar of these columns is), it is known from here, so the first bar
    // can start the writer's run (starts_run) without bar_at's general path
    // (≈ 100 instructions a batch: a batch's bars mostly follow the records
    // of the batch before, so its first bar starts a run).
    void learn_stream(model::RunnerId runner, model::InstrumentId instrument, std::string_view symbol,
                      std::string_view timeframe) noexcept {
      const MarketStreams::Stream* st = im.streams.find(runner);
      if (st == nullptr || st->instrument != instrument || st->symbol != symbol || st->timeframe != timeframe) return;
      remember(runner, instrument, symbol, timeframe);
    }
    // This stream is the one the block names (knows() holds until the
    // streams change).
    void remember(model::RunnerId runner, model::InstrumentId instrument, std::string_view symbol,
                  std::string_view timeframe) noexcept {
      known_symbol = symbol.data();
      known_timeframe = timeframe.data();
      known_sizes = symbol.size() << 16 | timeframe.size();
      known_runner = runner;
      known_instrument = instrument;
      known_version = im.streams.version();
    }
    // No run is pending and the block names this stream: a bar without quotes
    // at its own time starts a run (what bar_at does with it, a compact bar
    // and no run to cut).
    bool starts_run(model::RunnerId runner, model::InstrumentId instrument, std::string_view symbol,
                    std::string_view timeframe) const noexcept {
      return im.bars.count == 0 && im.opts.bar_runs && knows(runner, instrument, symbol, timeframe);
    }
    // The bar with this sequence (no quotes, its time the event's) would be
    // the next of the writer's bar run: the run is this runner's, nothing came
    // since its last bar, and the block names the runner's stream.
    bool extends_run(std::uint64_t sequence, model::RunnerId runner, model::InstrumentId instrument,
                     std::string_view symbol, std::string_view timeframe) const noexcept {
      const BarRun& r = im.bars;
      return r.count > 0 && r.count < kMaxBarRun && r.runner == runner && r.first_sequence + r.count == sequence &&
             knows(runner, instrument, symbol, timeframe);
    }
    // Inline: out of line it cost a call and a frame per run (callgrind, +1.1 per bar).
    [[gnu::always_inline]] void bar_at(std::uint64_t sequence, std::int64_t ts, model::RunnerId runner,
                                       model::InstrumentId instrument, std::string_view symbol,
                                       std::string_view timeframe, const model::Bar& bar) {
      if (im.opts.bar_runs) {
        take(im.cut_run_before(sequence, runner));  // (a failed block write counts this bar lost)
        if (!s) return;
      }
      if (bar_can_be_compact(ts, bar)) {
        bool known = knows(runner, instrument, symbol, timeframe);
        if (!known && can_be_compact(im.streams, ts, runner, instrument, symbol, timeframe, bar)) {
          known = true;
          remember(runner, instrument, symbol, timeframe);
        }
        if (known) {
          take(im.add_compact_bar(sequence, ts, runner, bar));
          return;
        }
      }
      im.encode_bar(sequence, ts, runner, instrument, symbol, timeframe, bar);
      take(im.add_record(sequence, ts));
    }
  };

  // Emits and writes a deferred chunk; returns the events lost to an error.
  std::uint64_t write_deferred(const Chunk& c, Status& s) {
    Emitter em(*this, c.first, c.head);
    c.deferred->emit(em);
    TE_ASSERT(em.index == c.count, "deferred journal batch emitted %zu events, announced %zu", em.index, c.count);
    s = std::move(em.s);
    return em.lost;
  }

  Status flush_now() {
    // (A pending bar run implies a block that is not empty: a bar is only
    // compact once its runner's full record is in the block.)
    TE_ASSERT(!block.empty() || bars.count == 0, "journal: a bar run pending with an empty block");
    if (!block.empty()) TE_TRY(write_block());
    TE_TRY(write_held());
    return sync();
  }

  // Deadline for the next timer (partial block, queued events that must reach
  // a block in time, interval sync), or 0 for none. Requires mu.
  std::int64_t next_deadline() const {
    std::int64_t d = 0;
    if (opts.block_timeout_ms > 0) {
      if (!block.empty()) d = block_started_ns + ms(opts.block_timeout_ms);
      if (queued() > 0) {
        const std::int64_t q = first_queued_ns + ms(opts.block_timeout_ms);
        d = d == 0 ? q : std::min(d, q);
      }
    }
    if (dirty && opts.fsync == FsyncPolicy::Interval) {
      const std::int64_t s = last_sync_ns + ms(opts.fsync_interval_ms);
      d = d == 0 ? s : std::min(d, s);
    }
    return d;
  }

  Status on_timers() {
    const std::int64_t now = monotonic_ns();
    if (!block.empty() && opts.block_timeout_ms > 0 && now - block_started_ns >= ms(opts.block_timeout_ms)) {
      TE_TRY(write_block());
    }
    if (dirty && opts.fsync == FsyncPolicy::Interval && now - last_sync_ns >= ms(opts.fsync_interval_ms)) {
      TE_TRY(sync());
    }
    return {};
  }

  // Publishes writer counters; requires mu.
  void publish() {
    stats.written = wstats.written;
    stats.blocks = wstats.blocks;
    stats.raw_bytes = wstats.raw_bytes;
    stats.file_bytes = wstats.file_bytes;
    stats.state_full = wstats.state_full;
    stats.state_delta = wstats.state_delta;
    stats.syncs = wstats.syncs;
  }

  void fail(Status s) {  // requires mu; keeps the first error
    if (error.ok()) error = std::move(s);
    space_cv.notify_all();
    done_cv.notify_all();
  }

  void run() {
    std::vector<Chunk> batch;
    std::unique_lock lk(mu);
    while (true) {
      while (!wake_due() && producers_waiting == 0 && flush_requested == flush_done && !stopping) {
        const std::int64_t deadline = error.ok() ? next_deadline() : 0;
        writer_waiting = true;
        if (deadline == 0) {
          work_cv.wait(lk);
        } else {
          work_cv.wait_for(lk, std::chrono::nanoseconds(std::max<std::int64_t>(deadline - monotonic_ns(), 0)));
        }
        writer_waiting = false;
        if (deadline != 0 && monotonic_ns() >= deadline) break;  // a timer is due
      }
      batch.swap(queue);
      queued_count = 0;
      queued_bytes = 0;
      batch_queued_ns = first_queued_ns;
      const std::uint64_t ticket = flush_requested;
      const bool flush_wanted = ticket != flush_done;
      const bool stop = stopping;
      const bool healthy = error.ok();
      lk.unlock();
      space_cv.notify_all();

      Status s;
      std::uint64_t lost = 0;
      if (healthy) {
        for (Chunk& c : batch) {
          if (c.deferred) {
            if (s) {
              lost += write_deferred(c, s);
            } else {
              lost += c.count - c.head;
            }
            c.deferred->release();
            c.deferred.reset();
            continue;
          }
          for (std::size_t i = c.head; i < c.events.size(); ++i) {
            if (s) s = process(c.events[i]);
            if (!s) ++lost;
          }
        }
        if (s) s = on_timers();
        // A flush or close is waiting: everything taken so far goes to disk.
        if (s && (flush_wanted || stop)) s = flush_now();
      } else {
        for (Chunk& c : batch) {
          lost += c.size() - c.head;
          if (c.deferred) {
            c.deferred->release();
            c.deferred.reset();
          }
        }
      }
      // Emptied here, off the trading thread; the vectors go back for reuse.
      for (Chunk& c : batch) c.events.clear();

      const std::int64_t cpu = thread_cpu_ns();
      lk.lock();
      for (Chunk& c : batch) recycle(std::move(c.events));
      batch.clear();
      publish();
      stats.writer_thread_cpu_ns = cpu;
      stats.rejected += lost;
      if (!s) fail(std::move(s));
      if (flush_wanted) {
        flush_done = ticket;
        done_cv.notify_all();
      }
      if (stop && queued() == 0) break;
    }
    lk.unlock();
    // (Empty unless the writer stopped on an error: flush_now() wrote them.)
    Status w = write_held();
    Status c = file->close();
    if (!w && c) c = std::move(w);
    const std::int64_t cpu = thread_cpu_ns();
    lk.lock();
    stats.writer_thread_cpu_ns = cpu;
    if (!c) fail(std::move(c));
    stopped = true;
    done_cv.notify_all();
  }
};

JournalWriter::JournalWriter(std::unique_ptr<WritableFile> file, WriterOptions options)
    : options_(std::move(options)), path_(file->path()), impl_(std::make_unique<Impl>(options_, std::move(file))) {}

Result<std::unique_ptr<JournalWriter>> JournalWriter::create(const std::string& path, WriterOptions options) {
  if (std::string bad = options.validate(); !bad.empty()) {
    return make_error(Errc::invalid_argument, "journal writer options for " + path + ": " + bad);
  }
  auto file = create_writable_file(path, options.overwrite);
  if (!file) return std::move(file).error();
  return create(std::move(*file), std::move(options));
}

Result<std::unique_ptr<JournalWriter>> JournalWriter::create(std::unique_ptr<WritableFile> file,
                                                             WriterOptions options) {
  TE_ASSERT(file != nullptr, "journal writer needs a file");
  if (std::string bad = options.validate(); !bad.empty()) {
    return make_error(Errc::invalid_argument, "journal writer options for " + file->path() + ": " + bad);
  }
  FileHeader h;
  h.major = !options.bar_runs            ? kFormatMajorWithoutBarRuns
            : !options.positional_states ? kFormatMajorWithoutPositionalStates
            : !options.runs_apart        ? kFormatMajorRunsInside
            : !options.format6           ? kFormatMajorBeforeOrderTuples
                                         : kFormatMajor;
  h.storage_mode = options.storage_mode;
  h.include_indicators = options.include_indicators;
  h.snapshot_interval = options.storage_mode == StorageMode::Delta ? options.snapshot_interval : 0;
  h.block_size = options.block_size;
  h.created_ns = options.created_ns;
  h.writer = options.writer_info;
  const std::string header = encode_file_header(h);
  if (Status s = file->append(header); !s) return std::move(s).error();

  std::unique_ptr<JournalWriter> w(new JournalWriter(std::move(file), std::move(options)));
  Impl& im = *w->impl_;
  im.wstats.file_bytes = header.size();
  im.file_at = header.size();
  im.writeback_at = header.size();
  im.last_sync_ns = monotonic_ns();
  im.publish();
  if (w->options_.threading == WriterThreading::Background) im.thread = std::thread([&im] { im.run(); });
  return w;
}

JournalWriter::~JournalWriter() {
  bool closed;
  {
    std::lock_guard lk(impl_->mu);
    closed = impl_->closed;
  }
  if (closed) return;  // the caller saw close()'s status
  Status s = close();
  if (!s) std::fprintf(stderr, "journal %s: %s\n", path_.c_str(), s.error().message.c_str());
}

// Checks that `n` more events may be queued, applying the queue-full policy, and
// returns the first of the n sequence numbers it reserves. Requires lk on mu.
Result<std::uint64_t> JournalWriter::admit(std::unique_lock<std::mutex>& lk, std::size_t n, std::size_t bytes) {
  Impl& im = *impl_;
  auto refuse = [&](Error e) -> Result<std::uint64_t> {
    im.stats.rejected += n;
    return e;
  };
  if (im.closed || im.stopping) {
    return refuse(make_error(Errc::invalid_argument, "append to journal " + path_ + " after close()"));
  }
  if (!im.error.ok()) return refuse(im.error.error());
  if (options_.threading == WriterThreading::Background) {
    // A batch bigger than the whole queue is let into an empty queue.
    auto has_room = [&] {
      return (im.queued() + n <= options_.queue_capacity && im.queued_bytes + bytes <= options_.queue_bytes) ||
             im.queued() == 0;
    };
    if (!has_room()) {
      switch (options_.queue_full) {
        case QueueFullPolicy::Block:
          ++im.stats.blocked_appends;
          ++im.producers_waiting;
          im.work_cv.notify_one();
          im.space_cv.wait(lk, [&] { return has_room() || !im.error.ok() || im.stopping; });
          --im.producers_waiting;
          if (!im.error.ok()) return refuse(im.error.error());
          if (im.stopping) {
            return refuse(make_error(Errc::invalid_argument, "append to journal " + path_ + " after close()"));
          }
          break;
        case QueueFullPolicy::DropOldest:
          while (!has_room()) {
            im.drop_oldest();
            ++im.stats.dropped;
          }
          break;
        case QueueFullPolicy::Fail:
          return refuse(make_error(Errc::limit, "journal " + path_ + ": write queue full (" +
                                                    std::to_string(options_.queue_capacity) + " events, " +
                                                    std::to_string(options_.queue_bytes) +
                                                    " bytes of contexts), event not recorded"));
      }
    }
  }
  const std::uint64_t first = im.next_sequence;
  im.next_sequence += n;
  im.stats.appended += n;
  return first;
}

// Inline mode: the caller's thread does the writer's work. Requires lk on mu.
Result<std::uint64_t> JournalWriter::process_inline(Event* events, std::size_t n, std::uint64_t first) {
  Impl& im = *impl_;
  for (std::size_t i = 0; i < n; ++i) {
    events[i].sequence = first + i;
    Status s = im.process(events[i]);
    if (!s) {
      im.stats.rejected += n - i - 1;
      im.publish();
      im.fail(s);
      return std::move(s).error();
    }
  }
  im.publish();
  return first;
}

// After events were queued: wake the writer thread if it should look. Requires
// lk on mu; releases it.
void JournalWriter::queued_events(std::unique_lock<std::mutex>& lk, bool was_empty) {
  Impl& im = *impl_;
  if (im.queued() > im.stats.queue_high_water) im.stats.queue_high_water = im.queued();
  bool wake = im.writer_waiting && im.wake_due();
  if (was_empty && options_.block_timeout_ms > 0) {
    im.first_queued_ns = monotonic_ns();
    wake = im.writer_waiting;  // so it can set a deadline for these events
  }
  lk.unlock();
  if (wake) im.work_cv.notify_one();
}

Result<std::uint64_t> JournalWriter::append(Event event) {
  Impl& im = *impl_;
  std::unique_lock lk(im.mu);
  if (!options_.include_indicators && std::holds_alternative<IndicatorValues>(event.body)) {
    ++im.stats.filtered;
    return std::uint64_t{0};
  }
  auto first = admit(lk, 1);
  if (!first) return first;
  if (options_.threading == WriterThreading::Inline) return process_inline(&event, 1, *first);
  event.sequence = *first;
  const bool was_empty = im.queued() == 0;
  im.enqueue(std::move(event));
  queued_events(lk, was_empty);
  return first;
}

Result<std::uint64_t> JournalWriter::append_batch(std::vector<Event>& events) {
  Impl& im = *impl_;
  std::unique_lock lk(im.mu);
  if (!options_.include_indicators) {
    const auto kept = std::remove_if(events.begin(), events.end(), [](const Event& e) {
      return std::holds_alternative<IndicatorValues>(e.body);
    });
    im.stats.filtered += static_cast<std::uint64_t>(events.end() - kept);
    events.erase(kept, events.end());
  }
  if (events.empty()) return std::uint64_t{0};
  auto first = admit(lk, events.size());
  if (!first) return first;
  if (options_.threading == WriterThreading::Inline) {
    auto r = process_inline(events.data(), events.size(), *first);
    events.clear();
    return r;
  }
  for (std::size_t i = 0; i < events.size(); ++i) events[i].sequence = *first + i;
  const bool was_empty = im.queued() == 0;
  im.queued_count += events.size();
  if (events.size() < 64 && !im.queue.empty() && im.queue.back().takes_events()) {
    // A few events (a live runner's bar): into the last chunk.
    auto& back = im.queue.back().events;
    back.insert(back.end(), std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
    events.clear();
  } else {
    // Hand the caller's vector over whole; it gets an emptied one back.
    im.queue.push_back(Impl::Chunk{std::move(events), 0, {}, 0, 0});
    events = im.take_spare();
  }
  queued_events(lk, was_empty);
  return first;
}

Result<std::uint64_t> JournalWriter::append_deferred(std::shared_ptr<DeferredEvents> batch) {
  Impl& im = *impl_;
  const std::size_t n = batch->size();
  const std::size_t bytes = batch->held_bytes();
  std::unique_lock lk(im.mu);
  if (n == 0) {
    batch->release();
    return std::uint64_t{0};
  }
  auto first = admit(lk, n, bytes);
  if (!first) {
    batch->release();
    return first;
  }
  if (options_.threading == WriterThreading::Inline) {
    Impl::Chunk c{{}, 0, std::move(batch), n, *first};
    Status s;
    const std::uint64_t lost = im.write_deferred(c, s);
    c.deferred->release();
    if (!s) {
      im.stats.rejected += lost - 1;  // the failing event is the error itself, as in process_inline
      im.publish();
      im.fail(s);
      return std::move(s).error();
    }
    im.publish();
    return first;
  }
  const bool was_empty = im.queued() == 0;
  im.queued_count += n;
  im.queued_bytes += bytes;
  if (im.queued_bytes > im.stats.queue_bytes_high_water) im.stats.queue_bytes_high_water = im.queued_bytes;
  im.queue.push_back(Impl::Chunk{{}, 0, std::move(batch), n, *first, bytes});
  queued_events(lk, was_empty);
  return first;
}

Status JournalWriter::flush() {
  Impl& im = *impl_;
  std::unique_lock lk(im.mu);
  if (im.closed) return im.close_status;
  if (!im.error.ok()) return im.error;
  if (options_.threading == WriterThreading::Inline) {
    Status s = im.flush_now();
    im.publish();
    if (!s) im.fail(s);
    return s;
  }
  if (im.stopping) {  // closing: the writer thread syncs everything before it stops
    im.done_cv.wait(lk, [&] { return im.stopped; });
    return im.error;
  }
  const std::uint64_t ticket = ++im.flush_requested;
  im.work_cv.notify_one();
  im.done_cv.wait(lk, [&] { return im.flush_done >= ticket || !im.error.ok(); });
  return im.error;
}

Status JournalWriter::close() {
  Impl& im = *impl_;
  std::unique_lock lk(im.mu);
  if (im.closed) return im.close_status;
  if (options_.threading == WriterThreading::Inline) {
    if (im.error.ok()) {
      Status s = im.flush_now();
      if (!s) im.fail(s);
    } else if (Status w = im.write_held(); !w) {
      im.fail(w);  // (the first error stays the writer's error)
    }
    Status c = im.file->close();
    if (!c) im.fail(c);
    im.publish();
  } else {
    im.stopping = true;
    im.work_cv.notify_one();
    im.space_cv.notify_all();
    lk.unlock();
    if (im.thread.joinable()) im.thread.join();
    lk.lock();
  }
  im.closed = true;
  im.close_status = im.error;
  return im.close_status;
}

void JournalWriter::begin_close() {
  if (options_.threading == WriterThreading::Inline) return;
  Impl& im = *impl_;
  std::lock_guard lk(im.mu);
  if (im.closed || im.stopping) return;
  im.stopping = true;
  im.work_cv.notify_one();
  im.space_cv.notify_all();
}

Status JournalWriter::status() const {
  std::lock_guard lk(impl_->mu);
  return impl_->error;
}

WriterStats JournalWriter::stats() const {
  std::lock_guard lk(impl_->mu);
  return impl_->stats;
}

}  // namespace te::journal
