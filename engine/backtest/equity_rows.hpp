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
// Room a row may use: the timestamp (40) and the fields' text copied in whole
// 32-byte pieces (a row's four fields and separators are at most 4 * 33 + 1 =
// 133 bytes, so at most 160 copied).
inline constexpr std::size_t kMaxEquityRow = 40 + 160;

// Formats rows one at a time; most values repeat from the row before (cash
// between fills, equity while flat, a zero drawdown at peaks, the date of
// intraday bars), so their text is reused instead of formatted again: a row
// whose four numbers are all the previous row's (a flat bar) copies the
// previous row's text after the time.
class EquityRowFormatter {
 public:
  explicit EquityRowFormatter(bool date_only) : time_(date_only) {}

  // Writes one row (at most kMaxEquityRow bytes) at `p`; returns the end.
  char* row(char* p, std::int64_t ts_ns, double cash, double position_value, double equity, double drawdown) noexcept {
    p += time_.write(p, ts_ns);
    const std::uint64_t b[4] = {bits(cash), bits(position_value), bits(equity), bits(drawdown)};
    if (((b[0] ^ memo_[0].bits) | (b[1] ^ memo_[1].bits) | (b[2] ^ memo_[2].bits) | (b[3] ^ memo_[3].bits)) != 0)
        [[unlikely]] {
      retext(b, cash, position_value, equity, drawdown);
    }
    return copy_tail(p);
  }

 private:
  struct Memo {
    std::uint64_t bits = ~std::uint64_t{0};
    char text[32] = {};
    std::size_t len = 0;
  };
  static std::uint64_t bits(double v) noexcept {
    std::uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
  }
  // The text after the time, ",cash,position_value,equity,drawdown\n", in tail_.
  void retext(const std::uint64_t (&b)[4], double cash, double position_value, double equity, double drawdown) noexcept {
    char* q = tail_;
    q = field(q, memo_[0], b[0], cash);
    q = field(q, memo_[1], b[1], position_value);
    q = field(q, memo_[2], b[2], equity);
    q = field(q, memo_[3], b[3], drawdown);
    *q++ = '\n';
    tail_len_ = static_cast<std::size_t>(q - tail_);
  }
  static char* field(char* p, Memo& m, std::uint64_t bits, double v) noexcept {
    *p++ = ',';
    if (bits != m.bits) {
      m.bits = bits;
      m.len = std::isfinite(v) ? format_double(v, m.text) : 0;
    }
    // All 32 bytes: a fixed-size copy is two vector moves, not a call; tail_
    // has room for it after every field.
    std::memcpy(p, m.text, sizeof m.text);
    return p + m.len;
  }
  // Copies tail_ in whole 32-byte pieces (fixed-size copies are vector moves,
  // not a call; kMaxEquityRow leaves room for the last piece's slack).
  char* copy_tail(char* p) const noexcept {
    std::memcpy(p, tail_, 64);
    if (tail_len_ > 64) [[unlikely]] {
      for (std::size_t at = 64; at < tail_len_; at += 32) std::memcpy(p + at, tail_ + at, 32);
    }
    return p + tail_len_;
  }
  Iso8601Writer time_;  // consecutive bars mostly share their date
  Memo memo_[4];
  // As four non-finite fields (the memos' text) until the first row.
  std::size_t tail_len_ = 5;
  char tail_[4 * 33 + 1 + 32] = {',', ',', ',', ',', '\n'};  // the fields' text, then the last piece's slack
};

}  // namespace te::backtest::detail
