#include "engine/runner/symbol_runner.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <fmt/core.h>

#include "engine/core/time.hpp"
#include "engine/exec/simulated_exchange.hpp"
#include "engine/script/frame_bar.hpp"

namespace te::runner {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string_view reason_or(std::string_view reason, std::string_view fallback) {
  return reason.empty() ? fallback : reason;
}

}  // namespace

SymbolRunner::SymbolRunner(RunnerConfig config, model::Instrument instrument, std::unique_ptr<BarHistory> history,
                           exec::ExecutionEngine& exec, portfolio::Portfolio& portfolio, RunnerObserver* observer)
    : config_(config),
      instrument_(std::move(instrument)),
      history_(std::move(history)),
      exec_(exec),
      sim_(dynamic_cast<exec::SimulatedExchange*>(&exec)),
      portfolio_(portfolio),
      observer_(observer),
      bar_observer_(observer != nullptr ? observer->bar_hooks() : nullptr),
      quiet_end_(bar_observer_ != nullptr ? bar_observer_->quiet_bar_end() : nullptr),
      indicators_(*history_) {
  indicators_.set_series_cache(config_.indicator_cache);
  indicators_.set_bar_interval(config_.bar_interval_ns);
  // (quiet_bar(): the recorder's indicator count is compared on the full path only)
  if (quiet_end_ != nullptr) indicators_.clear_on_create(&quiet_);
  transition_reasons_ = config_.keep_transitions || (observer_ != nullptr && observer_->reads_transition_reasons());
  transition_reason_strings_ =
      config_.keep_transitions || (observer_ != nullptr && observer_->reads_transition_reason_string());
  observer_fills_ = observer_ != nullptr && (observer_->event_hooks() & RunnerObserver::kHookFill) != 0;
  if (observer_ != nullptr) {
    transition_observer_ = observer_->event_target(RunnerObserver::kHookTransition);
    action_observer_ = observer_->event_target(RunnerObserver::kHookAction);
    observer_->observers_into(order_observers_, 2);
  }
}

SymbolRunner::~SymbolRunner() = default;

Result<std::unique_ptr<SymbolRunner>> SymbolRunner::create(RunnerConfig config, model::Instrument instrument,
                                                           const script::StrategySource& source,
                                                           const script::HostOptions& host_options,
                                                           std::unique_ptr<BarHistory> history,
                                                           exec::ExecutionEngine& exec, portfolio::Portfolio& portfolio,
                                                           RunnerObserver* observer) {
  std::unique_ptr<SymbolRunner> r(
      new SymbolRunner(config, std::move(instrument), std::move(history), exec, portfolio, observer));
  auto host = script::StrategyHost::create(source, host_options, r->indicators_, r.get());
  if (!host) return std::move(host).error();
  r->host_ = std::move(*host);
  r->host_options_ = host_options;
  return r;
}

Status SymbolRunner::start() {
  write_frame(model::Bar{});
  auto st = host_->on_start();
  if (!st) {
    fault(host_->last_error());
    if (observer_) observer_->on_started(*this, false);
    return st;
  }
  if (observer_) observer_->on_started(*this, true);
  return {};
}

void SymbolRunner::strategy_log(int level, std::string_view message) {
  if (observer_) observer_->on_strategy_log(*this, level, message);
}

bool SymbolRunner::on_bar(model::InstrumentId instrument, const model::Bar& bar) {
  if (instrument != instrument_.id) {
    ++stats_.rejected_bars;
    return state_ != RunnerState::Faulted;
  }
  current_bar_ = bar;
  step_ = Step::Begin;
  int result = 0;
  for (;;) {
    const int cb = advance<false>(result);
    if (cb == kBarDone) break;
    ++stats_.host_entries;
    result = host_->call(static_cast<script::Callback>(cb));
  }
  return state_ != RunnerState::Faulted;
}

