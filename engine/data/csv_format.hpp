#pragma once
// The CSV bar formats we read, recognised from the header line (docs/data.md).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace te::data {

enum class CsvFormat : std::uint8_t {
  yahoo = 1,           // Date,Open,High,Low,Close,Adj Close,Volume (Adj Close is ignored)
  generic = 2,         // timestamp,open,high,low,close,volume[,bid,ask[,bid_size,ask_size]]
  binance_klines = 3,  // kBinanceKlinesHeader; what `download-data` writes
};

// Header of the klines CSV. Times are epoch milliseconds, open_time labels the bar.
inline constexpr std::string_view kBinanceKlinesHeader =
    "open_time,open,high,low,close,volume,close_time,quote_volume,trades,taker_buy_base_volume,"
    "taker_buy_quote_volume";

const char* format_name(CsvFormat f) noexcept;  // "yahoo", "generic", "binance-klines"

struct CsvLayout {
  CsvFormat format = CsvFormat::generic;
  std::size_t field_count = 0;
  bool quotes = false;       // generic only: bid,ask columns
  bool quote_sizes = false;  // generic only: bid_size,ask_size columns
  std::vector<std::string> names;  // column names as spelled in the file, for messages
};

struct HeaderProblem {
  std::size_t column = 1;  // 1-based byte column in the header line
  std::string message;     // "unknown header ...; expected one of: ..."
};

// Matches a header line (no line ending, BOM already removed). Names compare
// case-insensitively and ignore spaces around them. The generic format's first
// column may be called timestamp, time, date or datetime.
std::optional<CsvLayout> detect_csv_layout(std::string_view header_line, HeaderProblem* problem = nullptr);

// "one of (...): 'Date,Open,...' (Yahoo); ..." listing every accepted header, for
// error messages and --help.
std::string accepted_headers();

}  // namespace te::data
