#pragma once
// The positional runner_state record (journal format 4, docs/journal-format.md
// section 5, "Positional runner_state"): the fields of runner_state.context's
// fixed shape (state_parts.hpp) by position instead of as a map with string
// keys. The map form spent about half a state record's bytes on its eighteen
// keys, and state records were most of a recorded backtest's raw journal
// (29 of 50 bytes per event, sma_cross full), all of it encoded by the writer
// thread and fed to LZ4.
//
// A reader turns a positional record into the RunnerState the map form of the
// same state decodes to: the context tree in full (encoding 2), the context's
// delta document in delta (encoding 3), so everything above the decoder
// (state tracking, compare, inspect-event, export) is the same for both.
#include <cstdint>
#include <string>

#include "engine/core/value.hpp"
#include "engine/journal/event.hpp"
#include "engine/journal/msgpack_cursor.hpp"
#include "engine/journal/state_parts.hpp"

namespace te::journal {

class RecordOut;  // event_codec.hpp

// runner_state's encoding field (the decoded event says Full or Delta).
inline constexpr std::uint8_t kPositionalFull = 2;
inline constexpr std::uint8_t kPositionalDelta = 3;

// Fields after the envelope: phase, state, encoding, flags/changed, then the
// leaves; a full record has all 16 and indicators (21 fields).
inline constexpr std::uint32_t kPositionalFullFields = 21;

// Leaves of the context in key order, which is also the order of the bits of
// a delta record's `changed` field and of a full record's fields.
enum PositionalLeaf : unsigned {
  kLeafCash,
  kLeafCommissionPaid,
  kLeafEquity,
  kLeafPositionValue,
  kLeafRealizedPnl,
  kLeafTrades,
  kLeafBarIndex,
  kLeafBarsInState,
  kLeafCtx,
  kLeafOrders,
  kLeafAvgPrice,
  kLeafBarsHeld,
  kLeafEntryTsNs,
  kLeafQty,
  kLeafTradePnl,
  kLeafUnrealizedPnl,
  kLeafCount
};
inline constexpr unsigned kAccountLeaves = 0x3f;            // cash .. trades
inline constexpr unsigned kPositionLeaves = 0x3fu << 10;    // avg_price .. unrealized_pnl

// Full record flags.
inline constexpr std::uint8_t kOrdersAsValue = 1;  // orders stored as its value, not as order tuples

// Format 6: in a delta record's orders document (leaf 9), an element of an
// array patch replaced by an order of the tuple's shape is [3, tuple]
// instead of [0, {nine keys}] (the delta document it stands for): the keys
// and enum names were three quarters of a delta state whose list gained an
// order (≈ 150 of ≈ 200 bytes), and the LZ4 pass over them.
inline constexpr std::uint8_t kOrderTupleReplace = 3;
// Format 6: the orders document that replaces the whole list, [0, [order,
// ...]], is [4, [tuple, ...]] when every order is of the tuple's shape (old
// and new value both lists).
inline constexpr std::uint8_t kOrderListTupleReplace = 4;

// A working order of runner_state.context.orders ({filled_qty, id,
// limit_price, purpose, qty, side, status, stop_price, type}, as the recorder
// writes it) as a 9-element tuple appended to `out`; false (nothing
// appended) when `order` is not of that shape.
bool encode_order_tuple(const Value& order, std::string& out);

// The orders field of a full positional record for `orders`: order tuples
// when every element is a standard order (true), else the value itself
// (false: the record's kOrdersAsValue flag).
bool encode_orders_field(const Value& orders, std::string& out);

// The full positional record (encoding 2) of `p` with `indicators`, appended
// to `out`; `cache` keeps the encoded ctx and orders fields of the last
// pointers it saw.
void encode_state_positional(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                             const StateParts& p, const Value& indicators, StatePartsBase& cache, std::string& out);

// The delta positional record (encoding 3) of `p` against `base`, under the
// same rules as encode_state_parts_delta_if_patch (false, nothing appended,
// when the context's delta would replace it whole: a snapshot is due).
// `order_tuples`: format 6's [3, tuple] for an order its orders patch
// replaces whole and [4, [tuple, ...]] for a whole list (kOrderTupleReplace,
// kOrderListTupleReplace); false: format 5's [0, {nine keys}] and [0, [...]].
bool encode_state_positional_delta_if_patch(std::uint64_t sequence, std::int64_t ts_event_ns,
                                            model::RunnerId runner, const StateParts& p, const Value& indicators,
                                            const StatePartsBase& base, std::uint64_t base_sequence,
                                            std::uint64_t snapshot_sequence, std::string& out,
                                            bool order_tuples = true);
// The same two records into a RecordOut (event_codec.hpp; the journal
// writer's block: written in place, not into a string then copied).
void encode_state_positional(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                             const StateParts& p, const Value& indicators, StatePartsBase& cache, RecordOut& out);
bool encode_state_positional_delta_if_patch(std::uint64_t sequence, std::int64_t ts_event_ns,
                                            model::RunnerId runner, const StateParts& p, const Value& indicators,
                                            const StatePartsBase& base, std::uint64_t base_sequence,
                                            std::uint64_t snapshot_sequence, RecordOut& out,
                                            bool order_tuples = true);

// `base.parts` = `p` for the next positional delta (the writer's base after
// a state): a producer's raw orders that fit tuples are kept as their fields
// (`base.orders_kept`), so the next delta compares and diffs them without
// their value; other orders as their value (own_orders()). The map form's
// writers keep the value (own_orders()) instead.
void keep_positional_base(StatePartsBase& base, const StateParts& p);

namespace detail {
// The fields after runner_state's encoding field (`encoding` 2 or 3), into
// `out` (phase and state already read). `used` is set to the number of fields
// after the envelope the record's layout has. False: the cursor's error.
bool decode_positional_state(MsgpackCursor& c, std::uint8_t encoding, RunnerState& out, std::uint32_t& used);
}  // namespace detail

}  // namespace te::journal
