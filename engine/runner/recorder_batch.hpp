#pragma once
// What JournalRecorder captures on the runner's thread, in compact form, and
// turns into journal events later, on the journal writer's thread
// (journal::DeferredEvents). Per bar that is a copy of the bar and an 8-byte
// item, or in a backtest only a count (the bar stays in its series, which the
// batch shares, and consecutive bars share an item); a runner state is its numbers (RunnerSnapshot), a shared pointer to
// the strategy context (as the loop export's bytes when it came from one:
// decoded by emit()) and its working orders by their number only: emit()
// replays the batch's order records through the list the batch began with
// (set_initial_orders, apply_working_order) and gives each state the list at
// its place (a list can also be copied into the batch's order store,
// add_order_list, and a state point there). A bar's Before state that is the
// last state record but for its bar counters is an item naming that record
// (add_before_from_last). emit() hands
// states to the writer in parts (journal::StateParts, encoded without a value
// tree; the orders as the batch's copies, their value built only for the map
// form or a delta, once per list) and market_data as the bar,
// both off the trading thread. Transitions, actions, orders and fills are
// copied as they came and are handed to the consumer as their records in
// emit() (the writer encodes them without building an event); rare events (errors,
// notes, reloads, ...) are kept as built events.
//
// A batch is filled by one recorder on its runner's thread, handed to the
// sink, expanded by the writer, released (in_use() goes false), and cleared
// and reused by the recorder on its own thread: in steady state nothing here
// allocates, and what was allocated is freed by the thread that allocated it.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/core/copy_short.hpp"
#include "engine/core/value.hpp"
#include "engine/core/write_prefetch.hpp"
#include "engine/journal/event.hpp"
#include "engine/journal/event_sink.hpp"
#include "engine/journal/state_parts.hpp"
#include "engine/model/bar.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/model/order.hpp"
#include "engine/model/refusal_text.hpp"
#include "engine/runner/state_machine.hpp"
#include "engine/script/context_codec.hpp"
#include "engine/script/te_ffi.h"

