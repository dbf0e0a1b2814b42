#include "engine/journal/block_codec.hpp"

#include "engine/journal/bar_run.hpp"

#include <lz4.h>

#include <algorithm>
#include <cstring>

namespace te::journal {

void BlockBuilder::grow(std::size_t more) {
  raw_.resize(std::max(used_ + more, raw_.size() * 2));
}

char* BlockBuilder::begin_record_grown(std::size_t max) {
  grow(5 + max);
  record_at_ = max >= kTwoByteBound ? 2 : 1;
  return raw_.data() + used_ + record_at_;
}

void BlockBuilder::add(std::string_view record, std::uint64_t sequence, std::int64_t ts_event_ns) {
  TE_ASSERT(record.size() <= kMaxRecordSize, "journal record of %zu bytes exceeds the block limit", record.size());
  if (used_ + 5 + record.size() > raw_.size()) grow(5 + record.size());
  char* p = put_varint32(raw_.data() + used_, static_cast<std::uint32_t>(record.size()));
  std::memcpy(p, record.data(), record.size());
  used_ = static_cast<std::size_t>(p - raw_.data()) + record.size();
  note(sequence, ts_event_ns);
}

void BlockBuilder::end_moved_record(std::size_t n, std::uint64_t sequence, std::int64_t ts_event_ns) {
  TE_ASSERT(n > 0 && n <= kMaxRecordSize, "journal record of %zu bytes written in place", n);
  char* at = raw_.data() + used_;
  const std::size_t k = varint32_size(static_cast<std::uint32_t>(n));
  if (k != record_at_) std::memmove(at + k, at + record_at_, n);
  put_varint32(at, static_cast<std::uint32_t>(n));
  used_ += k + n;
  note(sequence, ts_event_ns);
}

void BlockBuilder::add_run(std::string_view record, std::uint64_t first_sequence, std::uint32_t count,
                           std::int64_t min_ts_ns, std::int64_t max_ts_ns) {
  std::memcpy(begin_run(record.size()), record.data(), record.size());
  end_run(record.size(), first_sequence, count, min_ts_ns, max_ts_ns);
}

char* BlockBuilder::begin_run(std::size_t max) {
  TE_ASSERT(max < 16384, "journal: a bar run of %zu bytes", max);
  // The record goes behind two bytes of room for its length; end_run()
  // moves a short one (a one-byte length) back by one.
  if (runs_apart_) {
    // Where finish() stores them (runs apart are not compressed): not
    // copied there at the block's end.
    const std::size_t need = kRunsAt + runs_used_ + 2 + max;
    if (need > compressed_.size()) compressed_.resize(std::max(need, compressed_.size() * 2));
    return compressed_.data() + kRunsAt + runs_used_ + 2;
  }
  if (used_ + 2 + max > raw_.size()) grow(2 + max);
  return raw_.data() + used_ + 2;
}

void BlockBuilder::end_run(std::size_t n, std::uint64_t first_sequence, std::uint32_t count, std::int64_t min_ts_ns,
                           std::int64_t max_ts_ns) {
  TE_ASSERT(count > 0, "journal: an empty bar run");
  TE_ASSERT(n <= kMaxRecordSize && n < 16384, "journal: a bar run record of %zu bytes", n);
  // The record is at at + 2: its varint length (put_varint32) before it.
  auto place = [n](char* at) -> std::size_t {
    if (n < 128) {
      at[0] = static_cast<char>(n);
      std::memmove(at + 1, at + 2, n);
      return 1 + n;
    }
    at[0] = static_cast<char>((n & 0x7f) | 0x80);
    at[1] = static_cast<char>(n >> 7);
    return 2 + n;
  };
  if (runs_apart_) {
    // The run's place among the records: a length of 0.
    if (used_ + 1 > raw_.size()) grow(1);
    raw_[used_++] = 0;
    runs_used_ += place(compressed_.data() + kRunsAt + runs_used_);
    flags_ |= kBlockRunsApart;
  } else {
    used_ += place(raw_.data() + used_);
  }
  note(first_sequence, min_ts_ns);
  // note() took one event at min_ts_ns: the rest of the run's.
  max_ts_ = max_ts_ns > max_ts_ ? max_ts_ns : max_ts_;
  last_seq_ = first_sequence + count - 1;
  count_ += count - 1;
  flags_ |= kBlockHasBarRuns;
}

std::string_view BlockBuilder::finish(bool compress, int acceleration) {
  TE_ASSERT(count_ > 0, "journal: finishing an empty block");
  // Never a block the reader refuses (decode_block_header's limit).
  TE_ASSERT(used_ + runs_used_ <= kMaxBlockRawSize, "journal: block of %zu raw bytes, over the reader's limit",
            used_ + runs_used_);
  BlockHeader h;
  h.raw_size = static_cast<std::uint32_t>(used_ + runs_used_);
  h.flags = flags_;
  h.record_count = count_;
  h.first_sequence = first_seq_;
  h.last_sequence = last_seq_;
  h.min_ts_ns = min_ts_;
  h.max_ts_ns = max_ts_;

  const int bound = compress ? LZ4_compressBound(static_cast<int>(used_)) : 0;
  // Runs apart: runs_size and the runs before the compressed part.
  const std::size_t apart = runs_used_ > 0 ? 4 + runs_used_ : 0;
  const std::size_t room = kBlockHeaderSize + apart + std::max(static_cast<std::size_t>(bound), used_);
  if (compressed_.size() < room) compressed_.resize(room);
  char* payload = compressed_.data() + kBlockHeaderSize;
  char* main = payload + apart;
  if (apart > 0) {  // (the runs are in place already, at kRunsAt)
    const auto r = static_cast<std::uint32_t>(runs_used_);
    for (int i = 0; i < 4; ++i) payload[i] = static_cast<char>((r >> (8 * i)) & 0xff);
  }
  // LZ4_compress_fast at acceleration 1 is LZ4_compress_default: the same bytes.
  const int n =
      compress ? LZ4_compress_fast(raw_.data(), main, static_cast<int>(used_), bound, acceleration) : 0;
  std::size_t size = 0;
  if (n > 0 && static_cast<std::size_t>(n) < used_) {
    h.codec = BlockCodec::Lz4;
    size = static_cast<std::size_t>(n);
  } else {
    h.codec = BlockCodec::Stored;
    std::memcpy(main, raw_.data(), used_);
    size = used_;
  }
  size += apart;
  h.stored_size = static_cast<std::uint32_t>(size);
  h.payload_checksum = checksum64(payload, size);
  encode_block_header(h, compressed_.data());

  used_ = 0;
  runs_used_ = 0;
  count_ = 0;
  flags_ = 0;
  return {compressed_.data(), kBlockHeaderSize + size};
}

Status open_block(const BlockHeader& h, std::string_view stored, std::string& raw) {
  if (stored.size() != h.stored_size) return make_error(Errc::parse, "block payload truncated");
  if (checksum64(stored.data(), stored.size()) != h.payload_checksum) {
    return make_error(Errc::parse, "block payload checksum mismatch");
  }
  std::string_view runs;
  std::uint32_t main_raw = h.raw_size;
  if ((h.flags & kBlockRunsApart) != 0) {
    // runs_size, the runs as they are, then the compressed part (format 5).
    std::uint32_t r = 0;
    if (stored.size() >= 4) {
      for (int i = 0; i < 4; ++i) r |= static_cast<std::uint32_t>(static_cast<unsigned char>(stored[i])) << (8 * i);
    }
    if (stored.size() < 4 || r > stored.size() - 4 || r > h.raw_size) {
      return make_error(Errc::parse, "block runs size runs past the payload");
    }
    runs = stored.substr(4, r);
    stored.remove_prefix(4 + std::size_t{r});
    main_raw = h.raw_size - r;
  }
  if (h.codec == BlockCodec::Stored) {
    if (stored.size() != main_raw) return make_error(Errc::parse, "stored block sizes differ");
    raw.assign(stored.data(), stored.size());
  } else {
    raw.resize(main_raw);
    const int n =
        LZ4_decompress_safe(stored.data(), raw.data(), static_cast<int>(stored.size()), static_cast<int>(main_raw));
    if (n < 0 || static_cast<std::uint32_t>(n) != main_raw) {
      return make_error(Errc::parse, "block payload does not decompress to its raw size");
    }
  }
  if ((h.flags & (kBlockHasBarRuns | kBlockRunsApart)) != 0) {
    // Expanded here, where the block is loaded (the reader's prefetch thread
    // when it reads on in order): everything after sees format 2's records.
    thread_local std::string expanded;
    expand_bar_runs(raw, expanded, h.record_count, (h.flags & kBlockRunsApart) != 0 ? &runs : nullptr);
    raw.swap(expanded);
  }
  return {};
}

bool RecordSplitter::next(std::string_view& record) noexcept {
  if (p_ >= end_) return false;
  std::uint32_t len = 0;
  const std::size_t k = get_varint32(p_, end_, len);
  if (k == 0) {
    error_ = "bad record length prefix";
    p_ = end_;
    return false;
  }
  p_ += k;
  if (len == 0 || static_cast<std::size_t>(end_ - p_) < len) {
    error_ = "record length runs past the block";
    p_ = end_;
    return false;
  }
  record = std::string_view(p_, len);
  p_ += len;
  return true;
}

Status check_records(std::string_view raw, std::uint32_t expected) {
  RecordSplitter split(raw);
  std::string_view rec;
  std::uint32_t n = 0;
  while (split.next(rec)) ++n;
  if (split.error() != nullptr) return make_error(Errc::parse, split.error());
  if (n != expected) {
    return make_error(Errc::parse, "block holds " + std::to_string(n) + " records, its header says " +
                                       std::to_string(expected));
  }
  return {};
}

}  // namespace te::journal
