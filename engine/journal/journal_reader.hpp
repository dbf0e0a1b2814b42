#pragma once
// Reads a session journal (events.msgpack.lz4) written by JournalWriter.
//
// open() scans the block headers (and, by default, verifies every block's
// checksum) to build an index: block offsets with their sequence and time
// ranges. Damage (a tail truncated by a crash, a corrupt block) is reported to
// the Reporter, with how many bytes and records were lost, and every intact
// record is kept. Seeking by sequence or by time is a binary search over the
// index followed by a scan of one block.
//
// The index covers the file as it was at open(): a journal still being written
// shows a torn last block (reported) until it is opened again.
//
// Not thread-safe: one reader per thread. (While next() reads through the
// blocks in order, a thread of the reader's own loads the next blocks ahead;
// every report and every result still comes from the caller's thread.)
//
// In delta storage mode the reader rebuilds full runner state as it goes (and,
// after a seek, from the runner's nearest snapshot), so callers always see full
// RunnerState unless they ask for the stored form.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/journal/event.hpp"
#include "engine/journal/event_codec.hpp"
#include "engine/journal/record_format.hpp"
#include "engine/journal/reporter.hpp"

namespace te::journal {

enum class OnCorruption : std::uint8_t {
  Skip,  // resynchronise at the next intact block and keep reading (default)
  Stop,  // the journal ends at the first damage; the rest is reported as dropped
};

struct ReaderOptions {
  OnCorruption on_corruption = OnCorruption::Skip;
  bool reconstruct_state = true;  // false: RunnerState comes out as stored (delta or full)
  bool verify_on_open = true;     // checksum every block while indexing; false reads only
                                  // block headers and reports a bad payload when it is read
  bool prefetch = true;           // while next() goes through the blocks in order, a second
                                  // thread reads, verifies and decompresses the next ones
                                  // (BlockPrefetcher); what is read and reported is the same
};

// One intact block, as indexed.
struct BlockInfo {
  std::uint64_t offset = 0;  // of the block header
  BlockHeader header;
  std::int64_t prefix_max_ts_ns = 0;  // max ts_event_ns over this and all earlier blocks
  std::uint64_t first_record = 0;     // ordinal of the block's first record in the journal
};

class JournalReader {
 public:
  // `reporter` must outlive the reader.
  // Errors: Errc::not_found / Errc::io when the file cannot be read; Errc::parse
  // for a file that is not a journal (or whose header is damaged);
  // Errc::unsupported for a journal of a newer major format version.
  static Result<std::unique_ptr<JournalReader>> open(const std::string& path, Reporter& reporter,
                                                     ReaderOptions options = {});
  ~JournalReader();
  JournalReader(const JournalReader&) = delete;
  JournalReader& operator=(const JournalReader&) = delete;

  const FileHeader& header() const noexcept;
  const std::string& path() const noexcept;
  const std::vector<BlockInfo>& blocks() const noexcept;
  std::uint64_t record_count() const noexcept;      // records in intact blocks
  std::uint64_t first_sequence() const noexcept;    // 0 when empty
  std::uint64_t last_sequence() const noexcept;     // 0 when empty
  std::uint64_t file_size() const noexcept;

  // Reads the next event into `out`. Returns false at the end.
  // Errors: Errc::io when the file cannot be read (damage is reported, not an error).
  Result<bool> next(Event& out);

  // Positions before the first record with sequence >= `sequence`. Returns false
  // (positioned at the end) when there is none.
  Result<bool> seek_sequence(std::uint64_t sequence);
  // Positions before the first record, in file order, with ts_event_ns >= `ts_ns`:
  // exactly the record a linear scan from the start would find first.
  Result<bool> seek_time(std::int64_t ts_ns);
  Status rewind();

  // The event with exactly this sequence, if present (moves the position past it).
  Result<std::optional<Event>> event_at(std::uint64_t sequence);

  // The sequence a seek_time(ts_ns) would land on, if any (position unchanged).
  Result<std::optional<std::uint64_t>> sequence_at_time(std::int64_t ts_ns);

  // Calls `fn` with the envelope (type, sequence, time, runner) of every record
  // in the intact blocks, in file order, without decoding the bodies: cheap
  // indexing and counting. Position unchanged. A record whose envelope does
  // not decode is passed with type 0.
  Status scan_envelopes(const std::function<void(const EventEnvelope&)>& fn);

  // The full state of `runner` as of `sequence`: its last RunnerState event with
  // sequence <= `sequence` (position unchanged). nullopt when it has none.
  // Errors: Errc::io; Errc::not_found when the state cannot be rebuilt (its
  // snapshot or a delta was lost to damage).
  Result<std::optional<Event>> state_at(model::RunnerId runner, std::uint64_t sequence);

 private:
  struct Impl;
  explicit JournalReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace te::journal