// The bar in current_bar_ arrives: everything before the strategy runs.
// `quiet`: quiet_ holds (no order management; a per-bar observer only if it
// tells quiet bar ends).
template <bool quiet>
[[gnu::always_inline]] inline void SymbolRunner::begin_bar() {
  const model::Bar& bar = current_bar_;
  const model::InstrumentId instrument = instrument_.id;
  // (the full path's open and mark below write everything the idle step held
  // back, before anything reads them: the observer's on_bar reads no venue
  // and no flat position's mark)
  if (!quiet) idle_ = false;
  ++bar_index_;
  ++stats_.bars;
  last_ts_ns_ = bar.ts_ns;
  history_->push(bar);
  if (bar_observer_) {
    // (quiet: one that has quiet bar ends, and may let the quiet step skip its on_bar)
    if (quiet && bar_index_ < quiet_end_->on_bar_at && portfolio_.book_version() == quiet_end_->book) [[likely]]
      ++quiet_end_->skipped;
    else
      bar_observer_->on_bar(*this, bar);
  }
  // (the open is the reference price of orders the open's fills lead to; only
  // the risk engine reads it, and quiet_ means none: the quiet step stores the
  // close alone)
  if (!quiet) ref_price_ = bar.open;
  // The idle step (idle_): the venue's open and the flat position's mark are
  // held back while the close is one such a mark only stores (positive and
  // finite). Another close ends it: this bar's open and mark below then
  // write every field it held back (a flat mark's version test reads only
  // the stored price's sign, positive either way).
  // (idle_ is read again below, after the indicators' possible call, rather
  // than kept in a local: a local would keep a callee-saved register of
  // batch_step() for the whole step; nothing between changes it)
  if (quiet && idle_) [[likely]] {
    const double c = current_bar_.close;
    if (!(c > 0 && c < std::numeric_limits<double>::infinity())) [[unlikely]] {
      idle_ = false;
      ++stats_.idle_exits;
    }
  }
  // (quiet: the members read again after the calls above instead of the
  // locals, which would each keep a callee-saved register of batch_step()
  // for the whole step)
  if (quiet && idle_) [[likely]] {
  } else if (quiet && quiet_venue_ != nullptr) [[likely]] {
    sim_->on_bar_open(*quiet_venue_, instrument_.id, current_bar_, bar_index_);
  } else if (quiet && sim_ != nullptr) {
    sim_->on_bar_open(instrument_.id, current_bar_, bar_index_);
  } else {
    exec_.on_bar_open(quiet ? instrument_.id : instrument, bar, bar_index_);
  }
  indicators_.update(current_bar_);
  if (quiet) {
    if (!idle_) {
      portfolio_.mark(instrument_.id, current_bar_.close, current_bar_.low, current_bar_.high);
      quiet_mark_version_ = portfolio_.version();
    }
  } else {
    portfolio_.mark(instrument, bar.close, bar.low, bar.high);
  }
  ref_price_ = bar.close;
  // (manage_orders_on_bar's own early return, checked here without the call)
  if (!quiet &&
      (risk_ != nullptr || (state_ == RunnerState::InTrade && !(max_bars_ <= 0 && breakeven_distance_ <= 0))))
    manage_orders_on_bar(bar);
}

