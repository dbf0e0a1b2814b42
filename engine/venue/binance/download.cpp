#include "engine/venue/binance/download.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "engine/core/numbers.hpp"
#include "engine/venue/binance/interval.hpp"

namespace te::venue::binance {
namespace {

namespace fs = std::filesystem;

struct FileCloser {
  void operator()(std::FILE* f) const noexcept {
    if (f) std::fclose(f);
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

std::vector<std::string_view> split_csv(std::string_view line) {
  std::vector<std::string_view> f;
  std::size_t start = 0;
  for (;;) {
    const auto comma = line.find(',', start);
    f.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return f;
}

// A complete klines CSV row: 11 fields, integer times and count, decimals elsewhere.
std::optional<std::int64_t> row_open_time(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const auto f = split_csv(line);
  if (f.size() != 11) return std::nullopt;
  std::int64_t open = 0, close = 0, trades = 0;
  if (!te::parse_int64(f[0], open) || !te::parse_int64(f[6], close) || !te::parse_int64(f[8], trades)) {
    return std::nullopt;
  }
  for (std::size_t i : {1u, 2u, 3u, 4u, 5u, 7u, 9u, 10u}) {
    double v = 0;
    if (!te::parse_double(f[i], v)) return std::nullopt;
  }
  if (close < open) return std::nullopt;
  return open;
}

struct ExistingFile {
  bool exists = false;
  std::uintmax_t keep_bytes = 0;  // truncate to this before appending
  bool needs_header = true;
  bool dropped_partial_line = false;
  std::size_t rows = 0;
  std::optional<std::int64_t> first_open_ms, last_open_ms;
  std::int64_t last_close_ms = 0;
  std::size_t last_line = 0;
};

// Inspects an existing output file in one streaming pass (memory O(line)): the
// header, the first row, and the last two complete lines.
Result<ExistingFile> inspect(const std::string& path) {
  ExistingFile ex;
  std::error_code ec;
  if (!fs::exists(path, ec)) return ex;
  // A device or FIFO would be read as an endless first line (audit: /dev/zero
  // grew memory until the process aborted), and could not be resumed anyway.
  if (!fs::is_regular_file(path, ec))
    return make_error(Errc::invalid_argument,
                      fmt::format("{}: exists and is not a regular file; --out must name a klines CSV file", path));
  ex.exists = true;
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::io, fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::string line;
  if (!std::getline(in, line)) return ex;  // empty file: start over
  if (in.eof()) {
    // Not even a complete header: an interrupted first run, or someone else's file.
    if (std::string_view(kKlinesCsvHeader).substr(0, line.size()) == line) return ex;
    return make_error(Errc::parse, fmt::format("{}:1: not a klines CSV (expected the header {})", path, kKlinesCsvHeader));
  }
  std::string_view header(line);
  if (!header.empty() && header.back() == '\r') header.remove_suffix(1);
  if (header != kKlinesCsvHeader) {
    return make_error(Errc::parse, fmt::format("{}:1: not a klines CSV: header is \"{}\", expected \"{}\"", path,
                                               header.substr(0, 200), kKlinesCsvHeader));
  }
  ex.needs_header = false;
  const std::uintmax_t header_end = line.size() + 1;

  struct Line {
    std::string text;
    std::uintmax_t start = 0;
    std::size_t number = 0;  // 1-based line number in the file
  };
  std::optional<Line> first, prev, last;
  std::uintmax_t offset = header_end;
  std::size_t number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (in.eof()) {  // no newline: a partial last line
      ex.dropped_partial_line = true;
      break;
    }
    const std::uintmax_t start = offset;
    offset += line.size() + 1;
    if (line.empty() || line == "\r") continue;
    prev = std::move(last);
    last = Line{line, start, number};
    if (!first) first = last;
    ++ex.rows;
  }
  if (in.bad()) return make_error(Errc::io, fmt::format("{}: read failed", path));
  // The last line may be garbage from an interrupted write: drop it once.
  if (last && !row_open_time(last->text)) {
    last = std::move(prev);
    --ex.rows;
    ex.dropped_partial_line = true;
    if (ex.rows == 0) first.reset();
  }
  ex.keep_bytes = last ? last->start + last->text.size() + 1 : header_end;
  if (last) {
    ex.last_open_ms = row_open_time(last->text);
    if (!ex.last_open_ms) {
      return make_error(Errc::parse, fmt::format("{}:{}: corrupt row; cannot resume safely", path, last->number));
    }
    const auto f = split_csv(last->text);
    te::parse_int64(f[6], ex.last_close_ms);  // checked by row_open_time
    ex.last_line = last->number;
    ex.first_open_ms = row_open_time(first->text);
    if (!ex.first_open_ms) {
      return make_error(Errc::parse, fmt::format("{}:{}: corrupt row; cannot resume safely", path, first->number));
    }
  }
  return ex;
}

}  // namespace

Result<DownloadSummary> download_klines(RestClient& client, const DownloadOptions& o,
                                        const std::function<void(const DownloadProgress&)>& progress) {
  std::vector<std::string> problems;
  const bool alnum = !o.symbol.empty() && std::all_of(o.symbol.begin(), o.symbol.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
  });
  if (!alnum) problems.push_back(fmt::format("symbol \"{}\" is not a Binance symbol", o.symbol));
  auto iv = parse_interval(o.interval);
  if (!iv) problems.push_back(iv.error().message);
  if (o.end_ms <= o.start_ms) problems.push_back("the end must be after the start");
  if (o.now_ms <= 0) problems.emplace_back("now_ms must be set from the caller's clock");
  if (o.out_path.empty()) problems.emplace_back("an output path is required");
  if (!problems.empty()) {
    std::string msg = "download-data:";
    for (std::size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : " ") + problems[i];
    return make_error(Errc::invalid_argument, std::move(msg));
  }
  const Interval& interval = *iv;
  const std::string symbol = upper_symbol(o.symbol);

