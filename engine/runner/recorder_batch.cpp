#include "engine/runner/recorder_batch.hpp"

#include <bit>
#include <cmath>
#include <utility>

#include "engine/core/assert.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::runner {
namespace {

Value number_or_nil(double v) { return std::isnan(v) ? Value() : Value(v); }

}  // namespace

std::string_view action_name(int kind) noexcept {
  switch (kind) {
    case script::kActSetup: return "setup";
    case script::kActAbandon: return "abandon";
    case script::kActEnterLong: return "enter_long";
    case script::kActEnterShort: return "enter_short";
    case script::kActExit: return "exit";
    case script::kActAdjust: return "adjust";
    default: return "unknown";
  }
}

// The fields the strategy gave (NaN = not given), in key order.
std::size_t action_param_list(int kind, const te_action& a, journal::ActionParam (&out)[kMaxActionParams]) {
  std::size_t n = 0;
  // (An entry fills all kMaxActionParams: a new field needs a larger array.)
  // A field is stored whether given or not, and counted only when given: no
  // branch on the strategy's values (which fields an action gives follows
  // the strategy's logic, and those tests were where the writer's samples in
  // this function fell; perf, session 21). Each put can store at out[n]: n
  // is at most the number of puts before it.
  auto put = [&out, &n](const char* key, double v) {
    TE_ASSERT(n < kMaxActionParams, "action_param_list: more than %zu fields", kMaxActionParams);
    out[n] = journal::ActionParam{key, v, nullptr};
    // Not a NaN, as an integer compare of the bits (std::isnan's parity
    // flag test GCC turned back into a branch).
    n += (std::bit_cast<std::uint64_t>(v) & ~(std::uint64_t{1} << 63)) <= 0x7ff0000000000000ull;
  };
  auto put_text = [&out, &n](const char* key, const char* text) {
    TE_ASSERT(n < kMaxActionParams, "action_param_list: more than %zu fields", kMaxActionParams);
    out[n++] = journal::ActionParam{key, 0, text};
  };
  if (kind == script::kActEnterLong || kind == script::kActEnterShort) {
    static constexpr const char* kOrderTypes[] = {"market", "limit", "stop", "stop_limit"};
    static constexpr const char* kTifs[] = {"gtc", "ioc", "fok", "day", "bars"};
    put("fraction", a.fraction);
    put("limit", a.limit);
    if (a.order_type >= 0 && a.order_type < 4) put_text("order_type", kOrderTypes[a.order_type]);
    put("qty", a.qty);
    put("risk", a.risk);
    put("stop", a.stop);
    put("stop_entry", a.stop_trigger);
    put("target", a.target);
    if (a.tif > 0 && a.tif < 5) put_text("tif", kTifs[a.tif]);
    put("tif_bars", a.tif_bars);
    put("trail", a.trail);
    put("trail_pct", a.trail_pct);
  } else if (kind == script::kActAdjust) {
    put("stop", a.stop);
    put("target", a.target);
    put("trail", a.trail);
    put("trail_pct", a.trail_pct);
  }
  return n;
}

Value action_params(int kind, const te_action& a) {
  journal::ActionParam list[kMaxActionParams];
  const std::size_t n = action_param_list(kind, a, list);
  if (n == 0) return Value();
  Value::Map m;
  m.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    m.emplace_back(std::string(list[i].key), list[i].text != nullptr ? Value(list[i].text) : Value(list[i].number));
  }
  return Value(std::move(m));
}

RecorderBatch::RecorderBatch(std::shared_ptr<const RecorderIdentity> identity, std::size_t reserve_items)
    : identity_(std::move(identity)), reserve_items_(reserve_items) {
  // Reserved once: the batch is reused, so its vectors never grow (and
  // page-fault) on the trading thread after the first few batches. Room for
  // copied bars only when the batch gets one (add_bar): a backtest's bars are
  // referred to in their series (add_series_bar).
  grow_items(reserve_items);
  states_.reserve(64);
  events_.reserve(64);
  // The activity records too: a batch grown a record at a time moved its
  // records (and their orders' tags) on each growth.
  actions_.reserve(64);
  transitions_.reserve(64);
  orders_.reserve(64);
  fills_.reserve(64);
  facts_.reserve(16);
  order_store_.reserve(64);
  held_exports_.reserve(8);
  grow_text(4096);
}

void RecorderBatch::grow_text(std::size_t more) {
  const std::size_t cap = std::max(text_cap_ * 2, text_used_ + more);
  std::unique_ptr<char[]> bigger(new char[cap]);  // (not zero-filled)
  if (text_used_ != 0) std::memcpy(bigger.get(), text_.get(), text_used_);
  text_ = std::move(bigger);
  text_cap_ = cap;
}

std::string_view RecorderBatch::refusal_text(std::uint32_t k) {
  if (refusal_built_ != k) {
    refusal_text_.clear();
    model::append_refusal_text(refusal_text_, facts_[k - 1]);
    refusal_built_ = k;
  }
  return refusal_text_;
}