namespace te::runner {

// The runner's numbers at one moment (cheap to take on every bar).
struct RunnerSnapshot {
  std::uint8_t state = 0;
  std::int64_t bar_index = 0;
  std::int64_t bars_in_state = 0;
  double qty = 0, avg_price = 0, unrealized = 0;
  bool in_trade = false;
  std::int64_t entry_bar = 0, entry_ts_ns = 0;
  double trade_pnl = 0;
  double cash = 0, equity = 0, position_value = 0, realized = 0, commission = 0;
  std::int64_t trades = 0;
};

using OrderList = std::vector<model::Order>;          // working orders by id (without tags: copy_untagged)

// `from` into `to` but for the tag, which `to` keeps: a recorded state's
// working orders are their nine fields of runner_state.context.orders
// (journal::order_value, the positional record's tuple), never the tag, so the
// recorder's lists of them skip the string (a copy per order event and per
// list copied into a batch).
inline void copy_untagged(model::Order& to, const model::Order& from) noexcept {
  // A field added to model::Order must be copied here too.
  static_assert(sizeof(model::Order) == 160, "model::Order changed: update copy_untagged");
  to.id = from.id;
  to.instrument = from.instrument;
  to.runner = from.runner;
  to.strategy = from.strategy;
  to.side = from.side;
  to.type = from.type;
  to.tif = from.tif;
  to.purpose = from.purpose;
  to.status = from.status;
  to.qty = from.qty;
  to.filled_qty = from.filled_qty;
  to.limit_price = from.limit_price;
  to.stop_price = from.stop_price;
  to.reduce_only = from.reduce_only;
  to.tif_bars = from.tif_bars;
  to.submitted_ns = from.submitted_ns;
  to.submitted_bar = from.submitted_bar;
  to.active_from_bar = from.active_from_bar;
  to.trail_amount = from.trail_amount;
  to.trail_pct = from.trail_pct;
  to.avg_fill_price = from.avg_fill_price;
  to.oco_group = from.oco_group;
}
// The working orders `v` (its first `count`, by id; the rest spare orders
// kept for their strings' capacity) after an order event of `order`: a final
// order leaves, another is replaced or inserted in its place. A few orders: a
// sorted array, no node per order; an order is inserted by moving a spare into
// place and assigning it, erased by moving it past the end (no allocation and
// no free once warm). JournalRecorder keeps its list by it, and emit() replays
// a batch's order records by it (kReplayedOrders): the same lists.
inline void apply_working_order(std::vector<model::Order>& v, std::size_t& count, const model::Order& order) {
  model::Order* const first = v.data();
  model::Order* const last = first + count;
  model::Order* const at =
      std::lower_bound(first, last, order.id, [](const model::Order& o, model::OrderId id) { return o.id < id; });
  const bool found = at != last && at->id == order.id;
  // (The rotations only when an order moves past another: the last one
  // leaving or a new one after the others is most order events, and
  // std::rotate is a call.)
  if (model::is_terminal(order.status)) {
    if (found) {
      if (at + 1 != last) std::rotate(at, at + 1, last);
      --count;
    }
  } else if (found) {
    copy_untagged(*at, order);
  } else {
    const auto pos = at - first;
    if (count == v.size()) v.emplace_back();
    model::Order* const w = v.data();
    if (static_cast<std::size_t>(pos) != count) std::rotate(w + pos, w + count, w + count + 1);
    ++count;
    copy_untagged(w[pos], order);
  }
}
using IndicatorNames = std::vector<std::string>;      // column names, creation order

// Who the batch's events belong to; fixed for a recorder's lifetime.
struct RecorderIdentity {
  model::RunnerId runner = 0;
  model::InstrumentId instrument = model::kNoInstrument;
  std::string symbol;
  std::string timeframe;
};

struct StateRecord {
  std::int64_t ts_ns = 0;
  journal::StatePhase phase = journal::StatePhase::After;
  RunnerSnapshot snap;
  std::shared_ptr<const Value> ctx;             // null: nil (the export failed), or see ctx_bytes
  // Set: the ctx is these bytes (decoded by emit()), kept alive by the batch
  // (RecorderBatch::hold_export), not by each record: a shared pointer copied
  // per state was a locked increment and decrement each on the trading thread.
  const script::LoopExport* ctx_bytes = nullptr;
  std::uint64_t ctx_serial = 0;                 // ctx_bytes->serial (read here, not there, by emit())
  // The working orders: orders_count orders from orders_offset of the batch's
  // order store (RecorderBatch::add_order_list), copied there once per list
  // and batch, or (orders_offset kReplayedOrders) the batch's working orders
  // at the record's place, which emit() replays from the batch's first list
  // and its order records; orders_serial is the recorder's number of the
  // list (0: none).
  std::uint32_t orders_offset = 0;
  std::uint32_t orders_count = 0;
  std::uint64_t orders_serial = 0;
  std::shared_ptr<const IndicatorNames> indicator_names;  // null: indicators not recorded
  std::uint32_t indicator_offset = 0;           // into RecorderBatch's indicator values
  std::uint64_t book = 0;  // the Portfolio::book_version() its figures are of (add_before_from_last)
};

// StateRecord::orders_offset of a state whose working orders are the batch's
// at its place (RecorderBatch::set_initial_orders, the order records before it).
inline constexpr std::uint32_t kReplayedOrders = UINT32_MAX;

// What the strategy returned (strategy_action), as the runner handed it over:
// the event's kind name and params map are built by the writer thread.
// A string a record holds, as its place in its batch's text (RecorderBatch::
// add_text): a fresh batch's records then cost no allocation each (a string
// per record longer than 15 bytes did: a malloc per action, transition and
// order event in every batch made while the writer held the others).
struct TextRef {
  std::uint32_t at = 0;
  std::uint32_t size = 0;
};

struct ActionRecord {
  std::int64_t ts_ns = 0;
  model::StrategyId strategy = 0;
  int kind = 0;
  TextRef reason;
  // Only its fields before `reason_len` are set (kActionFields: what
  // action_param_list reads); the strategy's reason is in the batch's text,
  // and the record's last 120 bytes, the unused `reason` array, are never
  // written (a whole te_action was 252 bytes copied per action).
  te_action action{};
};
inline constexpr std::size_t kActionFields = offsetof(te_action, reason_len);

// A transition. Its trigger is kept as the runner's event: emit() names it
// (runner::to_string(RunnerEvent), a static string), off the trading thread
// (the call was ≈ 10 instructions per transition there).
struct TransitionRecord {
  std::int64_t ts_ns = 0;
  std::uint8_t from = 0, to = 0;
  RunnerEvent trigger = RunnerEvent::SetupFound;
  TextRef reason;
  std::uint32_t refusal = 0;  // 0, or k: the reason goes on with the text of the batch's facts k - 1 (add_facts)
  std::int64_t bar_ts_ns = 0;
};

// An order status change (order_update) and, when it came with one, its fill.
struct OrderRecord {
  std::int64_t ts_ns = 0;
  model::Order order;
  TextRef reason_code;
  TextRef message;
  std::uint32_t refusal = 0;  // 0, or k: the message is the text of the batch's facts k - 1 (add_facts)
};

// An order refused before it reached the exchange (a risk_decision event,
// not approved): the rejection as the runner handed it over, its text built
// from its facts by the writer thread (Rejection::text()).
struct RefusalRecord {
  std::int64_t ts_ns = 0;
  model::Rejection rejection;
};

class RecorderBatch final : public journal::DeferredEvents {
  // The next record of `v` for this batch (v[used], made if the batch has
  // none there yet: records are reused from batch to batch). `made` is
  // v.size(), kept apart: size() divides by sizeof(T) (a multiply by its
  // inverse), which ran twice per record on the trading thread. The record
  // after it, if the batch kept one from an earlier use, has its lines asked
  // for now, a record ahead of the stores (see engine/core/write_prefetch.hpp:
  // the writer's thread read them last).
  template <class T>
  [[gnu::always_inline]] static T& next_record(std::vector<T>& v, std::size_t& used, std::size_t& made) {
    if (used == made) [[unlikely]] {
      v.emplace_back();
      ++made;
    }
    T* const r = v.data() + used;
    if (++used < made) prefetch_for_write(r + 1, sizeof(T));
    return *r;
  }

