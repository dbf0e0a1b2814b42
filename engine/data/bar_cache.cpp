#include "engine/data/bar_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>

#include "engine/core/time.hpp"
#include "engine/data/field_scan.hpp"
#include "engine/data/xxh3.hpp"

namespace te::data {
namespace {

constexpr std::size_t kAlign = 64;
constexpr std::size_t kHeaderHashOffset = 184;
constexpr std::size_t kSourceShaOffset = 152, kShaBytes = 32;
constexpr std::uint32_t kFlagQuotes = 1, kFlagSizes = 2;
constexpr std::size_t kColumns = 10;
const char* const kColumnNames[kColumns] = {"ts_ns", "open", "high", "low", "close",
                                             "volume", "bid", "ask", "bid_size", "ask_size"};

constexpr std::size_t align_up(std::size_t n) noexcept { return (n + kAlign - 1) / kAlign * kAlign; }

template <class T>
void put(unsigned char* h, std::size_t off, T v) noexcept {
  std::memcpy(h + off, &v, sizeof v);
}
template <class T>
T get(const unsigned char* h, std::size_t off) noexcept {
  T v;
  std::memcpy(&v, h + off, sizeof v);
  return v;
}

// The source's SHA-256 as 32 raw header bytes (zero when unknown) and back.
void put_sha256(unsigned char* h, const std::string& hex) noexcept {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() != 2 * kShaBytes) return;
  unsigned char raw[kShaBytes];
  for (std::size_t i = 0; i < kShaBytes; ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return;  // not a digest: record nothing
    raw[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  std::memcpy(h + kSourceShaOffset, raw, kShaBytes);
}

std::string get_sha256(const unsigned char* h) {
  static constexpr char kHex[] = "0123456789abcdef";
  bool any = false;
  std::string hex(2 * kShaBytes, '0');
  for (std::size_t i = 0; i < kShaBytes; ++i) {
    const unsigned char b = h[kSourceShaOffset + i];
    any = any || b != 0;
    hex[2 * i] = kHex[b >> 4];
    hex[2 * i + 1] = kHex[b & 15];
  }
  return any ? hex : std::string();
}

Error corrupt(const std::string& path, const std::string& what) {
  return make_error(Errc::parse, "cache " + path + ": " + what);
}

Error io_error(const std::string& path, const char* what, int err) {
  return make_error(Errc::io, "cache " + path + ": " + what + ": " + std::strerror(err));
}

// The column arrays of a series in cache order (nullptr when absent).
std::array<const void*, kColumns> column_data(const model::BarSeries& s) {
  const auto& c = s.columns();
  return {c.ts_ns, c.open, c.high, c.low, c.close, c.volume, c.bid, c.ask, c.bid_size, c.ask_size};
}

Result<BarCacheHeader> parse_header(const unsigned char* h, std::size_t available, const std::string& path) {
  if (available < kBarCacheHeaderSize)
    return corrupt(path, "truncated: " + std::to_string(available) + " bytes, shorter than the " +
                             std::to_string(kBarCacheHeaderSize) + "-byte header");
  if (std::memcmp(h, kBarCacheMagic.data(), kBarCacheMagic.size()) != 0)
    return corrupt(path, "not a bar cache (bad magic bytes)");
  if constexpr (std::endian::native != std::endian::little)
    return make_error(Errc::unsupported, "cache " + path + ": bar caches are little-endian, this machine is not");
  BarCacheHeader hd;
  hd.version = get<std::uint32_t>(h, 8);
  if (hd.version != kBarCacheVersion)
    return make_error(Errc::unsupported, "cache " + path + ": format version " + std::to_string(hd.version) +
                                             ", this build reads version " + std::to_string(kBarCacheVersion));
  if (get<std::uint32_t>(h, 12) != kBarCacheHeaderSize)
    return corrupt(path, "header size " + std::to_string(get<std::uint32_t>(h, 12)) + ", expected " +
                             std::to_string(kBarCacheHeaderSize));
  if (xxh3_64(h, kHeaderHashOffset) != get<std::uint64_t>(h, kHeaderHashOffset))
    return corrupt(path, "header checksum mismatch (the file is corrupt)");
  hd.rows = get<std::uint64_t>(h, 16);
  hd.file_size = get<std::uint64_t>(h, 24);
  hd.flags = get<std::uint32_t>(h, 32);
  hd.source.format = get<std::uint32_t>(h, 36);
  hd.source.size = get<std::uint64_t>(h, 40);
  hd.source.mtime_ns = get<std::int64_t>(h, 48);
  hd.source.content_hash = get<std::uint64_t>(h, 56);
  hd.data_hash = get<std::uint64_t>(h, 64);
  hd.source.sha256 = get_sha256(h);
  for (std::size_t i = 0; i < kColumns; ++i) hd.column_offsets[i] = get<std::uint64_t>(h, 72 + 8 * i);
  if ((hd.flags & ~(kFlagQuotes | kFlagSizes)) != 0)
    return make_error(Errc::unsupported, "cache " + path + ": unknown flags " + std::to_string(hd.flags));
  return hd;
}

// The column table must describe exactly the columns the flags announce, each
// aligned, inside the file, in order and without overlap.
Status check_columns(const BarCacheHeader& hd, const std::string& path) {
  if (hd.rows > (hd.file_size / 8)) return corrupt(path, "row count " + std::to_string(hd.rows) + " exceeds the file");
  std::uint64_t end = kBarCacheHeaderSize;
  for (std::size_t i = 0; i < kColumns; ++i) {
    const bool wanted = i < 6 || (i < 8 ? (hd.flags & kFlagQuotes) != 0 : (hd.flags & kFlagSizes) != 0);
    const std::uint64_t off = hd.column_offsets[i];
    if (!wanted) {
      if (off != 0) return corrupt(path, std::string("column ") + kColumnNames[i] + " present but not flagged");
      continue;
    }
    if (off < end || off % kAlign != 0 || off > hd.file_size || hd.file_size - off < hd.rows * 8)
      return corrupt(path, std::string("bad offset for column ") + kColumnNames[i]);
    end = off + hd.rows * 8;
  }
  return {};
}

// Rows [begin, end) one by one: the first problem found, named.
Status check_rows(const model::BarSeries& s, std::size_t begin, std::size_t end, const std::string& path) {
  const auto ts = s.ts_ns();
  for (std::size_t i = begin; i < end; ++i) {
    const char* problem = nullptr;
    if (i > 0 && ts[i] <= ts[i - 1]) problem = "timestamps must increase from row to row";
    const model::Bar b = s.at(i);
    if (!problem) problem = model::bar_problem(b);
    if (!problem && std::isnan(b.bid) != std::isnan(b.ask)) problem = "bid and ask must both be given or both be absent";
    if (!problem && (b.bid_size < 0 || b.ask_size < 0)) problem = "bid_size and ask_size must not be negative";
    if (problem) {
      return corrupt(path, "row " + std::to_string(i + 1) + " (" + format_iso8601(ts[i]) + "): " + problem +
                               "; the file was not written by this engine from a valid data file");
    }
  }
  return {};
}

// Whether rows [begin, end) of a series without quote columns pass every check
// of model::bar_problem and the time order, as one branch-free pass over the
// columns (vectorised), instead of ~120 instructions a row through Bar and
// bar_problem: a million-row cache is checked on every load. Accepting here
// implies check_rows accepts: NaN fails every comparison, and with
// 0 < low <= high < inf and open, close in [low, high] all four prices are
// finite.
bool rows_plainly_valid(const model::BarSeries::Columns& c, std::size_t begin, std::size_t end) noexcept {
  std::size_t i = begin;
  bool ok = true;
#if defined(__SSE2__)
  // Two rows per step (GCC does not vectorise the scalar loop below: mixed
  // floating-point comparisons). Every comparison is false for NaN.
  const __m128d zero = _mm_setzero_pd(), inf = _mm_set1_pd(HUGE_VAL);
  __m128d all = _mm_castsi128_pd(_mm_set1_epi32(-1));
  for (; i + 2 <= end; i += 2) {
    const __m128d o = _mm_loadu_pd(c.open + i), h = _mm_loadu_pd(c.high + i), l = _mm_loadu_pd(c.low + i),
                  cl = _mm_loadu_pd(c.close + i), v = _mm_loadu_pd(c.volume + i);
    __m128d m = _mm_and_pd(_mm_cmplt_pd(h, inf), _mm_cmpge_pd(h, l));
    m = _mm_and_pd(m, _mm_cmpgt_pd(l, zero));
    m = _mm_and_pd(m, _mm_and_pd(_mm_cmpge_pd(o, l), _mm_cmple_pd(o, h)));
    m = _mm_and_pd(m, _mm_and_pd(_mm_cmpge_pd(cl, l), _mm_cmple_pd(cl, h)));
    m = _mm_and_pd(m, _mm_and_pd(_mm_cmpge_pd(v, zero), _mm_cmplt_pd(v, inf)));
    all = _mm_and_pd(all, m);
  }
  ok = _mm_movemask_pd(all) == 3;
#endif
  const double inf_s = HUGE_VAL;
  for (; i < end; ++i) {
    const double o = c.open[i], h = c.high[i], l = c.low[i], cl = c.close[i], v = c.volume[i];
    ok &= (h < inf_s) & (h >= l) & (l > 0) & (o >= l) & (o <= h) & (cl >= l) & (cl <= h) & (v >= 0) & (v < inf_s);
  }
  std::int64_t bad = 0;
  for (std::size_t k = std::max<std::size_t>(begin, 1); k < end; ++k) bad |= c.ts_ns[k] <= c.ts_ns[k - 1];
  return ok && bad == 0;
}

// The checksums only prove the file is the one its writer wrote: a cache
// crafted with matching checksums, or written by another tool, must still not
// feed the engine bars the CSV loader refuses (a price at 0 or NaN, time going
// backwards), and an empty cache has no bars to run on.
// `progress(rows)`, when given, hears after each block that the leading rows passed.
Status check_bars(const model::BarSeries& s, const std::string& path,
                  const std::function<void(std::size_t)>* progress = nullptr) {
  if (s.empty()) return corrupt(path, "no bars (row count 0)");
  // Rows must increase (below), so the ends bound every time.
  const auto ts = s.ts_ns();
  if (ts[0] < scan::kFirstMsOf1678 * kNsPerMs || ts[s.size() - 1] >= scan::kFirstMsOf2262 * kNsPerMs)
    return corrupt(path, "times outside the years 1678 to 2261; the file was not written by this engine from a "
                         "valid data file");
  const auto& c = s.columns();
  if (c.bid || c.ask || c.bid_size || c.ask_size) {
    TE_TRY(check_rows(s, 0, s.size(), path));
    if (progress) (*progress)(s.size());
    return {};
  }
  // Blocks that fail the fast pass are checked row by row for the message.
  constexpr std::size_t kBlock = 4096;
  for (std::size_t begin = 0; begin < s.size(); begin += kBlock) {
    const std::size_t end = std::min(s.size(), begin + kBlock);
    if (!rows_plainly_valid(c, begin, end)) TE_TRY(check_rows(s, begin, end, path));
    if (progress) (*progress)(end);
  }
  return {};
}

bool write_all(int fd, const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n != 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

std::uint64_t hash_bytes(std::string_view bytes) noexcept { return xxh3_64(bytes.data(), bytes.size()); }

bool is_bar_cache(std::string_view bytes) noexcept { return bytes.starts_with(kBarCacheMagic); }

std::string cache_path_for(const std::string& source_path, const std::string& cache_dir) {
  if (cache_dir.empty()) return source_path + std::string(kBarCacheExtension);
  std::error_code ec;
  std::string abs = std::filesystem::absolute(source_path, ec).lexically_normal().string();
  if (ec) abs = source_path;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash_bytes(abs)));
  const std::string name = std::filesystem::path(source_path).filename().string();
  return (std::filesystem::path(cache_dir) / (name + "." + hex + std::string(kBarCacheExtension))).string();
}

Status write_bar_cache(const model::BarSeries& series, const std::string& path, const CacheSource& source) {
  // The write renames a temporary file over the target: over a device or a
  // FIFO that would replace the node itself (audit: `convert-data --out
  // /dev/full` turned /dev/full into a regular file).
  struct stat target {};
  if (::stat(path.c_str(), &target) == 0 && !S_ISREG(target.st_mode))
    return make_error(Errc::invalid_argument,
                      "cache " + path + ": exists and is not a regular file; give a file path to write the cache to");
  if constexpr (std::endian::native != std::endian::little)
    return make_error(Errc::unsupported, "cache " + path + ": bar caches are little-endian, this machine is not");
  const auto cols = column_data(series);
  const std::size_t rows = series.size();
  const bool quotes = series.has_quotes(), sizes = series.has_quote_sizes();

  unsigned char h[kBarCacheHeaderSize] = {};
  std::memcpy(h, kBarCacheMagic.data(), kBarCacheMagic.size());
  put<std::uint32_t>(h, 8, kBarCacheVersion);
  put<std::uint32_t>(h, 12, static_cast<std::uint32_t>(kBarCacheHeaderSize));
  put<std::uint64_t>(h, 16, rows);
  put<std::uint32_t>(h, 32, (quotes ? kFlagQuotes : 0) | (sizes ? kFlagSizes : 0));
  put<std::uint32_t>(h, 36, source.format);
  put<std::uint64_t>(h, 40, source.size);
  put<std::int64_t>(h, 48, source.mtime_ns);
  put<std::uint64_t>(h, 56, source.content_hash);
  put_sha256(h, source.sha256);
  std::size_t end = kBarCacheHeaderSize;
  std::array<std::size_t, kColumns> offsets{};
  for (std::size_t i = 0; i < kColumns; ++i) {
    const bool wanted = i < 6 || (i < 8 ? quotes : sizes);
    if (!wanted) continue;
    offsets[i] = align_up(end);
    end = offsets[i] + rows * 8;
    put<std::uint64_t>(h, 72 + 8 * i, offsets[i]);
  }
  const std::size_t file_size = align_up(end);
  put<std::uint64_t>(h, 24, file_size);

  // Same directory as the target, so the rename cannot cross file systems.
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return io_error(path, "cannot create a temporary file", errno);
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return io_error(path, what, err);
  };
  ::fchmod(fd, 0644);

