// Differential test of the CSV row parser's fast paths (session 17: the inline
// same-day timestamp, the number read together with its separator, the digit
// loop) against the parser as it was before them (reference/, frozen): on
// generated documents full of edge cases both must accept the same rows with
// bit-identical values, or fail with the same message (file:line:column and
// text). Field-level: the scans against the old fast_number and strtod.
#include <catch2/catch.hpp>

#include <bit>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/core/numbers.hpp"
#include "engine/data/csv_parser.hpp"
#include "tests/unit/data/reference/csv_parser_s16.hpp"

namespace {

using namespace te;
using namespace te::data;

struct Outcome {
  bool ok = false;
  std::string error;
  std::size_t rows = 0;
  bool finished = false;
  std::vector<std::uint64_t> bits;  // every stored value, as bits
};

template <class Parser>
Outcome parse_with(const std::string& text) {
  Outcome out;
  const std::size_t header_end = text.find('\n');
  std::string_view header(text.data(), header_end);
  const auto layout = detect_csv_layout(header);
  REQUIRE(layout.has_value());
  std::string body = text.substr(header_end + 1);
  const std::size_t len = body.size();  // generated bodies end with '\n'
  body.append(scan::kReadAhead, '\0');
  ColumnStore store;
  store.allocate(4, layout->quotes, layout->quote_sizes);  // small: grow() is exercised too
  const std::string name = "gen.csv";
  Parser parser(name, *layout, store, std::numeric_limits<std::int64_t>::min() + 1,
                std::numeric_limits<std::int64_t>::max());
  out.ok = parser.run(body.data(), body.data() + len, {});
  out.rows = parser.rows();
  out.finished = parser.finished();
  if (!out.ok) out.error = parser.take_error().message;
  const auto put = [&](double v) { out.bits.push_back(std::bit_cast<std::uint64_t>(v)); };
  for (std::size_t i = 0; i < store.size; ++i) {
    out.bits.push_back(static_cast<std::uint64_t>(store.ts[i]));
    put(store.open[i]), put(store.high[i]), put(store.low[i]), put(store.close[i]), put(store.volume[i]);
    if (store.quotes) put(store.bid[i]), put(store.ask[i]);
    if (store.quote_sizes) put(store.bid_size[i]), put(store.ask_size[i]);
  }
  return out;
}

using Rng = std::mt19937_64;
std::size_t pick(Rng& rng, std::size_t n) { return static_cast<std::size_t>(rng() % n); }

// A number field: mostly plain decimals of every length around the scans'
// limits (15 digits, 19 digits, 2^53), with signs, exponents, blanks, junk.
std::string number_text(Rng& rng) {
  static const char* const kOdd[] = {"", "-", ".", "-.", "1.", ".5", "-0", "-0.0", "0", "00012.50", "1e3", "1E-2",
                                     "+1", " 1", "1 ", "nan", "NaN", "null", "inf", "1..2", "1.2.3", "--1", "0x10",
                                     "9007199254740992", "9007199254740993", "900719925474099.3", "123456789012345",
                                     "1234567890123456", "12345678901234567890", "0.000000000000000000001", "\t2"};
  const std::size_t kind = pick(rng, 10);
  if (kind == 0) return kOdd[pick(rng, std::size(kOdd))];
  std::string s;
  if (pick(rng, 12) == 0) s += '-';
  const std::size_t int_digits = kind < 7 ? 1 + pick(rng, 4) : pick(rng, 21);
  for (std::size_t i = 0; i < int_digits; ++i) s += static_cast<char>('0' + pick(rng, 10));
  if (pick(rng, 3) != 0) {
    s += '.';
    const std::size_t frac = kind < 7 ? pick(rng, 4) : pick(rng, 21);
    for (std::size_t i = 0; i < frac; ++i) s += static_cast<char>('0' + pick(rng, 10));
  }
  if (pick(rng, 40) == 0) s.insert(pick(rng, s.size() + 1), 1, "x e+-.:\r"[pick(rng, 8)]);
  return s;
}

// A timestamp: mostly 37 seconds on, on the same day (the fast path), and
// every other spelling and many broken ones.
std::string time_text(Rng& rng, std::int64_t& second, std::int64_t step, bool messy) {
  second += step * (1 + static_cast<std::int64_t>(pick(rng, 3) == 0 ? pick(rng, 3000) : 0));
  if (messy && pick(rng, 25) == 0) second -= step * static_cast<std::int64_t>(pick(rng, 3));  // duplicates, back
  const std::int64_t ts = second * kNsPerSec + days_from_civil(2020, 1, 1) * kNsPerDay;
  std::string iso = timestamp_text(ts);  // "YYYY-MM-DDTHH:MM:SSZ", or the date alone at midnight
  if (iso.size() != 20 || !messy) return iso;
  switch (pick(rng, 24)) {
    case 0: iso[10] = ' '; break;
    case 1: iso.pop_back(); break;  // no Z
    case 2: iso = iso.substr(0, 10); break;
    case 3: return std::to_string(ts / kNsPerMs);
    case 4: iso[11] = '2', iso[12] = '4'; break;  // hour 24
    case 5: iso[17] = '6'; break;                  // second 60..69
    case 6: iso.insert(19, ".5"); break;
    case 7: iso[pick(rng, iso.size())] = "x9-:T Z\r\xff"[pick(rng, 9)]; break;
    case 8: iso.insert(iso.size(), pick(rng, 2) ? "Z" : " "); break;
    case 9: iso = iso.substr(0, pick(rng, iso.size())); break;
    case 10: iso = std::string(10, '\xff') + "T00:00:00Z"; break;
    case 11: iso = std::string(8, '\n').substr(0, 1) + iso; break;
    case 12: iso[3] = '0', iso[2] = '0', iso[1] = '0'; break;  // year 0020
    default: break;
  }
  return iso;
}

// Epoch milliseconds (Binance klines): mostly a minute on, and the range's
// edges, signs, 14 digits, ISO text and junk.
std::string ms_text(Rng& rng, std::int64_t ms, bool messy) {
  std::string s = std::to_string(ms);
  if (!messy) return s;
  switch (pick(rng, 16)) {
    case 0: return "-" + s;
    case 1: return s + "5";
    case 2: return "9214646400000";  // the first ms of 2262: out of range
    case 3: return "9214646399999";
    case 4: return "-9214560000001";
    case 5: s[pick(rng, s.size())] = "x-. \r"[pick(rng, 5)]; return s;
    case 6: return "2020-01-01T00:00:00Z";
    case 7: return "";
    case 8: return " " + s;
    case 9: return s.substr(0, pick(rng, s.size()));
    default: return s;
  }
}

std::string document(Rng& rng, int format) {
  static const char* const kHeaders[] = {"timestamp,open,high,low,close,volume",
                                         "timestamp,open,high,low,close,volume,bid,ask",
                                         "timestamp,open,high,low,close,volume,bid,ask,bid_size,ask_size",
                                         "Date,Open,High,Low,Close,Adj Close,Volume",
                                         kBinanceKlinesHeader.data()};
  const std::size_t nfields = format == 0 ? 6 : format == 1 ? 8 : format == 2 ? 10 : format == 3 ? 7 : 11;
  std::string text = std::string(kHeaders[format]) + "\n";
  std::int64_t second = static_cast<std::int64_t>(pick(rng, 300000));
  const std::size_t rows = 1 + pick(rng, 40);
  const bool messy = pick(rng, 3) == 0;  // else only plausible bars, so documents run long
  for (std::size_t r = 0; r < rows; ++r) {
    std::string line = format == 3 ? time_text(rng, second, kNsPerDay / kNsPerSec, messy).substr(0, 10)
                                    : time_text(rng, second, 37, messy);
    const std::int64_t open_ms = (second + days_from_civil(2020, 1, 1) * (kNsPerDay / kNsPerSec)) * 1000;
    if (format == 4) line = ms_text(rng, open_ms, messy);
    double base = 1 + static_cast<double>(pick(rng, 100000)) / 100;
    for (std::size_t f = 1; f < nfields; ++f) {
      line += ',';
      if (messy && pick(rng, 6) == 0) {
        line += number_text(rng);
      } else if (format == 4 && f == 6) {
        line += ms_text(rng, open_ms + (messy && pick(rng, 10) == 0 ? -1 : 59999), messy);
      } else if (f <= 4 || (format != 3 && f >= 6 && f <= 7) || (format == 3 && f == 5)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(pick(rng, 4)), f == 2 ? base + 1 : f == 3 ? base - 0.5 : base);
        line += buf;
      } else {
        line += std::to_string(pick(rng, 100000));
      }
    }
    if (messy) {
      switch (pick(rng, 30)) {
        case 0: line += ",7"; break;
        case 1: line.erase(line.rfind(',')); break;
        case 2: line += '\r'; break;
        case 3: line += " "; break;
        case 4: line.insert(pick(rng, line.size() + 1), 1, '\r'); break;
        case 5: line = ""; break;
        case 6: line = "   "; break;
        default: break;
      }
    }
    text += line + "\n";
  }
  if (pick(rng, 8) == 0) text += "\n\n";
  return text;
}

