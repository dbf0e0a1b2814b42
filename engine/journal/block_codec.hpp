#pragma once
// Building and opening the blocks of record_format.hpp: the writer collects
// records into a BlockBuilder and emits header + LZ4 payload; the reader checks
// a block's payload and splits the decompressed bytes back into records.
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/result.hpp"
#include "engine/journal/record_format.hpp"

namespace te::journal {

// Not thread-safe: owned by the writer thread.
class BlockBuilder {
 public:
  // `record` must be at most kMaxRecordSize bytes.
  void add(std::string_view record, std::uint64_t sequence, std::int64_t ts_event_ns);

  // A bar_run record (bar_run.hpp): one record that stands for `count`
  // events, sequences first_sequence.. first_sequence + count - 1, with
  // these times; the block is flagged as holding bar runs.
  void add_run(std::string_view record, std::uint64_t first_sequence, std::uint32_t count, std::int64_t min_ts_ns,
               std::int64_t max_ts_ns);

  // A bar_run record written in place (the writer's runs, not copied from a
  // scratch buffer): begin_run() returns room for `max` bytes (less than
  // 16384, so its length takes at most two bytes), end_run() takes the count
  // written there and does what add_run() does with the record.
  char* begin_run(std::size_t max);
  void end_run(std::size_t n, std::uint64_t first_sequence, std::uint32_t count, std::int64_t min_ts_ns,
               std::int64_t max_ts_ns);

  // A record shorter than 128 bytes (a one-byte length) written in place:
  // begin_small() returns room for `max` bytes, end_small() takes the count
  // written there. The writer's hot path (compact market_data): no copy.
  char* begin_small(std::size_t max) {
    TE_ASSERT(max < 128, "small journal record of %zu bytes", max);
    if (used_ + 1 + max > raw_.size()) grow(1 + max);
    return raw_.data() + used_ + 1;
  }
  void end_small(std::size_t n, std::uint64_t sequence, std::int64_t ts_event_ns) noexcept {
    raw_[used_] = static_cast<char>(n);
    used_ += 1 + n;
    note(sequence, ts_event_ns);
  }

  // A record of at most `max` bytes (at most kMaxRecordSize) written in
  // place: begin_record() returns room for it behind room for its length,
  // end_record() takes the count written there and moves the record next to
  // its length when the room left for that was not its size. The writer's
  // direct records (orders, fills, transitions, actions): not encoded into a
  // scratch string and copied. A bound of kTwoByteBound or more leaves two
  // bytes (a record is at most ≈ 20 bytes shorter than its bound: the
  // envelope's and headers' short forms), so an order update (≈ 140 bytes)
  // is not moved; a smaller bound, one.
  static constexpr std::size_t kTwoByteBound = 160;
  char* begin_record(std::size_t max) {
    // The growth out of line (begin_record_grown): with its call here the
    // writer's BlockOut::room saved and restored five registers per record.
    if (used_ + 5 + max > raw_.size()) [[unlikely]] return begin_record_grown(max);
    record_at_ = max >= kTwoByteBound ? 2 : 1;
    return raw_.data() + used_ + record_at_;
  }
  // The record begun last, with room for `max` bytes in all now (what is
  // written of it is kept; it stays where begin_record put it).
  char* grow_record(std::size_t max) {
    if (used_ + 5 + max > raw_.size()) grow(5 + max);
    return raw_.data() + used_ + record_at_;
  }
  [[gnu::always_inline]] void end_record(std::size_t n, std::uint64_t sequence, std::int64_t ts_event_ns) {
    // Inline when the length takes the room left for it (the common case):
    // out of line it cost a frame (six registers saved and restored) for a
    // byte or two.
    if (n > 0 && n < 128 && record_at_ == 1) {
      raw_[used_] = static_cast<char>(n);
    } else if (n >= 128 && n < 16384 && record_at_ == 2) {
      raw_[used_] = static_cast<char>((n & 0x7f) | 0x80);
      raw_[used_ + 1] = static_cast<char>(n >> 7);
    } else {
      return end_moved_record(n, sequence, ts_event_ns);
    }
    used_ += record_at_ + n;
    note(sequence, ts_event_ns);
  }

  // Format 5 (kBlockRunsApart): add_run() keeps the runs apart from the
  // records LZ4 compresses, and finish() stores them as they are.
  void set_runs_apart(bool on) noexcept { runs_apart_ = on; }

  bool empty() const noexcept { return count_ == 0; }
  std::size_t raw_size() const noexcept { return used_ + runs_used_; }
  // Events (a bar_run record counts as its bars): the header's record_count.
  std::uint32_t record_count() const noexcept { return count_; }

  // The finished block (header + payload) and a new one started. The view is
  // into the builder's own buffer (LZ4 writes the payload behind the header's
  // room, so the block is not copied again to be written) and is valid until
  // the next add_run(), begin_run() or finish() (the next block's runs apart
  // are written into that buffer). Falls back to storing the raw bytes when LZ4 does not
  // make them smaller, and stores them without trying when `compress` is false.
  // `acceleration` is LZ4's (kMinAcceleration..kMaxAcceleration).
  std::string_view finish(bool compress = true, int acceleration = kDefaultAcceleration);

 private:
  void grow(std::size_t more);
  char* begin_record_grown(std::size_t max);
  void end_moved_record(std::size_t n, std::uint64_t sequence, std::int64_t ts_event_ns);
  std::size_t record_at_ = 1;  // begin_record's room for the length
  void note(std::uint64_t sequence, std::int64_t ts_event_ns) noexcept {
    if (count_ == 0) {
      first_seq_ = sequence;
      min_ts_ = max_ts_ = ts_event_ns;
    } else {
      min_ts_ = ts_event_ns < min_ts_ ? ts_event_ns : min_ts_;
      max_ts_ = ts_event_ns > max_ts_ ? ts_event_ns : max_ts_;
    }
    last_seq_ = sequence;
    ++count_;
  }
  std::string raw_;      // the block's raw bytes are its first used_ (the rest is room, kept)
  std::size_t used_ = 0;
  // Runs apart: (varint len, bar_run record)* at compressed_[kRunsAt..],
  // runs_used_ bytes, where finish() stores them (behind the header and the
  // runs size), so they are written once.
  static constexpr std::size_t kRunsAt = kBlockHeaderSize + 4;
  std::size_t runs_used_ = 0;
  bool runs_apart_ = false;
  std::string compressed_;  // the last finished block: header, then payload (and the next block's runs apart)
  std::uint32_t count_ = 0;
  std::uint8_t flags_ = 0;
  std::uint64_t first_seq_ = 0, last_seq_ = 0;
  std::int64_t min_ts_ = 0, max_ts_ = 0;
};

// Verifies `stored` (the payload following `h`) against its checksum and returns
// the raw record bytes in `raw` (for a stored block, a copy), with every
// bar_run record expanded into the compact market_data records it stands for
// (format 3, bar_run.hpp): a reader sees one record per event.
// Errors: Errc::parse naming what does not match.
Status open_block(const BlockHeader& h, std::string_view stored, std::string& raw);

// Walks the records of a raw block.
class RecordSplitter {
 public:
  explicit RecordSplitter(std::string_view raw) noexcept : p_(raw.data()), end_(raw.data() + raw.size()) {}
  // False at the end or when the framing is broken (then error() is set).
  bool next(std::string_view& record) noexcept;
  const char* error() const noexcept { return error_; }

 private:
  const char* p_;
  const char* end_;
  const char* error_ = nullptr;
};

// Checks that `raw` splits into exactly `expected` records.
Status check_records(std::string_view raw, std::uint32_t expected);

}  // namespace te::journal
