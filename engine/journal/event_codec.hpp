#pragma once
// msgpack encoding of one event (a "record" in docs/journal-format.md):
//   [type, sequence, ts_event_ns, runner, field1, field2, ...]
// The field lists per type are in the format document. Encoding is canonical:
// equal events give equal bytes (maps sorted, doubles always float64, integers
// in their shortest form), which is what the determinism proof compares.
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/journal/event.hpp"

namespace te::journal {

// Appends the record for `e` to `out`.
void encode_event(const Event& e, std::string& out);
std::string encode_event(const Event& e);
// Appends the record of a market_data event from its parts: the same bytes as
// encode_event() of that event, without building it (the writer's bulk path).
void encode_market_data(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                        model::InstrumentId instrument, std::string_view symbol, std::string_view timeframe,
                        const model::Bar& bar, std::string& out);

// Decodes one record into `out`. Never fails: a type this build does not know,
// or a record that does not decode, becomes an UnknownEvent holding the raw
// record (and, for a decoding failure, the reason), so a reader loses nothing.
void decode_event(std::string_view record, Event& out);
Event decode_event(std::string_view record);

struct EventEnvelope {
  std::uint16_t type = 0;
  std::uint64_t sequence = 0;
  std::int64_t ts_event_ns = 0;
  model::RunnerId runner = kNoRunner;
};
// Reads only the first four fields (cheap: index building, filters).
bool decode_envelope(std::string_view record, EventEnvelope& out) noexcept;

// Appends the msgpack of diff(from, to) (value_diff.hpp) without building the
// delta tree: the same bytes as encode_value(diff(from, to)), much cheaper.
void encode_diff(const Value& from, const Value& to, std::string& out);

// Appends the delta-mode record of `e` (a full RunnerState): the same bytes as
// encoding the event after replacing its context and indicators by their diffs
// against the bases and setting encoding, base_sequence and snapshot_sequence.
// Unless the context's delta would replace it whole (diff(base_context, context)
// is not a patch): then nothing is appended and the result is false (the caller
// writes a snapshot instead). One comparison of the contexts instead of two.
bool encode_state_delta_if_patch(const Event& e, const Value& base_context, const Value& base_indicators,
                                 std::uint64_t base_sequence, std::uint64_t snapshot_sequence, std::string& out);

// Encodes a Value alone as msgpack (delta documents, tests, exports).
void encode_value(const Value& v, std::string& out);
// Errors: Errc::parse when `data` is not exactly one msgpack value.
Result<Value> decode_value(std::string_view data);

}  // namespace te::journal