// One bar, step by step: open, order notices, the strategy's callbacks (each
// state's at most once; a transition runs the new state's callback on the same
// bar), notices, close, notices, the observers' end of bar. The same sequence
// for on_bar() (callbacks called by the host one at a time) and run() (called
// from the prelude's loop; parts that run Lua are handed back to the host).
// Written as straight-line code that enters at step_ and records step_ only
// where it returns: a quiet bar (no notices, no action) passes every step
// without a dispatch (docs/performance.md, "Profile-driven changes").
template <bool in_batch>
[[gnu::always_inline]] inline int SymbolRunner::advance(int result) {
  switch (step_) {
    case Step::Idle:
      return kBarDone;
    case Step::Begin:
      goto begin;
    case Step::Notices1:
      goto notices1;
    case Step::StrategyBegin:
      goto strategy_begin;
    case Step::Strategy:
      goto strategy;
    case Step::Result:
      goto result_step;
    case Step::Notices2:
      goto notices2;
    case Step::Close:
      goto close;
    case Step::Notices3:
      goto notices3;
    case Step::End:
      goto end;
    case Step::ExportCtx:
      goto export_ctx;
  }
  return kBarDone;

begin:
  if (reload_flag_.load(std::memory_order_relaxed)) {  // between bars only
    if (in_batch) {
      step_ = Step::Begin;
      return kNeedHost;
    }
    apply_pending_reload();
  }
  begin_bar<false>();
notices1:
  if (!notices_.empty() && !take_notices(in_batch)) {
    step_ = Step::Notices1;
    return kNeedHost;
  }
strategy_begin:
  if (state_ == RunnerState::Faulted) goto notices2;
  if (state_ == RunnerState::CloseWatch && config_.closewatch_timeout_bars > 0 &&
      bar_index_ - state_since_bar_ >= config_.closewatch_timeout_bars) {
    // (Out of line, as before transition() was inline: a rare step, and the
    // batch step's code stays as it was.)
    transition_observed(RunnerEvent::CloseWatchTimeout,
                        fmt::format("no commitment within {} bars", config_.closewatch_timeout_bars), nullptr);
  }
  ran_[0] = ran_[1] = ran_[2] = false;
strategy:
  {
    const auto cb_index = static_cast<std::size_t>(state_);
    if (state_ == RunnerState::Faulted || ran_[cb_index]) goto notices2;
    ran_[cb_index] = true;
    write_frame(current_bar_);
    ++stats_.callbacks;
    ++stats_.callback_calls[cb_index];
    step_ = Step::Result;
    return static_cast<int>(cb_index) + 1;
  }
result_step:
  if (result < 0) {
    callback_failed();
    goto notices2;
  }
  consecutive_errors_ = 0;
  // kActNone (nothing asked, the common case) needs no handling.
  if (result != script::kActNone && handle_action(result)) goto strategy;
notices2:
  if (!notices_.empty() && !take_notices(in_batch)) {
    step_ = Step::Notices2;
    return kNeedHost;
  }
close:
  exec_.on_bar_close(instrument_.id, current_bar_, bar_index_);
  {
    const double c = current_bar_.close;
    portfolio_.mark(instrument_.id, c, c, c);
  }
notices3:
  if (!notices_.empty() && !take_notices(in_batch)) {
    step_ = Step::Notices3;
    return kNeedHost;
  }
end:
  if (bar_observer_) {
    if (in_batch) {
      // A quiet bar's end the observer has nothing for: no call.
      if (!observer_end_quiet()) {
        switch (bar_observer_->bar_end_in_loop(*this, current_bar_)) {
          case RunnerObserver::BarEnd::Done:
            break;
          case RunnerObserver::BarEnd::ExportCtx:
            // The prelude exports ctx and calls step again (export_ctx below).
            step_ = Step::ExportCtx;
            return script::kStepExportCtx;
          case RunnerObserver::BarEnd::Host:
            step_ = Step::End;
            return kNeedHost;
        }
      }
    } else {
      bar_observer_->on_bar_end(*this, current_bar_);
    }
  }
  if (in_batch) {
    quiet_ = quiet_now();
    views_.quiet_held = quiet_ && views_.valid && views_.no_orders && want_stop_ == views_.want_stop &&
                        want_target_ == views_.want_target;
    // (the bar closed at the venue and marked: nothing is held back yet)
    idle_ = quiet_ && idle_now();
    idle_from_ = bar_index_;
  }
  step_ = Step::Idle;
  return kBarDone;

export_ctx:
  // `result` is the prelude's export result. Outside a batch (the loop was
  // left in between) the host walks ctx as usual.
  if (in_batch) {
    if (!host_->accept_loop_export(result)) {
      step_ = Step::End;
      return kNeedHost;
    }
    struct Done {
      script::StrategyHost& h;
      ~Done() { h.end_loop_export(); }
    } done{*host_};
    bar_observer_->on_bar_end(*this, current_bar_);
    // As at `end`: without it quiet_ stayed false after every bar whose end
    // exported ctx (an order or a transition cleared it), and the next bar
    // left its callback through drive() instead of the quiet step.
    quiet_ = quiet_now();
    views_.quiet_held = quiet_ && views_.valid && views_.no_orders && want_stop_ == views_.want_stop &&
                        want_target_ == views_.want_target;
    idle_ = quiet_ && idle_now();  // (as at `end`: a recorded run's bars after activity end here)
    idle_from_ = bar_index_;
  } else {
    bar_observer_->on_bar_end(*this, current_bar_);
  }
  step_ = Step::Idle;
  return kBarDone;
}

bool SymbolRunner::idle_now() const noexcept {
  // (Under quiet_, a per-bar observer tells quiet bar ends: the session
  // recorder, which reads a flat position's value and P&L, +0 at any positive
  // finite mark, and the account's versions, but never the mark itself.)
  return quiet_venue_ != nullptr && sim_->idle(*quiet_venue_) && portfolio_.flat_marked(instrument_.id);
}

void SymbolRunner::leave_idle(const model::Bar& bar, bool closed) {
  idle_ = false;
  ++stats_.idle_exits;
  sim_->record_open(*quiet_venue_, bar, bar_index_);
  if (closed) exec::SimulatedExchange::idle_close(*quiet_venue_, bar.close);
  portfolio_.mark(instrument_.id, bar.close, bar.low, bar.high);
}

