#pragma once
// FROZEN REFERENCE for csv_fast_paths_test.cpp: the CSV row parser as it was
// before session 17's fast paths (lead 4fbdbe0), renamed into its own
// namespace. Not used by the engine; never edit it to follow the engine: the
// test checks that the current parser accepts, refuses, reports and stores
// exactly what this one does.
// The CSV row parser shared by the whole-file loader (csv_loader.cpp) and the
// streamed loader (csv_stream.cpp): one pass over the bytes with hand-written
// field splitting. Each number is read by a fused scan that stops at the
// delimiter and takes Clinger's exact fast path (short decimals, as price files
// have); anything else (long mantissas, exponents, spaces, bad input) drops to
// a cold path that isolates the field and calls te::parse_double or reports the
// error. Every line the hot loop sees ends with '\n' and is followed by readable
// padding (field_scan.hpp), so no scan needs a bounds check. Internal to the
// data module.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>

#include "engine/core/labels.hpp"
#include "engine/core/numbers.hpp"
#include "engine/core/result.hpp"
#include "engine/core/time.hpp"
#include "engine/data/column_store.hpp"
#include "engine/data/csv_format.hpp"
#include "tests/unit/data/reference/field_scan_s16.hpp"
#include "engine/data/time_range.hpp"

namespace te::data::csv_detail_s16 {

using namespace scan_s16;  // the scanning primitives are this file's vocabulary

inline bool is_blank(const char* b, const char* e) noexcept {
  for (; b != e; ++b)
    if (*b != ' ' && *b != '\t' && *b != '\r' && *b != '\n') return false;
  return true;
}

inline std::string_view trim(const char* b, const char* e) noexcept {
  while (b != e && (*b == ' ' || *b == '\t')) ++b;
  while (e != b && (e[-1] == ' ' || e[-1] == '\t')) --e;
  return {b, static_cast<std::size_t>(e - b)};
}

// Field text for a message: quoted, shortened when long, control bytes escaped.
inline std::string quoted(std::string_view s) { return quoted_excerpt(s); }

inline std::string ts_text(std::int64_t ts) { return timestamp_text(ts); }

enum class TimeSyntax : std::uint8_t { date, iso_or_ms, ms };

class CsvParser {
 public:
  CsvParser(const std::string& name, const CsvLayout& layout, ColumnStore& store, std::int64_t lo, std::int64_t hi)
      : name_(name), layout_(layout), nfields_(layout.field_count), store_(store), lo_(lo), hi_(hi) {}

  // Parses the data lines in [p, end), every one ending with '\n'. `after` is the
  // text following `end` in the file, consulted when a blank line is met.
  // Returns false on an error (see take_error()).
  bool run(const char* p, const char* end, std::string_view after) {
    after_ = after;
    switch (layout_.format) {
      case CsvFormat::yahoo: return loop<&CsvParser::yahoo_row>(p, end);
      case CsvFormat::binance_klines: return loop<&CsvParser::binance_row>(p, end);
      case CsvFormat::generic:
        if (layout_.quote_sizes) return loop<&CsvParser::generic_row<true, true>>(p, end);
        if (layout_.quotes) return loop<&CsvParser::generic_row<true, false>>(p, end);
        return loop<&CsvParser::generic_row<false, false>>(p, end);
    }
    return false;
  }

  bool finished() const noexcept { return finished_; }
  std::size_t rows() const noexcept { return rows_; }
  std::int64_t first_ts() const noexcept { return first_ts_; }
  std::int64_t last_ts() const noexcept { return prev_ts_; }
  Error&& take_error() { return std::move(error_); }

 private:
  using RowFn = const char* (CsvParser::*)(const char*);

