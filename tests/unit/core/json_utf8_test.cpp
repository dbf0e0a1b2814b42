// JSON text must be UTF-8. Strategy text (reasons, log lines, ctx strings,
// --param values) may hold any bytes; both JSON writers replace what is not
// well-formed UTF-8 with U+FFFD and keep what is. Found by the audit: a reason
// holding "\xff" made report.json, export --format json and inspect-event
// --json unreadable by JSON parsers.
#include <catch2/catch.hpp>

#include <string>

#include "engine/core/json_writer.hpp"
#include "engine/core/utf8.hpp"
#include "engine/core/value.hpp"
#include "engine/core/value_json.hpp"

using namespace te;

namespace {

std::string via_value(const std::string& s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string via_writer(const std::string& s) {
  std::string out;
  JsonWriter::append_escaped(out, s);
  return out;
}

}  // namespace

TEST_CASE("utf8_sequence_length follows Unicode's well-formed table", "[core][json][audit]") {
  CHECK(utf8_sequence_length("a", 0) == 1);
  CHECK(utf8_sequence_length("\xc3\xa9", 0) == 2);          // é
  CHECK(utf8_sequence_length("\xe2\x82\xac", 0) == 3);      // €
  CHECK(utf8_sequence_length("\xf0\x9f\x98\x80", 0) == 4);  // emoji
  CHECK(utf8_sequence_length("\xff", 0) == 0);
  CHECK(utf8_sequence_length("\xc0\xaf", 0) == 0);          // overlong '/'
  CHECK(utf8_sequence_length("\xed\xa0\x80", 0) == 0);      // surrogate
  CHECK(utf8_sequence_length("\xf4\x90\x80\x80", 0) == 0);  // above U+10FFFF
  CHECK(utf8_sequence_length("\xe2\x82", 0) == 0);          // truncated
  CHECK(utf8_sequence_length("\x80", 0) == 0);              // lone continuation
}

TEST_CASE("JSON strings are always valid UTF-8", "[core][json][audit]") {
  // Long enough that the writer's 8-byte fast path meets the bytes.
  const std::string bad = std::string("reason \xff\xfe ok \xc3\xa9 \xe2\x82 end ") + std::string(16, 'x') + "\xed\xa0\x80";
  const std::string want =
      std::string("\"reason \\ufffd\\ufffd ok \xc3\xa9 \\ufffd\\ufffd end ") + std::string(16, 'x') + "\\ufffd\\ufffd\\ufffd\"";
  CHECK(via_value(bad) == want);
  CHECK(via_writer(bad) == want);
  // Well-formed text, escapes and control bytes are unchanged.
  const std::string good = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \"q\" \\ \n \x01";
  CHECK(via_value(good) == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \\\"q\\\" \\\\ \\n \\u0001\"");
  CHECK(via_writer(good) == via_value(good));
  // And what is written parses back.
  auto parsed = parse_json(via_value(bad));
  REQUIRE(parsed.ok());
  CHECK(parsed->as_string().find("\xef\xbf\xbd") != std::string::npos);
}
