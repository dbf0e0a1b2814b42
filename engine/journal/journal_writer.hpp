#pragma once
// Writes a session journal (events.msgpack.lz4, see docs/journal-format.md).
//
// The trading thread calls append(), which assigns a sequence number and hands
// the event to a bounded queue; a background thread encodes, applies the storage
// mode, compresses and writes blocks. append() never does disk I/O. What happens
// when the queue is full is configurable (QueueFullPolicy); the default waits
// for the writer thread, so nothing is ever lost.
//
// Errors (disk full, permission, I/O) stop the writer: the first one is kept and
// returned by every later append(), flush() and close(), never swallowed.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/journal/event_sink.hpp"
#include "engine/journal/record_format.hpp"
#include "engine/journal/writable_file.hpp"

namespace te::journal {

enum class QueueFullPolicy : std::uint8_t {
  Block,       // append() waits for room: nothing is lost (default; backtests)
  DropOldest,  // the oldest queued event is discarded and counted; the journal shows
               // a gap in sequence numbers, which readers report
  Fail,        // append() returns Errc::limit and the event is not recorded; counted
};

enum class FsyncPolicy : std::uint8_t {
  None,        // the OS decides (flush() and close() still sync)
  EveryBlock,  // fdatasync after every block
  Interval,    // fdatasync at most every fsync_interval_ms while blocks are written
};

enum class WriterThreading : std::uint8_t {
  Background,  // a writer thread does the I/O (production)
  Inline,      // append() does the work on the caller's thread: deterministic, for tests and tools
};

struct WriterOptions {
  StorageMode storage_mode = StorageMode::Full;
  std::uint32_t snapshot_interval = 100;   // delta mode: full snapshot every N state events of a runner (>= 1)
  bool include_indicators = true;          // false: IndicatorValues events and RunnerState::indicators are not stored
  std::uint32_t block_size = 64 * 1024;    // target raw bytes per block (a block holds at least one record)
  // false: every block is stored as it is (codec 0, docs/journal-format.md),
  // which every reader reads. LZ4 is about a third of the writer thread's CPU
  // time on a backtest (docs/performance.md), and the writer sets a recorded
  // backtest's pace; uncompressed journals are 2.8-3.6x larger.
  bool compress = true;
  // LZ4's acceleration (kMinAcceleration..kMaxAcceleration): higher skips
  // ahead faster where it finds no match, less writer CPU for more bytes.
  // Readers do not depend on it (the block format is the same); 1 is
  // LZ4_compress_default, what builds before the option wrote. Figures per
  // setting: docs/performance.md.
  int acceleration = kDefaultAcceleration;
  // Runs of market_data of one runner with nothing between them are stored
  // as bar_run records (format 3, docs/journal-format.md): a few bytes a bar
  // instead of a 60-byte record, for the writer thread to encode and
  // compress. false: format 2's records (compact market_data), for tests and
  // tools that need a format 2 journal.
  bool bar_runs = true;
  // Runner states of the fixed shape a recorder writes are stored as
  // positional records (format 4, docs/journal-format.md: fields by position
  // instead of a map with string keys, about half the bytes). false: the map
  // form (format 3), for tests and tools that need a format 3 journal. Only
  // with bar_runs (without them the writer writes format 2).
  bool positional_states = true;
  // A block's bar_run records are stored as they are, apart from the LZ4
  // payload of its other records (format 5, docs/journal-format.md): LZ4
  // spent a third of its time on them for 1.15x. false: format 4, for tests
  // and tools that need one. Only with bar_runs and positional_states.
  bool runs_apart = true;
  // A positional delta's orders document writes an order (or a whole list)
  // it replaces as tuples instead of maps with nine keys (format 6,
  // docs/journal-format.md). false: format 5, for tests and tools that need
  // one. Only with runs_apart.
  bool format6 = true;
  // A partially filled block is written this long after its first record was
  // queued, bounding what a crash can lose. 0: blocks are cut only when full and
  // by flush()/close(), so the file bytes depend only on the events (determinism).
  std::uint32_t block_timeout_ms = 200;
  // 0: each block goes to the file when it is finished. N (only with
  // FsyncPolicy::None and block_timeout_ms 0, where nothing promises the file
  // anything before flush()/close(): a recorded backtest): blocks are held and
  // handed to the file in whole N-byte pieces of it, at offsets that are
  // multiples of N, the rest at flush()/close(). The file's bytes are the
  // same; the kernel's page cache takes large aligned writes for much less
  // of the writer thread's time than a write per block (see Impl::hold).
  // A crash of the process then loses up to N bytes of finished blocks more.
  std::size_t write_stretch = 0;
  static constexpr std::size_t kBacktestWriteStretch = 256 << 10;
  std::size_t queue_capacity = 64 * 1024;  // events waiting for the writer thread (>= 1)
  // ... and the bytes their deferred batches hold (DeferredEvents::
  // held_bytes: a recorder's strategy contexts, each up to its max_ctx_bytes),
  // under the same queue_full policy (>= 1; a batch bigger than this enters
  // an empty queue). With the batch the writer thread is working on, a
  // recording holds at most about twice this in contexts however many events
  // the queue may take.
  std::size_t queue_bytes = std::size_t{64} << 20;
  QueueFullPolicy queue_full = QueueFullPolicy::Block;
  FsyncPolicy fsync = FsyncPolicy::Interval;
  std::uint32_t fsync_interval_ms = 1000;
  WriterThreading threading = WriterThreading::Background;
  bool overwrite = false;                  // false: refuse to replace an existing file
  std::int64_t created_ns = 0;             // stored in the file header; 0 keeps files byte-identical
  std::string writer_info = "trading-engine";  // file header, at most 24 bytes