 public:
  explicit RecorderBatch(std::shared_ptr<const RecorderIdentity> identity, std::size_t reserve_items);

  // ---- the runner's thread, while !in_use() ----
  // The bar's place in the batch (an item position: add_state's `at` for
  // whatever must follow the bar's market_data).
  std::size_t add_bar(const model::Bar& bar) {
    if (bars_.capacity() == 0) bars_.reserve(reserve_items_);  // only batches that copy bars need room for them
    ++count_;
    push_item(Item{Kind::Bar, 0, static_cast<std::uint32_t>(bars_.size())});
    bars_.push_back(bar);
    return items_used_ - 1;
  }
  // Bar `index` of the series set by set_series() (copied by the writer's
  // thread in emit()). Consecutive bars share one item, so a run of quiet
  // bars costs the trading thread a counter, not a copy of each bar.
  std::size_t add_series_bar(std::uint32_t index) {
    ++count_;
    if (items_used_ != 0) {
      Item& last = items_[items_used_ - 1];
      if (last.kind == Kind::SeriesBars && last.index + last.run == index && last.run < UINT16_MAX) {
        ++last.run;
        return items_used_ - 1;
      }
    }
    push_item(Item{Kind::SeriesBars, 1, index});
    return items_used_ - 1;
  }
  // Bars `index` .. `index + n - 1` of the series (n > 0), as n calls of
  // add_series_bar would place them (the same items): the recorder notes a
  // run of quiet bars here in one call, when the next event or the hand-over
  // comes. Returns the position of the item holding the last of them.
  std::size_t add_series_run(std::uint32_t index, std::size_t n) {
    count_ += n;
    if (items_used_ != 0) {
      Item& last = items_[items_used_ - 1];
      if (last.kind == Kind::SeriesBars && last.index + last.run == index) {
        const std::size_t take = std::min<std::size_t>(n, UINT16_MAX - last.run);
        last.run = static_cast<std::uint16_t>(last.run + take);
        index += static_cast<std::uint32_t>(take);
        n -= take;
      }
    }
    while (n > 0) {
      const std::size_t take = std::min<std::size_t>(n, UINT16_MAX);
      push_item(Item{Kind::SeriesBars, static_cast<std::uint16_t>(take), index});
      index += static_cast<std::uint32_t>(take);
      n -= take;
    }
    return items_used_ - 1;
  }
  // The series add_series_bar's indices are into (set while the batch holds none).
  void set_series(std::shared_ptr<const model::BarSeries> series) noexcept { series_ = std::move(series); }
  const model::BarSeries* series() const noexcept { return series_.get(); }
  // A state record at item position `at` (<= items; past the end: appended),
  // to be filled in place. Records are reused from batch to batch: every
  // field must be assigned (its shared pointers keep what the record held last
  // time until then, so a pointer that did not change costs no reference count).
  // A place kept by reserve_slot() at `at` is taken as it is; any other `at`
  // inside the items moves the ones after it along (std::rotate). Inline
  // (in push_state): a call and six saved registers per state otherwise.
  [[gnu::always_inline]] StateRecord& add_state_slot(std::size_t at) {
    ++count_;
    const Item item{Kind::State, 0, static_cast<std::uint32_t>(states_used_)};
    if (at >= items_used_) {
      push_item(item);
    } else if (items_[at].kind == Kind::Skip) [[likely]] {
      items_[at] = item;
    } else {
      insert_item(item, at);
    }
    return next_record(states_, states_used_, states_made_);
  }
  // The state record added last (null: none in this batch yet).
  const StateRecord* last_state() const noexcept { return states_used_ != 0 ? &states_[states_used_ - 1] : nullptr; }
  // A bar's Before state that is the last state record but for its bar
  // counters, `ahead` bars further on (JournalRecorder::derive_before checks
  // every other field): the place reserve_slot() kept at `at`, right after
  // the run of series bars that ends with the bar, becomes a Before item
  // naming that record, and emit() writes the state from it (its time the
  // bar's, in the series). No state record is filled on the trading thread.
  // False, nothing done: `at` is not such a place (the state is recorded
  // whole then).
  bool add_before_from_last(std::size_t at, std::uint16_t ahead) noexcept {
    if (at == 0 || at >= items_used_ || items_[at].kind != Kind::Skip || items_[at - 1].kind != Kind::SeriesBars ||
        states_used_ == 0) [[unlikely]]
      return false;
    ++count_;
    items_[at] = Item{Kind::Before, ahead, static_cast<std::uint32_t>(states_used_ - 1)};
    return true;
  }
  // An item position that add_state_slot() can fill later without moving
  // the items pushed after it (a bar's Before state goes right after its
  // market data, and is known only at the bar's end, after the bar's
  // events); emit() skips it if it stays empty. Not an event (size()).
  std::size_t reserve_slot() {
    push_item(Item{Kind::Skip, 0, 0});
    return items_used_ - 1;
  }
  // Appends the state, or places it at item position `at` (<= items).
  void add_state(StateRecord state, std::size_t at) { add_state_slot(at) = std::move(state); }
  void add_state(StateRecord state) { add_state(std::move(state), items_used_); }
  void add_event(journal::Event event) {
    ++count_;
    push_item(Item{Kind::Built, 0, static_cast<std::uint32_t>(events_.size())});
    events_.push_back(std::move(event));
  }
  // The record is filled in place (its strings keep their capacity across batches).
  ActionRecord& add_action() {
    ++count_;
    push_item(Item{Kind::Action, 0, static_cast<std::uint32_t>(actions_used_)});
    return next_record(actions_, actions_used_, actions_made_);
  }
  TransitionRecord& add_transition() {
    ++count_;
    push_item(Item{Kind::Transition, 0, static_cast<std::uint32_t>(transitions_used_)});
    return next_record(transitions_, transitions_used_, transitions_made_);
  }
  OrderRecord& add_order() {
    ++count_;
    push_item(Item{Kind::Order, 0, static_cast<std::uint32_t>(orders_used_)});
    return next_record(orders_, orders_used_, orders_made_);
  }
  RefusalRecord& add_refusal() {
    ++count_;
    push_item(Item{Kind::Refusal, 0, static_cast<std::uint32_t>(refusals_used_)});
    return next_record(refusals_, refusals_used_, refusals_made_);
  }
  void add_fill(const model::Fill& fill) {
    ++count_;
    push_item(Item{Kind::Fill, 0, static_cast<std::uint32_t>(fills_.size())});
    fills_.push_back(fill);
  }
  // `s` kept in the batch's text for a record (read back by text()).
  // Inline: a reason, a code or a tag of up to 32 bytes is copied as two
  // overlapping moves (std::string::append was a call and a memcpy call per
  // text, ≈ 40 instructions, on about 150,000 texts per 1M bars of sma_cross).
  [[gnu::always_inline]] TextRef add_text(std::string_view s) {
    const std::size_t n = s.size();
    const TextRef r{static_cast<std::uint32_t>(text_used_), static_cast<std::uint32_t>(n)};
    if (n > text_cap_ - text_used_) [[unlikely]] grow_text(n);
    copy_short(text_.get() + text_used_, s.data(), n);
    text_used_ += n;
    return r;
  }
  std::string_view text(TextRef r) const noexcept { return std::string_view(text_.get() + r.at, r.size); }
  // A refusal's facts, whose text (model::append_refusal_text, as
  // Rejection::text() builds it) emit() writes on the writer's thread: the
  // number a record keeps (OrderRecord::refusal, TransitionRecord::refusal).
  // Facts equal to the last ones added share their number (an entry's
  // rejection is its order_update's message and then the start of the
  // EntryFailed transition's reason: one text for both).
  std::uint32_t add_facts(const model::RefusalFacts& f) {
    if (facts_.empty() || !same_facts(facts_.back(), f)) facts_.push_back(f);
    return static_cast<std::uint32_t>(facts_.size());
  }
  static bool same_facts(const model::RefusalFacts& a, const model::RefusalFacts& b) noexcept {
    return a.kind == b.kind && a.side == b.side && std::memcmp(a.v, b.v, sizeof a.v) == 0;
  }
  // A copy of `orders` for states to refer to (StateRecord::orders_offset,
  // the return value). The copies' strings keep their capacity when the
  // batch is reused, so a list costs no allocation here in steady state (a
  // list shared between states by pointer was a malloc and a free per change
  // on the trading thread).
  std::uint32_t add_order_list(const OrderList& orders) { return add_order_list(orders.data(), orders.size()); }
  std::uint32_t add_order_list(const model::Order* orders, std::size_t n) {
    const auto at = static_cast<std::uint32_t>(order_store_used_);
    for (const model::Order& o : std::span(orders, n)) {
      copy_untagged(next_record(order_store_, order_store_used_, order_store_made_), o);
    }
    return at;
  }
  // The working orders as the batch begins (right after clear(), before any
  // record): with the batch's order records after them, emit() gives a state
  // whose orders_offset is kReplayedOrders the working orders at its place
  // (the recorder then copies no list per state: a copy, ≈ 95 instructions
  // with its call, on ≈ 23,500 states per 1M bars of sma_cross).
  void set_initial_orders(const model::Order* orders, std::size_t n) {
    initial_orders_offset_ = add_order_list(orders, n);
    initial_orders_count_ = n;
  }
  // Orders `offset` .. of the order store (a list add_order_list() copied there).
  const model::Order* order_list(std::uint32_t offset) const noexcept { return order_store_.data() + offset; }
  // Moves with every clear(): copies made before it are gone.
  std::uint64_t generation() const noexcept { return generation_; }
  // Keeps `e` alive while this batch's records point at it (StateRecord::
  // ctx_bytes): a copy per export the batch's states switch to, found again
  // among the last two held (a ctx alternates between a few values); released
  // by clear(), on the recorder's thread.
  // Always inline: a call per state otherwise (GCC kept it out of line in
  // JournalRecorder::on_bar_end's two states).
  [[gnu::always_inline]] void hold_export(const std::shared_ptr<const script::LoopExport>& e) {
    const std::size_t n = held_exports_.size();
    if (n != 0 && held_exports_[n - 1].get() == e.get()) return;
    if (n > 1 && held_exports_[n - 2].get() == e.get()) return;
    held_exports_.push_back(e);
    held_bytes_ += e->bytes.size();
  }
  // The bytes of the contexts this batch's states hold (exports held, value
  // trees by their export_size; one held twice may count twice): what the
  // recorder hands a batch over by (RecorderOptions::batch_bytes) and the
  // writer bounds its queue by (WriterOptions::queue_bytes).
  // A value tree of the host's walker some of the batch's states hold, by
  // its approximate memory (value_memory).
  void add_value_bytes(std::size_t n) noexcept {
    held_bytes_ += n;
    value_bytes_ += n;
  }
  std::size_t held_bytes() const noexcept override { return held_bytes_; }
  // Indicator values of a state go here (StateRecord::indicator_offset).
  std::vector<double>& indicator_values() noexcept { return indicator_values_; }
  bool empty() const noexcept { return count_ == 0; }
  // Empties a released batch before it is filled again (the producer's
  // thread: what the batch held is freed where it was allocated).
  void clear() noexcept;

