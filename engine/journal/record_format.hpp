#pragma once
// The byte layout of events.msgpack.lz4, documented in docs/journal-format.md:
//
//   file   := file_header block*
//   block  := block_header payload          (payload: stored_size bytes)
//   raw    := (varint(len) record)*         (payload after LZ4 decompression)
//   record := msgpack array, see event_codec.hpp
//
// All fixed-width integers are little-endian. A block is the unit of loss: a
// crash mid-write leaves at most one incomplete block at the end, which a reader
// detects (length or checksum) and reports; every earlier block is intact.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/result.hpp"

namespace te::journal {

inline constexpr std::array<unsigned char, 8> kFileMagic = {0x89, 'T', 'E', 'J', '\r', '\n', 0x1a, '\n'};
// 2: market_data may be compact (the runner's stream named once per block);
// 3: runs of compact market_data are stored as bar_run records (bar_run.hpp);
// 4: runner states written from their parts are positional records (fields by
// position, not by key: positional_state.hpp);
// 5: a block's bar_run records are stored apart from its LZ4 payload
// (kBlockRunsApart);
// 6: a positional delta's orders document writes an order it replaces whole,
// or a whole list it replaces, as tuples (kOrderTupleReplace,
// kOrderListTupleReplace). (A one-bar bar_run is legal in any format with bar
// runs and read; writers write a single bar as its compact record.)
// Version 1 to 5 journals are still read.
inline constexpr std::uint16_t kFormatMajor = 6;  // readers refuse a newer major
// The version a writer writes with WriterOptions::format6 off.
inline constexpr std::uint16_t kFormatMajorBeforeOrderTuples = 5;
// The version a writer writes with bar runs inside LZ4 (WriterOptions::runs_apart off).
inline constexpr std::uint16_t kFormatMajorRunsInside = 4;
// The version a writer writes without positional states (WriterOptions::positional_states off).
inline constexpr std::uint16_t kFormatMajorWithoutPositionalStates = 3;
// The version a writer that writes no bar_run records writes (WriterOptions::bar_runs off).
inline constexpr std::uint16_t kFormatMajorWithoutBarRuns = 2;
inline constexpr std::uint16_t kFormatMinor = 0;  // a newer minor only adds event types or trailing fields
inline constexpr std::size_t kFileHeaderSize = 64;
inline constexpr std::size_t kMaxFileHeaderSize = 4096;
inline constexpr std::size_t kWriterInfoSize = 24;

inline constexpr std::array<unsigned char, 4> kBlockMagic = {'T', 'E', 'B', 'K'};
inline constexpr std::size_t kBlockHeaderSize = 64;
// One record must fit one block; bigger records are refused by the writer.
inline constexpr std::uint32_t kMaxBlockRawSize = 64u << 20;
inline constexpr std::uint32_t kMaxRecordSize = kMaxBlockRawSize - 8;

enum class StorageMode : std::uint8_t { Full = 0, Delta = 1 };
std::string_view to_string(StorageMode m) noexcept;
bool parse_storage_mode(std::string_view s, StorageMode& out) noexcept;

enum class BlockCodec : std::uint8_t { Stored = 0, Lz4 = 1 };

// LZ4 acceleration (WriterOptions::acceleration): the range a journal's
// writer accepts (LZ4 itself clamps at 65537; past 64 it only loses bytes).
inline constexpr int kMinAcceleration = 1;
inline constexpr int kMaxAcceleration = 64;
// 4: LZ4's compression CPU time −17 % against 1 (LZ4_compress_default) for
// 8.5 % more bytes on a recorded backtest; past 4 each step costs far more
// bytes per nanosecond saved (docs/performance.md, session 14).
inline constexpr int kDefaultAcceleration = 4;

struct FileHeader {
  std::uint16_t major = kFormatMajor;
  std::uint16_t minor = kFormatMinor;
  std::uint16_t header_size = kFileHeaderSize;
  StorageMode storage_mode = StorageMode::Full;
  bool include_indicators = false;      // flags bit 0
  std::uint32_t snapshot_interval = 0;  // delta mode; 0 in full mode
  std::uint32_t block_size = 0;         // the writer's target raw block size
  std::int64_t created_ns = 0;          // as given to the writer (0 keeps files byte-identical)
  std::string writer;                   // e.g. "trading-engine 0.1.0", at most 24 bytes
};

// Exactly kFileHeaderSize bytes. Aborts if `writer` is longer than 24 bytes.
std::string encode_file_header(const FileHeader& h);

// `bytes` is the start of the file (it may be shorter or longer than a header).
// Errors: Errc::parse for a file that is not a journal or whose header is
// truncated or corrupt; Errc::unsupported for a newer major version.
Result<FileHeader> decode_file_header(std::string_view bytes);

// Block header flags (byte 9).
inline constexpr std::uint8_t kBlockHasBarRuns = 1;  // the payload holds bar_run records (format 3)
// Format 5: the block's bar_run records are not compressed. The payload is
// runs_size (u32 LE), the runs ((varint len, bar_run record)*, runs_size
// bytes), then the other records as the codec says; in the raw records each
// run's place is a length of 0 (never a record's). raw_size counts both parts'
// raw bytes. Why: LZ4 spent 30 % of its instructions on bar runs for 1.15x.
inline constexpr std::uint8_t kBlockRunsApart = 2;

struct BlockHeader {
  BlockCodec codec = BlockCodec::Lz4;
  std::uint8_t flags = 0;
  std::uint32_t stored_size = 0;   // payload bytes following the header
  std::uint32_t raw_size = 0;      // after decompression
  std::uint32_t record_count = 0;
  std::uint64_t first_sequence = 0;
  std::uint64_t last_sequence = 0;
  std::int64_t min_ts_ns = 0;
  std::int64_t max_ts_ns = 0;
  std::uint64_t payload_checksum = 0;  // XXH3-64 of the stored payload
};

// Writes kBlockHeaderSize bytes, including the header checksum.
void encode_block_header(const BlockHeader& h, char* out);

// Checks the magic, the header checksum and that the fields are plausible.
// Returns nullptr when they are, else what is wrong.
const char* decode_block_header(const char* in, BlockHeader& out) noexcept;

bool has_block_magic(const char* p) noexcept;

std::uint64_t checksum64(const void* data, std::size_t size) noexcept;

// LEB128 length prefixes of records inside a block.
void put_varint32(std::string& out, std::uint32_t v);
// The same written at `p` (room for varint32_size(v) bytes); returns the end.
inline char* put_varint32(char* p, std::uint32_t v) noexcept {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}
constexpr std::size_t varint32_size(std::uint32_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
// Returns the number of bytes read, 0 if malformed or truncated.
std::size_t get_varint32(const char* p, const char* end, std::uint32_t& v) noexcept;

}  // namespace te::journal
