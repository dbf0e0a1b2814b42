#pragma once
// JSON text for Value trees: meta.json, `export --format json` and pretty-printed
// contexts. JSON is the readable form; the journal's msgpack is the exact one.
// Differences: non-finite doubles print as null, and a double always prints with
// a '.' or exponent ("1.0") so it parses back as a double, not an int.
#include <string>
#include <string_view>

#include "engine/core/result.hpp"
#include "engine/core/value.hpp"

namespace te {

struct JsonStyle {
  int indent = 0;  // 0: one line, no spaces; > 0: that many spaces per level
};

std::string to_json(const Value& v, JsonStyle style = {});
void append_json(std::string& out, const Value& v, JsonStyle style = {});
// A JSON string literal with quotes and escapes.
void append_json_string(std::string& out, std::string_view s);

// Parses one JSON document (RFC 8259; surrounding whitespace allowed). Integers
// that fit int64 become ints, other numbers doubles; objects become maps (a
// repeated key keeps the last value).
// Errors: Errc::parse with "line:column: what was expected".
Result<Value> parse_json(std::string_view text);

}  // namespace te
