#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "engine/journal/event_codec.hpp"
#include "engine/journal/msgpack_cursor.hpp"
#include "journal_fixtures.hpp"

// The reader decodes every record into the trees of the events before it
// (MsgpackCursor::read_value in place, BodySpares for the types in between):
// what comes out must be what a decode into a new event gives.

using namespace te;
using namespace te::journal;
using namespace te::journal::testing;
using Cursor = te::journal::detail::MsgpackCursor;

TEST_CASE("a value decoded into the tree of another is the value decoded into nil", "[unit][journal]") {
  std::mt19937_64 rng(5);
  Value prior;
  Value last = random_value(rng, 0);
  for (int i = 0; i < 20000; ++i) {
    // Mostly a small edit of the value before (a runner's next state), now
    // and then something else entirely.
    const Value v = i % 4 == 0 ? random_value(rng, 0) : mutate_value(rng, last);
    std::string bytes;
    encode_value(v, bytes);
    Value into = i % 7 == 0 ? random_value(rng, 0) : prior;
    Cursor c(bytes);
    REQUIRE(c.read_value(into));
    REQUIRE(c.at_end());
    REQUIRE(into == v);
    prior = std::move(into);
    last = v;
  }
}

TEST_CASE("a map another writer did not sort decodes sorted, last key wins, into any tree", "[unit][journal]") {
  // {"b": 1, "a": 2, "a": 3, "c": 4}: keys out of order and one twice.
  const std::string bytes = "\x84\xa1" "b\x01\xa1" "a\x02\xa1" "a\x03\xa1" "c\x04";
  const Value want = Value::map({{"a", 3}, {"b", 1}, {"c", 4}});
  const Value priors[] = {Value(),
                          Value::map({{"a", 0}, {"b", 0}}),
                          Value::map({{"b", 0}, {"c", 0}, {"d", 0}, {"e", 0}}),
                          Value::map({{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}}),
                          Value::array({1, 2}),
                          Value("text")};
  for (const Value& p : priors) {
    Value into = p;
    Cursor c(bytes);
    REQUIRE(c.read_value(into));
    CHECK(into == want);
    CHECK(into.as_map().size() == 3);
  }
  // Keys in place that stay sorted only with the new ones compared.
  Value into = Value::map({{"a", 0}, {"c", 0}});
  const std::string swapped = "\x82\xa1" "c\x01\xa1" "a\x02";  // {"c": 1, "a": 2}
  Cursor c(swapped);
  REQUIRE(c.read_value(into));
  CHECK(into == Value::map({{"a", 2}, {"c", 1}}));
}

TEST_CASE("a map whose decode fails halfway leaves nil, and the next decode into it is exact", "[unit][journal]") {
  // {"a": 1, "b": {"c": 2, "d": 3}}, cut after every byte: whatever tree the
  // decode starts from, a failure leaves nothing half-written (no map with a
  // new key next to old ones that may be out of order).
  const std::string bytes = "\x82\xa1" "a\x01\xa1" "b\x82\xa1" "c\x02\xa1" "d\x03";
  const Value want = Value::map({{"a", 1}, {"b", Value::map({{"c", 2}, {"d", 3}})}});
  const Value priors[] = {Value(), want, Value::map({{"z", 0}}),
                          Value::map({{"a", 9}, {"b", Value::map({{"e", 1}, {"f", 2}})}, {"c", 1}})};
  for (const Value& p : priors) {
    for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
      Value into = p;
      Cursor bad(std::string_view(bytes).substr(0, cut));
      REQUIRE_FALSE(bad.read_value(into));
      CHECK((into.is_nil() || into == p));  // p: the count did not fit, nothing read
      Cursor good(bytes);
      REQUIRE(good.read_value(into));
      CHECK(into == want);
    }
  }
}

TEST_CASE("events decoded one after another into one event, with spares, equal fresh decodes", "[unit][journal]") {
  std::mt19937_64 rng(9);
  Event reused, reused_plain;
  MarketStreams streams;
  BodySpares spares;
  const auto session = make_session({.bars = 300, .runners = 2});
  const auto each = one_of_each();
  Value ctx = random_value(rng, 0);
  for (int i = 0; i < 6000; ++i) {
    Event e;
    switch (rng() % 4) {
      case 0: e = session[rng() % session.size()]; break;
      case 1: e = each[rng() % each.size()]; break;
      default: {
        RunnerState s;
        s.phase = rng() % 2 == 0 ? StatePhase::Before : StatePhase::After;
        s.state = static_cast<std::uint8_t>(rng() % 5);
        ctx = mutate_value(rng, ctx);
        s.context = ctx;
        s.indicators = rng() % 3 == 0 ? Value() : random_value(rng, 1);
        e = make_event(static_cast<std::int64_t>(i), static_cast<model::RunnerId>(rng() % 2), s);
        e.sequence = static_cast<std::uint64_t>(i) + 1;
      }
    }
    const std::string bytes = encode_event(e);
    streams.clear();  // full market_data records only: no block context needed
    decode_event(bytes, reused, streams, spares);
    decode_event(bytes, reused_plain);
    const Event fresh = decode_event(bytes);
    INFO("event " << i << ", type " << fresh.type_code());
    REQUIRE(identical(reused, fresh));
    REQUIRE(identical(reused_plain, fresh));
  }
}
