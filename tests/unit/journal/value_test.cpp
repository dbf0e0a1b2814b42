#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <limits>

#include "engine/journal/event_codec.hpp"
#include "engine/core/value.hpp"
#include "engine/core/value_in_place.hpp"
#include "engine/core/value_json.hpp"

using namespace te;
using namespace te::journal;

TEST_CASE("value maps keep keys sorted and unique", "[unit][journal]") {
  Value m = Value::map({{"b", 1}, {"a", 2}, {"c", 3}, {"a", 4}});
  REQUIRE(m.is_map());
  REQUIRE(m.size() == 3);
  CHECK(m.as_map()[0].first == "a");
  CHECK(m.as_map()[0].second == Value(4));  // last duplicate wins
  CHECK(m.as_map()[2].first == "c");
  m.set("aa", "x");
  CHECK(m.as_map()[1].first == "aa");
  CHECK(m.erase("b"));
  CHECK_FALSE(m.erase("zz"));
  CHECK(m.find("b") == nullptr);
  REQUIRE(m.find("aa") != nullptr);
  CHECK(m.find("aa")->as_string() == "x");

  Value n;
  n.set("k", 1);  // nil becomes a map
  CHECK(n.is_map());
  Value a;
  a.push_back(true);
  CHECK(a.is_array());
}

TEST_CASE("a map overwritten through its entries is canonical again after sort_entries", "[unit][journal]") {
  // become_map: a map stays as it is, anything else becomes an empty one.
  Value m = Value::map({{"a", 1}, {"b", 2}});
  CHECK(become_map(m).size() == 2);
  Value x(7);
  CHECK(become_map(x).empty());
  CHECK(x == Value::empty_map());

  // Values changed in place: keys untouched, nothing to restore.
  Value::Map& e = map_entries(m);
  e[1].second = Value("two");
  CHECK(m == Value::map({{"a", 1}, {"b", "two"}}));

  // Keys rewritten out of order and one twice: sort_entries gives what Value(Map) gives.
  Value::Map& w = map_entries(m);
  w = {{"c", 3}, {"a", 4}, {"c", 5}};
  sort_entries(m);
  CHECK(m == Value(Value::Map{{"c", 3}, {"a", 4}, {"c", 5}}));
  CHECK(m.size() == 2);
  CHECK(m.as_map()[1].second == Value(5));  // last duplicate wins
}

TEST_CASE("value equality is exact: kinds and double bit patterns", "[unit][journal]") {
  CHECK(Value(1) != Value(1.0));
  CHECK(Value(0.0) != Value(-0.0));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(Value(nan) == Value(nan));
  CHECK(Value(nan) != Value(std::bit_cast<double>(0x7ff8000000000001ull)));
  CHECK(Value("1") != Value(1));
  CHECK(Value() == Value(nullptr));
  CHECK(Value::array({1, 2}) != Value::array({2, 1}));
}

TEST_CASE("value msgpack round trip is bit-exact", "[unit][journal]") {
  Value v = Value::map({
      {"int", INT64_MIN},
      {"max", INT64_MAX},
      {"neg", -33},
      {"pos", 200},
      {"d", 0.1},
      {"negzero", -0.0},
      {"inf", -std::numeric_limits<double>::infinity()},
      {"nan", std::bit_cast<double>(0xfff8000000abcdefull)},
      {"s", std::string(300, 'x')},
      {"empty", ""},
      {"arr", Value::array({Value(), true, false, Value::empty_map(), Value::empty_array()})},
  });
  std::string bytes;
  encode_value(v, bytes);
  auto back = decode_value(bytes);
  REQUIRE(back.ok());
  CHECK(*back == v);

  // Deeply nested input is refused, not a stack overflow.
  std::string deep(1000, '\x91');
  deep += '\xc0';
  CHECK_FALSE(decode_value(deep).ok());
  // Truncated input.
  CHECK_FALSE(decode_value(bytes.substr(0, bytes.size() - 1)).ok());
}

TEST_CASE("value json round trip and errors", "[unit][journal]") {
  Value v = Value::map({{"a", Value::array({1, 2.5, -0.0, 1e300, "q\"\n\x01"})},
                        {"b", Value::map({{"x", true}, {"y", Value()}})},
                        {"c", 3.0},
                        {"u", "h\xc3\xa9"}});
  for (int indent : {0, 2}) {
    const std::string text = to_json(v, JsonStyle{indent});
    auto back = parse_json(text);
    REQUIRE(back.ok());
    CHECK(*back == v);
  }
  CHECK(to_json(Value(3.0)) == "3.0");
  CHECK(to_json(Value(std::numeric_limits<double>::quiet_NaN())) == "null");
  CHECK(to_json(Value::map({{"b", 1}, {"a", 2}})) == R"({"a":2,"b":1})");

  auto u = parse_json(R"("\u00e9\ud83d\ude00")");
  REQUIRE(u.ok());
  CHECK(u->as_string() == "\xc3\xa9\xf0\x9f\x98\x80");

  auto bad = parse_json("{\n  \"a\": [1, 2,, 3]\n}");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.rfind("2:", 0) == 0);  // line 2
  CHECK_FALSE(parse_json("").ok());
  CHECK_FALSE(parse_json("[1] x").ok());
  CHECK_FALSE(parse_json("01").ok());
  CHECK_FALSE(parse_json("\"unterminated").ok());
  auto big = parse_json("18446744073709551616");  // beyond int64: a double
  REQUIRE(big.ok());
  CHECK(big->is_double());
}
