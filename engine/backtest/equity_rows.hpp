#pragma once
// Internal to report.cpp and equity_stream.cpp: the text of equity.csv rows
// (`time,cash,position_value,equity,drawdown`), formatted straight into a
// caller's buffer. One implementation, so the file written while a backtest
// runs and the one written from a finished result are the same bytes.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"

namespace te::backtest::detail {

inline constexpr const char* kEquityHeader = "time,cash,position_value,equity,drawdown\n";
inline constexpr std::size_t kMaxEquityRow = 40 + 4 * 33;  // timestamp, four numbers, separators

// Formats rows one at a time; most values repeat from the row before (cash
// between fills, equity while flat, a zero drawdown at peaks, the date of
// intraday bars), so their text is reused instead of formatted again.
class EquityRowFormatter {
 public:
  explicit EquityRowFormatter(bool date_only) : time_(date_only) {}

  // Writes one row (at most kMaxEquityRow bytes) at `p`; returns the end.
  char* row(char* p, std::int64_t ts_ns, double cash, double position_value, double equity, double drawdown) noexcept {
    p += time_.write(p, ts_ns);
    p = field(p, memo_[0], cash);
    p = field(p, memo_[1], position_value);
    p = field(p, memo_[2], equity);
    p = field(p, memo_[3], drawdown);
    *p++ = '\n';
    return p;
  }

 private:
  struct Memo {
    std::uint64_t bits = ~std::uint64_t{0};
    char text[32] = {};
    std::size_t len = 0;
  };
  static char* field(char* p, Memo& m, double v) noexcept {
    *p++ = ',';
    std::uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    if (bits != m.bits) {
      m.bits = bits;
      m.len = std::isfinite(v) ? format_double(v, m.text) : 0;
    }
    // All 32 bytes: a fixed-size copy is two vector moves, not a call; the
    // caller's room allows kMaxEquityRow per row, i.e. 33 bytes per field.
    std::memcpy(p, m.text, sizeof m.text);
    return p + m.len;
  }
  Iso8601Writer time_;  // consecutive bars mostly share their date
  Memo memo_[4];
};

}  // namespace te::backtest::detail
