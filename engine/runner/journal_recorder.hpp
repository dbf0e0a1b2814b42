#pragma once
// Turns what one runner does into session-journal events (docs/replay.md,
// "What is recorded"): every bar it receives (market_data), its state around
// updates (runner_state), transitions with their reasons, what the strategy
// returned (strategy_action), every order status change, fill and rejection,
// strategy errors, log lines, reloads and risk decisions.
//
// Cost is the design constraint (issue 7: recording may cost at most 30 % of
// backtest throughput in full mode, 15 % in delta mode). What runs on the
// runner's thread per bar is a copy of the bar and of the runner's numbers
// into a reused RecorderBatch (recorder_batch.hpp); a batch goes to the sink
// every `batch_events` events (append_deferred), and the sink (JournalWriter)
// builds the events, encodes, compresses and writes on its own thread.
// Exporting the strategy context runs Lua and allocates (about a microsecond),
// so under StateEvents::Activity the runner's state is recorded only after
// bars on which something happened, plus a checkpoint every `checkpoint_bars`
// quiet bars. docs/replay.md explains exactly what that leaves out.
//
// Not thread-safe: one recorder per runner, called on the runner's thread
// (the sink may be shared between runners and threads).
#include <algorithm>
#include <bit>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/journal/event.hpp"
#include "engine/journal/event_sink.hpp"
#include "engine/runner/recorder_batch.hpp"
#include "engine/runner/symbol_runner.hpp"

namespace te::runner {

enum class StateEvents : std::uint8_t {
  // After-update state on bars where the strategy returned something, the
  // runner changed state, an order moved, a fill, rejection, error or reload
  // happened; plus a checkpoint after `checkpoint_bars` bars without one.
  Activity,
  // Before- and after-update state on every bar: complete, and costly (the
  // context is exported from Lua on every bar).
  EveryBar,
};
std::string_view to_string(StateEvents s) noexcept;
bool parse_state_events(std::string_view text, StateEvents& out) noexcept;  // "activity", "every_bar"

struct RecorderOptions {
  StateEvents state_events = StateEvents::Activity;
  std::uint32_t checkpoint_bars = 100;  // Activity: a state at least every N bars (0 = only on activity)
  bool include_indicators = true;       // indicator values inside every recorded state
  std::uint32_t batch_events = 1024;    // events per append_batch; 0 = hand over at the end of every bar
  // A recorded state's ctx is at most this many bytes as data (the loop
  // export's measure, script::ContextLimits::max_bytes); a bigger one is
  // recorded as nil, with a warning note the first time.
  std::size_t max_ctx_bytes = script::StrategyHost::kDefaultCtxExportLimit;
  // A batch goes to the writer once the contexts its states hold come to
  // this many bytes (RecorderBatch::held_bytes), whatever its event count:
  // with the writer's queue_bytes, what a recording holds in memory is
  // bounded by bytes, not only by events.
  std::size_t batch_bytes = std::size_t{4} << 20;
  std::string timeframe;                // bar interval written into market_data ("1m", "1d"; may be empty)
};

// The runner's state as recorded in runner_state.context (a map):
//   ctx            the strategy's own ctx data (export_context)
//   position       qty, avg_price, unrealized_pnl, trade_pnl, bars_held, entry_ts_ns
//   account        cash, equity, position_value, realized_pnl, commission_paid, trades
//   orders         working orders: [{id, side, type, purpose, qty, filled_qty, limit_price, stop_price, status}]
//   bar_index      bars processed so far minus one (-1 before the first bar)
//   bars_in_state  bars since the last transition
// runner_state.indicators is {column: value} (nil during warm-up) or nil.
inline constexpr std::string_view kStateCtx = "ctx";

class JournalRecorder final : public RunnerObserver {
 public:
  // Stores strategy code by content (reloads); returns the sha256. May be empty.
  using SourceStore = std::function<Result<std::string>(std::string_view code)>;

