#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "engine/model/ids.hpp"

namespace te::data {

// How load_bars uses the binary cache (bar_cache.hpp) beside a CSV file.
struct CacheOptions {
  bool read = true;         // use a cache that matches the source instead of parsing
  bool write = true;        // write one after parsing; failing to write only warns
  // Sources smaller than this parse in milliseconds and get no cache file.
  std::uint64_t min_source_bytes = 8u << 20;
  std::string dir;          // empty: beside the source as <file>.tebars
  bool verify_data = true;  // checksum the columns when opening a cache
  // With verify_data, load_bars only: check a cache's data on a thread of its
  // own instead of before returning (LoadReport::cache_check); the caller reads
  // rows only as they pass and decides what a failure means (engine/data/cache_check.hpp).
  bool defer_verify = false;
};

struct LoadOptions {
  std::string symbol;                     // display only; empty: the file name without extension
  model::InstrumentId instrument = 0;
  std::optional<std::int64_t> start_ns;   // keep bars with start_ns <= ts_ns ...
  std::optional<std::int64_t> end_ns;     // ... and ts_ns < end_ns (exclusive)
  CacheOptions cache;                     // load_bars only
  // load_bars only: also report the SHA-256 of the source file's bytes
  // (LoadReport::source_sha256), for reproducibility stamps. A parsed CSV is
  // hashed on a second thread while it is parsed (and the digest is kept in
  // the cache written from it); a CSV whose cache is used gets the digest
  // recorded in that cache. Left empty when unknown (a .tebars file given
  // directly, a cache written before digests were recorded).
  bool source_sha256 = false;
  // With source_sha256, when no cache is to be written (cache.write off): do
  // not hash while parsing; LoadReport::source_bytes then holds the parsed
  // bytes for the caller to hash later (the backtest command hashes them on
  // the second core while the strategy runs, instead of on a third thread
  // competing with the two that parse).
  bool defer_source_sha256 = false;
  // load_bars only, when it parses a CSV without writing a cache and without
  // a time filter: a body of at least stream_min_bytes is parsed on a thread
  // of its own in chunks of about stream_chunk_bytes, and load_bars returns
  // after the first chunk with LoadReport::csv_stream (engine/data/csv_stream.hpp);
  // the caller reads only rows parsed so far and may use nothing before the
  // stream's result() is ok. Smaller files, daily data and anything the stream
  // cannot take are parsed whole as usual.
  bool stream_csv = false;
  std::size_t stream_min_bytes = std::size_t{4} << 20;
  std::size_t stream_chunk_bytes = std::size_t{256} << 10;
  // Called with each warning (a cache that could not be written, a stale cache
  // rebuilt); nothing is printed by the data module itself.
  std::function<void(const std::string&)> on_warning;
};

}  // namespace te::data
