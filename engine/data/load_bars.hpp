#pragma once
// The one call the engine uses to get bars from a file: a CSV (through its
// binary cache when one matches) or a .tebars cache file given directly.
#include <memory>
#include <string>

#include "engine/core/result.hpp"
#include "engine/data/csv_format.hpp"
#include "engine/data/load_options.hpp"
#include "engine/data/mapped_file.hpp"
#include "engine/model/bar_series.hpp"

namespace te::data {

class CacheCheck;  // cache_check.hpp
class CsvStream;   // csv_stream.hpp

enum class LoadSource : std::uint8_t {
  csv,         // parsed the CSV
  csv_cache,   // used the CSV's cache, no parsing
  cache_file,  // the path itself was a .tebars file
};

// What load_bars did, for logs, tests and benchmarks.
struct LoadReport {
  LoadSource source = LoadSource::csv;
  std::string cache_path;  // the cache consulted or written ("" when caching is off)
  // The last thing that happened to the cache: "used", "missing", "disabled"
  // (not a regular file, or reading and writing both off), "not read",
  // "stale: <why>", "invalid: <why>", "written", "not written: <why>"
  std::string cache_status;
  // With LoadOptions::source_sha256: lowercase hex SHA-256 of the source file,
  // or "" when it is not known without reading the file again.
  std::string source_sha256;
  // With LoadOptions::defer_source_sha256, when source_sha256 was left for the
  // caller: exactly the bytes that were parsed (the source's mapping).
  std::shared_ptr<const MappedFile> source_bytes;
  // With CacheOptions::defer_verify, when a cache was used: its data checks,
  // running (over the whole cache, before any time filter).
  std::shared_ptr<CacheCheck> cache_check;
  // With LoadOptions::stream_csv, when the CSV is being parsed on a thread of
  // its own: the series' rows are readable only as the stream publishes them,
  // and nothing computed from them may be reported before its result() is ok
  // (when it fails, load the file again without streaming for the error).
  // With source_sha256 the stream's worker hashes the file after the parse
  // (CsvStream::source_sha256(); source_sha256 and source_bytes stay empty).
  std::shared_ptr<CsvStream> csv_stream;
};

// Loads bars from `path`:
//  - a file starting with the cache magic is opened as a cache (zero copy);
//  - otherwise it is a CSV. With options.cache.read, a cache at
//    cache_path_for(path, options.cache.dir) is used when it matches the CSV
//    (same size and either the same mtime or the same content hash). Otherwise
//    the CSV is parsed and, with options.cache.write, a fresh cache is written
//    atomically. Stale, truncated, corrupt or other-version caches are ignored
//    and replaced; failing to write one only warns (options.on_warning).
// The [start_ns, end_ns) filter applies to every path.
// Errors: as load_csv (the CSV's errors), or the cache file's own errors when
// the path is a cache.
Result<model::BarSeries> load_bars(const std::string& path, const LoadOptions& options, LoadReport* report = nullptr);

struct CacheBuild {
  std::string cache_path;
  std::size_t rows = 0;
  CsvFormat format = CsvFormat::generic;
  std::uint64_t bytes = 0;  // size of the cache file
};

// Parses the CSV at `source_path` and writes its cache (stamped with the source's
// size, mtime, content hash and SHA-256, so load_bars accepts it) to `cache_path`, or when
// that is empty to cache_path_for(source_path, ""). `trading-engine convert-data`.
// Errors: the CSV's errors as load_csv; Errc::invalid_argument when the source is
// already a cache; Errc::io when the cache cannot be written.
Result<CacheBuild> build_bar_cache(const std::string& source_path, const std::string& cache_path);

}  // namespace te::data
