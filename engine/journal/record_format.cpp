#include "engine/journal/record_format.hpp"

#define XXH_INLINE_ALL
#include <lz4.h>
#include <xxhash.h>

#include <cstring>

#include "engine/core/cpu_features.hpp"

namespace te::journal {

namespace {

template <class T>
void put_le(char* p, T v) {
  auto u = static_cast<std::make_unsigned_t<T>>(v);
  for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<char>((u >> (8 * i)) & 0xff);
}

template <class T>
T get_le(const char* p) {
  std::make_unsigned_t<T> u = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    u = static_cast<std::make_unsigned_t<T>>(u | (static_cast<std::make_unsigned_t<T>>(static_cast<unsigned char>(p[i])) << (8 * i)));
  }
  return static_cast<T>(u);
}

std::uint32_t header_checksum(const char* in) noexcept {
  return static_cast<std::uint32_t>(checksum64(in + 8, kBlockHeaderSize - 8) & 0xffffffffu);
}

}  // namespace

std::string_view to_string(StorageMode m) noexcept { return m == StorageMode::Full ? "full" : "delta"; }

bool parse_storage_mode(std::string_view s, StorageMode& out) noexcept {
  if (s == "full") {
    out = StorageMode::Full;
    return true;
  }
  if (s == "delta") {
    out = StorageMode::Delta;
    return true;
  }
  return false;
}

#if defined(TE_JOURNAL_CHECKSUM_AVX2)
namespace detail {
// checksum_avx2.cpp (compiled with -mavx2): call only when the CPU has AVX2.
std::uint64_t checksum64_avx2(const void* data, std::size_t size) noexcept;
}  // namespace detail
#endif

std::uint64_t checksum64(const void* data, std::size_t size) noexcept {
#if defined(TE_JOURNAL_CHECKSUM_AVX2)
  // A block's hash with the kernel the CPU runs best: the same value.
  static const bool avx2 = cpu_avx2();
  if (avx2 && size >= 256) return detail::checksum64_avx2(data, size);
#endif
  return XXH3_64bits(data, size);
}

std::string encode_file_header(const FileHeader& h) {
  TE_ASSERT(h.writer.size() <= kWriterInfoSize, "journal writer info longer than %zu bytes", kWriterInfoSize);
  std::string out(kFileHeaderSize, '\0');
  char* p = out.data();
  std::memcpy(p, kFileMagic.data(), kFileMagic.size());
  put_le<std::uint16_t>(p + 8, h.major);
  put_le<std::uint16_t>(p + 10, h.minor);
  put_le<std::uint16_t>(p + 12, static_cast<std::uint16_t>(kFileHeaderSize));
  p[14] = static_cast<char>(h.storage_mode);
  p[15] = static_cast<char>(h.include_indicators ? 1 : 0);
  put_le<std::uint32_t>(p + 16, h.snapshot_interval);
  put_le<std::uint32_t>(p + 20, h.block_size);
  put_le<std::int64_t>(p + 24, h.created_ns);
  std::memcpy(p + 32, h.writer.data(), h.writer.size());
  put_le<std::uint64_t>(p + 56, checksum64(p, kFileHeaderSize - 8));
  return out;
}

Result<FileHeader> decode_file_header(std::string_view bytes) {
  if (bytes.size() < kFileMagic.size() ||
      std::memcmp(bytes.data(), kFileMagic.data(), kFileMagic.size()) != 0) {
    if (bytes.empty()) return make_error(Errc::parse, "not a journal: the file is empty");
    return make_error(Errc::parse, "not a journal: bad magic bytes (expected 89 54 45 4a 0d 0a 1a 0a)");
  }
  if (bytes.size() < 14) {
    return make_error(Errc::parse, "journal header truncated: " + std::to_string(bytes.size()) + " of " +
                                       std::to_string(kFileHeaderSize) + " bytes");
  }
  const char* p = bytes.data();
  FileHeader h;
  h.major = get_le<std::uint16_t>(p + 8);
  h.minor = get_le<std::uint16_t>(p + 10);
  h.header_size = get_le<std::uint16_t>(p + 12);
  // The version check comes before anything else a newer format may have changed.
  if (h.major > kFormatMajor) {
    return make_error(Errc::unsupported, "journal format version " + std::to_string(h.major) + "." +
                                             std::to_string(h.minor) + " is newer than this build reads (" +
                                             std::to_string(kFormatMajor) + ".x); upgrade trading-engine");
  }
  if (h.major == 0) return make_error(Errc::parse, "journal header is corrupt: format major version 0");
  if (h.header_size < kFileHeaderSize || h.header_size > kMaxFileHeaderSize) {
    return make_error(Errc::parse, "journal header is corrupt: header size " + std::to_string(h.header_size));
  }
  if (bytes.size() < h.header_size) {
    return make_error(Errc::parse, "journal header truncated: " + std::to_string(bytes.size()) + " of " +
                                       std::to_string(h.header_size) + " bytes");
  }
  if (get_le<std::uint64_t>(p + h.header_size - 8) != checksum64(p, h.header_size - 8u)) {
    return make_error(Errc::parse, "journal header is corrupt: checksum mismatch");
  }
  const auto mode = static_cast<std::uint8_t>(p[14]);
  if (mode > 1) return make_error(Errc::parse, "journal header is corrupt: storage mode " + std::to_string(mode));
  h.storage_mode = static_cast<StorageMode>(mode);
  h.include_indicators = (static_cast<std::uint8_t>(p[15]) & 1) != 0;
  h.snapshot_interval = get_le<std::uint32_t>(p + 16);
  h.block_size = get_le<std::uint32_t>(p + 20);
  h.created_ns = get_le<std::int64_t>(p + 24);
  const char* w = p + 32;
  h.writer.assign(w, strnlen(w, kWriterInfoSize));
  return h;
}