  template <RowFn kRow>
  bool loop(const char* p, const char* end) {
    while (p < end) {
      ++line_;
      line_start_ = p;
      if (*p <= ' ') [[unlikely]] {
        const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        if (is_blank(p, nl)) {
          if (is_blank(nl, end) && is_blank(after_.data(), after_.data() + after_.size())) {
            finished_ = true;  // trailing empty lines
            return true;
          }
          fail(p, "empty line between data rows; remove it (only trailing empty lines are ignored)");
          return false;
        }
      }
      if (store_.size == store_.capacity) [[unlikely]]
        store_.grow();
      p = (this->*kRow)(p);
      if (p == nullptr) [[unlikely]]
        return false;
    }
    return true;
  }

// Parses one field with `parse` (which returns the field's end) and consumes the
// separator after field `idx`.
#define TE_CSV_FIELD(parse, idx)         \
  do {                                   \
    const char* q_ = (parse);            \
    if (q_ == nullptr) [[unlikely]]      \
      return nullptr;                    \
    p = separator(q_, idx);              \
    if (p == nullptr) [[unlikely]]       \
      return nullptr;                    \
  } while (0)

  const char* yahoo_row(const char* p) {
    std::int64_t ts = 0;
    double o = 0, h = 0, l = 0, c = 0, adj = 0, v = 0;
    TE_CSV_FIELD(date_field(p, ts), 0);
    TE_CSV_FIELD(number(p, o, 1), 1);
    TE_CSV_FIELD(number(p, h, 2), 2);
    TE_CSV_FIELD(number(p, l, 3), 3);
    TE_CSV_FIELD(number(p, c, 4), 4);
    TE_CSV_FIELD(number(p, adj, 5), 5);  // validated, then ignored: prices are used as given
    TE_CSV_FIELD(number(p, v, 6), 6);
    if (!check_bar(ts, o, h, l, c, v, 6)) return nullptr;
    store(ts, o, h, l, c, v);
    return p;
  }

  template <bool kQuotes, bool kSizes>
  const char* generic_row(const char* p) {
    std::int64_t ts = 0;
    double o = 0, h = 0, l = 0, c = 0, v = 0;
    TE_CSV_FIELD(time_field(p, ts, TimeSyntax::iso_or_ms, 0), 0);
    TE_CSV_FIELD(number(p, o, 1), 1);
    TE_CSV_FIELD(number(p, h, 2), 2);
    TE_CSV_FIELD(number(p, l, 3), 3);
    TE_CSV_FIELD(number(p, c, 4), 4);
    TE_CSV_FIELD(number(p, v, 5), 5);
    if (!check_bar(ts, o, h, l, c, v, 5)) return nullptr;
    if constexpr (kQuotes) {
      double bid = 0, ask = 0;
      TE_CSV_FIELD(optional_number(p, bid, 6), 6);
      TE_CSV_FIELD(optional_number(p, ask, 7), 7);
      double bid_size = model::kNoValue, ask_size = model::kNoValue;
      if constexpr (kSizes) {
        TE_CSV_FIELD(optional_number(p, bid_size, 8), 8);
        TE_CSV_FIELD(optional_number(p, ask_size, 9), 9);
      }
      if (!check_quote(bid, ask, bid_size, ask_size)) return nullptr;
      const std::size_t n = store_.size;
      store_.bid[n] = bid;
      store_.ask[n] = ask;
      if constexpr (kSizes) {
        store_.bid_size[n] = bid_size;
        store_.ask_size[n] = ask_size;
      }
    }
    store(ts, o, h, l, c, v);
    return p;
  }

  const char* binance_row(const char* p) {
    std::int64_t ts = 0, close_ts = 0;
    double o = 0, h = 0, l = 0, c = 0, v = 0, extra[4] = {};
    TE_CSV_FIELD(time_field(p, ts, TimeSyntax::ms, 0), 0);
    TE_CSV_FIELD(number(p, o, 1), 1);
    TE_CSV_FIELD(number(p, h, 2), 2);
    TE_CSV_FIELD(number(p, l, 3), 3);
    TE_CSV_FIELD(number(p, c, 4), 4);
    TE_CSV_FIELD(number(p, v, 5), 5);
    TE_CSV_FIELD(time_field(p, close_ts, TimeSyntax::ms, 6), 6);
    TE_CSV_FIELD(number(p, extra[0], 7), 7);
    TE_CSV_FIELD(number(p, extra[1], 8), 8);
    TE_CSV_FIELD(number(p, extra[2], 9), 9);
    TE_CSV_FIELD(number(p, extra[3], 10), 10);
    if (!check_bar(ts, o, h, l, c, v, 5)) return nullptr;
    if (close_ts < ts) [[unlikely]]
      return fail_field(6, layout_.names[6] + " " + ts_text(close_ts) + " is before " + layout_.names[0] + " " +
                               ts_text(ts));
    for (std::size_t i = 0; i < 4; ++i)
      if (extra[i] < 0) [[unlikely]]
        return fail_field(7 + i, layout_.names[7 + i] + " " + format_double(extra[i]) + " is negative");
    store(ts, o, h, l, c, v);
    return p;
  }

#undef TE_CSV_FIELD