void SymbolRunner::leave_idle_between() {
  if (bar_index_ == idle_from_) {
    // No bar begun since the stretch began at this bar's end: its open, close
    // and mark were all written (recording the open again would give back
    // the capacity a fill on this bar used).
    idle_ = false;
    ++stats_.idle_exits;
    return;
  }
  // Only the fields record_open and the mark read.
  const te_bar& f = host_->frame().bar;
  model::Bar bar;
  bar.open = f.open;
  bar.high = f.high;
  bar.low = f.low;
  bar.close = f.close;
  bar.volume = f.volume;
  leave_idle(bar, true);
}

bool SymbolRunner::quiet_now() const noexcept {
  // (as advance() tests them: manage_orders_on_bar's condition, the CloseWatch timeout)
  const bool state_quiet =
      state_ == RunnerState::Watch ||
      (state_ == RunnerState::InTrade && max_bars_ <= 0 && breakeven_distance_ <= 0) ||
      (state_ == RunnerState::CloseWatch && config_.closewatch_timeout_bars <= 0);
  // A per-bar observer that can tell a quiet bar's end (a session recorder)
  // gets its on_bar and that test in the quiet step too.
  return state_quiet && (bar_observer_ == nullptr || quiet_end_ != nullptr) && risk_ == nullptr &&
         notices_.empty() && entry_orders_.empty() &&
         exit_orders_.empty() && stop_order_ == 0 && target_order_ == 0 &&
         !reload_flag_.load(std::memory_order_relaxed);
}

// A quiet bar's callback asked for nothing (kActNone): the rest of advance()'s
// steps for it (close, mark) and for the next bar up to its callback (open,
// indicators, mark, frame), without the tests quiet_ answers: with no orders
// of this runner working no execution event can come (no notices), and no
// observer, risk engine, order management or timeout has a step. An event
// that does come clears quiet_, and the bar goes on in advance() from the
// step where it would have been seen. Returns the callback to run, kFeedDone,
// or 0: go on in drive() from step_ (also for a reload request).
[[gnu::always_inline]] inline int SymbolRunner::quiet_bar() {
  consecutive_errors_ = 0;
  // The idle step: the close's record at the venue and its mark are held
  // back with the open's (begin_bar).
  if (!idle_) {
    // The bar's start marked the position at this close already (begin_bar).
    // While nothing in the account moved since (its version, taken after that
    // mark by the quiet step; versions only grow, so an older stamp that
    // still holds says the same) and the close lies in the bar's range, this
    // mark would change nothing: the price is the same, and an open trade's
    // MAE/MFE already include the range's ends, between which the close's
    // excursion lies. Its version bump is not needed either: every reader
    // compares the version across a bar's start, whose mark moved it (an open
    // position; a flat one moves it only for a price <= 0 or NaN, which moves
    // it at the start too).
    //
    // Anything else (the mark needed, orders of other runners working at the
    // venue, no simulated venue) goes on in advance() from `close:`, which
    // closes the bar at the exchange and marks it as every full-path bar
    // does: this part then makes no call, and only `this` lives across the
    // feed's call below (the registers batch_step() saves).
    const double c = current_bar_.close;
    if (portfolio_.version() != quiet_mark_version_ || !(current_bar_.low <= c && c <= current_bar_.high) ||
        quiet_venue_ == nullptr) [[unlikely]] {
      step_ = Step::Close;
      return 0;
    }
    if (!exec::SimulatedExchange::idle_close(*quiet_venue_, c)) [[unlikely]] {
      step_ = Step::Close;
      return 0;
    }
  }
  if (!quiet_) [[unlikely]] {
    if (idle_) leave_idle(current_bar_, true);
    step_ = Step::Notices3;
    return 0;
  }
  // The observer's end of bar, as advance()'s `end:` has it: nothing to do
  // for a quiet one, else the bar ends there (a ctx export, a state). Only
  // `busy` is tested here: a callback that created an indicator cleared
  // quiet_ (RunnerIndicators::clear_on_create), so this bar left above and
  // ends on the full path, which compares the indicator counts.
  if (quiet_end_ != nullptr && quiet_end_->busy != 0) [[unlikely]] {
    step_ = Step::End;
    return 0;
  }
  if (!feed_->after_bar_then_next(current_bar_)) [[unlikely]] {
    step_ = Step::Idle;
    feed_stop_ = true;
    return kFeedDone;
  }
  step_ = Step::Begin;
  if (!quiet_ || reload_flag_.load(std::memory_order_relaxed)) [[unlikely]] {
    if (state_ == RunnerState::Faulted) {  // (as drive(): a Faulted runner reads no more bars)
      step_ = Step::Idle;
      feed_stop_ = true;
      return kFeedDone;
    }
    return 0;
  }
  return quiet_begin();
}