bool has_block_magic(const char* p) noexcept { return std::memcmp(p, kBlockMagic.data(), kBlockMagic.size()) == 0; }

void encode_block_header(const BlockHeader& h, char* out) {
  std::memset(out, 0, kBlockHeaderSize);
  std::memcpy(out, kBlockMagic.data(), kBlockMagic.size());
  out[8] = static_cast<char>(h.codec);
  out[9] = static_cast<char>(h.flags);
  put_le<std::uint32_t>(out + 12, h.stored_size);
  put_le<std::uint32_t>(out + 16, h.raw_size);
  put_le<std::uint32_t>(out + 20, h.record_count);
  put_le<std::uint64_t>(out + 24, h.first_sequence);
  put_le<std::uint64_t>(out + 32, h.last_sequence);
  put_le<std::int64_t>(out + 40, h.min_ts_ns);
  put_le<std::int64_t>(out + 48, h.max_ts_ns);
  put_le<std::uint64_t>(out + 56, h.payload_checksum);
  put_le<std::uint32_t>(out + 4, header_checksum(out));
}

const char* decode_block_header(const char* in, BlockHeader& out) noexcept {
  if (!has_block_magic(in)) return "bad block magic";
  if (get_le<std::uint32_t>(in + 4) != header_checksum(in)) return "block header checksum mismatch";
  const auto codec = static_cast<std::uint8_t>(in[8]);
  if (codec > 1) return "unknown block codec";
  out.codec = static_cast<BlockCodec>(codec);
  out.flags = static_cast<std::uint8_t>(in[9]);
  out.stored_size = get_le<std::uint32_t>(in + 12);
  out.raw_size = get_le<std::uint32_t>(in + 16);
  out.record_count = get_le<std::uint32_t>(in + 20);
  out.first_sequence = get_le<std::uint64_t>(in + 24);
  out.last_sequence = get_le<std::uint64_t>(in + 32);
  out.min_ts_ns = get_le<std::int64_t>(in + 40);
  out.max_ts_ns = get_le<std::int64_t>(in + 48);
  out.payload_checksum = get_le<std::uint64_t>(in + 56);
  // The checksum makes random damage implausible; these guard against a writer
  // bug turning into a huge allocation.
  if (out.raw_size > kMaxBlockRawSize) return "block raw size too large";
  // Runs apart (format 5): 4 bytes of runs_size more, and the raw runs.
  const std::uint64_t extra = (out.flags & kBlockRunsApart) != 0 ? 4 : 0;
  if (out.codec == BlockCodec::Stored && out.stored_size != out.raw_size + extra) return "stored block sizes differ";
  if (out.codec == BlockCodec::Lz4 &&
      out.stored_size > static_cast<std::uint64_t>(LZ4_COMPRESSBOUND(out.raw_size)) + extra) {
    return "block stored size too large";
  }
  if (out.record_count == 0 || out.record_count > out.raw_size / 2) return "block record count implausible";
  if (out.first_sequence > out.last_sequence) return "block sequence range reversed";
  if (out.min_ts_ns > out.max_ts_ns) return "block time range reversed";
  return nullptr;
}

void put_varint32(std::string& out, std::uint32_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

std::size_t get_varint32(const char* p, const char* end, std::uint32_t& v) noexcept {
  std::uint32_t result = 0;
  for (std::size_t i = 0; i < 5 && p + i < end; ++i) {
    const auto b = static_cast<std::uint32_t>(static_cast<unsigned char>(p[i]));
    if (i == 4 && b > 0x0f) return 0;  // more than 32 bits
    result |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      v = result;
      return i + 1;
    }
  }
  return 0;
}

}  // namespace te::journal
