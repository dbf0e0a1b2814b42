#include "engine/runner/journal_recorder.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include <fmt/core.h>

#include "engine/core/copy_short.hpp"
#include "engine/core/numbers.hpp"

namespace te::runner {
namespace {

using journal::Event;

// "strategies/x.lua:12: message" -> file, line (0 when the message has no position).
void split_position(std::string_view message, std::string& file, std::uint32_t& line) {
  const auto colon = message.find(':');
  if (colon == std::string_view::npos || colon == 0) return;
  std::size_t i = colon + 1;
  std::uint32_t n = 0;
  std::size_t digits = 0;
  while (i < message.size() && message[i] >= '0' && message[i] <= '9' && digits < 9) {
    n = n * 10 + static_cast<std::uint32_t>(message[i] - '0');
    ++i;
    ++digits;
  }
  if (digits == 0 || i >= message.size() || message[i] != ':') return;
  file = std::string(message.substr(0, colon));
  line = n;
}

}  // namespace

std::string_view to_string(StateEvents s) noexcept {
  return s == StateEvents::EveryBar ? "every_bar" : "activity";
}

bool parse_state_events(std::string_view text, StateEvents& out) noexcept {
  if (text == "activity") {
    out = StateEvents::Activity;
  } else if (text == "every_bar" || text == "every-bar") {
    out = StateEvents::EveryBar;
  } else {
    return false;
  }
  return true;
}

JournalRecorder::JournalRecorder(journal::EventSink& sink, RecorderOptions options, SourceStore store_source)
    : sink_(sink), options_(std::move(options)), store_source_(std::move(store_source)) {
  always_busy_ = options_.state_events == StateEvents::EveryBar || options_.batch_events == 0;
  checkpoint_at_ = options_.checkpoint_bars > 0 ? options_.checkpoint_bars : INT64_MAX;
}

void JournalRecorder::set_identity(const SymbolRunner& runner) {
  auto id = std::make_shared<RecorderIdentity>();
  id->runner = runner.config().id;
  id->instrument = runner.instrument().id;
  id->symbol = runner.instrument().symbol;
  id->timeframe = options_.timeframe;
  identity_ = std::move(id);
}

RecorderBatch& JournalRecorder::next_batch(const SymbolRunner& runner) {
  if (!identity_) set_identity(runner);
  return take_batch();
}

// One function per `keep_before` (an event's call and the bar end's): GCC's
// clone for the events' constant went when a third caller came, and the
// test and the extra saved register came back (≈ 0.5 instructions a bar).
template <bool keep_before>
[[gnu::always_inline]] inline RecorderBatch& JournalRecorder::write_bars_as() {
  RecorderBatch& b = batch_ ? *batch_ : take_batch();  // (identity_ set by on_bar_source)
  bar_event_index_ = b.add_series_run(static_cast<std::uint32_t>(written_next_), series_next_ - written_next_);
  written_next_ = series_next_;
  bar_in_batch_ = true;
  // (An event follows right away, so the kept place never ends the items:
  // the next bar's run cannot have merged into this one anyway.)
  if (keep_before && !before_recorded_) b.reserve_slot();
  return b;
}

RecorderBatch& JournalRecorder::write_bars() { return write_bars_as<false>(); }
RecorderBatch& JournalRecorder::write_bars_keeping_before() { return write_bars_as<true>(); }

RecorderBatch& JournalRecorder::take_batch() {
  for (const auto& b : pool_) {
    if (!b->in_use()) {
      if (!batch_) {
        batch_ = b;
        batch_->clear();
      } else if (b->held_bytes() != 0) [[unlikely]] {
        // An idle batch keeps what it held until reused; the contexts are
        // let go now (after a burst, a pool of many batches would keep
        // theirs for the rest of the session).
        b->clear();
      }
    }
  }
  if (!batch_) {
    const std::size_t reserve = options_.batch_events > 0 ? options_.batch_events + 16 : 64;
    batch_ = pool_.emplace_back(std::make_shared<RecorderBatch>(identity_, reserve));
  }
  batch_->set_series(series_);
  // (Before any order event of the bar recorded in it: on_order_event takes
  // the batch before it moves working_.)
  batch_->set_initial_orders(working_.data(), working_count_);
  batch_->mark_in_use();
  return *batch_;
}

template <class Body>
void JournalRecorder::push(const SymbolRunner& runner, std::int64_t ts_ns, Body body) {
  ++events_;
  if (!error_) return;  // recording stopped at the sink's first error
  batch(runner).add_event(journal::make_event(ts_ns, runner.config().id, std::move(body)));
}

void JournalRecorder::hand_over() {
  if (series_next_ != written_next_) write_bars();  // (only while recording: on_bar checks error_)
  if (!batch_) return;
  std::shared_ptr<RecorderBatch> b = std::move(batch_);
  bar_in_batch_ = false;
  if (b->empty() || !error_) {
    b->release();
    return;
  }
  auto r = sink_.append_deferred(std::move(b));  // the sink releases it
  if (!r) {
    error_ = std::move(r).error();
    slow_bars_ = true;  // (on_bar's fast path records)
  }
}

Status JournalRecorder::flush() {
  catch_up(nullptr);
  hand_over();
  return error_;
}

// Every field assigned (no value-initialisation of the whole struct first):
// on_bar takes one per bar, straight into start_, and the compiler's `rep stos`
// zeroing plus the copy of a returned struct stalled the bar on the store
// buffer (perf: a fifth of the recorded backtest thread's time).
// The figures that follow the mark (s.cash already set): shared by full
// snapshots and the quiet-bar refresh in on_bar, so both give the same bits.
[[gnu::always_inline]] inline void JournalRecorder::marks_into(const SymbolRunner& runner, RunnerSnapshot& s) {
  const portfolio::Portfolio& pf = runner.portfolio();
  s.unrealized = pf.position(runner.instrument().id).unrealized();
  s.position_value = pf.position_value();
  s.equity = s.cash + s.position_value;
}

void JournalRecorder::snapshot_into(const SymbolRunner& runner, RunnerSnapshot& s) {
  const portfolio::Portfolio& pf = runner.portfolio();
  const model::InstrumentId inst = runner.instrument().id;
  const portfolio::Position& p = pf.position(inst);
  const portfolio::Trade* t = pf.open_trade(inst);
  s.state = static_cast<std::uint8_t>(runner.state());
  s.bar_index = runner.bar_index();
  s.bars_in_state = runner.bar_index() < 0 ? 0 : runner.bars_in_state();
  s.qty = p.qty;
  s.avg_price = p.avg_price;
  if (t != nullptr) {
    s.in_trade = true;
    s.entry_bar = t->entry_bar;
    s.entry_ts_ns = t->entry_ts_ns;
    s.trade_pnl = t->pnl_gross;
  } else {
    s.in_trade = false;
    s.entry_bar = 0;
    s.entry_ts_ns = 0;
    s.trade_pnl = 0;
  }
  s.cash = pf.cash();
  marks_into(runner, s);
  s.realized = pf.realized_pnl();
  s.commission = pf.commission_paid();
  s.trades = static_cast<std::int64_t>(pf.closed_trades());
}

// A state event at position `at` of the batch, filled in place in a record
// the batch reuses (no construction, move and destruction of a ~200-byte
// record per state; a shared pointer that did not change since the record's
// last use is not copied, so no reference count moves). Only numbers and
// shared pointers are taken here; the value tree is built by the writer
// thread. `snap` null: the runner as it is now.
[[gnu::always_inline]] inline void JournalRecorder::push_state_inline(const SymbolRunner& runner,
                                                                     journal::StatePhase phase,
                                                                     const RunnerSnapshot* snap, bool at_start,
                                                                     int indicator_offset, std::size_t at) {
  ++events_;
  ++states_;
  if (!error_) return;
  RecorderBatch& b = batch(runner, false);
  StateRecord& r = b.add_state_slot(at);
  r.ts_ns = ts_ns_;
  r.phase = phase;
  if (snap != nullptr) {
    r.snap = *snap;
  } else if (const portfolio::Portfolio& pf = runner.portfolio();
             start_pf_ == &pf && start_book_ == pf.book_version()) [[likely]] {
    // The book held since the bar's start (a bar without a fill): start_'s
    // figures but for the state, the counters and the marks, as on_bar's
    // refresh takes them (the same bits as snapshot_into: every other field
    // is the book's). A copy and the marks instead of snapshot_into's call,
    // position and trade lookups (≈ 80 instructions).
    r.snap = start_;
    r.snap.state = static_cast<std::uint8_t>(runner.state());
    const std::int64_t i = runner.bar_index();
    r.snap.bar_index = i;
    r.snap.bars_in_state = i < 0 ? 0 : runner.bars_in_state();
    if (start_mark_at_ != nullptr) {
      // A sole position (Portfolio::sole_mark, valid while the book holds):
      // the marks from its price, as settle_start_marks() takes them.
      sole_marks_into(r.snap, *start_mark_at_);
    } else {
      marks_into(runner, r.snap);
    }
  } else {
    snapshot_into(runner, r.snap);
  }
  if (r.ctx != ctx_) r.ctx = ctx_;
  if (ctx_) [[unlikely]] count_value_ctx(b);
  const std::shared_ptr<const script::LoopExport>& bytes = ctx_bytes();
  r.ctx_bytes = bytes.get();
  if (bytes) b.hold_export(bytes);
  r.ctx_serial = bytes ? bytes->serial : 0;
  // The working orders as emit() replays them at the record's place: a Before
  // state's at `at_start` (placed before the bar's order events), any other
  // state's now. Only the list's number is taken here.
  r.orders_serial = at_start ? orders_at_start_serial_ : working_number();
  r.orders_offset = kReplayedOrders;
  r.orders_count = 0;
  if (options_.include_indicators) {
    const auto& created = runner.indicators().created();
    if (!indicator_names_ || created.size() != indicator_specs_seen_) {
      auto names = std::make_shared<IndicatorNames>();
      indicator_slots_.clear();
      for (const auto& c : created) {
        for (const auto& col : c.columns) {
          names->push_back(col.name);
          indicator_slots_.push_back(col.slot);
        }
      }
      indicator_specs_seen_ = created.size();
      indicator_names_ = std::move(names);
    }
    std::vector<double>& values = b.indicator_values();
    r.indicator_offset = static_cast<std::uint32_t>(values.size());
    const ta::IndicatorSet& set = runner.indicators().set();
    for (int slot : indicator_slots_) values.push_back(set.value(slot, indicator_offset));
    if (r.indicator_names != indicator_names_) r.indicator_names = indicator_names_;
  } else {
    r.indicator_offset = 0;
    if (r.indicator_names) r.indicator_names.reset();
  }
  r.book = snap != nullptr ? start_book_ : runner.portfolio().book_version();
}

void JournalRecorder::push_state(const SymbolRunner& runner, journal::StatePhase phase, const RunnerSnapshot* snap,
                                 bool at_start, int indicator_offset, std::size_t at) {
  push_state_inline(runner, phase, snap, at_start, indicator_offset, at);
}

void JournalRecorder::note_new_indicators(const SymbolRunner& runner) {
  const auto& created = runner.indicators().created();
  // Recorded whether or not values are: replay recomputes them from these specs
  // and the recorded bars when include_indicators is off.
  Value::Array specs;
  for (std::size_t i = quiet_.indicators; i < created.size(); ++i) {
    Value::Array cols;
    for (const auto& c : created[i].columns) cols.emplace_back(c.name);
    specs.push_back(Value::map({{"columns", Value(std::move(cols))}, {"spec", Value(created[i].spec)}}));
  }
  quiet_.indicators = created.size();
  journal::Note n;
  n.category = "indicators";
  n.text = "indicators created by the strategy";
  n.data = Value(std::move(specs));
  push(runner, ts_ns_, std::move(n));
}

// A new number when the working orders changed since they were last
// numbered (states already recorded keep theirs); 0 when there are none.
std::uint64_t JournalRecorder::working_number() {
  if (working_changed_) {
    working_changed_ = false;
    working_serial_ = working_count_ == 0 ? 0 : ++lists_made_;
  }
  return working_serial_;
}

// A ctx value from the walker counts towards the batch's bytes once per
// batch that holds it (its states share the one tree).
void JournalRecorder::count_value_ctx(RecorderBatch& b) {
  if (ctx_counted_batch_ == &b && ctx_counted_generation_ == b.generation()) return;
  ctx_counted_batch_ = &b;
  ctx_counted_generation_ = b.generation();
  b.add_value_bytes(ctx_size_);
}

void JournalRecorder::export_ctx_walk(SymbolRunner& runner) {
  // Out of the batch loop (notices, reloads, a ctx the loop export leaves to
  // the walker: rare): nothing held for a return.
  ctx_at_ = 2;
  ctx_held_[0].reset();
  ctx_held_[1].reset();
  ctx_counted_batch_ = nullptr;
  auto ctx = runner.export_context_shared();
  if (ctx) {
    ctx_ = std::move(*ctx);
    ctx_size_ = ctx_ ? value_memory(*ctx_) : 0;
    return;
  }
  ctx_.reset();
  if (ctx_warning_.empty()) {
    journal::Note n;
    n.category = "warning";
    n.text = "the strategy context cannot be recorded: " + ctx.error().message;
    if (ctx.error().code == Errc::limit)
      n.text += fmt::format(" (a recorded ctx is at most {} bytes: [event_sourcing] max_ctx_bytes)",
                            options_.max_ctx_bytes);
    n.text += "; states record ctx as nil while it cannot be";
    ctx_warning_ = n.text;
    push(runner, ts_ns_, std::move(n));
  }
}

void JournalRecorder::on_started(SymbolRunner& runner, bool) {
  runner.set_ctx_export_limit(options_.max_ctx_bytes);
  // The context after on_start; recorded as the state before the first bar.
  export_ctx(runner);
}

// A bar arrives. The common case of a backtest first, in a few loads and
// stores: the bar is the series' next (only counted), the snapshot of the
// runner as the bar arrived needs only its counters (and, for an open
// position, the marks), no Before state is due on every bar. Anything else
// takes on_bar_slow, the general path.
void JournalRecorder::on_bar(const SymbolRunner& runner, const model::Bar& bar) {
  catch_up(&runner);
  const portfolio::Portfolio& pf = runner.portfolio();
  const std::size_t next = series_next_;
  // (start_pf_ is set by on_bar_slow: the first bar goes there.)
  if (next < series_end_ && series_ts_[next] == bar.ts_ns && !slow_bars_ && start_pf_ == &pf &&
      start_book_ == pf.book_version()) [[likely]] {
    series_next_ = next + 1;
    begin_later_bar(bar.ts_ns);
    // (The state is the one snapshot field besides the counters and marks
    // that moves without the book: set here, not a full snapshot_into.)
    start_.state = static_cast<std::uint8_t>(runner.state());
    const std::int64_t i = runner.bar_index();
    start_.bar_index = i;
    start_.bars_in_state = i < 0 ? 0 : runner.bars_in_state();
    if (start_version_ != pf.version()) {
      start_version_ = pf.version();
      if (start_mark_at_ != nullptr) {
        start_mark_ = *start_mark_at_;  // (settle_start_marks)
        start_marks_due_ = true;
      } else {
        start_marks_now(runner);
      }
    }
    // (always_busy_, a checkpoint, batched() >= batch_events: update_busy_at)
    quiet_.busy = i >= busy_at_;
    // The bars up to the next busy one, while they are the series' and
    // nothing calls this recorder, would take this path again, changing only
    // counters and, for an open position, the start-of-bar mark: the quiet
    // step may skip their on_bar (catch_up_skipped does it later). Only for
    // a sole position (its start mark is the previous close) and bar_index
    // >= 0 (bars_in_state then grows by one a bar).
    if (start_mark_at_ != nullptr && i >= 0) {
      seen_bar_ = i;
      quiet_.on_bar_at = std::min(busy_at_, i + static_cast<std::int64_t>(series_end_ - next));
      quiet_.book = start_book_;
    }
    return;
  }
  on_bar_slow(runner, bar);
}

// The quiet step skipped the on_bar of quiet_.skipped bars after seen_bar_
// (SymbolRunner::begin_bar): each was the series' next bar, the runner's
// state and the portfolio's book held (the quiet step's guard and on_bar_at,
// reset by every call here), so on_bar's fast path would have counted it,
// moved bar_index and bars_in_state on by one and, as the version of an open
// position's account moves with every bar's mark, kept the start mark: the
// position's last_price as the bar arrived, which is the previous bar's close
// (every bar's last mark is its close: the quiet step's and advance()'s close
// marks come after the bar's fills; a skipped close mark leaves the start's
// mark of the same close). A flat position's figures do not move.
void JournalRecorder::catch_up_skipped(const SymbolRunner* runner) {
  const std::int64_t n = quiet_.skipped;
  quiet_.skipped = 0;
  on_bars_skipped_ += static_cast<std::uint64_t>(n);
  series_next_ += static_cast<std::size_t>(n);
  bars_ += static_cast<std::uint64_t>(n - 1);
  begin_later_bar(series_ts_[series_next_ - 1]);
  if (runner == nullptr) return;  // (flush: no state follows)
  seen_bar_ += n;
  start_.bar_index = seen_bar_;
  start_.bars_in_state += n;
  if (start_.qty != 0) {
    start_mark_ = series_->columns().close[series_next_ - 2];
    start_marks_due_ = true;
    // Older than any version from now on: the next on_bar reads the mark
    // again, as it would have (the version moves with every bar's mark).
    start_version_ = runner->portfolio().version() - 1;
  }
}

void JournalRecorder::start_marks_now(const SymbolRunner& runner) { marks_into(runner, start_); }

void JournalRecorder::on_bar_slow(const SymbolRunner& runner, const model::Bar& bar) {
  begin_bar(bar.ts_ns);
  if (error_) {
    // The bar as the series holds it (the same values: the backtest's feed
    // reads it from there), or a copy. A series bar is only counted here: it
    // goes into the batch with the run it ends when something is recorded
    // (batch(), write_bars()), so a quiet bar touches no batch memory.
    if (series_next_ < series_end_ && series_ts_[series_next_] == bar.ts_ns) {
      ++series_next_;
    } else {
      series_end_ = 0;
      RecorderBatch& b = batch(runner, false);  // (the bars before it first)
      bar_event_index_ = b.add_bar(bar);
      bar_in_batch_ = true;
    }
  }
  // The runner as the bar arrived. Portfolio::version() moves whenever a
  // figure of the account may have changed (fills, marks of an open
  // position), book_version() with everything but marks: while the book
  // holds, only the runner's state and the bar counters differ from the last
  // snapshot (a flat runner's quiet bars, and the bars after a transition
  // without a fill), plus, when the version moved, the figures that follow
  // the mark (a position's quiet bars).
  const portfolio::Portfolio& pf = runner.portfolio();
  if (start_pf_ == &pf && start_book_ == pf.book_version()) {
    settle_start_marks();
    start_.state = static_cast<std::uint8_t>(runner.state());
    start_.bar_index = runner.bar_index();
    start_.bars_in_state = runner.bar_index() < 0 ? 0 : runner.bars_in_state();
    if (start_version_ != pf.version()) {
      marks_into(runner, start_);
      start_version_ = pf.version();
    }
  } else {
    snapshot_into(runner, start_);
    start_pf_ = &pf;
    start_version_ = pf.version();
    start_book_ = pf.book_version();
    start_mark_at_ = pf.sole_mark(runner.instrument().id);
    start_marks_due_ = false;
  }
  if (!have_state_ || options_.state_events == StateEvents::EveryBar) {
    // Before the update; the context cannot have changed since it was last
    // exported (it changes only in callbacks, on_start and reloads, and every
    // bar's callbacks are followed by an export in this mode).
    push_state(runner, journal::StatePhase::Before, &start_, false, 0, SIZE_MAX);
    state_recorded_at(runner.bar_index());
    before_recorded_ = true;
  }
  // Whether this bar's end has anything to do before the bar has run (what
  // it records on the way sets busy again): a state due, the batch full.
  quiet_.busy = always_busy_ || runner.bar_index() >= checkpoint_at_ || batched() >= options_.batch_events;
  update_busy_at(runner.bar_index());
}

void JournalRecorder::on_bar_source(const SymbolRunner& runner, const model::BarSeries& series, std::size_t first) {
  catch_up(&runner);
  // A batch refers to one series: one holding bars of another goes first.
  if (series_next_ != written_next_ || (batch_ && batch_->series() != nullptr && !batch_->empty())) hand_over();
  if (!identity_) set_identity(runner);
  series_end_ = 0;
  series_next_ = written_next_ = 0;
  series_.reset();
  // (Item indices are 32 bits: a longer series is copied bar by bar.)
  if (first >= series.size() || series.size() > UINT32_MAX) return;
  series_ = std::make_shared<const model::BarSeries>(series);
  series_ts_ = series_->columns().ts_ns;
  series_next_ = written_next_ = first;
  series_end_ = series_->size();
  if (batch_) batch_->set_series(series_);
}

bool JournalRecorder::bar_end_needs_lua(const SymbolRunner& runner) const noexcept {
  // Exactly the bars on which on_bar_end calls export_ctx.
  return options_.state_events == StateEvents::EveryBar || activity_ || checkpoint_due(runner);
}

// bar_end_needs_lua, and on a bar where it is false what on_bar_end does
// then (no state recorded, nothing exported), in one call.
RunnerObserver::BarEnd JournalRecorder::bar_end_in_loop(SymbolRunner& runner, const model::Bar&) {
  catch_up(&runner);
  if (bar_end_needs_lua(runner)) return BarEnd::ExportCtx;
  if (runner.indicators().created_count() != quiet_.indicators) note_new_indicators(runner);
  hand_over_if_full();
  update_busy_at(runner.bar_index());
  return BarEnd::Done;
}

void JournalRecorder::on_bar_end(SymbolRunner& runner, const model::Bar&) {
  catch_up(&runner);
  if (runner.indicators().created_count() != quiet_.indicators) note_new_indicators(runner);
  // The bar's run of series bars into the batch before its Before state's place is read.
  if (activity_ && error_ && series_next_ != written_next_) write_bars();
  const bool every = options_.state_events == StateEvents::EveryBar;
  const bool checkpoint = checkpoint_due(runner);
  if (activity_ && !before_recorded_ && bar_in_batch_) {
    // The state as the bar arrived, placed right after its market data. Its
    // ctx is the last exported one: exact when the strategy changes its ctx
    // only on bars where something happens (docs/replay.md).
    settle_start_marks();
    if (!derive_before())
      push_state_inline(runner, journal::StatePhase::Before, &start_, orders_saved_, 1, bar_event_index_ + 1);
  }
  if (every || activity_ || checkpoint) {
    export_ctx(runner);
    push_state_inline(runner, journal::StatePhase::After, nullptr, false, 0, SIZE_MAX);
    state_recorded_at(runner.bar_index());
  }
  hand_over_if_full();
  update_busy_at(runner.bar_index());
}

// Transitions and actions are copied into the batch as they came (their
// events, with the params map, are built by the writer thread).
void JournalRecorder::on_transition(const SymbolRunner& runner, const Transition& t) {
  catch_up(&runner);
  active();
  ++events_;
  if (!error_) return;
  RecorderBatch& b = batch(runner);
  TransitionRecord& r = b.add_transition();
  r.ts_ns = ts_ns_;
  r.from = static_cast<std::uint8_t>(t.from);
  r.to = static_cast<std::uint8_t>(t.to);
  r.trigger = t.event;  // (named by emit())
  r.reason = b.add_text(t.reason_view);
  r.refusal = 0;
  if (t.refusal != nullptr) {
    // The reason goes on with the refusal's text: built by the writer's
    // thread from its facts, unless it was built already.
    if (t.refusal->pending().kind != model::RefusalFacts::Kind::None) {
      r.refusal = b.add_facts(t.refusal->pending());
    } else {
      r.reason.size += b.add_text(t.refusal->text()).size;  // (right after the reason's start in the text)
    }
  }
  r.bar_ts_ns = t.ts_ns;
}

void JournalRecorder::on_action(const SymbolRunner& runner, script::Callback, int kind, const te_action& action,
                                std::string_view reason) {
  catch_up(&runner);
  active();
  ++events_;
  if (!error_) return;
  RecorderBatch& b = batch(runner);
  ActionRecord& r = b.add_action();
  r.ts_ns = ts_ns_;
  r.strategy = runner.config().strategy_id;
  r.kind = kind;
  std::memcpy(&r.action, &action, kActionFields);
  r.reason = b.add_text(reason);
}

void JournalRecorder::on_order_event(const SymbolRunner& runner, const model::Order& order,
                                     std::string_view reason_code, const model::Fill* fill,
                                     const model::Rejection* rejection) {
  catch_up(&runner);
  active();
  // The number of the working orders as the bar began, for its Before state.
  if (!orders_saved_) {
    orders_saved_ = true;
    orders_at_start_serial_ = working_number();
  }
  // The batch first: one taken now begins with the working orders before
  // this event (set_initial_orders), which emit() replays through the
  // batch's order records (apply_working_order, as here).
  RecorderBatch* const b = error_ ? &batch(runner) : nullptr;
  apply_working_order(working_, working_count_, order);
  working_changed_ = true;
  // Copied into the batch's reused records; the writer thread builds the events.
  events_ += fill != nullptr ? 2 : 1;
  if (b == nullptr) return;  // (recording stopped at the sink's first error)
  if (fill != nullptr) b->add_fill(*fill);
  OrderRecord& r = b->add_order();
  r.ts_ns = fill != nullptr ? fill->ts_ns : ts_ns_;
  // The tag only when it differs from the one the reused record holds: most
  // order events of a run carry one of a few tags (an entry's reason), and
  // a string assignment was a call and a memcpy call per event.
  copy_untagged(r.order, order);
  if (r.order.tag.size() != order.tag.size() || !equal_short(r.order.tag.data(), order.tag.data(), order.tag.size()))
    r.order.tag = order.tag;
  r.message = TextRef{};
  r.refusal = 0;
  if (rejection != nullptr) {
    r.reason_code = b->add_text(rejection->code);
    // The text from the facts, by the writer's thread (emit()), unless it
    // was built already.
    if (rejection->pending().kind != model::RefusalFacts::Kind::None) {
      r.refusal = b->add_facts(rejection->pending());
    } else {
      r.message = b->add_text(rejection->text());
    }
  } else {
    r.reason_code = b->add_text(reason_code);
  }
}

void JournalRecorder::on_rejected(const SymbolRunner& runner, const model::Rejection& rejection) {
  catch_up(&runner);
  if (rejection.order != 0) return;  // an order's rejection: recorded by on_order_event
  active();
  ++events_;
  if (!error_) return;
  // Copied into a reused record (with its facts: the text, a few number
  // formats, is built by the writer thread); a risk_decision event there.
  RefusalRecord& r = batch(runner).add_refusal();
  r.ts_ns = ts_ns_;
  r.rejection = rejection;
}

void JournalRecorder::on_risk_decision(const SymbolRunner& runner, const risk::Decision& decision) {
  catch_up(&runner);
  active();
  journal::RiskDecision d;
  d.order = 0;  // decided before the order reached the exchange
  d.strategy = decision.strategy;
  d.approved = decision.approved;
  d.reason_code = decision.code;
  d.message = decision.message;
  if (decision.approved && decision.approved_qty < decision.requested_qty && d.message.empty())
    d.message = "quantity scaled from " + format_double(decision.requested_qty) + " to " +
                format_double(decision.approved_qty);
  push(runner, decision.ts_ns != 0 ? decision.ts_ns : ts_ns_, std::move(d));
}

void JournalRecorder::on_stormguard(const SymbolRunner& runner, const risk::StormGuardChange& change) {
  catch_up(&runner);
  active();
  journal::StormGuardChange e;
  e.from = static_cast<std::uint8_t>(change.transition.from);
  e.to = static_cast<std::uint8_t>(change.transition.to);
  e.reason = change.reason;
  e.metrics = Value::map({{"loss", Value(change.transition.loss)},
                          {"scope", Value(change.account ? "account" : "strategy")},
                          {"strategy", Value(change.strategy)}});
  push(runner, change.ts_ns != 0 ? change.ts_ns : ts_ns_, std::move(e));
}

void JournalRecorder::on_kill_switch(const SymbolRunner& runner, const risk::KillSwitchEvent& event) {
  catch_up(&runner);
  active();
  journal::Note n;
  n.category = "kill_switch";
  n.text = (event.engaged ? "kill switch engaged: " : "kill switch released: ") + event.reason;
  push(runner, ts_ns_, std::move(n));
}

void JournalRecorder::on_strategy_error(const SymbolRunner& runner, const script::StrategyError& error, int) {
  catch_up(&runner);
  active();
  journal::StrategyError e;
  e.strategy = runner.config().strategy_id;
  e.kind = journal::StrategyErrorKind::Error;
  e.callback = error.callback;
  e.message = error.message;
  e.traceback = error.traceback;
  split_position(error.message, e.file, e.line);
  e.strategy_disabled = false;  // below the consecutive-error limit: the runner goes on
  push(runner, ts_ns_, std::move(e));
}

void JournalRecorder::on_fault(const SymbolRunner& runner, const script::StrategyError& error) {
  catch_up(&runner);
  active();
  journal::StrategyError e;
  e.strategy = runner.config().strategy_id;
  e.kind = journal::StrategyErrorKind::Error;
  e.callback = error.callback;
  e.message = error.message;
  e.traceback = error.traceback;
  split_position(error.message, e.file, e.line);
  e.strategy_disabled = true;  // the runner faults on a strategy error
  push(runner, ts_ns_, std::move(e));
}

void JournalRecorder::on_strategy_log(const SymbolRunner& runner, int level, std::string_view message) {
  catch_up(&runner);
  journal::Note n;
  n.category = level >= 2 ? "warning" : "log";
  n.text = std::string(message);
  push(runner, ts_ns_, std::move(n));
}

void JournalRecorder::on_reload(SymbolRunner& runner, const ReloadInfo& info) {
  catch_up(&runner);
  active();
  journal::Reload r;
  r.strategy = runner.config().strategy_id;
  r.path = info.path;
  r.old_sha256 = info.old_sha256;
  r.new_sha256 = info.new_sha256;
  r.ok = info.ok;
  r.message = info.message;
  if (store_source_ && !info.new_code.empty()) {
    auto stored = store_source_(info.new_code);
    if (!stored) {
      r.message += (r.message.empty() ? "" : "; ") + ("source not stored: " + stored.error().message);
    } else if (r.new_sha256.empty()) {
      r.new_sha256 = *stored;
    }
  }
  push(runner, ts_ns_, std::move(r));
  // on_reload(old_ctx) may have changed the context: record it now.
  export_ctx(runner);
  push_state(runner, journal::StatePhase::After, nullptr, false, 0, SIZE_MAX);
  state_recorded_at(runner.bar_index());
}

}  // namespace te::runner