  // Columns are written straight from the series' memory; the data hash covers
  // exactly the bytes written after the header, padding included.
  static const unsigned char kZeros[kAlign] = {};
  Xxh3Stream state;
  bool ok = ::lseek(fd, static_cast<off_t>(kBarCacheHeaderSize), SEEK_SET) >= 0;
  std::size_t pos = kBarCacheHeaderSize;
  for (std::size_t i = 0; ok && i < kColumns; ++i) {
    if (offsets[i] == 0) continue;
    const std::size_t pad = offsets[i] - pos;
    state.update(kZeros, pad);
    state.update(cols[i], rows * 8);
    ok = write_all(fd, kZeros, pad) && write_all(fd, cols[i], rows * 8);
    pos = offsets[i] + rows * 8;
  }
  if (ok) {
    state.update(kZeros, file_size - pos);
    ok = write_all(fd, kZeros, file_size - pos);
  }
  put<std::uint64_t>(h, 64, state.digest());
  put<std::uint64_t>(h, kHeaderHashOffset, xxh3_64(h, kHeaderHashOffset));
  if (!ok || ::pwrite(fd, h, sizeof h, 0) != static_cast<ssize_t>(sizeof h)) return fail("write failed");
  // No fsync: a cache is only an accelerator, and a torn file after a crash fails
  // its size and checksum checks and is rebuilt.
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error(path, "write failed", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error(path, "cannot rename the temporary file into place", err);
  }
  return {};
}

Result<BarCacheHeader> read_bar_cache_header(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return make_error(Errc::not_found, "cache " + path + ": no such file");
    return io_error(path, "cannot open", err);
  }
  unsigned char h[kBarCacheHeaderSize];
  const ssize_t n = ::pread(fd, h, sizeof h, 0);
  const int err = errno;
  ::close(fd);
  if (n < 0) return io_error(path, "read failed", err);
  return parse_header(h, static_cast<std::size_t>(n), path);
}