  inline void store(std::int64_t ts, double o, double h, double l, double c, double v) noexcept {
    const std::size_t n = store_.size;
    store_.ts[n] = ts;
    store_.open[n] = o;
    store_.high[n] = h;
    store_.low[n] = l;
    store_.close[n] = c;
    store_.volume[n] = v;
    store_.size = n + static_cast<std::size_t>(ts >= lo_ && ts < hi_);
    if (rows_ == 0) first_ts_ = ts;
    ++rows_;
    prev_ts_ = ts;
    prev_line_ = line_;
  }

  // --- separators and fields -------------------------------------------------

  [[gnu::always_inline]] inline const char* separator(const char* q, std::size_t idx) {
    if (idx + 1 < nfields_) {
      if (*q == ',') [[likely]]
        return q + 1;
      return too_few_fields(q, idx);
    }
    if (*q == '\n') [[likely]]
      return q + 1;
    if (*q == '\r' && q[1] == '\n') return q + 2;
    return bad_line_end(q, idx);
  }

  [[gnu::always_inline]] inline const char* number(const char* p, double& out, std::size_t idx) {
    if (const char* q = fast_number(p, out)) [[likely]]
      return q;
    return slow_number(p, out, idx, false);
  }

  // Quote columns may be empty: the bar then has no quote (NaN).
  [[gnu::always_inline]] inline const char* optional_number(const char* p, double& out, std::size_t idx) {
    if (const char* q = fast_number(p, out)) [[likely]]
      return q;
    return slow_number(p, out, idx, true);
  }

  inline const char* date_field(const char* p, std::int64_t& ts) {
    std::int64_t days = 0;
    if (const char* q = fast_date(p, days); q != nullptr && is_field_end(*q)) [[likely]] {
      ts = days * kNsPerDay;
      return q;
    }
    return slow_time(p, ts, TimeSyntax::date, 0);
  }

  inline const char* time_field(const char* p, std::int64_t& ts, TimeSyntax syntax, std::size_t idx) {
    if (syntax == TimeSyntax::iso_or_ms && is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) && is_digit(p[3]) &&
        p[4] == '-') {
      std::int64_t day_ns = 0, secs = 0;
      const char* q = same_day(p, day_ns);
      if (q == nullptr) {
        std::int64_t days = 0;
        q = fast_date(p, days);
        if (q != nullptr) {
          std::memcpy(day_key_, p, sizeof day_key_);
          day_key8_ = load8(p);
          day_ns = day_ns_ = days * kNsPerDay;
        }
      }
      if (q != nullptr) {
        if (is_field_end(*q)) {
          ts = day_ns;
          return q;
        }
        if (*q == 'T' || *q == ' ') {
          if (const char* r = fast_hms(q + 1, secs)) {
            r += *r == 'Z';
            if (is_field_end(*r)) {
              ts = day_ns + secs * kNsPerSec;
              return r;
            }
          }
        }
      }
    } else {
      std::int64_t ms = 0;
      if (const char* q = fast_ms(p, ms)) [[likely]] {
        ts = ms * kNsPerMs;
        return q;
      }
    }
    return slow_time(p, ts, syntax, idx);
  }

  // Intraday files repeat each date for many rows: when the date equals the last
  // one parsed, skip its validation.
  [[gnu::always_inline]] inline const char* same_day(const char* p, std::int64_t& day_ns) const noexcept {
    if (load8(p) != day_key8_ || p[8] != day_key_[8] || p[9] != day_key_[9]) return nullptr;
    day_ns = day_ns_;
    return p + sizeof day_key_;
  }