// A bar's start up to its callback while quiet_ holds (step_ is Begin, no
// reload asked): what advance() does from `begin:` with the tests quiet_
// answers left out. quiet_bar() ends with it, and so does a bar of the batch
// loop that ended on the full path with quiet_ set again (quiet_now()): the
// bar after a refused entry (ema_cross: ~60,000 per 1M bars) or after any
// other action that left nothing working. Returns the callback to run, or 0
// (an event during the start cleared quiet_: go on in advance() from
// Notices1).
[[gnu::always_inline]] inline int SymbolRunner::quiet_begin() {
  begin_bar<true>();
  if (!quiet_) [[unlikely]] {
    if (idle_) leave_idle(current_bar_, false);
    step_ = Step::Notices1;
    return 0;
  }
  ++stats_.quiet_bars;
  ran_[0] = ran_[1] = ran_[2] = false;
  {
    // (counted before the frame write, whose rewrite of moved views is a
    // call: the index then needs no register across it)
    const auto cb_index = static_cast<std::size_t>(state_);
    ran_[cb_index] = true;
    ++stats_.callbacks;
    ++stats_.callback_calls[cb_index];
  }
  write_frame_as<true>(current_bar_);
  step_ = Step::Result;
  return static_cast<int>(state_) + 1;
}

// Order notices waiting at a safe point of the bar: told to the strategy, or
// dropped when it defines no notice callback. False when they must be told
// and `in_batch` (that runs Lua: the bar goes back to the host).
bool SymbolRunner::take_notices(bool in_batch) {
  if (!host_->may_notify()) {
    notices_.clear();  // nobody to tell (deliver_order_notices would skip each one)
    return true;
  }
  if (in_batch) return false;
  deliver_order_notices();
  return true;
}

// What the callback just run asked for (its ActionKind).
bool SymbolRunner::handle_action(int kind) {
  const auto cb = static_cast<script::Callback>(static_cast<int>(state_) + 1);
  const te_action& a = host_->action();
  const model::Bar& bar = current_bar_;
  if (kind == script::kActNone) {
    // Nothing asked: the common case, no strings built.
    return false;
  }
  // The frame's text: it stays put until the next callback, and no Lua runs
  // while the action is handled.
  const std::string_view reason = host_->action_reason();
  if (action_observer_) action_observer_->on_action(*this, cb, kind, a, reason);
  switch (state_) {
    case RunnerState::Watch:
      if (kind != script::kActSetup) return false;
      transition(RunnerEvent::SetupFound, reason_or(reason, "setup found"));
      return true;
    case RunnerState::CloseWatch:
      if (kind == script::kActAbandon) {
        transition(RunnerEvent::Abandoned, "abandoned by filter_commitment");
        return true;
      }
      if (kind == script::kActEnterLong || kind == script::kActEnterShort) {
        enter(a, bar, kind == script::kActEnterLong);
        return true;
      }
      return false;
    case RunnerState::InTrade:
      if (kind == script::kActExit) {
        exit_action(a);
      } else if (kind == script::kActAdjust) {
        adjust(a);
      } else if (kind == script::kActEnterLong || kind == script::kActEnterShort) {
        enter(a, bar, kind == script::kActEnterLong);  // adds to the position (pyramiding)
      } else if (kind == script::kActCancelEntry) {
        cancel_entries(std::string(reason_or(reason, "entry cancelled by the strategy")));
      }
      return false;
    case RunnerState::Faulted:
      return false;
  }
  return false;
}

bool SymbolRunner::batch_usable() const noexcept {
  return host_->has_vm() && state_ != RunnerState::Faulted;
}

// Moves through the feed's bars from where step_ is: returns a callback to
// run, kNeedHost (in a batch), or kFeedDone. Outside a batch it returns
// kBarDone after each bar, so the host can try the batch loop again.
template <bool in_batch>
[[gnu::always_inline]] inline int SymbolRunner::drive(int result) {
  for (;;) {
    if (step_ == Step::Idle) {
      if (feed_stop_ || state_ == RunnerState::Faulted || !feed_->next(current_bar_)) {
        feed_stop_ = true;
        return kFeedDone;
      }
      step_ = Step::Begin;
    }
    const int cb = advance<in_batch>(result);
    result = 0;
    if (cb != kBarDone) return cb;
    if (in_batch && state_ != RunnerState::Faulted) {
      // On to the next bar in one call to the feed (a Faulted runner reads none).
      if (!feed_->after_bar_then_next(current_bar_) || state_ == RunnerState::Faulted) {
        feed_stop_ = true;
        return kFeedDone;
      }
      step_ = Step::Begin;
      // The bar ended with nothing working (advance()'s `end:` set quiet_):
      // this one starts as the quiet step starts it.
      if (quiet_ && !reload_flag_.load(std::memory_order_relaxed)) {
        const int q = quiet_begin();
        if (q != 0) return q;
      }
      continue;
    }
    if (!feed_->after_bar(current_bar_) || state_ == RunnerState::Faulted) {
      feed_stop_ = true;
      return kFeedDone;
    }
    if (!in_batch) return kBarDone;
  }
}

