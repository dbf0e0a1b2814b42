#include "engine/core/labels.hpp"

#include <cstdio>
#include <initializer_list>

#include "engine/core/utf8.hpp"

namespace te {
namespace {

constexpr std::size_t kMaxSymbol = 64;
constexpr std::size_t kMaxName = 200;

// Length of the character at s[i] when it is printable (well-formed UTF-8, not a
// C0/C1 control or DEL), else 0.
std::size_t printable_length(std::string_view s, std::size_t i) {
  const std::size_t n = utf8_sequence_length(s, i);
  if (n == 0) return 0;
  const auto c = static_cast<unsigned char>(s[i]);
  if (n == 1) return c >= 0x20 && c != 0x7F ? 1 : 0;
  // U+0080..U+009F (C1 controls, CSI among them) are encoded C2 80..C2 9F.
  if (n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) return 0;
  return n;
}

// Messages are built by appending: GCC 12 reports a false -Wrestrict on
// `"literal" + std::string&&`.
std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out.append(p);
  return out;
}

// Why `s` is not all printable characters, or nothing.
std::optional<std::string> unprintable(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = printable_length(s, i);
    if (n == 0)
      return join({"\"", printable(s), "\" holds a control character or bytes that are not UTF-8 (shown as \\xNN)"});
    i += n;
  }
  return std::nullopt;
}

bool symbol_byte_ok(char c) { return c != ' ' && c != '\t' && c != '/' && c != '\\'; }

}  // namespace

namespace {

std::string escaped(std::string_view s, bool keep_lines) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = printable_length(s, i);
    if (n == 0 && keep_lines && (s[i] == '\n' || s[i] == '\t')) n = 1;
    if (n == 0) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(s[i])));
      out += hex;
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace

std::string printable(std::string_view s) { return escaped(s, false); }

std::string terminal_text(std::string_view s) { return escaped(s, true); }

std::string quoted_excerpt(std::string_view s, std::size_t max) {
  const bool cut = s.size() > max;
  std::string out(1, '\'');
  out.append(printable(cut ? s.substr(0, max > 3 ? max - 3 : 0) : s));
  out.append(cut ? "...'" : "'");
  return out;
}

std::optional<std::string> symbol_problem(std::string_view s) {
  if (s.empty()) return "empty: give the instrument's symbol, e.g. BTCUSDT";
  if (s.size() > kMaxSymbol)
    return join({std::to_string(s.size()), " bytes long, at most ", std::to_string(kMaxSymbol), " allowed"});
  if (s == "." || s == "..") return join({"\"", s, "\" is not a symbol"});
  if (auto why = unprintable(s)) return why;
  // ASCII bytes never occur inside a multi-byte UTF-8 sequence: a byte scan will do.
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!symbol_byte_ok(s[i]))
      return join({"\"", s, "\" holds '", s[i] == '\t' ? std::string_view("\\t") : s.substr(i, 1),
                   "'; symbols have no spaces, tabs or slashes (e.g. BTCUSDT, BRK.B)"});
  return std::nullopt;
}

std::optional<std::string> name_problem(std::string_view s) {
  if (s.empty()) return "empty";
  if (s.size() > kMaxName)
    return join({std::to_string(s.size()), " bytes long, at most ", std::to_string(kMaxName), " allowed"});
  return unprintable(s);
}

std::string symbol_from_text(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = printable_length(s, i);
    if (n == 0 || (n == 1 && !symbol_byte_ok(s[i]))) {
      if (out.size() + 1 > kMaxSymbol) break;
      out += '_';
      i += n == 0 ? 1 : n;
    } else {
      if (out.size() + n > kMaxSymbol) break;
      out.append(s.substr(i, n));
      i += n;
    }
  }
  if (out.empty() || out == "." || out == "..") return "data";
  return out;
}

}  // namespace te
