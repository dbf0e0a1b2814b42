#pragma once
// A runner_state event in the parts a recorder captures (the runner's numbers,
// its strategy context and working orders), and its records written straight
// from them. runner_state.context has a fixed shape (docs/replay.md, "What is
// recorded"):
//   {account: {cash, commission_paid, equity, position_value, realized_pnl, trades},
//    bar_index, bars_in_state, ctx, orders,
//    position: {avg_price, bars_held, entry_ts_ns, qty, trade_pnl, unrealized_pnl}}
// state_parts_context() builds that tree; encode_state_parts() and
// encode_state_parts_delta_if_patch() write the same bytes as encode_event()
// and encode_state_delta_if_patch() of a RunnerState holding it, without
// building, copying or comparing the tree (the journal writer's state path:
// building the tree, encoding it and, in delta mode, comparing it with and
// copying it into the runner's base was most of the writer thread's work
// besides LZ4). The encoders live in event_codec.cpp with the packer.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/value.hpp"
#include "engine/journal/event.hpp"
#include "engine/model/order.hpp"

namespace te::journal {

// The value of a producer's working-order list, built once per list
// (StateParts::orders_memo; owned by the producer, used on the consumer's thread).
struct OrdersMemo {
  std::uint64_t serial = 0;
  std::shared_ptr<const Value> value;
};

struct StateParts {
  StatePhase phase = StatePhase::After;
  std::uint8_t state = 0;  // the runner's FSM state code
  // account
  double cash = 0, commission_paid = 0, equity = 0, position_value = 0, realized_pnl = 0;
  std::int64_t trades = 0;
  std::int64_t bar_index = 0, bars_in_state = 0;
  // position; bars_held, entry_ts_ns and trade_pnl are nil unless in_trade
  double avg_price = 0, qty = 0, unrealized_pnl = 0;
  bool in_trade = false;
  std::int64_t bars_held = 0, entry_ts_ns = 0;
  double trade_pnl = 0;
  // Shared and immutable: the same pointer means the same value (an encoder
  // keeps the encoded bytes of the last one it saw).
  std::shared_ptr<const Value> ctx;     // the strategy's ctx; null: nil
  std::shared_ptr<const Value> orders;  // working orders, an array; null: [] (unless raw_orders)
  // Or the working orders as the producer holds them (raw_orders): order_count
  // orders from order_list, the list numbered orders_serial by the producer.
  // The positional encoder writes their tuples straight from them; the map
  // form's value ({filled_qty, id, ...} per order: order_value()) is built
  // only where it is needed (orders_value()), once per list (orders_memo).
  // Only valid while the producer hands the parts over.
  bool raw_orders = false;
  const model::Order* order_list = nullptr;
  std::uint32_t order_count = 0;
  std::uint64_t orders_serial = 0;
  OrdersMemo* orders_memo = nullptr;  // required with raw_orders
};

// A working order as recorded in runner_state.context.orders.
Value order_value(const model::Order& o);

// The working orders of `p` as a value: `p.orders`, or with raw_orders the
// value of its list (built on first use, kept in p.orders_memo until the
// serial changes). Inline: a delta's writer asks for it twice per state.
const std::shared_ptr<const Value>& build_orders_value(const StateParts& p);
inline const std::shared_ptr<const Value>& orders_value(const StateParts& p) {
  if (!p.raw_orders) return p.orders;
  const OrdersMemo& memo = *p.orders_memo;
  if (memo.serial == p.orders_serial && memo.value) return memo.value;
  return build_orders_value(p);
}

// `p` with its orders as a value (raw_orders off): what may outlive the producer's hand-over.
void own_orders(StateParts& p);

// runner_state.context of `p`.
Value state_parts_context(const StateParts& p);

// A working order's nine recorded fields (order_value()'s), as the writer
// keeps a producer's raw orders for the next positional delta
// (keep_positional_base()): compared and diffed without building their value.
struct KeptOrder {
  double filled_qty = 0, limit_price = 0, qty = 0, stop_price = 0;
  std::int64_t id = 0;
  std::uint8_t purpose = 0, side = 0, status = 0, type = 0;
};

// What the writer keeps of a runner's last state (the base of the next
// delta) and the encoded bytes of the last ctx and orders it wrote in full
// (re-encoded only when the pointers change).
struct StatePartsBase {
  StateParts parts;
  // parts' working orders are kept_orders (parts.orders is then unused):
  // positional writers only (keep_positional_base()).
  bool orders_kept = false;
  std::vector<KeptOrder> kept_orders;
  Value indicators;
  bool valid = false;  // parts/indicators hold a state
  std::shared_ptr<const Value> ctx_of, orders_of;  // what ctx_bytes/orders_bytes encode
  std::string ctx_bytes, orders_bytes;
  bool ctx_valid = false, orders_valid = false;
  // The positional record's orders field (positional_state.hpp) of pos_orders_of.
  std::shared_ptr<const Value> pos_orders_of;
  std::string pos_orders_bytes;
  bool pos_orders_valid = false;
  bool pos_orders_as_value = false;  // the field holds the value, not order tuples
  // The positional delta's ctx leaf for the last two pairs of ctx values it
  // compared, by pointer (ctx values are shared and immutable, and kept alive
  // here, so a pointer cannot come back as another value): a strategy's ctx
  // mostly goes back and forth between a few values (sma_cross: `{}` and
  // `{setup = {...}}`), and each change was compared and diffed anew (≈ 360
  // instructions; 38,000 per 1M bars). Small pairs only (event_codec.cpp
  // kCtxMemoBytes): a recorded ctx may be up to max_ctx_bytes, and the memo
  // keeps its pairs alive. A cache, so mutable: the encoder takes the base
  // as const.
  struct CtxDiff {
    std::shared_ptr<const Value> from, to;
    bool same = false;   // *from == *to
    std::string bytes;   // the ctx leaf's diff, from -> to (when not same)
  };
  mutable CtxDiff ctx_diffs[2];
  mutable unsigned ctx_diff_next = 0;  // the entry a miss replaces
};

// The parts of a runner_state.context tree of the fixed shape above (what
// state_parts_context() builds, key for key and kind for kind, ctx and orders
// any value), into `out` (ctx and orders copied); false when it is not of
// that shape. The journal writer writes such a RunnerState event as it writes
// a recorder's parts, so equal states give equal records either way.
bool state_parts_from_context(const Value& context, StateParts& out);

// The full runner_state record (encoding 0) of `p` with `indicators` (nil or a
// map), appended to `out`. Uses and refreshes `cache`'s bytes only.
void encode_state_parts(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                        const StateParts& p, const Value& indicators, StatePartsBase& cache, std::string& out);

// The delta record of `p` against `base` (the runner's previous state, whose
// record has sequence base_sequence), as encode_state_delta_if_patch() writes
// it for the trees; false (nothing appended) when the context's delta would
// replace it whole. `base` is left as it was; its parts hold their orders as
// a value (own_orders()), `p`'s may be raw.
bool encode_state_parts_delta_if_patch(std::uint64_t sequence, std::int64_t ts_event_ns, model::RunnerId runner,
                                       const StateParts& p, const Value& indicators, const StatePartsBase& base,
                                       std::uint64_t base_sequence, std::uint64_t snapshot_sequence,
                                       std::string& out);

}  // namespace te::journal
