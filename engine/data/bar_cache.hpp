#pragma once
// The binary columnar cache of a bar file (".tebars"): the columns of a
// BarSeries laid out for mmap, so a repeated load is a mapping and a checksum
// instead of a parse. Byte layout in docs/data.md ("Cache format"); all integers
// little-endian.
//
//   0   8  magic "TEBARS\r\n"           72  80  column offsets, 10 x u64 (0 = absent):
//   8   4  version (kBarCacheVersion)           ts_ns, open, high, low, close, volume,
//   12  4  header size (192)                    bid, ask, bid_size, ask_size
//   16  8  row count                    152 32  source SHA-256 (see below)
//   24  8  file size                    184  8  XXH3-64 of header bytes [0, 184)
//   32  4  flags: 1 bid/ask, 2 sizes
//   36  4  source format (CsvFormat, 0 = none)     columns start on 64-byte
//   40  8  source size                             boundaries; zero padding;
//   48  8  source mtime (ns)                       the file size is a multiple
//   56  8  source content hash (XXH3-64)           of 64
//   64  8  data hash: XXH3-64 of bytes [192, file size)
//  152 32  SHA-256 of the source file (zero: not recorded; caches written
//          before it was added have zero there)
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "engine/core/result.hpp"
#include "engine/data/mapped_file.hpp"
#include "engine/model/bar_series.hpp"

namespace te::data {

inline constexpr std::uint32_t kBarCacheVersion = 1;
inline constexpr std::size_t kBarCacheHeaderSize = 192;
inline constexpr std::string_view kBarCacheMagic{"TEBARS\r\n", 8};
inline constexpr std::string_view kBarCacheExtension = ".tebars";

// What a cache was built from; all zero for a cache without a source file.
struct CacheSource {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint64_t content_hash = 0;  // hash_bytes() of the whole source file
  std::uint32_t format = 0;        // CsvFormat of the source
  // Lowercase hex SHA-256 of the whole source file, or "" when not recorded:
  // lets a cached backtest stamp its report (data_sha256) without rehashing.
  std::string sha256;
};

struct BarCacheHeader {
  std::uint32_t version = 0;
  std::uint64_t rows = 0;
  std::uint64_t file_size = 0;
  std::uint32_t flags = 0;
  std::uint64_t data_hash = 0;
  CacheSource source;
  std::array<std::uint64_t, 10> column_offsets{};
};

// XXH3-64 of a byte range: the content hash of cache sources.
std::uint64_t hash_bytes(std::string_view bytes) noexcept;

// True when `bytes` starts with the cache magic.
bool is_bar_cache(std::string_view bytes) noexcept;

// Where load_bars looks for the cache of `source_path`: "<source_path>.tebars",
// or inside `cache_dir` "<file name>.<hash of the absolute path>.tebars".
std::string cache_path_for(const std::string& source_path, const std::string& cache_dir);

// Writes the series atomically: a temporary file in the same directory renamed
// over `path`, so readers see the old file or the whole new one, never a part.
// Errors: Errc::io naming the path.
Status write_bar_cache(const model::BarSeries& series, const std::string& path, const CacheSource& source);

// Reads and checks only the header (magic, version, header checksum).
// Errors: Errc::not_found; Errc::unsupported for another version or byte order;
// Errc::parse for anything corrupt. Messages name the path and the problem.
Result<BarCacheHeader> read_bar_cache_header(const std::string& path);

// Maps the cache and returns a series whose columns point into the mapping (no
// copy; the series keeps the mapping alive). Checks the header, the file size
// (truncation), the column table and, when `verify_data`, the data checksum and
// the bars themselves (the CSV loader's rules: increasing time, positive finite
// prices inside [low, high], volume >= 0, a consistent quote).
// Errors: as read_bar_cache_header.
Result<model::BarSeries> open_bar_cache(const std::string& path, bool verify_data, std::string symbol,
                                        model::InstrumentId id, BarCacheHeader* header = nullptr);

// The checks open_bar_cache makes with `verify_data`, for a series it opened
// without them (the whole cache, `header` as it returned it): the bars, block
// by block, then the data checksum. `progress(rows)` is called each time more
// leading rows passed the bar checks. Errors: Errc::parse naming the path (the
// message may differ from open_bar_cache's when the file has several faults).
Status verify_bar_cache(const model::BarSeries& series, const BarCacheHeader& header, const std::string& path,
                        const std::function<void(std::size_t)>& progress);

}  // namespace te::data