std::int32_t SymbolRunner::batch_step(void* self, std::int32_t result) noexcept {
  auto* r = static_cast<SymbolRunner*>(self);
  try {
    if (r->step_ == Step::Result) {
      r->host_->end_callback();
      // Most bars: hot, not the exceptional path GCC's branch guesses take it
      // for (it laid the quiet step out cold: a division instead of a
      // multiply, jumps between blocks).
      if (result == script::kActNone && r->quiet_) [[likely]] {
        const int code = r->quiet_bar();
        if (code > 0) [[likely]] {
          r->host_->begin_callback(static_cast<script::Callback>(code));
          return code;
        }
        if (code != 0) return code;
        result = 0;  // (the callback's result is taken: drive() goes on from step_)
      }
    }
    return r->batch_drive(result);
  } catch (...) {
    // Never across the FFI frame: rethrown by run() once the loop has returned.
    r->step_error_ = std::current_exception();
    return kStepThrew;
  }
}

// batch_step()'s full path, out of line: batch_step() then holds only the
// quiet step, which saves fewer registers (docs/performance.md, session 21).
int SymbolRunner::batch_drive(int result) {
  // Out of the quiet step: the full path may read what the idle step held
  // back. At Result the bar's callback ran (the bar open, not closed); else
  // (Begin) the step is between bars.
  if (idle_) [[unlikely]] {
    if (step_ == Step::Result) leave_idle(current_bar_, false);
    else leave_idle_between();
  }
  const int code = drive<true>(result);
  if (code > 0 && code != script::kStepExportCtx) host_->begin_callback(static_cast<script::Callback>(code));
  return code;
}

void SymbolRunner::run(BarFeed& feed) {
  // (null until the exchange has the instrument: set_instrument() before a run, or its first bar)
  if (sim_ != nullptr) quiet_venue_ = sim_->venue_if(instrument_.id);
  feed_ = &feed;
  feed_stop_ = false;
  step_ = Step::Idle;
  struct Reset {
    SymbolRunner& r;
    ~Reset() {
      r.feed_ = nullptr;
      // (the loop ends between bars: the end of the feed, a fault, or an
      // exception, which ends the run with an error)
      if (r.idle_) r.leave_idle_between();
    }
  } reset{*this};
  for (;;) {
    int result = 0;
    if (batch_usable()) {
      ++stats_.host_entries;
      const int code = host_->run_batch(&SymbolRunner::batch_step, this);
      if (step_error_) {
        auto e = step_error_;
        step_error_ = nullptr;
        std::rethrow_exception(e);
      }
      if (code == kFeedDone) return;
      // A callback raised (its result is an error), or the bar needs the host.
      result = code == script::StrategyHost::kBatchFailed ? -1 : 0;
    }
    // The current bar (or the next one) outside the loop, then try again.
    for (;;) {
      const int cb = drive<false>(result);
      if (cb == kFeedDone) return;
      if (cb == kBarDone) break;
      ++stats_.host_entries;
      result = host_->call(static_cast<script::Callback>(cb));
    }
  }
}

void SymbolRunner::write_frame(const model::Bar& bar) { write_frame_as<false>(bar); }

template <bool quiet>
[[gnu::always_inline]] inline void SymbolRunner::write_frame_as(const model::Bar& bar) {
  te_frame& f = host_->frame();
  script::copy_bar(bar, f.bar);
  f.bar_index = static_cast<double>(bar_index_);
  f.state = static_cast<std::int32_t>(state_);
  f.bars_in_state = static_cast<std::int32_t>(bar_index_ - state_since_bar_);
  f.phase = 1;
  // The position and account views change only through fills and marks of
  // open positions (the account's version): while neither moved since the
  // last write, the frame holds them; in a position, while only marks moved
  // (the account's book version is unchanged), only the fields that follow
  // the mark are rewritten. The order fields change only through this
  // runner's orders and its trade plan, so they are written apart: an entry
  // order working for a bar (most entries of most strategies, refused or
  // filled at the next open) rewrites them, not the account's.
  const std::uint64_t version = portfolio_.version();
  // The quiet step: the rest of the test below was answered where quiet_
  // was set (ViewsStamp::quiet_held).
  if (quiet && views_.quiet_held && version == views_.version) [[likely]] return;
  const bool no_orders =
      quiet || (stop_order_ == 0 && target_order_ == 0 && entry_orders_.empty() && exit_orders_.empty());
  const bool orders_held =
      no_orders && views_.no_orders && want_stop_ == views_.want_stop && want_target_ == views_.want_target;
  if (orders_held && views_.valid && version == views_.version) return;  // most bars: flat, nothing moved
  write_moved_views(f, no_orders, orders_held, version);
  // After the quiet step's rewrite the order views hold (none working, the
  // plan stamped): only the account's part can lapse.
  if (quiet) views_.quiet_held = views_.valid;
}

