#include "engine/core/json_writer.hpp"

#include "engine/core/utf8.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "engine/core/assert.hpp"
#include "engine/core/numbers.hpp"

namespace te {

void JsonWriter::newline() {
  if (indent_ <= 0) return;
  out_ += '\n';
  out_.append(stack_.size() * static_cast<std::size_t>(indent_), ' ');
}

void JsonWriter::set_sink(std::function<void(std::string_view)> sink, std::size_t chunk) {
  sink_ = std::move(sink);
  chunk_ = chunk;
  out_.reserve(chunk + 4096);
}

void JsonWriter::flush() {
  if (sink_ && !out_.empty()) sink_(out_);
  out_.clear();
}

void JsonWriter::before_value() {
  maybe_flush();
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (stack_.empty()) return;
  TE_ASSERT(stack_.back().array, "json: value inside an object needs a key");
  if (!stack_.back().first) out_ += ',';
  stack_.back().first = false;
  newline();
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  out_ += '{';
  stack_.push_back({false, true});
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  TE_ASSERT(!stack_.empty() && !stack_.back().array, "json: unbalanced end_object");
  const bool empty = stack_.back().first;
  stack_.pop_back();
  if (!empty) newline();
  out_ += '}';
  if (stack_.empty() && indent_ > 0) out_ += '\n';
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  before_value();
  out_ += '[';
  stack_.push_back({true, true});
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  TE_ASSERT(!stack_.empty() && stack_.back().array, "json: unbalanced end_array");
  const bool empty = stack_.back().first;
  stack_.pop_back();
  if (!empty) newline();
  out_ += ']';
  if (stack_.empty() && indent_ > 0) out_ += '\n';
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
  TE_ASSERT(!stack_.empty() && !stack_.back().array, "json: key outside an object");
  maybe_flush();
  if (!stack_.back().first) out_ += ',';
  stack_.back().first = false;
  newline();
  append_escaped(out_, k);
  out_ += indent_ > 0 ? ": " : ":";
  after_key_ = true;
  return *this;
}

namespace {

// Whether any of 8 bytes needs an escape in a JSON string: a control character
// (< 0x20), '"' or '\\'. The classic "has a byte less than n" and "has a zero
// byte" tests; exact about whether one exists, not about which.
bool needs_escape8(std::uint64_t x) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101, kHigh = 0x8080808080808080;
  const std::uint64_t quote = x ^ (kOnes * '"'), backslash = x ^ (kOnes * '\\');
  // Any byte >= 0x80 also takes the slow path, which checks it is UTF-8.
  return (((x - kOnes * 0x20) & ~x) | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) | x) & kHigh;
}

}  // namespace

bool JsonWriter::is_plain(std::string_view s) noexcept {
#if defined(__SSE2__)
  // 16 bytes a step: '"', '\\', and (as signed bytes) everything below 0x20,
  // which takes in 0x80..0xff too. Most strings here are short (codes, tags):
  // they are checked in one step, padded with spaces; longer ones end with an
  // overlapping last step.
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
  auto plain16 = [&](const char* p) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i bad =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)), _mm_cmpgt_epi8(space, x));
    return _mm_movemask_epi8(bad) == 0;
  };
  if (s.size() < 16) {
    char padded[16];
    std::memset(padded, ' ', sizeof padded);
    std::memcpy(padded, s.data(), s.size());
    return plain16(padded);
  }
  for (std::size_t i = 0; i + 16 <= s.size(); i += 16)
    if (!plain16(s.data() + i)) return false;
  return plain16(s.data() + s.size() - 16);
#else
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t x;
    std::memcpy(&x, s.data() + i, sizeof x);
    if (needs_escape8(x)) return false;
  }
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return false;
  }
  return true;
#endif
}

void JsonWriter::append_escaped(std::string& out, std::string_view s) {
  out += '"';
  // Runs of characters that need no escape are appended whole; they are found
  // 8 bytes at a time (reports print hundreds of thousands of strings).
  std::size_t from = 0;
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t x;
    std::memcpy(&x, s.data() + i, sizeof x);
    if (needs_escape8(x)) break;
  }
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') continue;
    if (c >= 0x80) {
      // JSON text is UTF-8: a byte that does not start a well-formed sequence
      // becomes U+FFFD (audit: a strategy's reason "\255" made report.json,
      // export --format json and inspect-event --json unreadable).
      const std::size_t n = utf8_sequence_length(s, i);
      if (n > 0) {
        i += n - 1;
        continue;
      }
      out.append(s, from, i - from);
      from = i + 1;
      out += "\\ufffd";
      continue;
    }
    out.append(s, from, i - from);
    from = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      }
    }
  }
  out.append(s, from, s.size() - from);
  out += '"';
}

JsonWriter& JsonWriter::value(std::string_view v) {
  before_value();
  append_escaped(out_, v);
  return *this;
}

JsonWriter& JsonWriter::value(double v) {
  before_value();
  if (!std::isfinite(v)) {
    out_ += "null";
  } else {
    append_double(out_, v);
  }
  return *this;
}

JsonWriter& JsonWriter::value(std::int64_t v) {
  before_value();
  char buf[24];
  out_.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
  return *this;
}

JsonWriter& JsonWriter::value(std::uint64_t v) {
  before_value();
  char buf[24];
  out_.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
  return *this;
}

JsonWriter& JsonWriter::value(bool v) {
  before_value();
  out_ += v ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::raw_value(std::string_view json) {
  before_value();
  out_ += json;
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  out_ += "null";
  return *this;
}

}  // namespace te
