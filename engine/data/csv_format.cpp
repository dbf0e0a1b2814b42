#include "engine/data/csv_format.hpp"

#include <algorithm>
#include <array>

#include "engine/core/labels.hpp"

namespace te::data {
namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

struct Field {
  std::string_view text;  // trimmed
  std::size_t column;     // 1-based byte column of the field's first character
};

std::vector<Field> split_header(std::string_view line) {
  std::vector<Field> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = line.find(',', start);
    const std::size_t end = comma == std::string_view::npos ? line.size() : comma;
    out.push_back({trim(line.substr(start, end - start)), start + 1});
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

constexpr std::array<std::string_view, 7> kYahoo = {"Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"};
constexpr std::array<std::string_view, 10> kGeneric = {"timestamp", "open", "high", "low", "close",
                                                       "volume", "bid", "ask", "bid_size", "ask_size"};
constexpr std::array<std::string_view, 11> kBinance = {"open_time", "open", "high", "low", "close", "volume",
                                                       "close_time", "quote_volume", "trades",
                                                       "taker_buy_base_volume", "taker_buy_quote_volume"};
constexpr std::array<std::string_view, 4> kTimeAliases = {"timestamp", "time", "date", "datetime"};

struct Candidate {
  CsvFormat format;
  const std::string_view* names;
  std::size_t max_fields;
  const char* label;
};
constexpr Candidate kCandidates[] = {
    {CsvFormat::yahoo, kYahoo.data(), kYahoo.size(), "Yahoo"},
    {CsvFormat::generic, kGeneric.data(), kGeneric.size(), "generic"},
    {CsvFormat::binance_klines, kBinance.data(), kBinance.size(), "Binance klines"},
};

bool name_matches(const Candidate& c, std::size_t i, std::string_view name) {
  if (c.format == CsvFormat::generic && i == 0)
    return std::any_of(kTimeAliases.begin(), kTimeAliases.end(), [&](std::string_view a) { return iequals(a, name); });
  return iequals(c.names[i], name);
}

bool count_ok(CsvFormat f, std::size_t n) {
  switch (f) {
    case CsvFormat::yahoo: return n == kYahoo.size();
    case CsvFormat::generic: return n == 6 || n == 8 || n == 10;
    case CsvFormat::binance_klines: return n == kBinance.size();
  }
  return false;
}

}  // namespace

const char* format_name(CsvFormat f) noexcept {
  switch (f) {
    case CsvFormat::yahoo: return "yahoo";
    case CsvFormat::generic: return "generic";
    case CsvFormat::binance_klines: return "binance-klines";
  }
  return "unknown";
}

std::string accepted_headers() {
  return "one of (names are case-insensitive): "
         "'Date,Open,High,Low,Close,Adj Close,Volume' (Yahoo); "
         "'timestamp,open,high,low,close,volume[,bid,ask[,bid_size,ask_size]]' (generic; the first column may "
         "also be named time, date or datetime); '" +
         std::string(kBinanceKlinesHeader) + "' (Binance klines)";
}

std::optional<CsvLayout> detect_csv_layout(std::string_view header_line, HeaderProblem* problem) {
  const std::vector<Field> fields = split_header(header_line);
  const Candidate* best = nullptr;
  std::size_t best_prefix = 0;
  for (const Candidate& c : kCandidates) {
    std::size_t k = 0;
    while (k < fields.size() && k < c.max_fields && name_matches(c, k, fields[k].text)) ++k;
    if (k == fields.size() && count_ok(c.format, k)) {
      CsvLayout layout;
      layout.format = c.format;
      layout.field_count = k;
      layout.quotes = c.format == CsvFormat::generic && k >= 8;
      layout.quote_sizes = c.format == CsvFormat::generic && k == 10;
      for (const Field& f : fields) layout.names.emplace_back(f.text);
      return layout;
    }
    if (k > best_prefix) best_prefix = k, best = &c;
  }
  if (problem) {
    // Point at the first column that stops the closest format from matching.
    std::string what;
    std::size_t column = 1;
    if (header_line.find('\0') != std::string_view::npos) {
      // Not text at all (an executable, an archive, a .tebars given as CSV...).
      problem->column = 1;
      problem->message = "not a CSV file: its first line holds binary data (NUL bytes); give a CSV file whose "
                         "header is " + accepted_headers() + ", or a .tebars cache";
      return std::nullopt;
    }
    if (best == nullptr) {
      what = "unknown header " + quoted_excerpt(trim(header_line), 80);
    } else if (best_prefix < fields.size() && best_prefix < best->max_fields) {
      column = fields[best_prefix].column;
      what = "unknown header: column " + std::to_string(best_prefix + 1) + " is " +
             quoted_excerpt(fields[best_prefix].text) + " where the " + best->label + " format has '" +
             std::string(best->names[best_prefix]) + "'";
    } else if (best_prefix < fields.size()) {
      column = fields[best_prefix].column;
      what = "unknown header: " + std::to_string(fields.size()) + " columns, the " + best->label +
             " format has at most " + std::to_string(best->max_fields);
    } else {
      column = header_line.size() + 1;
      what = "unknown header: " + std::to_string(fields.size()) + " columns, the " + best->label + " format has " +
             (best->format == CsvFormat::generic ? std::string("6, 8 or 10 (bid,ask and bid_size,ask_size come in pairs)")
                                                 : std::to_string(best->max_fields));
    }
    problem->column = column;
    problem->message = what + "; expected " + accepted_headers();
  }
  return std::nullopt;
}

}  // namespace te::data