  // Inline threading, size-only block cuts, no fsync until close: same events,
  // same bytes.
  static WriterOptions deterministic(StorageMode mode = StorageMode::Full);

  // Every violation, one per line; empty when valid.
  std::string validate() const;
};

struct WriterStats {
  std::uint64_t appended = 0;     // accepted by append() (sequence numbers handed out)
  std::uint64_t filtered = 0;     // left out by configuration (include_indicators = false)
  std::uint64_t written = 0;      // records in finished blocks (handed to the file, or held: write_stretch)
  std::uint64_t dropped = 0;      // discarded by QueueFullPolicy::DropOldest
  std::uint64_t rejected = 0;     // refused by QueueFullPolicy::Fail or after an error
  std::uint64_t blocks = 0;
  std::uint64_t raw_bytes = 0;    // records before compression, with length prefixes
  std::uint64_t file_bytes = 0;   // header + finished blocks (on disk after flush()/close())
  std::uint64_t state_full = 0;   // RunnerState records stored as snapshots
  std::uint64_t state_delta = 0;  // RunnerState records stored as deltas
  std::uint64_t syncs = 0;
  std::uint64_t blocked_appends = 0;   // append() calls that had to wait (Block policy)
  std::size_t queue_high_water = 0;
  std::size_t queue_bytes_high_water = 0;  // most held_bytes queued at once
  // CPU time of the background writer thread so far (its own clock, read
  // after each batch and at its end; 0 with inline threading): what encoding,
  // compressing and writing cost apart from the producers' threads.
  std::int64_t writer_thread_cpu_ns = 0;
};

class JournalWriter final : public EventSink {
 public:
  // Creates the file and writes its header.
  // Errors: Errc::invalid_argument for bad options, Errc::io when the file
  // cannot be created or written.
  static Result<std::unique_ptr<JournalWriter>> create(const std::string& path, WriterOptions options);
  // Same over a caller-supplied file (fault injection in tests).
  static Result<std::unique_ptr<JournalWriter>> create(std::unique_ptr<WritableFile> file, WriterOptions options);

  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;
  // Closes if close() was not called; an error then can only be printed to
  // stderr, so call close() to see it.
  ~JournalWriter() override;

  // Thread-safe. Sets event.sequence to the next number (1, 2, ...) and queues
  // the event. Returns the sequence, or 0 when the event was filtered out.
  // Errors: Errc::limit when the queue is full under QueueFullPolicy::Fail; the
  // writer's first error once it has failed; Errc::invalid_argument after close().
  Result<std::uint64_t> append(Event event) override;

  // Appends `events` in order with consecutive sequence numbers (one lock for
  // all of them: a backtest can collect a bar's events and hand them over at
  // once). Returns the first sequence (0 if nothing was left after filtering)
  // and leaves `events` empty: the vector itself moves into the queue (no
  // per-event copy) and is replaced by an emptied one the writer thread
  // recycled, capacity kept, when there is one. Under Fail either all
  // or none are queued (refused: `events` is left as it was); a batch larger
  // than queue_capacity waits for (or, under DropOldest, makes) an empty queue.
  Result<std::uint64_t> append_batch(std::vector<Event>& events) override;

  // Queues `batch` as batch->size() events with consecutive sequence numbers
  // (the queue-full policy counts them one by one; DropOldest may drop the
  // front of a batch) and returns the first. The writer thread expands and
  // releases it; on error it is released here, not recorded.
  Result<std::uint64_t> append_deferred(std::shared_ptr<DeferredEvents> batch) override;

  // Thread-safe. Returns once every event appended before the call is written
  // and synced to disk (or the first error).
  Status flush();

  // Flushes, stops the writer thread and closes the file. Idempotent; later
  // calls return the same status.
  Status close();
  // Starts close() without waiting: the writer thread writes what is queued,
  // syncs and stops while the caller does other work (a session's finish
  // writes its final meta.json meanwhile); close() then waits for it and
  // returns the status. Appends after it are refused as after close(). In
  // Inline threading it does nothing (close() does the work).
  void begin_close();

  // The first error the writer hit, if any.
  Status status() const;
  WriterStats stats() const;
  const WriterOptions& options() const noexcept { return options_; }
  const std::string& path() const noexcept { return path_; }

 private:
  struct Impl;
  JournalWriter(std::unique_ptr<WritableFile> file, WriterOptions options);
  Result<std::uint64_t> admit(std::unique_lock<std::mutex>& lk, std::size_t n, std::size_t bytes = 0);
  Result<std::uint64_t> process_inline(Event* events, std::size_t n, std::uint64_t first);
  void queued_events(std::unique_lock<std::mutex>& lk, bool was_empty);

  WriterOptions options_;
  std::string path_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace te::journal
