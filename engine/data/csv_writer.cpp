#include "engine/data/csv_writer.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>

#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"

namespace te::data {
namespace {

constexpr std::size_t kFlushBytes = 1 << 20;

Error io_error(const std::string& path, const char* what, int err) {
  return make_error(Errc::io, path + ": " + what + ": " + std::strerror(err));
}

void append_number(std::string& out, double v) {
  if (std::isnan(v)) return;  // an absent quote is an empty cell
  append_double(out, v);
}

void append_2digits(std::string& out, std::int64_t v) {
  out.push_back(static_cast<char>('0' + v / 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

}  // namespace

CsvBarWriter::CsvBarWriter(std::string path, std::unique_ptr<std::FILE, FileCloser> file, CsvColumns columns)
    : path_(std::move(path)), file_(std::move(file)), columns_(columns) {
  if (columns_.quote_sizes) columns_.quotes = true;
  buf_.reserve(kFlushBytes + 256);
  buf_ = "timestamp,open,high,low,close,volume";
  if (columns_.quotes) buf_ += ",bid,ask";
  if (columns_.quote_sizes) buf_ += ",bid_size,ask_size";
  buf_ += '\n';
}

Result<CsvBarWriter> CsvBarWriter::create(const std::string& path, CsvColumns columns) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
  if (!f) return io_error(path, "cannot create", errno);
  return CsvBarWriter(path, std::move(f), columns);
}

void CsvBarWriter::append_time(std::int64_t ts) {
  const std::int64_t day = floor_days(ts);
  if (day != day_) {
    const CivilDate c = civil_from_days(day);
    std::snprintf(day_text_, sizeof day_text_, "%04lld-%02u-%02u", static_cast<long long>(c.year), c.month, c.day);
    day_ = day;
  }
  buf_.append(day_text_);
  if (columns_.date_only) return;
  const std::int64_t in_day = ts - day * kNsPerDay;
  if (in_day % kNsPerSec != 0) {  // sub-second: rare, let the general formatter do it
    const std::string full = format_iso8601(ts);
    buf_.append(full, 10);
    return;
  }
  const std::int64_t secs = in_day / kNsPerSec;
  buf_.push_back('T');
  append_2digits(buf_, secs / 3600);
  buf_.push_back(':');
  append_2digits(buf_, secs / 60 % 60);
  buf_.push_back(':');
  append_2digits(buf_, secs % 60);
  buf_.push_back('Z');
}

Status CsvBarWriter::write(const model::Bar& b) {
  TE_ASSERT(file_ != nullptr, "write on a closed csv writer");
  TE_ASSERT(!columns_.date_only || b.ts_ns % kNsPerDay == 0, "date-only csv given an intraday bar");
  append_time(b.ts_ns);
  for (double v : {b.open, b.high, b.low, b.close, b.volume}) {
    buf_.push_back(',');
    append_double(buf_, v);
  }
  if (columns_.quotes) {
    buf_.push_back(',');
    append_number(buf_, b.bid);
    buf_.push_back(',');
    append_number(buf_, b.ask);
  }
  if (columns_.quote_sizes) {
    buf_.push_back(',');
    append_number(buf_, b.bid_size);
    buf_.push_back(',');
    append_number(buf_, b.ask_size);
  }
  buf_.push_back('\n');
  if (buf_.size() >= kFlushBytes) return flush();
  return {};
}

Status CsvBarWriter::flush() {
  if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), file_.get()) != buf_.size())
    return io_error(path_, "write failed", errno);
  buf_.clear();
  return {};
}

Status CsvBarWriter::close() {
  if (!file_) return {};
  Status s = flush();
  std::FILE* f = file_.release();
  if (std::fclose(f) != 0 && s.ok()) return io_error(path_, "write failed", errno);
  return s;
}

Status write_csv(const model::BarSeries& series, const std::string& path) {
  CsvColumns cols;
  cols.quotes = series.has_quotes();
  cols.quote_sizes = series.has_quote_sizes();
  cols.date_only = series.date_only();
  auto w = CsvBarWriter::create(path, cols);
  if (!w) return std::move(w).error();
  for (std::size_t i = 0; i < series.size(); ++i) TE_TRY(w->write(series.at(i)));
  return w->close();
}

}  // namespace te::data
