#pragma once
// A large CSV parsed on a thread of its own while the caller already reads the
// rows parsed so far (the backtest command runs the strategy over them).
//
// Why: the command parsed the whole 1M-row CSV (~50 ms with both cores) before
// the strategy could start, and the two cores were then half idle. Streamed,
// the strategy starts after the first chunk and the parse runs on the second
// core just ahead of it.
//
// How: the file's lines are counted first (both threads, a few ms), which gives
// the exact row count of a file that parses cleanly and each chunk's first row,
// so every chunk is parsed straight into its final place in one column store.
// Rows are published chunk by chunk, in order. Anything unusual (a bad row,
// rows out of time order across chunks, a row count that does not match the
// lines) ends the stream with an error whose text does not matter: the caller
// must then throw away whatever it computed from the rows and load the file
// again the ordinary way (load_bars without streaming), which reports exactly
// what parse_csv reports. Nothing may be reported from the rows before
// result() says ok.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/core/sha256.hpp"
#include "engine/data/csv_format.hpp"
#include "engine/data/load_options.hpp"
#include "engine/data/mapped_file.hpp"
#include "engine/model/bar_series.hpp"

namespace te::data {

class ColumnStore;

class CsvStream {
 public:
  // Starts streaming `file` (a CSV named `name` in messages), or returns null
  // when the file is not worth streaming or cannot be (smaller than
  // options.stream_min_bytes, a time filter, a bad header, a first chunk that
  // does not parse, daily data: see csv_stream.cpp): the caller then parses it
  // whole. Returns once the first chunk is parsed. With `sha256`, the worker
  // also hashes the file's bytes once the parse is done (source_sha256()).
  static std::shared_ptr<CsvStream> start(std::shared_ptr<const MappedFile> file, const std::string& name,
                                          const LoadOptions& options, bool sha256);
  ~CsvStream();  // waits for the worker
  CsvStream(const CsvStream&) = delete;
  CsvStream& operator=(const CsvStream&) = delete;

  // All rows the file holds if it parses cleanly; only the first
  // wait_rows() of them may be read.
  const model::BarSeries& series() const noexcept { return series_; }
  // How many leading rows are parsed, once at least `rows` are or the stream
  // ended (then fewer when it failed). Meanwhile the caller parses chunks
  // nobody has taken yet itself, if any, instead of waiting: when the worker
  // falls behind (it shares its core with other work), the caller takes over
  // part of the parse.
  std::size_t wait_rows(std::size_t rows) noexcept;
  // Without blocking: the whole file parsed cleanly.
  bool passed() const noexcept;
  // Waits for the parse (and the hash): ok, or that the rows must not be used.
  Status result();
  // After result() is ok, with `sha256`: lowercase hex SHA-256 of the file.
  const std::string& source_sha256() const noexcept { return sha256_; }
  // After result() is ok: the file's bytes are parsed and hashed, so the
  // stream lets go of its mapping (unmapped here unless someone else holds
  // it). Why: unmapping 53 MB of file pages is ~3 ms of page-table work that
  // otherwise fell at process exit, after every other thread had finished;
  // the command does it while report.html is still being written.
  void release_file() noexcept;

 private:
  struct Chunk {
    std::size_t begin, end;  // byte offsets in the body
    std::size_t first_row, rows;
  };
  // Items done by either thread, and a wait for all of them.
  class Counter {
   public:
    void add(std::size_t n) noexcept {
      done_.fetch_add(n, std::memory_order_release);
      done_.notify_all();
    }
    void wait_for_all(std::size_t total) const noexcept {
      for (std::size_t now; (now = done_.load(std::memory_order_acquire)) < total;)
        done_.wait(now, std::memory_order_acquire);
    }

   private:
    std::atomic<std::size_t> done_{0};
  };

  // What became of a chunk once parsed: set by the thread that parsed it.
  struct Parsed {
    std::atomic<int> state{0};  // 0 not yet, 1 ok, 2 failed
    std::int64_t first_ts = 0, last_ts = 0;
  };

  CsvStream() = default;
  void work() noexcept;          // worker thread: helps count, then parses chunks, then hashes
  void count_chunks() noexcept;  // either thread: lines of unclaimed chunks
  bool help() noexcept;          // either thread: parses the next unclaimed chunk; false when none is left
  void parse_chunk(std::size_t k) noexcept;
  void parse_chunk_rows(std::size_t k);  // parse_chunk's work (may throw)
  void publish() noexcept;       // either thread: publishes the parsed chunks that come next in order
  void end(bool ok) noexcept;
  void hash_rest() noexcept;     // either thread, once the parse passed: hashes the next pieces

  static constexpr std::uint64_t kEnded = std::uint64_t{1} << 63;  // or-ed into rows_ when the stream is over
  std::shared_ptr<const MappedFile> file_;
  std::string name_;
  std::string_view body_;
  std::size_t bulk_ = 0;      // lines from here on are parsed from a padded copy
  std::size_t rows_end_ = 0;  // end of the last line that is not empty
  CsvLayout layout_;
  std::vector<Chunk> chunks_;
  std::unique_ptr<Parsed[]> parsed_;
  std::shared_ptr<ColumnStore> store_;
  model::BarSeries series_;
  // The file's SHA-256, hashed in order in 1 MiB pieces by whichever thread
  // is free: the worker after the parse, the caller when it wants the result.
  std::mutex sha_mu_;
  std::unique_ptr<Sha256> sha_;  // null: not wanted
  std::size_t sha_at_ = 0;       // bytes hashed so far
  bool sha_done_ = false;
  std::string sha256_;
  std::atomic<std::uint64_t> rows_{0};      // rows published (| kEnded)
  std::atomic<bool> ok_{false};             // set before kEnded is published
  std::atomic<bool> failed_{false};         // a chunk failed: nobody starts another
  std::atomic<bool> stop_{false};           // the stream is being destroyed: the worker gives up
  std::atomic<std::size_t> next_count_{0};  // first chunk nobody has claimed for counting
  Counter counted_;                         // chunks counted
  std::atomic<int> go_{0};                  // 1: row offsets known; 2: give up
  std::atomic<std::size_t> next_chunk_{0};  // first chunk nobody has claimed for parsing
  std::atomic<std::size_t> published_{0};   // chunks published, in order
  std::thread thread_;
};

// Newlines in [p, p + n): counted 32 bytes a step where the CPU has AVX2.
std::size_t count_newlines(const char* p, std::size_t n) noexcept;

}  // namespace te::data