  // `sink` must outlive the recorder.
  JournalRecorder(journal::EventSink& sink, RecorderOptions options, SourceStore store_source = {});
  ~JournalRecorder() override = default;
  JournalRecorder(const JournalRecorder&) = delete;
  JournalRecorder& operator=(const JournalRecorder&) = delete;

  // Hands the pending batch to the sink. Call when the runner stops.
  Status flush();
  // The first error the sink returned (recording stops after it; the runner
  // keeps trading).
  Status status() const { return error_; }

  // Produced (including pending): each bar's market_data and the rest.
  std::uint64_t events() const noexcept { return events_ + bars_; }
  std::uint64_t state_events() const noexcept { return states_; }
  std::int64_t first_bar_ns() const noexcept { return first_bar_ns_; }
  std::int64_t last_bar_ns() const noexcept { return ts_ns_; }
  std::uint64_t bars() const noexcept { return bars_; }
  // Bars whose on_bar the quiet step skipped (counted when caught up).
  std::uint64_t on_bars_skipped() const noexcept { return on_bars_skipped_; }
  // Before states recorded as the last state record moved on (derive_before).
  std::uint64_t before_states_derived() const noexcept { return befores_derived_; }
  // The warning noted when the strategy's ctx first could not be recorded
  // (recorded as nil from then on while it cannot be); empty: none.
  const std::string& ctx_warning() const noexcept { return ctx_warning_; }

  // RunnerObserver
  void on_started(SymbolRunner& runner, bool ok) override;
  void on_bar(const SymbolRunner& runner, const model::Bar& bar) override;
  // The bars that follow are recorded as indices into `series` (the writer's
  // thread reads them there) while they are its bars `first`, `first + 1`, ...
  void on_bar_source(const SymbolRunner& runner, const model::BarSeries& series, std::size_t first) override;
  void on_bar_end(SymbolRunner& runner, const model::Bar& bar) override;
  // Only a bar whose end exports ctx (activity, a checkpoint, every_bar) runs
  // Lua; the others stay in the runner's batch loop.
  bool bar_end_needs_lua(const SymbolRunner& runner) const noexcept override;
  // ... and the Lua it runs is export_context only (the batch loop exports
  // ctx for it without leaving).
  bool bar_end_lua_is_ctx_export(const SymbolRunner&) const noexcept override { return true; }
  BarEnd bar_end_in_loop(SymbolRunner& runner, const model::Bar& bar) override;
  // A quiet bar (nothing recorded, no state due, the batch not full) needs
  // no end: the runner skips the call (on_bar sets `busy`, so does anything
  // recorded during the bar).
  const QuietBarEnd* quiet_bar_end() const noexcept override { return &quiet_; }
  // (A fill is recorded from on_order_event, which carries it.)
  std::uint8_t event_hooks() const noexcept override { return kHookTransition | kHookAction; }
  void on_transition(const SymbolRunner& runner, const Transition& t) override;
  // The reason is copied into the batch from Transition::reason_view.
  bool reads_transition_reason_string() const noexcept override { return false; }
  void on_action(const SymbolRunner& runner, script::Callback cb, int kind, const te_action& action,
                 std::string_view reason) override;
  void on_order_event(const SymbolRunner& runner, const model::Order& order, std::string_view reason_code,
                      const model::Fill* fill, const model::Rejection* rejection) override;
  void on_rejected(const SymbolRunner& runner, const model::Rejection& rejection) override;
  void on_risk_decision(const SymbolRunner& runner, const risk::Decision& decision) override;
  void on_stormguard(const SymbolRunner& runner, const risk::StormGuardChange& change) override;
  void on_kill_switch(const SymbolRunner& runner, const risk::KillSwitchEvent& event) override;
  void on_fault(const SymbolRunner& runner, const script::StrategyError& error) override;
  void on_strategy_error(const SymbolRunner& runner, const script::StrategyError& error, int consecutive) override;
  void on_strategy_log(const SymbolRunner& runner, int level, std::string_view message) override;
  void on_reload(SymbolRunner& runner, const ReloadInfo& info) override;