Result<model::BarSeries> open_bar_cache(const std::string& path, bool verify_data, std::string symbol,
                                        model::InstrumentId id, BarCacheHeader* header) {
  auto file = MappedFile::open(path);
  if (!file) {
    if (file.error().code == Errc::not_found) return make_error(Errc::not_found, "cache " + path + ": no such file");
    return std::move(file).error();
  }
  const std::shared_ptr<const MappedFile>& m = *file;
  const auto* bytes = static_cast<const unsigned char*>(static_cast<const void*>(m->data()));
  auto hd = parse_header(bytes, m->size(), path);
  if (!hd) return std::move(hd).error();
  if (hd->file_size != m->size())
    return corrupt(path, "truncated or padded: the header says " + std::to_string(hd->file_size) +
                             " bytes, the file has " + std::to_string(m->size()));
  TE_TRY(check_columns(*hd, path));
  if (verify_data &&
      xxh3_64(bytes + kBarCacheHeaderSize, m->size() - kBarCacheHeaderSize) != hd->data_hash)
    return corrupt(path, "data checksum mismatch (the file is corrupt)");

  // Offsets are multiples of 64 from a page-aligned mapping: aligned for the types.
  auto col = [&](std::size_t i) -> const double* {
    const std::uint64_t off = hd->column_offsets[i];
    return off == 0 ? nullptr : static_cast<const double*>(static_cast<const void*>(bytes + off));
  };
  model::BarSeries::Columns c;
  c.ts_ns = static_cast<const std::int64_t*>(static_cast<const void*>(bytes + hd->column_offsets[0]));
  c.open = col(1);
  c.high = col(2);
  c.low = col(3);
  c.close = col(4);
  c.volume = col(5);
  c.bid = col(6);
  c.ask = col(7);
  c.bid_size = col(8);
  c.ask_size = col(9);
  model::BarSeries series(std::move(symbol), id, static_cast<std::size_t>(hd->rows), c, *file);
  if (verify_data) TE_TRY(check_bars(series, path));
  if (header) *header = *hd;
  return series;
}

Status verify_bar_cache(const model::BarSeries& series, const BarCacheHeader& header, const std::string& path,
                        const std::function<void(std::size_t)>& progress) {
  // The bars first, block by block in the order a run reads them: this pass
  // is the first touch of the mapping (the slow one on VMs), so a reader
  // following `progress` finds the pages touched. The checksum's pass after it
  // runs over touched pages.
  TE_TRY(check_bars(series, path, &progress));
  const auto* base = static_cast<const unsigned char*>(static_cast<const void*>(series.columns().ts_ns)) -
                     header.column_offsets[0];
  if (xxh3_64(base + kBarCacheHeaderSize, header.file_size - kBarCacheHeaderSize) != header.data_hash)
    return corrupt(path, "data checksum mismatch (the file is corrupt)");
  return {};
}

}  // namespace te::data