  // --- cold paths: unusual syntax and every error ----------------------------

  [[gnu::noinline]] const char* slow_number(const char* p, double& out, std::size_t idx, bool optional) {
    const char* e = p;
    while (!is_field_end(*e)) ++e;
    const std::string_view f = trim(p, e);
    if (f.empty()) {
      if (optional) {
        out = model::kNoValue;
        return e;
      }
      return fail(p, layout_.names[idx] + ": expected a number, the field is empty");
    }
    if (parse_double(f, out)) return e;
    std::string msg = layout_.names[idx] + ": expected a number, was " + quoted(f);
    if (f == "null" || f == "NULL" || f == "null\"" || f == "NaN" || f == "nan" || f == "N/A" || f == "NA" ||
        f == "-")
      msg += " (a missing value: rows are never skipped or filled; fix or remove the row)";
    return fail(p, std::move(msg));
  }

  [[gnu::noinline]] const char* slow_time(const char* p, std::int64_t& ts, TimeSyntax syntax, std::size_t idx) {
    const char* e = p;
    while (!is_field_end(*e)) ++e;
    const std::string_view f = trim(p, e);
    const std::string& name = layout_.names[idx];
    const bool integer = !f.empty() && std::all_of(f.begin() + (f[0] == '-' ? 1 : 0), f.end(), is_digit) &&
                         f != "-";
    if (syntax != TimeSyntax::date && integer) {
      std::int64_t ms = 0;
      if (!parse_int64(f, ms) || ms < kFirstMsOf1678 || ms >= kFirstMsOf2262)
        return fail(p, name + ": epoch milliseconds " + quoted(f) + " are out of range (years 1678 to 2261)");
      ts = ms * kNsPerMs;
      return e;
    }
    if (syntax != TimeSyntax::ms && f.size() >= 5 && f[4] == '-' && std::all_of(f.begin(), f.begin() + 4, is_digit)) {
      const int year = digit(f[0]) * 1000 + digit(f[1]) * 100 + digit(f[2]) * 10 + digit(f[3]);
      if (year < kMinYear || year > kMaxYear)
        return fail(p, name + ": year " + std::to_string(year) + " is out of the supported range 1678 to 2261");
      if (auto v = parse_iso8601_ns(f)) {
        ts = *v;
        return e;
      }
    }
    switch (syntax) {
      case TimeSyntax::date: return fail(p, name + ": expected a date as YYYY-MM-DD, was " + quoted(f));
      case TimeSyntax::ms: return fail(p, name + ": expected epoch milliseconds, was " + quoted(f));
      case TimeSyntax::iso_or_ms: break;
    }
    return fail(p, name + ": expected an ISO-8601 date or datetime (2020-01-31, 2020-01-31T09:30:00Z) or epoch "
                          "milliseconds, was " + quoted(f));
  }

  [[gnu::noinline]] const char* too_few_fields(const char* q, std::size_t idx) {
    return fail(q, "expected " + std::to_string(nfields_) + " fields, found " + std::to_string(idx + 1) +
                       " (missing " + layout_.names[idx + 1] + ")");
  }

  [[gnu::noinline]] const char* bad_line_end(const char* q, std::size_t idx) {
    if (*q == ',') {
      std::size_t found = idx + 2;
      for (const char* r = q + 1; *r != '\n'; ++r) found += *r == ',';
      return fail(q + 1, "expected " + std::to_string(nfields_) + " fields, found " + std::to_string(found));
    }
    return fail(q, "unexpected carriage return inside a line (only CRLF line endings are accepted)");
  }

  inline bool check_bar(std::int64_t ts, double o, double h, double l, double c, double v, std::size_t vol_idx) {
    if (ts <= prev_ts_ && rows_ != 0) [[unlikely]]
      return bad_order(ts);
    if (!(l <= h) || o < l || o > h || c < l || c > h || !(l > 0) || v < 0) [[unlikely]]
      return bad_bar(o, h, l, c, v, vol_idx);
    return true;
  }