// One runner_state event: state record `r` (its ctx, orders, indicators and
// numbers), its bar counters `ahead` bars on (a derived Before state's; 0:
// the record's own). Always inline: a call per state on the writer's thread
// otherwise, and the record's numbers are read in place, not copied.
[[gnu::always_inline]] inline void RecorderBatch::emit_state(journal::DeferredConsumer& out, const StateRecord& r,
                                                            journal::StatePhase phase, std::int64_t ahead,
                                                            std::int64_t ts_ns) {
  const RunnerSnapshot& sn = r.snap;
  const std::int64_t bar_index = sn.bar_index + ahead;
  journal::StateParts& p = parts_;
  p.phase = phase;
  p.state = sn.state;
  p.cash = sn.cash;
  p.commission_paid = sn.commission;
  p.equity = sn.equity;
  p.position_value = sn.position_value;
  p.realized_pnl = sn.realized;
  p.trades = sn.trades;
  p.bar_index = bar_index;
  p.bars_in_state = sn.bars_in_state + ahead;
  p.avg_price = sn.avg_price;
  p.qty = sn.qty;
  p.unrealized_pnl = sn.unrealized;
  p.in_trade = sn.in_trade;
  p.bars_held = sn.in_trade ? bar_index - sn.entry_bar : 0;
  p.entry_ts_ns = sn.in_trade ? sn.entry_ts_ns : 0;
  p.trade_pnl = sn.in_trade ? sn.trade_pnl : 0;
  if (r.ctx_bytes) {
    if (held_ctx_[0] != r.ctx_serial) {
      std::swap(held_ctx_[0], held_ctx_[1]);
      std::swap(held_ctx_value_[0], held_ctx_value_[1]);
      std::swap(held_ctx_size_[0], held_ctx_size_[1]);
    }
    if (held_ctx_[0] != r.ctx_serial) {
      // Decoded here, off the trading thread, once per export (per batch).
      auto v = script::decode_loop_export(r.ctx_bytes->bytes.data(), r.ctx_bytes->bytes.size());
      held_ctx_value_[0] = v ? std::make_shared<const Value>(std::move(*v)) : nullptr;  // (checked when exported)
      held_ctx_[0] = r.ctx_serial;
      held_ctx_size_[0] = r.ctx_bytes->bytes.size();
    }
    if (p.ctx != held_ctx_value_[0]) p.ctx = held_ctx_value_[0];  // (the same ctx: no count moved)
  } else if (p.ctx != r.ctx) {
    p.ctx = r.ctx;
  }
  // The orders as the batch holds them: the consumer writes their
  // tuples from them, or builds their value once per list (held_orders_:
  // the recorder makes a new list only when an order moved).
  p.raw_orders = true;
  if (r.orders_offset == kReplayedOrders) {
    p.order_list = replayed_.data();
    p.order_count = static_cast<std::uint32_t>(replayed_count_);
  } else {
    p.order_list = order_store_.data() + r.orders_offset;
    p.order_count = r.orders_count;
  }
  p.orders_serial = r.orders_serial;
  p.orders_memo = &held_orders_;
  if (!indicators_.is_nil()) indicators_ = Value();  // (a variant's visit otherwise, per state)
  if (r.indicator_names) {
    Value::Map m;
    m.reserve(r.indicator_names->size());
    for (std::size_t i = 0; i < r.indicator_names->size(); ++i)
      m.emplace_back((*r.indicator_names)[i], number_or_nil(indicator_values_[r.indicator_offset + i]));
    indicators_ = Value(std::move(m));  // sorts
  }
  out.runner_state(ts_ns, identity_->runner, p, indicators_);
}