  // Handing over and getting back: in_use() from mark_in_use() until the sink's release().
  void mark_in_use() noexcept { in_use_.store(true, std::memory_order_relaxed); }
  bool in_use() const noexcept { return in_use_.load(std::memory_order_acquire); }

  // ---- journal::DeferredEvents (the sink's thread) ----
  std::size_t size() const noexcept override { return count_; }  // events, not items
  void emit(journal::DeferredConsumer& out) override;
  void release() noexcept override;  // makes the batch reusable (clear() empties it)

 private:
  std::string_view refusal_text(std::uint32_t k);  // (emit(): the text of facts k - 1)
  // (emit(): state record `r` as a runner_state event, its bar counters `ahead` bars on)
  void emit_state(journal::DeferredConsumer& out, const StateRecord& r, journal::StatePhase phase, std::int64_t ahead,
                  std::int64_t ts_ns);

  enum class Kind : std::uint8_t {
    Bar, SeriesBars, State, Built, Action, Transition, Order, Fill, Refusal, Skip, Before
  };
  struct Item {
    Kind kind;
    std::uint16_t run;    // SeriesBars: bars index, index + 1, ..., index + run - 1; Before: `ahead`
    std::uint32_t index;  // into the vector of its kind (SeriesBars: into series_; Before: the base state)
  };

