// Symbols and runner names reach terminals and file names. Found by the audit:
// a runner named "\x1b[2J..." cleared the terminal of `run`'s status table, and
// `backtest --symbol ../../x` wrote its default output folder two levels up.
#include <catch2/catch.hpp>

#include <string>

#include "engine/core/labels.hpp"

using namespace te;

TEST_CASE("symbols: real tickers pass, separators and control characters do not", "[unit][core][labels]") {
  for (const char* ok : {"BTCUSDT", "NVDA", "BRK.B", "ES=F", "^GSPC", "nvda-1999-2014", "7203.T", "\xE6\xB2\xAA"})
    CHECK_FALSE(symbol_problem(ok).has_value());
  const std::string esc = "A\x1b[31mB";
  REQUIRE(symbol_problem(esc).has_value());
  CHECK(*symbol_problem(esc) == "\"A\\x1b[31mB\" holds a control character or bytes that are not UTF-8 (shown as \\xNN)");
  CHECK(*symbol_problem("../../x") == "\"../../x\" holds '/'; symbols have no spaces, tabs or slashes (e.g. BTCUSDT, BRK.B)");
  CHECK(symbol_problem("a\\b").has_value());
  CHECK(symbol_problem("BTC USDT").has_value());
  CHECK(symbol_problem("A\tB").has_value());
  CHECK(symbol_problem(".").has_value());
  CHECK(symbol_problem("..").has_value());
  CHECK(*symbol_problem("") == "empty: give the instrument's symbol, e.g. BTCUSDT");
  CHECK(*symbol_problem(std::string(65, 'A')) == "65 bytes long, at most 64 allowed");
  CHECK_FALSE(symbol_problem(std::string(64, 'A')).has_value());
  CHECK(symbol_problem("\xC2\x9B" "2J").has_value());  // C1 CSI, which some terminals obey
  CHECK(symbol_problem("ab\xff").has_value());           // not UTF-8
  CHECK(symbol_problem(std::string("a\0b", 3)).has_value());
  CHECK(symbol_problem("A\x7f").has_value());
}

TEST_CASE("runner names: any printable UTF-8, nothing a terminal acts on", "[unit][core][labels]") {
  CHECK_FALSE(name_problem("strategies/sma_cross.lua:BTCUSDT").has_value());
  CHECK_FALSE(name_problem("trend \xE2\x80\x94 eth").has_value());
  CHECK(name_problem("").has_value());
  CHECK(*name_problem("x\x1b[2J") == "\"x\\x1b[2J\" holds a control character or bytes that are not UTF-8 (shown as \\xNN)");
  CHECK(name_problem("a\nb").has_value());
  CHECK(name_problem(std::string(201, 'n')).has_value());
}

TEST_CASE("printable escapes exactly what a terminal could act on", "[unit][core][labels]") {
  CHECK(printable("plain text \xE2\x82\xAC") == "plain text \xE2\x82\xAC");
  CHECK(printable("\x1b[31mred\x07") == "\\x1b[31mred\\x07");
  CHECK(printable("\xC2\x9B" "1m") == "\\xc2\\x9b1m");
  CHECK(printable("\xff\xfe") == "\\xff\\xfe");
  CHECK(printable(std::string("\0", 1)) == "\\x00");
}

TEST_CASE("a symbol made from a file name keeps what it can", "[unit][core][labels]") {
  CHECK(symbol_from_text("nvda-1999-2014") == "nvda-1999-2014");
  CHECK(symbol_from_text("my prices") == "my_prices");
  CHECK(symbol_from_text("a\x1b[1mb") == "a_[1mb");
  CHECK(symbol_from_text("") == "data");
  CHECK(symbol_from_text("..") == "data");
  CHECK(symbol_from_text(std::string(100, 'x')) == std::string(64, 'x'));
  CHECK(symbol_from_text("\xE6\xB2\xAA\xff") == "\xE6\xB2\xAA_");
  CHECK_FALSE(symbol_problem(symbol_from_text("we\tird\\na/me\x9b")).has_value());
}
