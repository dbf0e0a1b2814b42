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

  bool empty() const noexcept { return count_ == 0; }
  std::size_t raw_size() const noexcept { return raw_.size(); }
  std::uint32_t record_count() const noexcept { return count_; }

  // Appends the finished block (header + payload) to `out` and starts a new one.
  // Falls back to storing the raw bytes when LZ4 does not make them smaller.
  void finish(std::string& out);

 private:
  std::string raw_;
  std::string compressed_;
  std::uint32_t count_ = 0;
  std::uint64_t first_seq_ = 0, last_seq_ = 0;
  std::int64_t min_ts_ = 0, max_ts_ = 0;
};

// Verifies `stored` (the payload following `h`) against its checksum and returns
// the raw record bytes in `raw` (for a stored block, a copy).
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