  std::shared_ptr<const RecorderIdentity> identity_;
  std::size_t reserve_items_ = 0;
  std::size_t count_ = 0;  // events (a SeriesBars item is `run` of them)
  // The first items_used_ of items_cap_ are this batch's (push_item: an
  // inline store, not vector::push_back, which GCC kept out of line: a call
  // of ≈ 23 instructions per record on the trading thread; and room that is
  // not zero-filled when a batch is made).
  std::unique_ptr<Item[]> items_;
  std::size_t items_cap_ = 0;
  std::size_t items_used_ = 0;
  [[gnu::always_inline]] void push_item(Item item) {
    if (items_used_ == items_cap_) [[unlikely]] grow_items(items_cap_ * 2 + 16);
    if (items_used_ + 8 < items_cap_) prefetch_for_write(items_.get() + items_used_ + 8);
    items_[items_used_++] = item;
  }
  // `item` at position `at` (< items_used_), the items from there moved along.
  [[gnu::noinline]] void insert_item(Item item, std::size_t at) {
    push_item(item);
    Item* const items = items_.get();
    std::rotate(items + at, items + items_used_ - 1, items + items_used_);
  }
  [[gnu::noinline]] void grow_items(std::size_t cap) {
    std::unique_ptr<Item[]> more(new Item[cap]);  // (default-initialised: not zeroed)
    if (items_used_ != 0) std::memcpy(more.get(), items_.get(), items_used_ * sizeof(Item));
    items_ = std::move(more);
    items_cap_ = cap;
  }
  std::shared_ptr<const model::BarSeries> series_;
  std::vector<model::Bar> bars_;
  std::vector<StateRecord> states_;  // the first states_used_ are this batch's (the rest kept for reuse)
  std::size_t states_used_ = 0;
  std::size_t states_made_ = 0;  // states_.size() (next_record)
  std::vector<journal::Event> events_;
  std::vector<double> indicator_values_;
  std::vector<ActionRecord> actions_;  // the first actions_used_ are this batch's
  std::size_t actions_used_ = 0;
  std::size_t actions_made_ = 0;
  std::vector<TransitionRecord> transitions_;
  std::size_t transitions_used_ = 0;
  std::size_t transitions_made_ = 0;
  std::vector<OrderRecord> orders_;
  std::size_t orders_used_ = 0;
  std::size_t orders_made_ = 0;
  std::vector<model::Fill> fills_;
  // The records' strings (TextRef), one after the other: the first
  // text_used_ of text_cap_ bytes (add_text).
  std::unique_ptr<char[]> text_;
  std::size_t text_used_ = 0;
  std::size_t text_cap_ = 0;
  [[gnu::noinline]] void grow_text(std::size_t more);
  std::vector<model::RefusalFacts> facts_;  // refusals whose text emit() builds (add_facts)
  std::vector<RefusalRecord> refusals_;
  std::size_t refusals_used_ = 0;
  std::size_t refusals_made_ = 0;
  std::vector<model::Order> order_store_;  // the first order_store_used_ are this batch's (without tags)
  std::uint32_t initial_orders_offset_ = 0;  // set_initial_orders()
  std::size_t initial_orders_count_ = 0;
  // The writer's thread's: the working orders at the place emit() has reached
  // (the first replayed_count_; apply_working_order).
  std::vector<model::Order> replayed_;
  std::size_t replayed_count_ = 0;
  std::vector<std::shared_ptr<const script::LoopExport>> held_exports_;  // hold_export()
  std::size_t held_bytes_ = 0;
  std::size_t value_bytes_ = 0;  // of held_bytes_: states' value trees (clear() drops them)
  std::size_t order_store_used_ = 0;
  std::size_t order_store_made_ = 0;
  std::uint64_t generation_ = 0;
  std::atomic<bool> in_use_{false};
  // The writer thread's: a state goes out in parts (journal::StateParts; the
  // writer encodes it without building its value tree), its working orders
  // as the batch's copies (their value built by the consumer only when it
  // needs it, once per list: held_orders_).
  journal::StateParts parts_;
  Value indicators_;
  // A refusal's text built from facts_ (the last one: an entry's rejection
  // is the order_update's message and then the EntryFailed transition's
  // reason's end), and the text's number.
  std::string refusal_text_;
  std::uint32_t refusal_built_ = 0;
  std::string reason_text_;  // a transition's reason with its refusal's text
  // Known by their serial numbers, not held: a shared pointer copied here
  // counts references on the trading thread's cache lines (the recorder
  // copies and drops the same pointers), which then travel between the cores.
  journal::OrdersMemo held_orders_;
  // The last two loop exports decoded (a ctx often alternates between two
  // values): their serials, and their values.
  std::uint64_t held_ctx_[2] = {0, 0};
  std::shared_ptr<const Value> held_ctx_value_[2];
  std::size_t held_ctx_size_[2] = {0, 0};  // their exports' bytes
};

// About the memory a value tree takes (its nodes, strings and keys): what a
// recorded state's ctx from the host's walker holds, which its export_size
// undercounts (a boolean is one byte as data and a whole node here).
std::size_t value_memory(const Value& v) noexcept;

// A working order as recorded in runner_state.context.orders.
using journal::order_value;

// strategy_action's kind name and params map (the fields the strategy gave).
std::string_view action_name(int kind) noexcept;
Value action_params(int kind, const te_action& a);
// The same entries as a list (what emit() hands the consumer); returns their count.
inline constexpr std::size_t kMaxActionParams = 12;
std::size_t action_param_list(int kind, const te_action& a, journal::ActionParam (&out)[kMaxActionParams]);

}  // namespace te::runner