void same_outcome(const std::string& text) {
  const Outcome now = parse_with<csv_detail::CsvParser>(text);
  const Outcome before = parse_with<csv_detail_s16::CsvParser>(text);
  INFO(text);
  REQUIRE(now.ok == before.ok);
  REQUIRE(now.error == before.error);
  REQUIRE(now.rows == before.rows);
  REQUIRE(now.finished == before.finished);
  REQUIRE(now.bits == before.bits);
}

}  // namespace

TEST_CASE("csv fast paths: generated documents parse as the session 16 parser did", "[unit][data]") {
  Rng rng(20261207);
  std::size_t ok = 0, failed = 0;
  for (int i = 0; i < 30000; ++i) {
    const std::string text = document(rng, static_cast<int>(pick(rng, 5)));
    same_outcome(text);
    (parse_with<csv_detail::CsvParser>(text).ok ? ok : failed) += 1;
  }
  CHECK(ok > 3000);  // both kinds are well represented
  CHECK(failed > 3000);
}

TEST_CASE("csv fast paths: number fields against the old scan and strtod", "[unit][data]") {
  Rng rng(7);
  std::size_t fast = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string field = number_text(rng);
    const char delim = pick(rng, 2) ? ',' : '\n';
    std::string line = field + std::string(1, "\n,\r x"[pick(rng, 5)]) + "\n";
    if (pick(rng, 2)) line = field + delim + "9\n";
    line.append(scan::kReadAhead, '\0');
    double now = 0, before = 0, quick = 0;
    const char* a = scan::fast_number(line.data(), now);
    const char* b = scan_s16::fast_number(line.data(), before);
    INFO(field);
    REQUIRE((a == nullptr) == (b == nullptr));
    if (a != nullptr) {
      REQUIRE(a == b);
      REQUIRE(std::bit_cast<std::uint64_t>(now) == std::bit_cast<std::uint64_t>(before));
      double exact = 0;
      REQUIRE(parse_double(std::string_view(line.data(), static_cast<std::size_t>(a - line.data())), exact));
      REQUIRE(std::bit_cast<std::uint64_t>(now) == std::bit_cast<std::uint64_t>(exact));
    }
    // number_before accepts a subset of fast_number's fields, with the same end and value.
    if (const char* q = scan::number_before(line.data(), delim, quick)) {
      ++fast;
      REQUIRE(a == q);
      REQUIRE(*q == delim);
      REQUIRE(std::bit_cast<std::uint64_t>(quick) == std::bit_cast<std::uint64_t>(now));
    }
  }
  CHECK(fast > 50000);
}

TEST_CASE("csv fast paths: a layout whose field count is not its format's is refused, not misparsed", "[unit][data]") {
  // The row functions read their separators as constants (the last field's is
  // '\n'); detect_csv_layout never builds such a layout, so this is a guard.
  CsvLayout layout = *detect_csv_layout("timestamp,open,high,low,close,volume");
  layout.field_count = 7;
  layout.names.push_back("extra");
  std::string body = "2020-01-01T00:00:00Z,1,1,1,1,1,1\n";
  const std::size_t len = body.size();
  body.append(scan::kReadAhead, '\0');
  ColumnStore store;
  store.allocate(4, false, false);
  const std::string name = "odd.csv";
  csv_detail::CsvParser parser(name, layout, store, 0, std::numeric_limits<std::int64_t>::max());
  REQUIRE_FALSE(parser.run(body.data(), body.data() + len, {}));
  const Error error = parser.take_error();
  CHECK(error.code == Errc::internal);
  CHECK(error.message == "odd.csv: CSV layout with 7 fields does not match its format");
  CHECK(parser.rows() == 0);
}