 private:
  template <class Body>
  void push(const SymbolRunner& runner, std::int64_t ts_ns, Body body);
  // The batch being filled, for something recorded now: the bars before it
  // (a run of series bars not written yet, the current bar included) go in
  // first, and the bar's end is due (quiet_.busy). Always inline: GCC kept
  // it out of line in most recorder hooks (a call per record).
  // `keep_before`: an event of the bar (not its Before state, nor a copied
  // bar), which makes the bar's end record its Before state right after the
  // bar's market data, before this event: that place is kept (write_bars).
  [[gnu::always_inline]] RecorderBatch& batch(const SymbolRunner& runner, bool keep_before = true) {
    quiet_.busy = 1;
    busy_at_ = INT64_MIN;  // (batched() grows: recomputed at the bar's end)
    if (series_next_ != written_next_) return keep_before ? write_bars_keeping_before() : write_bars();
    return batch_ ? *batch_ : next_batch(runner);
  }
  RecorderBatch& next_batch(const SymbolRunner& runner);
  RecorderBatch& take_batch();  // next_batch once identity_ is set
  // The series bars written_next_ .. series_next_ - 1 into the batch (one
  // call for a run of quiet bars); bar_event_index_ becomes the item holding
  // the last of them. write_bars_keeping_before (when no Before state is
  // recorded on this bar yet): a place right after it is kept for the Before state the bar's
  // end records if something happens on the bar (RecorderBatch::
  // reserve_slot: no std::rotate of the bar's events to put it there).
  RecorderBatch& write_bars();
  RecorderBatch& write_bars_keeping_before();
  template <bool keep_before>
  RecorderBatch& write_bars_as();
  void set_identity(const SymbolRunner& runner);
  // Something happened on this bar (a state follows at its end).
  void active() {
    activity_ = true;
    quiet_.busy = 1;
  }
  // The strategy's ctx for the next state: the batch loop's export, held as
  // its bytes (inline: on_bar_end's case, 47,700 per 1M sma_cross bars; a
  // call, its saved registers and a guard variable's test each before), or
  // walked by the host outside the loop (export_ctx_walk).
  [[gnu::always_inline]] void export_ctx(SymbolRunner& runner) {
    if (const auto& bytes = runner.host().loop_export()) {
      hold_loop_export(bytes);
      return;
    }
    export_ctx_walk(runner);
  }
  // An export of the batch loop: the recorded bytes (the same object while
  // they do not change; decoded by the writer thread).
  [[gnu::always_inline]] void hold_loop_export(const std::shared_ptr<const script::LoopExport>& bytes) {
    if (ctx_held_[0] == bytes) {
      ctx_at_ = 0;
    } else if (ctx_held_[1] == bytes) {
      ctx_at_ = 1;
    } else {
      ctx_at_ = ctx_at_ == 0 ? 1 : 0;
      ctx_held_[ctx_at_] = bytes;
    }
    // The export not current is held for its return only while it is small:
    // a ctx that was large once is not kept for the rest of the session.
    if (auto& other = ctx_held_[ctx_at_ ^ 1];
        other && other->bytes.size() > script::StrategyHost::kRecentCtxMaxBytes) [[unlikely]]
      other.reset();
    if (ctx_) [[unlikely]] ctx_.reset();
  }
  void export_ctx_walk(SymbolRunner& runner);
  // The number of the working orders as they are now (0: none), a new one
  // after they changed (StateRecord::orders_serial).
  std::uint64_t working_number();
  // `at_start`: the working orders before the bar's first order event
  // (orders_at_start_serial_; the state is placed before the bar's events),
  // otherwise the current ones (working_). `snap` null: the runner's numbers now.
  void push_state(const SymbolRunner& runner, journal::StatePhase phase, const RunnerSnapshot* snap, bool at_start,
                  int indicator_offset, std::size_t at);
  // The same, inline (on_bar_end's two states, whose arguments are then
  // constants for the most part: a call, its saved registers and the tests
  // of those arguments per state otherwise).
  [[gnu::always_inline]] inline void push_state_inline(const SymbolRunner& runner, journal::StatePhase phase,
                                                       const RunnerSnapshot* snap, bool at_start, int indicator_offset,
                                                       std::size_t at);
  // The bar's Before state (start_, its marks settled) as the batch's last
  // state record `ahead` bars on (RecorderBatch::add_before_from_last), when
  // that record holds everything else it would: the same ctx and working
  // orders, the same runner state and marks (to the bit), bar counters
  // `ahead` further, figures of the same book (all the others are the
  // book's: only fills move them). A flat runner's active bars, and an
  // active bar right after one (its start marks are the last one's close),
  // in the batch that recorded the last state; false: recorded whole. The
  // trading thread then fills no state record (its ctx, orders, item and
  // record bookkeeping): emit() writes the state from the base.
  [[gnu::always_inline]] bool derive_before() {
    RecorderBatch* const b = batch_.get();
    const StateRecord* const base = b != nullptr ? b->last_state() : nullptr;
    if (base == nullptr || options_.include_indicators || !error_ || base->book != start_book_) return false;
    const RunnerSnapshot& s = base->snap;
    const std::int64_t ahead = start_.bar_index - s.bar_index;
    auto same = [](double x, double y) { return std::bit_cast<std::uint64_t>(x) == std::bit_cast<std::uint64_t>(y); };
    if (ahead < 0 || ahead > UINT16_MAX || start_.bars_in_state != s.bars_in_state + ahead ||
        start_.state != s.state || !same(start_.unrealized, s.unrealized) ||
        !same(start_.position_value, s.position_value) || !same(start_.equity, s.equity))
      return false;
    const std::uint64_t serial = orders_saved_ ? orders_at_start_serial_ : working_number();
    if (base->orders_serial != serial || base->ctx_bytes != ctx_bytes().get() || base->ctx != ctx_) return false;
    if (!b->add_before_from_last(bar_event_index_ + 1, static_cast<std::uint16_t>(ahead))) return false;
    ++events_;
    ++states_;
    ++befores_derived_;
    return true;
  }
  static void snapshot_into(const SymbolRunner& runner, RunnerSnapshot& s);
  static void marks_into(const SymbolRunner& runner, RunnerSnapshot& s);
  void note_new_indicators(const SymbolRunner& runner);
  void hand_over();
  // At the end of a bar: the batch goes to the writer once it holds batch_events.
  void hand_over_if_full() {
    if (options_.batch_events == 0 || batched() >= options_.batch_events ||
        (batch_ && batch_->held_bytes() >= options_.batch_bytes)) [[unlikely]]
      hand_over();
  }
  // Events in the batch, with the series bars not written into it yet.
  std::size_t batched() const noexcept { return (batch_ ? batch_->size() : 0) + (series_next_ - written_next_); }
  bool checkpoint_due(const SymbolRunner& runner) const noexcept { return runner.bar_index() >= checkpoint_at_; }
  // A state was recorded on bar `bar` (the next checkpoint counts from there).
  void state_recorded_at(std::int64_t bar) {
    have_state_ = true;
    slow_bars_ = options_.state_events == StateEvents::EveryBar || !error_;
    last_state_bar_ = bar;
    checkpoint_at_ = options_.checkpoint_bars > 0 ? bar + options_.checkpoint_bars : INT64_MAX;
    busy_at_ = INT64_MIN;
  }
  // After the bar `bar`'s bookkeeping: the first bar whose end is due
  // (quiet_.busy) if only series bars arrive until then, each adding one to
  // batched(): a checkpoint, or the batch full. Anything that changes
  // batched() otherwise (batch()) or the checkpoint sets busy_at_ to
  // INT64_MIN, so every bar is busy until a bar's end computes it again (a
  // busy bar too many only costs its end's call).
  void update_busy_at(std::int64_t bar) {
    if (always_busy_) {
      busy_at_ = INT64_MIN;
      return;
    }
    const std::int64_t room =
        static_cast<std::int64_t>(options_.batch_events) - static_cast<std::int64_t>(batched());
    busy_at_ = std::min(checkpoint_at_, bar + room);
  }
  // The Before snapshot's marks, when on_bar only kept the mark price
  // (start_mark_at_): what marks_into() would have written then.
  void settle_start_marks() {
    if (!start_marks_due_) return;
    start_marks_due_ = false;
    sole_marks_into(start_, start_mark_);
  }
  // A sole position's marks at `price`, from the snapshot's own quantity,
  // average price and cash: Portfolio::position_value() and equity() of an
  // account holding only it (the same bits).
  static void sole_marks_into(RunnerSnapshot& s, double price) noexcept {
    portfolio::Position p;
    p.qty = s.qty;
    p.avg_price = s.avg_price;
    p.last_price = price;
    s.unrealized = p.unrealized();
    s.position_value = 0.0 + p.market_value();
    s.equity = s.cash + s.position_value;
  }
  // A bar at `ts_ns` arrives: its counters, nothing happened on it yet
  // (its market_data event is counted by bars_: events()).
  void begin_bar(std::int64_t ts_ns) {
    if (bars_ == 0) first_bar_ns_ = ts_ns;
    begin_later_bar(ts_ns);
  }
  // ... a bar after the first (on_bar's fast path: the first bar takes the slow one).
  void begin_later_bar(std::int64_t ts_ns) {
    ts_ns_ = ts_ns;
    ++bars_;
    activity_ = false;
    before_recorded_ = false;
    orders_saved_ = false;
    bar_in_batch_ = false;
  }
  void on_bar_slow(const SymbolRunner& runner, const model::Bar& bar);
  // Every call from the runner starts here: the bars whose on_bar the quiet
  // step skipped (quiet_.skipped) are counted, and the next bar's on_bar is
  // called again (whatever this call records may close the fast path).
  void catch_up(const SymbolRunner* runner) {
    if (quiet_.skipped != 0) [[unlikely]] catch_up_skipped(runner);
    quiet_.on_bar_at = INT64_MIN;
  }
  // What on_bar's fast path would have done on each of them (runner null:
  // the counters only, at flush). The Before snapshot's start-of-bar marks of
  // the last one are rebuilt from the series: see the definition.
  [[gnu::noinline]] void catch_up_skipped(const SymbolRunner* runner);
  [[gnu::noinline]] void start_marks_now(const SymbolRunner& runner);  // (off on_bar's fast path)

