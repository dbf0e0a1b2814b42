#include <catch2/catch.hpp>

#include <set>

#include "engine/journal/event_codec.hpp"
#include "engine/journal/event_value.hpp"
#include "engine/core/value_json.hpp"
#include "journal_fixtures.hpp"

using namespace te;
using namespace te::journal;
using te::journal::testing::one_of_each;

namespace {

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (!out.empty()) out += ' ';
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string unhex(std::string_view text) {
  std::string out;
  int nibbles = 0, acc = 0;
  for (char c : text) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      continue;
    }
    acc = acc * 16 + v;
    if (++nibbles == 2) {
      out += static_cast<char>(acc);
      nibbles = acc = 0;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("every event type round-trips exactly through msgpack", "[unit][journal]") {
  const auto events = one_of_each();
  std::set<std::uint16_t> types;
  for (const Event& e : events) {
    REQUIRE_FALSE(e.is_unknown());
    types.insert(e.type_code());
    const std::string bytes = encode_event(e);
    Event back = decode_event(bytes);
    INFO(to_string(e.type()) << ": " << hex(bytes));
    REQUIRE_FALSE(back.is_unknown());
    CHECK(back.sequence == e.sequence);
    CHECK(back.ts_event_ns == e.ts_event_ns);
    CHECK(back.runner == e.runner);
    CHECK(identical(back, e));
    CHECK(encode_event(back) == bytes);  // canonical: same event, same bytes
  }
  CHECK(types.size() == kMaxKnownEventType);  // one of each

  // Spot checks that identical() compares what it should.
  const Event md_event = decode_event(encode_event(events[1]));
  const auto* md = md_event.get<MarketData>();
  REQUIRE(md != nullptr);
  CHECK(std::bit_cast<std::uint64_t>(md->bar.bid) == 0x7ff8000000000123ull);
  CHECK(std::signbit(md->bar.low));
  CHECK(std::isnan(md->bar.bid_size));
  CHECK(md->bar.ts_ns == -86'400'000'000'000);
  const Event ss_event = decode_event(encode_event(events[0]));
  const auto* ss = ss_event.get<SessionStart>();
  REQUIRE(ss != nullptr);
  CHECK(ss->seed == 0xfedcba9876543210ull);
}

TEST_CASE("decoding reuses the event it is given", "[unit][journal]") {
  const auto events = one_of_each();
  Event e;
  for (int pass = 0; pass < 2; ++pass) {
    for (const Event& want : events) {
      decode_event(encode_event(want), e);
      CHECK(identical(e, want));
    }
  }
  // A full state after a delta state must not keep the delta's base fields.
  RunnerState delta;
  delta.encoding = StateEncoding::Delta;
  delta.base_sequence = 5;
  delta.snapshot_sequence = 3;
  decode_event(encode_event(make_event(1, 0, delta)), e);
  decode_event(encode_event(make_event(1, 0, RunnerState{})), e);
  CHECK(std::get<RunnerState>(e.body).base_sequence == 0);
}

TEST_CASE("unknown types and undecodable records are surfaced, not fatal", "[unit][journal]") {
  // A type from a newer minor version: [99, seq 5, ts 6, runner 0, "x"].
  const std::string future = unhex("95 63 05 06 00 a1 78");
  Event e = decode_event(future);
  REQUIRE(e.is_unknown());
  CHECK(e.type_code() == 99);
  CHECK(e.sequence == 5);
  CHECK(e.ts_event_ns == 6);
  CHECK(std::get<UnknownEvent>(e.body).record == future);
  CHECK(std::get<UnknownEvent>(e.body).error.empty());
  CHECK(encode_event(e) == future);  // passed on unchanged
  e.sequence = 300;                  // ... except for a new envelope
  CHECK(hex(encode_event(e)) == "95 63 cd 01 2c 06 00 a1 78");

  // A known type with an extra trailing field (newer minor): the field is skipped.
  Event note = make_event(9, 1, Note{"c", "t", Value()});
  note.sequence = 3;
  std::string bytes = encode_event(note);
  bytes[0] = static_cast<char>(bytes[0] + 1);  // fixarray count + 1
  bytes += unhex("92 01 a1 7a");               // [1, "z"]
  Event with_extra = decode_event(bytes);
  REQUIRE_FALSE(with_extra.is_unknown());
  CHECK(identical(with_extra, note));

  // Too few fields, a bad enum value, garbage: UnknownEvent with a reason.
  std::string short_note = encode_event(note);
  short_note[0] = static_cast<char>(short_note[0] - 1);
  Event bad = decode_event(short_note.substr(0, short_note.size() - 1));
  REQUIRE(bad.is_unknown());
  CHECK(bad.type_code() == 14);
  CHECK_FALSE(std::get<UnknownEvent>(bad.body).error.empty());
  // Readers name a known type that failed to decode as damage, a newer type as such.
  CHECK(describe_event(bad).rfind("damaged note record (", 0) == 0);
  CHECK(describe_event(e).rfind("event type 99 this build does not know (7 bytes)", 0) == 0);

  Event garbage = decode_event("\xc1\x00");
  REQUIRE(garbage.is_unknown());
  CHECK_FALSE(std::get<UnknownEvent>(garbage.body).error.empty());

  te::model::Fill f;
  std::string fill = encode_event(make_event(1, 0, FillEvent{f}));
  // Fields: dc 00 11 (array of 17) 08 00 01 00 | order 00 instrument 00 runner 00 strategy 00 side 00
  REQUIRE(static_cast<unsigned char>(fill[0]) == 0xdc);
  REQUIRE(static_cast<unsigned char>(fill[11]) == 0x00);
  fill[11] = 0x07;  // side 7 does not exist
  Event bad_side = decode_event(fill);
  REQUIRE(bad_side.is_unknown());
  CHECK(std::get<UnknownEvent>(bad_side.body).error.find("enum") != std::string::npos);
}

TEST_CASE("event type names are stable and parse back", "[unit][journal]") {
  for (std::uint16_t t = 1; t <= kMaxKnownEventType; ++t) {
    EventType parsed{};
    REQUIRE(parse_event_type(to_string(static_cast<EventType>(t)), parsed));
    CHECK(static_cast<std::uint16_t>(parsed) == t);
  }
  CHECK(to_string(EventType::RunnerState) == "runner_state");
  CHECK(to_string(EventType::StormGuardChange) == "storm_guard_change");
  EventType x{};
  CHECK_FALSE(parse_event_type("nope", x));
}

TEST_CASE("the worked example in docs/journal-format.md is what the codec writes", "[unit][journal]") {
  // Keep in sync with the "Worked example" section of the format document.
  Event e = make_event(1'700'000'000'000'000'000, 0,
                       Transition{0, 1, "setup_detected", "close > sma(20)", 1'700'000'000'000'000'000});
  e.sequence = 7;
  CHECK(hex(encode_event(e)) ==
        "99 05 07 cf 17 97 9c fe 36 2a 00 00 00 00 01 ae 73 65 74 75 70 5f 64 65 74 65 63 74 65 64 af 63 6c 6f 73 65 "
        "20 3e 20 73 6d 61 28 32 30 29 cf 17 97 9c fe 36 2a 00 00");
}

namespace {
[[gnu::noinline]] Event market_event(std::int64_t ts, model::RunnerId runner, model::InstrumentId instrument,
                                     const model::Bar& bar) {
  MarketData md;
  md.instrument = instrument;
  md.symbol = std::string("SIM");
  md.timeframe = std::string("1m");
  md.bar = bar;
  return make_event(ts, runner, std::move(md));
}
}  // namespace

// decode_event reads market_data's canonical layout on a fast path and every
// other valid encoding through the general decoder: both must give the same
// event (bar times of every integer width and sign, absent and present quotes,
// non-canonical integer, string and float forms).
TEST_CASE("market_data decodes the same on its fast path and the general one", "[unit][journal]") {
  Event e;
  for (std::int64_t ts : {std::int64_t{0}, std::int64_t{5}, std::int64_t{-5}, std::int64_t{-200},
                          std::int64_t{-1'000'000'000'000'000}, std::int64_t{1'700'000'000'000'000'000},
                          INT64_MAX, INT64_MIN}) {
    for (bool quotes : {false, true}) {
      model::Bar bar;
      bar.ts_ns = ts;
      bar.open = 1.5, bar.high = 2.25, bar.low = -0.0, bar.close = 1e300, bar.volume = 0;
      if (quotes) bar.bid = 1.25, bar.ask = 1.75, bar.bid_size = 3, bar.ask_size = 4;
      Event want = market_event(ts, 2, ts < 0 ? 300u : 7u, bar);
      want.sequence = 70000;
      decode_event(encode_event(want), e);
      INFO("ts " << ts << " quotes " << quotes);
      CHECK(identical(e, want));
    }
  }
  // Valid but not what the writer produces: uint16 instrument, str8 symbol,
  // float32 open, a positive bar time as int64. Same values.
  const std::string odd = unhex(
      "dc 00 11 03 01 00 00"           // array of 17: type 3, sequence 1, ts 0, runner 0
      "cd 00 07 d9 03 53 49 4d a2 31 6d"  // instrument 7, "SIM", "1m"
      "d3 00 00 00 00 00 00 00 2a"     // bar time 42
      "ca 3f c0 00 00"                 // open 1.5 (float32)
      "cb 40 02 00 00 00 00 00 00 cb 3f f0 00 00 00 00 00 00 cb 3f f8 00 00 00 00 00 00"
      "cb 00 00 00 00 00 00 00 00 c0 c0 c0 c0");
  model::Bar bar;
  bar.ts_ns = 42;
  bar.open = 1.5, bar.high = 2.25, bar.low = 1.0, bar.close = 1.5, bar.volume = 0;
  Event want = market_event(0, 0, 7, bar);
  want.sequence = 1;
  decode_event(odd, e);
  CHECK(identical(e, want));
  // Cut short: an unknown event with the reason, on either path.
  decode_event(odd.substr(0, odd.size() - 1), e);
  CHECK(e.get<UnknownEvent>() != nullptr);
  decode_event(encode_event(want).substr(0, 30), e);
  CHECK(e.get<UnknownEvent>() != nullptr);
}

TEST_CASE("the compact market_data example in docs/journal-format.md is what the codec writes", "[unit][journal]") {
  model::Bar bar;
  bar.ts_ns = 1'700'000'000'000'000'000;
  bar.open = 100.5;
  bar.high = 101.25;
  bar.low = 99.75;
  bar.close = 100.0;
  bar.volume = 1234.0;
  std::string compact;
  encode_market_data_compact(300, bar.ts_ns, 0, bar, compact);
  REQUIRE(compact.size() == 60);
  CHECK(compact.substr(0, 15) == std::string("\x99\x03\xcd\x01\x2c\xcf\x17\x97\x9c\xfe\x36\x2a\x00\x00\x00", 15));
  CHECK(is_compact_market_data(compact));

  std::string full;
  encode_market_data(300, bar.ts_ns, 0, 7, "SIM", "1m", bar, full);
  CHECK(full.size() == 83);
  CHECK_FALSE(is_compact_market_data(full));

  // With the stream the full record names, the compact one decodes to the same event.
  MarketStreams streams;
  Event from_full, from_compact;
  decode_event(full, from_full, streams);
  REQUIRE(streams.find(0) != nullptr);
  decode_event(compact, from_compact, streams);
  CHECK(encode_event(from_compact) == full);
  CHECK(can_be_compact(streams, bar.ts_ns, 0, 7, "SIM", "1m", bar));
  CHECK_FALSE(can_be_compact(streams, bar.ts_ns, 0, 7, "SIM", "5m", bar));
  CHECK_FALSE(can_be_compact(streams, bar.ts_ns + 1, 0, 7, "SIM", "1m", bar));
  CHECK_FALSE(can_be_compact(streams, bar.ts_ns, 1, 7, "SIM", "1m", bar));
  model::Bar quoted = bar;
  quoted.bid = 100.0;
  CHECK_FALSE(can_be_compact(streams, bar.ts_ns, 0, 7, "SIM", "1m", quoted));
}

TEST_CASE("event descriptions quote strategy text without terminal control bytes", "[unit][journal]") {
  // Reasons and ctx strings come from strategies; replay, inspect-event and
  // compare print these descriptions to terminals.
  Event e;
  e.body = StrategyAction{0, "enter_long", Value(), "go\x1b]0;title\x07 \xc2\x9b" "2J"};
  const std::string d = describe_event(e);
  CHECK(d.find('\x1b') == std::string::npos);
  CHECK(d.find('\x07') == std::string::npos);
  CHECK_THAT(d, Catch::EndsWith("go\\x1b]0;title\\x07 \\xc2\\x9b2J"));
  const ValueDifference diff = first_difference(Value(Value::Map{{"k\x1b[2J", Value(1.0)}}), Value(Value::Map{}));
  CHECK(diff.path.find('\x1b') == std::string::npos);
}