void SymbolRunner::write_moved_views(te_frame& f, bool no_orders, bool orders_held, std::uint64_t version) {
  ++stats_.view_writes;
  views_.quiet_held = false;  // (the quiet step sets it again after its own rewrite)
  if (!views_.valid || version != views_.version) {
    const std::uint64_t book = portfolio_.book_version();
    if (views_.marks_only && book == views_.book) {
      write_marks(f);
    } else {
      write_views(f);
      const bool flat = portfolio_.open_trade(instrument_.id) == nullptr;
      views_.valid = flat;
      views_.marks_only = !flat;
      views_.book = book;
    }
    views_.version = version;
  }
  if (!orders_held) {
    write_order_views(f);
    views_.no_orders = no_orders;
    views_.want_stop = want_stop_;
    views_.want_target = want_target_;
  }
}

// The fields of write_views() that move with a mark (and the bar): the same
// expressions, so the same bits. The rest of the views is as last written.
void SymbolRunner::write_marks(te_frame& f) const {
  const portfolio::Position& p = portfolio_.position(instrument_.id);
  const portfolio::Trade* t = portfolio_.open_trade(instrument_.id);
  f.pos.unrealized_pnl = p.unrealized();
  f.pos.bars_held = t ? static_cast<double>(bar_index_ - t->entry_bar) : 0.0;
  f.acct.position_value = portfolio_.position_value();
  f.acct.equity = f.acct.cash + f.acct.position_value;
}

void SymbolRunner::write_views(te_frame& f) const {
  const portfolio::Position& p = portfolio_.position(instrument_.id);
  const portfolio::Trade* t = portfolio_.open_trade(instrument_.id);
  f.pos.qty = p.qty;
  f.pos.avg_price = p.avg_price;
  f.pos.unrealized_pnl = p.unrealized();
  f.pos.realized_pnl = t ? t->pnl_gross : 0.0;
  f.pos.entry_time_ms = t ? static_cast<double>(t->entry_ts_ns / kNsPerMs) : 0.0;
  f.pos.bars_held = t ? static_cast<double>(bar_index_ - t->entry_bar) : 0.0;

  f.acct.cash = portfolio_.cash();
  f.acct.position_value = portfolio_.position_value();
  f.acct.equity = f.acct.cash + f.acct.position_value;
  f.acct.initial_cash = portfolio_.initial_cash();
  f.acct.commission_paid = portfolio_.commission_paid();
  f.acct.realized_pnl = portfolio_.realized_pnl();
  f.acct.trades = static_cast<double>(portfolio_.closed_trades());
}

void SymbolRunner::write_order_views(te_frame& f) const {
  const model::Order* stop = stop_order_ ? exec_.find(stop_order_) : nullptr;
  const model::Order* target = target_order_ ? exec_.find(target_order_) : nullptr;
  f.pos.stop = stop ? stop->stop_price : (want_stop_ > 0 ? want_stop_ : kNaN);
  f.pos.target = target ? target->limit_price : (want_target_ > 0 ? want_target_ : kNaN);
  double pending_entry = 0, pending_exit = 0;
  for (auto id : entry_orders_)
    if (const model::Order* o = exec_.find(id)) pending_entry += o->remaining();
  for (auto id : exit_orders_)
    if (const model::Order* o = exec_.find(id)) pending_exit += o->remaining();
  f.pos.pending_entry = pending_entry;
  f.pos.pending_exit = pending_exit;
}