  [[gnu::noinline]] bool bad_order(std::int64_t ts) {
    const std::string& name = layout_.names[0];
    const std::string prev = "line " + std::to_string(prev_line_);
    if (ts == prev_ts_)
      fail(line_start_, "duplicate " + name + " " + ts_text(ts) + ", the same as on " + prev);
    else
      fail(line_start_, name + " " + ts_text(ts) + " is before " + ts_text(prev_ts_) + " on " + prev +
                            "; rows must be in increasing time order");
    return false;
  }

  // Fields 1..4 are open, high, low, close in every format.
  [[gnu::noinline]] bool bad_bar(double o, double h, double l, double c, double v, std::size_t vol_idx) {
    const auto& n = layout_.names;
    const auto num = [](double x) { return format_double(x); };
    if (!(l <= h))
      fail_field(2, n[2] + " " + num(h) + " is below " + n[3] + " " + num(l));
    else if (o < l || o > h)
      fail_field(1, n[1] + " " + num(o) + " is outside [" + n[3] + " " + num(l) + ", " + n[2] + " " + num(h) + "]");
    else if (c < l || c > h)
      fail_field(4, n[4] + " " + num(c) + " is outside [" + n[3] + " " + num(l) + ", " + n[2] + " " + num(h) + "]");
    else if (!(l > 0))  // a fill at a price of 0 or below has no meaning
      fail_field(3, n[3] + " " + num(l) + " is not above 0 (prices must be positive)");
    else
      fail_field(vol_idx, n[vol_idx] + " " + num(v) + " is negative");
    return false;
  }

  [[gnu::noinline]] bool check_quote(double bid, double ask, double bid_size, double ask_size) {
    const auto& n = layout_.names;
    if (std::isnan(bid) != std::isnan(ask)) {
      fail_field(6, n[6] + " and " + n[7] + " must both be given or both be empty");
      return false;
    }
    if (!std::isnan(bid) && !(bid > 0 && ask > 0)) {
      const std::size_t i = bid > 0 ? 7 : 6;
      fail_field(i, n[i] + " " + format_double(i == 6 ? bid : ask) + " is not above 0 (prices must be positive)");
      return false;
    }
    if (!std::isnan(bid) && bid > ask) {
      fail_field(6, n[6] + " " + format_double(bid) + " is above " + n[7] + " " + format_double(ask));
      return false;
    }
    if (bid_size < 0 || ask_size < 0) {
      const std::size_t i = bid_size < 0 ? 8 : 9;
      fail_field(i, n[i] + " " + format_double(i == 8 ? bid_size : ask_size) + " is negative");
      return false;
    }
    return true;
  }

  // Errors about a whole field point at its first character.
  const char* fail_field(std::size_t idx, std::string message) {
    const char* p = line_start_;
    for (std::size_t i = 0; i < idx; ++i) {  // the row was split already: the commas are there
      while (*p != ',') ++p;
      ++p;
    }
    return fail(p, std::move(message));
  }

  const char* fail(const char* at, std::string message) {
    const auto column = static_cast<std::size_t>(at - line_start_) + 1;
    error_ = make_error(Errc::parse, name_ + ":" + std::to_string(line_) + ":" + std::to_string(column) + ": " +
                                         std::move(message));
    return nullptr;
  }

  const std::string& name_;
  const CsvLayout& layout_;
  const std::size_t nfields_;
  ColumnStore& store_;
  const std::int64_t lo_, hi_;
  std::string_view after_;
  const char* line_start_ = nullptr;
  std::size_t line_ = 1;  // the header is line 1
  std::size_t rows_ = 0;
  std::size_t prev_line_ = 0;
  std::int64_t prev_ts_ = 0, first_ts_ = 0;
  bool finished_ = false;
  char day_key_[10] = {};  // "YYYY-MM-DD" of the last ISO timestamp, day_ns_ its midnight
  std::uint64_t day_key8_ = ~std::uint64_t{0};  // its first 8 bytes as load8 reads them
  std::int64_t day_ns_ = 0;
  Error error_;
};

}  // namespace te::data::csv_detail_s16