  journal::EventSink& sink_;
  RecorderOptions options_;
  SourceStore store_source_;
  Status error_;

  // Batches: the one being filled, and every one this recorder made (those
  // the sink has released are reused; more are made only while the writer
  // holds them all, which the sink's queue bounds).
  std::shared_ptr<const RecorderIdentity> identity_;
  std::shared_ptr<RecorderBatch> batch_;
  std::vector<std::shared_ptr<RecorderBatch>> pool_;

  // Where the bars come from (on_bar_source): the bar on_bar expects next is
  // series_ bar series_next_ while series_next_ < series_end_ (0 once a bar
  // did not match: copied from then on). Bars written_next_ .. series_next_
  // - 1 have been received but not written into a batch: a quiet bar only
  // moves series_next_, and the run goes in with whatever is recorded next
  // (batch()), or with the batch when it is handed over.
  std::shared_ptr<const model::BarSeries> series_;
  const std::int64_t* series_ts_ = nullptr;
  std::size_t series_next_ = 0;
  std::size_t series_end_ = 0;
  std::size_t written_next_ = 0;
  // The runner's test for a quiet bar's end (quiet_bar_end); `indicators`
  // is the number of indicator specs already noted.
  QuietBarEnd quiet_;
  bool always_busy_ = false;  // every_bar, or a hand-over at every bar's end

