#pragma once
// Symbols and runner names are printed to terminals and become parts of file
// names (out/<strategy>-<symbol>, runners/<name>/): a control character would
// reach the terminal as an escape sequence, a slash would move the output.
#include <optional>
#include <string>
#include <string_view>

namespace te {

// The text with every byte a terminal could act on (C0 controls, DEL, C1
// controls, bytes that are not well-formed UTF-8) written as \xNN, so an error
// message can quote what the user gave without sending it raw to the terminal.
std::string printable(std::string_view s);

// printable() for text of several lines: newlines and tabs are kept.
std::string terminal_text(std::string_view s);

// `s` for an error message: in single quotes, printable(), cut to about `max`
// bytes of the input with "..." (a whole line of a binary file is not quoted).
std::string quoted_excerpt(std::string_view s, std::size_t max = 40);

// Why `s` cannot be a symbol, or nothing when it can: 1 to 64 bytes of
// well-formed UTF-8, no whitespace or control characters, no '/' or '\',
// not "." or "..". E.g. BTCUSDT, NVDA, BRK.B, ES=F, ^GSPC.
std::optional<std::string> symbol_problem(std::string_view s);

// Why `s` cannot be a runner's name, or nothing: 1 to 200 bytes of
// well-formed UTF-8 without control characters.
std::optional<std::string> name_problem(std::string_view s);

// A symbol made from a file name (prices.csv -> prices): each byte a symbol
// may not hold becomes '_', cut to 64 bytes; "data" when nothing is left.
std::string symbol_from_text(std::string_view s);

}  // namespace te
