#pragma once
// msgpack encoding of one event (a "record" in docs/journal-format.md):
//   [type, sequence, ts_event_ns, runner, field1, field2, ...]
// The field lists per type are in the format document. Encoding is canonical:
// equal events give equal bytes (maps sorted, doubles always float64, integers
// in their shortest form), which is what the determinism proof compares.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

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
// Where the direct encoders below write a record: room(most) gives memory
// for at most `most` bytes, written(n) says how many were used. The
// std::string overloads append to the string through one; the journal writer
// hands out room in its block, so a record is not encoded into a scratch
// string (grown, zero-filled, cut back) and then copied.
class RecordOut {
 public:
  virtual char* room(std::size_t most) = 0;
  // More room for a record whose first `used` bytes are written (they are
  // kept): `most` bytes in all, from the pointer returned.
  virtual char* grow(std::size_t used, std::size_t most) = 0;
  virtual void written(std::size_t n) = 0;

 protected:
  ~RecordOut() = default;
};

// The same for an order_update, fill and risk_decision event (a recorder's
// orders and fills, written by the journal writer without building events).
void encode_order_update(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                         const model::Order& order, std::string_view reason_code, std::string_view message,
                         std::string& out);
void encode_fill(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner, const model::Fill& fill,
                 std::string& out);
void encode_risk_decision(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                          std::uint64_t order, model::StrategyId strategy, bool approved,
                          std::string_view reason_code, std::string_view message, std::string& out);
void encode_transition(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner, std::uint8_t from,
                       std::uint8_t to, std::string_view trigger, std::string_view reason, std::int64_t bar_ts_ns,
                       std::string& out);
// One entry of a strategy_action's params map: a number, or a string when
// `text` is set. A list of them is the map in key order (none: nil).
struct ActionParam {
  std::string_view key;
  double number = 0;
  const char* text = nullptr;
};
void encode_strategy_action(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                            model::StrategyId strategy, std::string_view kind, const ActionParam* params,
                            std::size_t n_params, std::string_view reason, std::string& out);
// The same records into a RecordOut.
void encode_order_update(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                         const model::Order& order, std::string_view reason_code, std::string_view message,
                         RecordOut& out);
void encode_fill(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner, const model::Fill& fill,
                 RecordOut& out);
void encode_risk_decision(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                          std::uint64_t order, model::StrategyId strategy, bool approved,
                          std::string_view reason_code, std::string_view message, RecordOut& out);
void encode_transition(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner, std::uint8_t from,
                       std::uint8_t to, std::string_view trigger, std::string_view reason, std::int64_t bar_ts_ns,
                       RecordOut& out);
void encode_strategy_action(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                            model::StrategyId strategy, std::string_view kind, const ActionParam* params,
                            std::size_t n_params, std::string_view reason, RecordOut& out);

// Format 2's compact market_data record ([3, sequence, ts, runner, open, high,
// low, close, volume]; docs/journal-format.md, section 5) names no instrument,
// symbol or timeframe: they are those of the last full market_data record of
// the same runner earlier in the same block. The writer and the reader keep
// them here, per runner, for the block being written or read.
class MarketStreams {
 public:
  struct Stream {
    model::RunnerId runner = kNoRunner;
    model::InstrumentId instrument = model::kNoInstrument;
    std::string symbol;
    std::string timeframe;
  };
  void clear() noexcept {
    live_ = 0;
    ++version_;
  }
  // Changes whenever the streams do (a writer caches a check against it).
  std::uint64_t version() const noexcept { return version_; }
  const Stream* find(model::RunnerId runner) const noexcept {
    for (std::size_t i = 0; i < live_; ++i)
      if (streams_[i].runner == runner) return &streams_[i];
    return nullptr;
  }
  void set(model::RunnerId runner, model::InstrumentId instrument, std::string_view symbol,
           std::string_view timeframe);

 private:
  std::vector<Stream> streams_;  // the first live_ are this block's (strings kept for reuse)
  std::size_t live_ = 0;
  std::uint64_t version_ = 0;
};

// True when `record` is a compact market_data record (its first two bytes).
inline bool is_compact_market_data(std::string_view record) noexcept {
  return record.size() >= 2 && static_cast<unsigned char>(record[0]) == 0x99 && record[1] == 0x03;
}

// Appends the compact market_data record (no instrument, symbol, timeframe or
// quote fields; the bar's time is ts_event_ns). The writer uses it only when
// `streams` of the block give this runner's instrument, symbol and timeframe,
// the bar's time is the event's and the bar has no quotes (can_be_compact).
void encode_market_data_compact(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                                const model::Bar& bar, std::string& out);
// The same bytes written to `out` (room for kMaxCompactMarketData); returns their count.
inline constexpr std::size_t kMaxCompactMarketData = 70;
std::size_t encode_market_data_compact(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                                       const model::Bar& bar, char* out) noexcept;
// Compact apart from the stream: the bar's time is the event's and it has no quotes.
bool bar_can_be_compact(std::int64_t ts_event_ns, const model::Bar& bar) noexcept;
bool can_be_compact(const MarketStreams& streams, std::int64_t ts_event_ns, model::RunnerId runner,
                    model::InstrumentId instrument, std::string_view symbol, std::string_view timeframe,
                    const model::Bar& bar) noexcept;

// Decodes one record into `out` with the market streams of its block: a full
// market_data record is noted in `streams`, a compact one is completed from
// them (without its runner's stream it becomes an UnknownEvent saying so).
void decode_event(std::string_view record, Event& out, MarketStreams& streams);

// The bodies of the event types a reader decoded before, kept while events of
// other types pass through its reused Event: a runner state decoded after a
// few bars then reuses the vectors and strings of the runner state before it
// (MsgpackCursor::read_value decodes in place) instead of allocating a new
// tree. One per reader; what it holds never changes what is decoded.
class BodySpares {
 public:
  // Makes `body` hold a T, the spare one if there is one, and keeps what
  // `body` held as the spare of its type.
  template <class T>
  T& hold(EventBody& body);
  // The spare T, if one is kept.
  template <class T>
  T* spare() noexcept {
    return std::get_if<T>(&slots_[index_of<T>()]);
  }

 private:
  template <class T>
  static constexpr std::size_t index_of() noexcept {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      std::size_t i = 0;
      (void)((std::is_same_v<T, std::variant_alternative_t<I, EventBody>> ? true : (++i, false)) || ...);
      return i;
    }(std::make_index_sequence<std::variant_size_v<EventBody>>());
  }
  std::array<EventBody, std::variant_size_v<EventBody>> slots_;
};
void decode_event(std::string_view record, Event& out, MarketStreams& streams, BodySpares& spares);

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