  std::int64_t ts_ns_ = 0;          // data time of the bar being processed (the last bar)
  std::int64_t last_state_bar_ = 0;  // bar_index of the last recorded state
  std::int64_t checkpoint_at_ = 0;   // the bar_index at which a checkpoint is due (INT64_MAX: never)
  std::int64_t busy_at_ = INT64_MIN; // update_busy_at()
  std::int64_t seen_bar_ = 0;        // the bar_index of the last on_bar that let the quiet step skip the next ones
  bool have_state_ = false;
  // on_bar's fast path is closed: a Before state on the next bar (every_bar,
  // or no state yet), or recording stopped (error_).
  bool slow_bars_ = true;
  // This bar: something happened on it, its Before state is recorded, its
  // starting orders saved, its market data in the batch (adjacent: one store
  // resets them).
  bool activity_ = false;
  bool before_recorded_ = false;
  bool orders_saved_ = false;
  bool bar_in_batch_ = false;
  std::shared_ptr<const Value> ctx_;  // last exported strategy context (null: none, or ctx_bytes())
  std::size_t ctx_size_ = 0;          // ctx_'s value_memory, counted once per batch that holds it:
  const RecorderBatch* ctx_counted_batch_ = nullptr;
  std::uint64_t ctx_counted_generation_ = 0;
  void count_value_ctx(RecorderBatch& b);
  // ... exported in the batch loop, as bytes: ctx_held_[ctx_at_] (slot 2
  // stays null: none). The last two distinct exports are held, and a new one
  // replaces the one not current: a ctx that goes back and forth between two
  // values (sma_cross: {} and {setup = ...}) moves no reference count (a
  // locked increment and decrement per export otherwise).
  std::shared_ptr<const script::LoopExport> ctx_held_[3];
  std::uint8_t ctx_at_ = 2;
  const std::shared_ptr<const script::LoopExport>& ctx_bytes() const noexcept { return ctx_held_[ctx_at_]; }
  OrderList working_;                              // orders not yet final, by id (deterministic order), untagged:
  std::size_t working_count_ = 0;                  // the first working_count_ (the rest: spares)
  std::uint64_t working_serial_ = 0;               // its number (0: none; StateRecord::orders_serial)
  std::uint64_t lists_made_ = 0;
  bool working_changed_ = false;                   // working_ moved since it was numbered
  // The bar being processed: the runner as the bar arrived, where its
  // market_data sits in the batch (a Before state goes right after it), and
  // the working orders before the first order event of the bar.
  RunnerSnapshot start_;
  const portfolio::Portfolio* start_pf_ = nullptr;  // start_'s account figures are this portfolio's
  std::uint64_t start_version_ = 0;                 // at this Portfolio::version()
  std::uint64_t start_book_ = 0;                    // and book_version()
  // While the book holds and the account's position value is this runner's
  // position alone (Portfolio::sole_mark), a quiet bar whose version moved
  // keeps only the mark price; the marks are computed from it and start_'s
  // quantity, average price and cash when a Before state needs them
  // (settle_start_marks): the same bits, ≈ 30 instructions fewer per bar of
  // an open position.
  const double* start_mark_at_ = nullptr;
  double start_mark_ = 0;
  bool start_marks_due_ = false;
  std::size_t bar_event_index_ = 0;
  // The number of the working orders before the bar's first order event
  // (for its Before state; emit() replays the list itself).
  std::uint64_t orders_at_start_serial_ = 0;
  // Indicator columns recorded in states (include_indicators): names shared
  // by every state until the strategy creates another indicator.
  std::size_t indicator_specs_seen_ = 0;
  std::shared_ptr<const IndicatorNames> indicator_names_;
  std::vector<int> indicator_slots_;

  std::uint64_t events_ = 0;
  std::uint64_t states_ = 0;
  std::uint64_t bars_ = 0;
  std::uint64_t on_bars_skipped_ = 0;
  std::uint64_t befores_derived_ = 0;
  std::int64_t first_bar_ns_ = 0;
  std::string ctx_warning_;  // the note's text, once noted
};

}  // namespace te::runner