void RecorderBatch::emit(journal::DeferredConsumer& out) {
  refusal_built_ = 0;  // (numbers restart with each use of the batch)
  // The working orders as the batch began (set_initial_orders), replayed
  // through its order records (kReplayedOrders).
  if (replayed_.size() < initial_orders_count_) replayed_.resize(initial_orders_count_);
  for (std::size_t i = 0; i < initial_orders_count_; ++i)
    copy_untagged(replayed_[i], order_store_[initial_orders_offset_ + i]);
  replayed_count_ = initial_orders_count_;
  const RecorderIdentity& id = *identity_;
  // An action's fields (action_param_list), here and not in the loop: its
  // ActionParams' initialisers zeroed all twelve for each action (a `rep
  // stos` of 288 bytes, 7 % of emit()'s samples; perf, session 21).
  journal::ActionParam params[kMaxActionParams];
  for (const Item& item : std::span<const Item>(items_.get(), items_used_)) {
    switch (item.kind) {
      case Kind::Bar: {
        const model::Bar& bar = bars_[item.index];
        out.market_data(bar.ts_ns, id.runner, id.instrument, id.symbol, id.timeframe, bar);
        break;
      }
      case Kind::SeriesBars: {
        out.market_data_columns(id.runner, id.instrument, id.symbol, id.timeframe, series_->columns(), item.index,
                                item.run);
        break;
      }
      case Kind::State: {
        const StateRecord& r = states_[item.index];
        emit_state(out, r, r.phase, 0, r.ts_ns);
        break;
      }
      case Kind::Before: {
        // The base record's state `item.run` bars on, at the time of the
        // bar whose run of series bars is the item before (add_before_from_last).
        const StateRecord& r = states_[item.index];
        const Item& bars = (&item)[-1];
        emit_state(out, r, journal::StatePhase::Before, item.run, series_->columns().ts_ns[bars.index + bars.run - 1]);
        break;
      }
      case Kind::Built:
        out.event(events_[item.index]);
        break;
      case Kind::Action: {
        // Written by the consumer from the record (no params map built).
        const ActionRecord& a = actions_[item.index];
        const std::size_t n = action_param_list(a.kind, a.action, params);
        out.strategy_action(a.ts_ns, id.runner, a.strategy, action_name(a.kind), params, n, text(a.reason));
        break;
      }
      case Kind::Order: {
        // Written by the consumer from the record (no event built, no order copied).
        const OrderRecord& o = orders_[item.index];
        apply_working_order(replayed_, replayed_count_, o.order);
        out.order_update(o.ts_ns, id.runner, o.order, text(o.reason_code),
                         o.refusal != 0 ? refusal_text(o.refusal) : text(o.message));
        break;
      }
      case Kind::Fill: {
        const model::Fill& f = fills_[item.index];
        out.fill(f.ts_ns, id.runner, f);
        break;
      }
      case Kind::Refusal: {
        const RefusalRecord& f = refusals_[item.index];
        // The text built here, off the trading thread.
        out.risk_decision(f.ts_ns, id.runner, 0, f.rejection.strategy, false, f.rejection.code, f.rejection.text());
        break;
      }
      case Kind::Skip:  // a place reserve_slot() kept that no state took
        break;
      case Kind::Transition: {
        const TransitionRecord& t = transitions_[item.index];
        std::string_view reason = text(t.reason);
        if (t.refusal != 0) {
          reason_text_.assign(reason);
          reason_text_.append(refusal_text(t.refusal));
          reason = reason_text_;
        }
        out.transition(t.ts_ns, id.runner, t.from, t.to, to_string(t.trigger), reason, t.bar_ts_ns);
        break;
      }
    }
  }
  // A big decoded ctx is not kept for the batch's next use: every batch of
  // the recorder's pool would hold up to two (their bytes bound nothing once
  // handed back). Decoded here, so freed on the thread that allocated it.
  parts_.ctx.reset();
  for (int i = 0; i < 2; ++i) {
    if (held_ctx_size_[i] > script::StrategyHost::kRecentCtxMaxBytes) {
      held_ctx_value_[i].reset();
      held_ctx_[i] = 0;
      held_ctx_size_[i] = 0;
    }
  }
}

void RecorderBatch::release() noexcept {
  // Nothing is freed here: what the batch holds (built events' strings, the
  // states' shared contexts and order lists) was allocated on the runner's
  // thread, and freeing it on the sink's thread made every one of those
  // allocations a cross-thread free: the runner's thread then found its
  // malloc caches empty and took the arena's slow paths (consolidation, the
  // arena lock, chunk headers last written by the other core). The recorder
  // clears the batch when it reuses it (clear()), on its own thread.
  in_use_.store(false, std::memory_order_release);
}

std::size_t value_memory(const Value& v) noexcept {
  std::size_t n = sizeof(Value);
  switch (v.kind()) {
    case Value::Kind::String: return n + v.as_string().capacity();
    case Value::Kind::Array:
      for (const Value& e : v.as_array()) n += value_memory(e);
      return n;
    case Value::Kind::Map:
      for (const auto& [k, e] : v.as_map()) n += sizeof(std::string) + k.capacity() + value_memory(e);
      return n;
    default: return n;
  }
}

void RecorderBatch::clear() noexcept {
  // The states' value trees (the host walker's contexts, counted by
  // add_value_bytes) are dropped, not kept in the records for their reuse:
  // a pool's idle batches would hold them for the rest of the session.
  if (value_bytes_ != 0) {
    for (std::size_t i = 0; i < states_used_; ++i) states_[i].ctx.reset();
    value_bytes_ = 0;
  }
  count_ = 0;
  items_used_ = 0;
  bars_.clear();
  states_used_ = 0;  // records kept (with the pointers they hold) until reused
  held_exports_.clear();  // (no record of this batch points at them any more)
  held_bytes_ = 0;
  events_.clear();
  indicator_values_.clear();
  actions_used_ = 0;  // records (and their strings' capacity) kept for the next batch
  transitions_used_ = 0;
  orders_used_ = 0;
  refusals_used_ = 0;
  fills_.clear();
  text_used_ = 0;
  facts_.clear();
  order_store_used_ = 0;  // the orders (and their tags' capacity) kept for the next batch
  initial_orders_count_ = 0;
  ++generation_;
}

}  // namespace te::runner
