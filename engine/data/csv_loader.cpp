#include "engine/data/csv_loader.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <memory>
#include <thread>

#include "engine/data/column_store.hpp"
#include "engine/data/csv_parser.hpp"
#include "engine/data/mapped_file.hpp"
#include "engine/data/time_range.hpp"

// The rows are parsed by csv_detail::CsvParser (csv_parser.hpp).

namespace te::data {
namespace {

using namespace csv_detail;

// Bodies larger than this are parsed in two halves on two threads.
constexpr std::size_t kParallelParseBytes = std::size_t{1} << 20;

// Rows the column arrays should hold: body size over the mean length of the first
// lines, plus slack so the estimate rarely has to grow.
std::size_t estimate_rows(std::string_view body) {
  std::size_t lines = 0, pos = 0;
  while (lines < 64 && pos < body.size()) {
    const std::size_t nl = body.find('\n', pos);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
    ++lines;
  }
  if (lines == 0 || pos == 0) return 16;
  const double mean = static_cast<double>(pos) / static_cast<double>(lines);
  return static_cast<std::size_t>(static_cast<double>(body.size()) / mean * 1.02) + 16;
}

}  // namespace

std::string symbol_from_path(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  const std::size_t dot = name.find_last_of('.');
  if (dot != std::string::npos && dot != 0) name.resize(dot);
  return symbol_from_text(name);
}

Result<model::BarSeries> parse_csv(std::string_view text, const std::string& name, const LoadOptions& options,
                                   CsvFormat* detected) {
  TE_TRY(check_time_range(options, name));
  const std::int64_t lo = options.start_ns.value_or(std::numeric_limits<std::int64_t>::min());
  const std::int64_t hi = options.end_ns.value_or(std::numeric_limits<std::int64_t>::max());

  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 byte order mark
  if (is_blank(text.data(), text.data() + text.size()))
    return make_error(Errc::parse, name + ":1:1: empty file, expected a header line, " + accepted_headers());

  const std::size_t header_end = std::min(text.find('\n'), text.size());
  std::string_view header = text.substr(0, header_end);
  if (header.ends_with('\r')) header.remove_suffix(1);
  HeaderProblem problem;
  const std::optional<CsvLayout> layout = detect_csv_layout(header, &problem);
  if (!layout)
    return make_error(Errc::parse, name + ":1:" + std::to_string(problem.column) + ": " + problem.message);
  if (detected) *detected = layout->format;

  const std::string_view body = text.substr(std::min(header_end + 1, text.size()));
  if (is_blank(body.data(), body.data() + body.size()))
    return make_error(Errc::parse, name + ":2:1: no data rows after the header");

  // Lines are parsed in place except the last ones, those within kReadAhead bytes
  // of the end: they are copied into a buffer with a final '\n' and padding, so
  // the hot loop may read ahead and rely on the '\n' sentinel everywhere.
  std::size_t bulk = 0;
  if (body.size() > kReadAhead) {
    const std::size_t nl = body.rfind('\n', body.size() - kReadAhead - 1);
    bulk = nl == std::string_view::npos ? 0 : nl + 1;
  }
  const std::string_view tail = body.substr(bulk);
  // From `from` to the end of the body; false on an error.
  auto parse_rest = [&](CsvParser& p, std::size_t from) {
    if (!p.run(body.data() + from, body.data() + bulk, tail)) return false;
    if (!p.finished() && !tail.empty()) {
      std::string last(tail);
      if (last.back() != '\n') last += '\n';
      const std::size_t len = last.size();
      last.append(kReadAhead, '\0');
      if (!p.run(last.data(), last.data() + len, {})) return false;
    }
    return true;
  };

  // A large file is parsed in two halves at once, the second on its own thread
  // into its own columns, appended after the first. Only a clean parse is taken
  // that way: when either half fails, or the halves are out of time order where
  // they meet, the whole file is parsed again in one pass so the error is the
  // one (line, column, message) a single pass reports.
  const std::size_t half = body.size() / 2;
  const std::size_t split = bulk > kParallelParseBytes ? body.find('\n', half) + 1 : 0;  // after a '\n' below bulk
  if (split != 0 && split < bulk) {
    auto store = std::make_shared<ColumnStore>();
    store->allocate(estimate_rows(body), layout->quotes, layout->quote_sizes);  // room for both halves
    CsvParser parser(name, *layout, *store, lo, hi);
    ColumnStore second;
    second.allocate(estimate_rows(body.substr(split)), layout->quotes, layout->quote_sizes);
    CsvParser second_parser(name, *layout, second, lo, hi);
    bool second_ok = false;
    std::thread worker([&] { second_ok = parse_rest(second_parser, split); });
    const bool first_ok = parser.run(body.data(), body.data() + split, body.substr(split));
    worker.join();
    const bool ordered = parser.rows() == 0 || second_parser.rows() == 0 ||
                         second_parser.first_ts() > parser.last_ts();
    if (first_ok && second_ok && ordered && !parser.finished()) {
      const std::int64_t first_ts = parser.rows() != 0 ? parser.first_ts() : second_parser.first_ts();
      const std::int64_t last_ts = second_parser.rows() != 0 ? second_parser.last_ts() : parser.last_ts();
      store->append(second);
      if (store->size == 0) return no_bars_in_range(options, name, first_ts, last_ts);
      store->shrink_if_wasteful();
      return ColumnStore::freeze(std::move(store), options.symbol, options.instrument);
    }
  }
  auto store = std::make_shared<ColumnStore>();
  store->allocate(estimate_rows(body), layout->quotes, layout->quote_sizes);
  CsvParser single(name, *layout, *store, lo, hi);
  if (!parse_rest(single, 0)) return single.take_error();
  if (store->size == 0) return no_bars_in_range(options, name, single.first_ts(), single.last_ts());
  store->shrink_if_wasteful();
  return ColumnStore::freeze(std::move(store), options.symbol, options.instrument);
}

Result<model::BarSeries> load_csv(const std::string& path, const LoadOptions& options) {
  auto file = MappedFile::open(path);
  if (!file) return std::move(file).error();
  LoadOptions opts = options;
  if (opts.symbol.empty()) opts.symbol = symbol_from_path(path);
  return parse_csv((*file)->view(), path, opts);
}

}  // namespace te::data
