#include <catch2/catch.hpp>

#include <random>

#include "engine/journal/event_codec.hpp"
#include "engine/core/value_diff.hpp"
#include "engine/core/value_json.hpp"
#include "journal_fixtures.hpp"

using namespace te;
using namespace te::journal;
using te::journal::testing::mutate_value;
using te::journal::testing::random_value;

TEST_CASE("diff then apply gives the target for random trees", "[unit][journal]") {
  std::mt19937_64 rng(1234);
  for (int i = 0; i < 3000; ++i) {
    const Value from = random_value(rng, 0);
    const Value to = i % 2 == 0 ? mutate_value(rng, from) : random_value(rng, 0);
    const Value d = diff(from, to);
    auto got = apply(from, d);
    REQUIRE(got.ok());
    INFO("from " << to_json(from) << " to " << to_json(to) << " delta " << to_json(d));
    REQUIRE(*got == to);
    if (from == to) CHECK(d.is_nil());
    // The writer's direct encoding matches the tree's bytes exactly.
    std::string tree_bytes, direct_bytes;
    encode_value(d, tree_bytes);
    encode_diff(from, to, direct_bytes);
    REQUIRE(direct_bytes == tree_bytes);
  }
}

TEST_CASE("diff of a context with one changed key is small", "[unit][journal]") {
  Value a = Value::map({{"cash", 1000.0}, {"bars", 10}, {"pos", Value::map({{"qty", 1.0}, {"px", 99.5}})},
                        {"hist", Value::array({1, 2, 3, 4, 5})}});
  Value b = a;
  b.set("bars", 11);
  Value d = diff(a, b);
  CHECK(to_json(d) == R"([1,{"bars":[0,11]},[]])");
  b.erase("cash");
  d = diff(a, b);
  CHECK(to_json(d) == R"([1,{"bars":[0,11]},["cash"]])");
  // A window shifted by one changes every element: replaced, not patched.
  Value c = a;
  c.set("hist", Value::array({2, 3, 4, 5, 6}));
  CHECK(to_json(diff(a, c)) == R"([1,{"hist":[0,[2,3,4,5,6]]},[]])");
  // Appending patches.
  Value e = a;
  e.set("hist", Value::array({1, 2, 3, 4, 5, 6}));
  CHECK(to_json(diff(a, e)) == R"([1,{"hist":[2,6,[[5,[0,6]]]]},[]])");
  CHECK(diff(Value(1.0), Value(1.0)).is_nil());
  CHECK(to_json(diff(Value(1.0), Value(1))) == "[0,1]");
}

TEST_CASE("apply rejects malformed deltas and deltas that do not fit", "[unit][journal]") {
  const Value base = Value::map({{"a", 1}, {"arr", Value::array({1, 2})}});
  auto err = [&](const char* json) {
    auto d = parse_json(json);
    REQUIRE(d.ok());
    auto r = apply(base, *d);
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  CHECK(err("5").find("delta must be nil or [op, ...]") != std::string::npos);
  CHECK(err("[9, 1]").find("unknown delta op 9") != std::string::npos);
  CHECK(err(R"([1, {}, ["zz"]])").find("removes key \"zz\" which is absent") != std::string::npos);
  CHECK(err(R"([1, {"a": [1, {}, []]}, []])").find("at a: map patch on a int") != std::string::npos);
  CHECK(err(R"([1, {"arr": [2, 100, []]}, []])").find("does not fit the base") != std::string::npos);
  CHECK(err(R"([1, {"arr": [2, 2, [[1, [0, 5]], [0, [0, 5]]]]}, []])").find("out of order") != std::string::npos);
  CHECK(err(R"([2, 1, []])").find("array patch on a map") != std::string::npos);
}
