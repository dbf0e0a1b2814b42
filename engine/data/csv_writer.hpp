#pragma once
// Writing bars as generic-format CSV (docs/data.md): every double is printed as
// the shortest text that parses back to the same value, so write -> load is exact.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "engine/core/result.hpp"
#include "engine/model/bar_series.hpp"

namespace te::data {

struct CsvColumns {
  bool quotes = false;       // bid,ask (empty cells for bars without a quote)
  bool quote_sizes = false;  // bid_size,ask_size (implies the bid,ask columns)
  bool date_only = false;    // timestamps as YYYY-MM-DD; every bar must be at 00:00 UTC
};

// Streams rows to a file, for callers that produce bars one at a time (the
// generator) without holding them all. Not thread-safe.
class CsvBarWriter {
 public:
  // Creates or truncates `path` and writes the header.
  // Errors: Errc::io naming the path.
  static Result<CsvBarWriter> create(const std::string& path, CsvColumns columns);

  CsvBarWriter(CsvBarWriter&&) noexcept = default;
  CsvBarWriter& operator=(CsvBarWriter&&) noexcept = default;
  ~CsvBarWriter() = default;  // an unclosed writer closes without reporting errors

  // Errors: Errc::io when the data cannot be written (disk full, ...).
  Status write(const model::Bar& bar);
  // Flushes and closes; only now are late write errors known.
  Status close();

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };
  CsvBarWriter(std::string path, std::unique_ptr<std::FILE, FileCloser> file, CsvColumns columns);
  Status flush();
  void append_time(std::int64_t ts_ns);

  std::string path_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  CsvColumns columns_;
  std::string buf_;
  std::int64_t day_ = INT64_MIN;  // the day whose "YYYY-MM-DD" is in day_text_
  char day_text_[48] = {};
};

// Writes the whole series in the generic format, with bid/ask (and sizes) columns
// when the series has them and date-only timestamps when series.date_only().
// Errors: Errc::io naming the path.
Status write_csv(const model::BarSeries& series, const std::string& path);

}  // namespace te::data