  auto existing = inspect(o.out_path);
  if (!existing) return std::move(existing).error();
  DownloadSummary summary;
  summary.rows_existing = existing->rows;
  summary.resumed = existing->rows > 0;
  summary.dropped_partial_line = existing->dropped_partial_line;
  summary.first_open_ms = existing->first_open_ms;
  summary.last_open_ms = existing->last_open_ms;

  // First open time to fetch: on the interval grid, at or after the start; or
  // right after the last complete row of an earlier run.
  std::int64_t from = floor_open_ms(interval, o.start_ms);
  if (from < o.start_ms) from = next_open_ms(interval, from);
  if (existing->last_open_ms) {
    // Resuming with another --interval would append bars of a different length.
    const std::int64_t close = next_open_ms(interval, *existing->last_open_ms) - 1;
    if (existing->last_close_ms != close) {
      return make_error(Errc::invalid_argument,
                        fmt::format("{}:{}: this file's bars do not have the length of --interval {} (open_time {}, "
                                    "close_time {}); resume with the interval it was downloaded with, or use another "
                                    "--out",
                                    o.out_path, existing->last_line, interval.text, *existing->last_open_ms,
                                    existing->last_close_ms));
    }
    from = next_open_ms(interval, *existing->last_open_ms);
  }
  // Last open time to fetch: before the end, and closed by now (next open <= now).
  const std::int64_t open_now = floor_open_ms(interval, o.now_ms);
  const std::int64_t last_closed = floor_open_ms(interval, open_now - 1);
  const std::int64_t to = std::min(o.end_ms - 1, last_closed);

  if (existing->exists) {
    std::error_code ec;
    fs::resize_file(o.out_path, existing->keep_bytes, ec);
    if (ec) return make_error(Errc::io, fmt::format("{}: cannot truncate the partial last line: {}", o.out_path, ec.message()));
  }
  File out(std::fopen(o.out_path.c_str(), "ab"));
  if (!out) return make_error(Errc::io, fmt::format("{}: cannot open for writing: {}", o.out_path, std::strerror(errno)));
  auto write = [&](std::string_view s) -> Status {
    if (std::fwrite(s.data(), 1, s.size(), out.get()) != s.size() || std::fflush(out.get()) != 0) {
      return make_error(Errc::io, fmt::format("{}: write failed: {}", o.out_path, std::strerror(errno)));
    }
    return {};
  };
  if (existing->needs_header) {
    if (Status st = write(std::string(kKlinesCsvHeader) + "\n"); !st) return std::move(st).error();
  }

  DownloadProgress prog{from, to + 1, from, 0};
  if (progress) progress(prog);
  std::optional<std::int64_t> last_written = existing->last_open_ms;
  std::string chunk;
  const Status walked = for_each_kline_page(client, symbol, interval.text, from, to, [&](std::vector<RestKline>& page) -> Status {
    chunk.clear();
    std::size_t n = 0;
    for (const auto& k : page) {
      if (k.close_time_ms >= o.now_ms) break;  // still forming (or the server's clock is ahead)
      if (last_written && k.open_time_ms <= *last_written) continue;
      if (model::bar_problem(k.bar) != nullptr) ++summary.inconsistent_rows;
      chunk += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", k.open_time_ms, k.open, k.high, k.low, k.close, k.volume,
                           k.close_time_ms, k.quote_volume, k.trades, k.taker_buy_base_volume, k.taker_buy_quote_volume);
      last_written = k.open_time_ms;
      if (!summary.first_open_ms) summary.first_open_ms = k.open_time_ms;
      ++n;
    }
    if (n > 0) {
      if (Status st = write(chunk); !st) return st;
      summary.rows_written += n;
      summary.last_open_ms = last_written;
      prog.through_ms = *last_written;
      prog.rows_written = summary.rows_written;
      if (progress) progress(prog);
    }
    const auto used = client.last_rate_limits().used_weight_1m();
    if (used && *used >= o.weight_budget_1m) {
      ++summary.weight_pauses;
      if (!client.wait(o.weight_pause)) return make_error(Errc::io, "download-data: cancelled");
    }
    return {};
  });
  if (!walked) {
    return make_error(walked.error().code, fmt::format("download-data {} {}: {} (the {} rows written so far are kept; "
                                                       "run again to resume)",
                                                       symbol, interval.text, walked.error().message,
                                                       summary.rows_existing + summary.rows_written));
  }
  return summary;
}

}  // namespace te::venue::binance