// Most transitions: nobody reads reasons as strings (no kept list, no
// observer that does), not a fault, not reported from inside another: no
// reason copied and no nested report made, so none of transition_any's frame
// (ema_cross: three per refused entry, ~196,000 per 1M bars). An observer
// that reads reasons as views only (a session recorder) is handed the reason
// and the refusal here (transition_any's frame was ≈ 110 instructions per
// transition of a recorded run against ≈ 45 here); with no observer at all,
// transition() (symbol_runner.hpp) does it inline.
void SymbolRunner::transition_observed(RunnerEvent event, std::string_view reason, const model::Rejection* refusal) {
  const int next = kLeanNext[static_cast<std::size_t>(state_)][static_cast<std::size_t>(event)];
  // (A fault and an illegal transition are transition_any's: -1 in the table.
  // transition_reason_strings_ holds whenever transitions are kept.)
  if (next < 0 || transition_reason_strings_ || in_transition_) [[unlikely]] {
    transition_any(event, reason, refusal);
    return;
  }
  quiet_ = false;
  const RunnerState from = state_;
  state_ = static_cast<RunnerState>(next);
  state_since_bar_ = bar_index_;
  ++stats_.transitions;
  if (transition_observer_) {
    // transition_ is read only by the observer, during the call (transition_any
    // fills every field again): without one it is not written.
    Transition& t = transition_;
    t.bar_index = bar_index_;
    t.ts_ns = last_ts_ns_;
    t.from = from;
    t.to = static_cast<RunnerState>(next);
    t.event = event;
    if (!t.reason.empty()) t.reason.clear();  // (a fault's, which transition_any keeps)
    // (As transition_any: the reason and refusal only for whoever reads
    // reasons, and only during the call.)
    const bool reasons = transition_reasons_;
    if (reasons) {
      t.reason_view = reason;
      t.refusal = refusal;
    }
    in_transition_ = true;
    transition_observer_->on_transition(*this, t);
    in_transition_ = false;
    if (reasons) {
      t.refusal = nullptr;
      t.reason_view = {};
    }
  }
  // (Faulted, the other state kept without keep_transitions, comes by Fault only.)
  if (state_ == RunnerState::Watch) back_in_watch();
}

void SymbolRunner::transition_any(RunnerEvent event, std::string_view reason, const model::Rejection* refusal) {
  quiet_ = false;
  const auto next = next_state(state_, event);
  TE_ASSERT(next.has_value(), "illegal runner transition %s --%s-->", std::string(to_string(state_)).c_str(),
            std::string(to_string(event)).c_str());
  // Observers only read it during the call; a transition reported from
  // inside one (none does today) gets its own.
  std::optional<Transition> nested;  // (made only when needed)
  Transition& t = in_transition_ ? nested.emplace() : transition_;
  in_transition_ = true;
  t.bar_index = bar_index_;
  t.ts_ns = last_ts_ns_;
  t.from = state_;
  t.to = *next;
  t.event = event;
  // Nobody reads the reason (no kept list, no observer that does): not copied.
  // A fault's is kept with the transition whatever the configuration.
  if (transition_reasons_ || event == RunnerEvent::Fault) {
    t.reason_view = reason;
    // (A string only for whoever keeps or reads one: the kept list, a fault's.)
    if (transition_reason_strings_ || event == RunnerEvent::Fault) {
      t.reason.assign(reason.data(), reason.size());
    } else if (!t.reason.empty()) {
      t.reason.clear();
    }
    t.refusal = refusal;
  } else {
    t.reason_view = {};
    t.reason.clear();
    t.refusal = nullptr;
  }
  state_ = *next;
  state_since_bar_ = bar_index_;
  ++stats_.transitions;
  if (transition_observer_) transition_observer_->on_transition(*this, t);
  in_transition_ = &t != &transition_;
  if (config_.keep_transitions || state_ == RunnerState::Faulted) {
    Transition& kept = transitions_.emplace_back(t);
    if (kept.refusal != nullptr) kept.reason.append(kept.refusal->text());
    kept.refusal = nullptr;
    kept.reason_view = {};
  }
  t.refusal = nullptr;  // (read during the call only)
  t.reason_view = {};
  if (state_ == RunnerState::Watch) back_in_watch();
}

void SymbolRunner::fault(const script::StrategyError& error) {
  fault_ = error;
  if (observer_) observer_->on_fault(*this, error);
  cancel_orders(entry_orders_);
  if (config_.flatten_on_fault) {
    exit_position("strategy fault", model::OrderPurpose::Exit);
  } else {
    cancel_protection();
  }
  transition(RunnerEvent::Fault, error.message);
}

void Router::add(SymbolRunner& runner) {
  const auto id = runner.config().id;
  if (id >= runners_.size()) runners_.resize(id + 1, nullptr);
  TE_ASSERT(runners_[id] == nullptr, "two runners with id %u", id);
  runners_[id] = &runner;
}

}  // namespace te::runner
