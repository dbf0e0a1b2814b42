// SymbolRunner's order handling: turning a strategy's actions into orders
// (sizing, rounding, risk checks), bracket exits as one-cancels-other pairs,
// trailing stops, breakeven moves, timeouts, partial exits, pyramiding, the
// kill switch and StormGuard flattening, and execution events back into the
// state machine and the strategy's on_fill / on_order_rejected callbacks.
// docs/execution.md and docs/risk.md describe the behaviour.
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/compile.h>
#include <fmt/core.h>
#include <fmt/format.h>

#include "engine/core/fmt_short.hpp"
#include "engine/core/time.hpp"
#include "engine/exec/instrument_rules.hpp"
#include "engine/exec/reject_codes.hpp"
#include "engine/runner/symbol_runner.hpp"

namespace te::runner {
namespace {

using model::OrderPurpose;
using model::OrderType;
using model::Side;

bool working(const exec::ExecutionEngine& exec, model::OrderId id) {
  const model::Order* o = id ? exec.find(id) : nullptr;
  return o != nullptr && !model::is_terminal(o->status);
}

void prune(std::vector<model::OrderId>& ids, const exec::ExecutionEngine& exec) {
  ids.erase(std::remove_if(ids.begin(), ids.end(), [&](model::OrderId id) { return !working(exec, id); }), ids.end());
}

std::string_view reason_or(std::string_view reason, std::string_view fallback) {
  return reason.empty() ? fallback : reason;
}

bool given(double v) noexcept { return v == v; }  // NaN = not given

model::TimeInForce tif_of(const te_action& a) noexcept {
  switch (a.tif) {
    case 1: return model::TimeInForce::IOC;
    case 2: return model::TimeInForce::FOK;
    case 3: return model::TimeInForce::Day;
    case 4: return model::TimeInForce::GoodForBars;
    default: return model::TimeInForce::GTC;
  }
}

}  // namespace

// ---- building orders -----------------------------------------------------------

namespace {
// Out of line and cold: formatting in entry_quantity's body gave every sized
// entry a 0xb0-byte frame and five saved registers for this rare text.
[[gnu::cold, gnu::noinline]] void risk_sizing_refused(std::string& why, double ref, double stop) {
  fmt::format_to(std::back_inserter(why), "risk sizing needs a stop away from the price {}, stop was {}", ref, stop);
}
}  // namespace

// Inline into enter(), its one caller: a call of its own cost a frame and
// saved registers on every entry attempt (ema_cross: ~65,000 per 1M bars).
[[gnu::always_inline]] inline std::optional<double> SymbolRunner::entry_quantity(const te_action& a,
                                                                                 const model::Bar& bar,
                                                                                 std::string& why,
                                                                                 model::RefusalFacts& facts) const {
  const double equity = portfolio_.equity();
  // Size against the price the order is expected to fill at.
  double ref = bar.close;
  if (a.order_type == 1 && given(a.limit)) ref = a.limit;
  if ((a.order_type == 2 || a.order_type == 3) && given(a.stop_trigger)) ref = a.stop_trigger;
  double q = 0;
  if (given(a.qty)) {
    q = a.qty;
  } else if (given(a.fraction)) {
    q = a.fraction * equity / ref;
  } else if (given(a.risk)) {
    double distance = 0;
    if (given(a.stop)) distance = std::fabs(ref - a.stop);
    else if (given(a.trail)) distance = a.trail;
    else if (given(a.trail_pct)) distance = a.trail_pct * ref;
    if (!(distance > 0)) {
      risk_sizing_refused(why, ref, a.stop);
      return std::nullopt;
    }
    q = a.risk * equity / distance;
  }
  const double lot = instrument_.lot_size;
  if (lot > 0) q = exec::round_to_lot(q, lot);
  if (!(q > 0) || !std::isfinite(q)) {
    // The numbers only, the text when someone reads it: a spent account is
    // refused on every bar it tries (ema_cross: ~60,000 times per 1M bars).
    if (lot > 0) {
      facts.kind = model::RefusalFacts::Kind::BelowLot;
      facts.v[0] = lot;
      facts.v[1] = equity;
      facts.v[2] = ref;
    } else {
      facts.kind = model::RefusalFacts::Kind::NotPositive;
      facts.v[0] = equity;
      facts.v[1] = ref;
    }
    return std::nullopt;
  }
  return q;
}

model::Order SymbolRunner::make_order(Side side, double qty, OrderPurpose purpose, std::string tag) const {
  model::Order o;
  o.instrument = instrument_.id;
  o.runner = config_.id;
  o.strategy = config_.strategy_id;
  o.side = side;
  o.type = OrderType::Market;
  o.qty = qty;
  o.purpose = purpose;
  o.reduce_only = purpose != OrderPurpose::Entry;
  o.submitted_ns = last_ts_ns_;
  o.submitted_bar = bar_index_;
  o.tag = std::move(tag);
  return o;
}

model::OrderId SymbolRunner::submit(model::Order&& order, double planned_stop) {
  quiet_ = false;  // an order goes out (or a refusal is told): the next bars are not quiet
  if (risk_) {
    const risk::Decision d = risk_->check(order, instrument_, ref_price_, planned_stop, last_ts_ns_, this);
    if (observer_) observer_->on_risk_decision(*this, d);
    if (!d.approved) {
      ++stats_.risk_rejections;
      last_denial_.code = d.code;
      last_denial_.message = d.message;
      queue_rejection_notice(order, d.code, d.message, "risk");
      return 0;
    }
    order.qty = d.approved_qty;
  }
  ++stats_.orders;
  const OrderPurpose purpose = order.purpose;
  const OrderType type = order.type;
  const model::OrderId id = exec_.submit(std::move(order));
  if (!working(exec_, id)) return id;  // rejected at once (on_rejected has run)
  if (purpose == OrderPurpose::Entry) {
    entry_orders_.push_back(id);
  } else if ((purpose == OrderPurpose::StopLoss || purpose == OrderPurpose::Trailing) && type != OrderType::Market) {
    stop_order_ = id;
  } else if (purpose == OrderPurpose::TakeProfit && type != OrderType::Market) {
    target_order_ = id;
  } else {
    exit_orders_.push_back(id);
  }
  return id;
}

void SymbolRunner::queue_rejection_notice(const model::Order& order, std::string_view code, std::string_view message,
                                          std::string_view source) {
  // Nobody to tell (take_notices would drop it): no copy of the order and its texts.
  if (!host_->may_notify()) return;
  quiet_ = false;
  PendingNotice n;
  n.kind = script::OrderNotice::Kind::Rejected;
  n.order = order;
  n.code = code;
  n.message = message;
  n.source = source;
  notices_.push_back(std::move(n));
}

void SymbolRunner::reject_intent(const char* code, std::string_view message, const model::RefusalFacts& facts,
                                 Side side, double qty, std::string_view source) {
  ++stats_.rejections;
  // Reused: its strings keep their capacity (a strategy whose entries cannot be
  // sized is refused on every bar it tries).
  model::Rejection& r = rejection_;
  r.order = 0;
  r.runner = config_.id;
  r.strategy = config_.strategy_id;
  // Codes are literals (exec/reject_codes.hpp): the same pointer, the same text.
  if (code != rejection_code_) {
    r.code = code;
    rejection_code_ = code;
  }
  r.set_reason(message, facts);
  r.ts_ns = last_ts_ns_;
  r.bar_index = bar_index_;
  to_order_observers([&](RunnerObserver& o) { o.on_rejected(*this, r); });
  if (!host_->may_notify()) return;  // the notice's order would be dropped unread
  model::Order o = make_order(side, qty, OrderPurpose::Entry, std::string(host_->action_reason()));
  queue_rejection_notice(o, code, r.text(), source);
}

// ---- strategy actions ----------------------------------------------------------

void SymbolRunner::enter(const te_action& a, const model::Bar& bar, bool is_long) {
  const std::string_view reason = host_->action_reason();  // the frame's text (no Lua runs here)
  const bool adding = state_ == RunnerState::InTrade;
  const Side side = is_long ? Side::Buy : Side::Sell;
  if (!adding) transition(RunnerEvent::EntrySubmitted, reason_or(reason, is_long ? "enter long" : "enter short"));
  static constexpr model::RefusalFacts no_facts{};
  auto refuse = [&](const char* code, std::string_view why, double qty, const model::RefusalFacts& facts) {
    reject_intent(code, why, facts, side, qty, "runner");
    if (adding) return;
    note_.clear();
    if (transition_reasons_) note_.append("entry not sent: ");  // else nobody reads it
    transition(RunnerEvent::EntryFailed, note_, &rejection_);  // (the text: Transition::refusal)
  };
  if (!is_long && !config_.allow_short) return refuse(exec::codes::kShortNotAllowed, "short entries are disabled", 0, no_facts);
  if (adding) {
    // (Read only here: a first entry does not look at the position.)
    const double held = portfolio_.position(instrument_.id).qty;
    if (held != 0 && (held > 0) != is_long)
      return refuse(exec::codes::kOppositePosition,
                    fmt::format("an entry against the open {} position; exit first", held > 0 ? "long" : "short"), 0,
                    no_facts);
    if (entries_in_trade_ >= config_.pyramiding)
      return refuse(exec::codes::kPyramidingLimit,
                    fmt::format("{} entries already in this trade (pyramiding = {})", entries_in_trade_,
                                config_.pyramiding),
                    0, no_facts);
  }
  // The trade's exit plan: set by the first entry; an added entry may move it.
  const double tick = instrument_.tick_size;
  if (given(a.stop)) want_stop_ = exec::round_to_tick(a.stop, tick, exec::Rounding::Nearest);
  if (given(a.target)) want_target_ = exec::round_to_tick(a.target, tick, exec::Rounding::Nearest);
  if (given(a.trail)) {
    want_trail_ = a.trail;
    want_trail_pct_ = 0;
  }
  if (given(a.trail_pct)) {
    want_trail_pct_ = a.trail_pct;
    want_trail_ = 0;
  }
  if (given(a.breakeven)) {
    breakeven_distance_ = a.breakeven;
    breakeven_done_ = false;
  }
  if (given(a.max_bars)) max_bars_ = static_cast<std::int64_t>(a.max_bars);

  std::string& why = why_;  // reused (see reject_intent)
  why.clear();
  model::RefusalFacts facts;
  const auto qty = entry_quantity(a, bar, why, facts);
  if (!qty) return refuse(exec::codes::kInvalidQuantity, why, 0, facts);
  model::Order o = make_order(side, *qty, OrderPurpose::Entry, std::string(reason));
  o.tif = tif_of(a);
  if (o.tif == model::TimeInForce::GoodForBars) o.tif_bars = static_cast<std::int32_t>(a.tif_bars);
  switch (a.order_type) {
    case 1:
      o.type = OrderType::Limit;
      o.limit_price = exec::round_to_tick(a.limit, tick, exec::limit_rounding(side));
      break;
    case 2:
      o.type = OrderType::Stop;
      o.stop_price = exec::round_to_tick(a.stop_trigger, tick, exec::stop_rounding(side));
      break;
    case 3:
      o.type = OrderType::StopLimit;
      o.stop_price = exec::round_to_tick(a.stop_trigger, tick, exec::stop_rounding(side));
      o.limit_price = exec::round_to_tick(a.limit, tick, exec::limit_rounding(side));
      break;
    default: break;
  }
  double planned_stop = want_stop_;
  if (!(planned_stop > 0)) {
    const double ref = o.type == OrderType::Limit ? o.limit_price : o.type == OrderType::Market ? bar.close : o.stop_price;
    const double d = want_trail_ > 0 ? want_trail_ : want_trail_pct_ * ref;
    if (d > 0) planned_stop = is_long ? ref - d : ref + d;
  }
  const model::OrderId id = submit(std::move(o), planned_stop);
  if (id == 0) {  // denied by the risk engine
    if (!adding) transition(RunnerEvent::EntryFailed, fmt::format("entry denied by risk ({}): {}", last_denial_.code,
                                                                  last_denial_.message));
    return;
  }
  ++entries_in_trade_;
  if (oco_group_ == 0) oco_group_ = id;
}

// Callbacks of cancel() edit the id lists: iterate over a copy. With latency a
// cancel takes effect later, so ids stay tracked until their orders finish.
void SymbolRunner::cancel_orders(std::vector<model::OrderId>& ids) {
  if (ids.empty()) return;
  const std::vector<model::OrderId> copy = ids;
  for (auto id : copy) exec_.cancel(id);
  prune(ids, exec_);
}

void SymbolRunner::cancel_entries(std::string reason) {
  cancel_orders(entry_orders_);
  if (state_ == RunnerState::InTrade && entry_orders_.empty() && portfolio_.position(instrument_.id).qty == 0)
    transition(RunnerEvent::EntryFailed, std::move(reason));
}

void SymbolRunner::exit_position(std::string reason, OrderPurpose purpose) {
  cancel_orders(entry_orders_);
  cancel_protection();
  cancel_orders(exit_orders_);
  const double q = portfolio_.position(instrument_.id).qty;
  if (q != 0) {
    submit(make_order(q > 0 ? Side::Sell : Side::Buy, std::fabs(q), purpose, std::move(reason)));
  } else if (state_ == RunnerState::InTrade && entry_orders_.empty()) {
    transition(RunnerEvent::EntryFailed, "entry cancelled before it filled: " + reason);
  }
}

void SymbolRunner::exit_action(const te_action& a) {
  const std::string_view reason = reason_or(host_->action_reason(), "exit signal");
  const double held = portfolio_.position(instrument_.id).qty;
  const bool partial = given(a.qty) || (given(a.fraction) && a.fraction < 1);
  const bool limit = given(a.limit);
  if (!partial && !limit) return exit_position(std::string(reason), OrderPurpose::Exit);
  const Side side = held > 0 ? Side::Sell : Side::Buy;
  if (held == 0) {
    if (partial)
      return reject_intent(exec::codes::kNoPosition, "a partial exit needs a position", {}, side, 0, "runner");
    return exit_position(std::string(reason), OrderPurpose::Exit);  // cancels a pending entry
  }
  double qty = std::fabs(held);
  if (given(a.qty)) qty = std::min(qty, a.qty);
  if (given(a.fraction)) qty = std::min(qty, a.fraction * std::fabs(held));
  if (instrument_.lot_size > 0 && qty < std::fabs(held)) qty = exec::round_to_lot(qty, instrument_.lot_size);
  if (!(qty > 0))
    return reject_intent(exec::codes::kInvalidQuantity,
                         fmt::format("exit quantity rounds to nothing (lot size {})", instrument_.lot_size), {}, side,
                         0, "runner");
  if (qty >= std::fabs(held)) {  // the whole position: entries and protection go too
    cancel_orders(entry_orders_);
  }
  model::Order o = make_order(side, qty, OrderPurpose::Exit, std::string(reason));
  o.tif = tif_of(a);
  if (o.tif == model::TimeInForce::GoodForBars) o.tif_bars = static_cast<std::int32_t>(a.tif_bars);
  if (limit) {
    o.type = OrderType::Limit;
    o.limit_price = exec::round_to_tick(a.limit, instrument_.tick_size, exec::limit_rounding(side));
  }
  submit(std::move(o));
}

void SymbolRunner::adjust(const te_action& a) {
  const double tick = instrument_.tick_size;
  const double held = portfolio_.position(instrument_.id).qty;
  // A working entry: new limit or stop-entry price.
  if (given(a.limit) || given(a.stop_trigger)) {
    for (auto id : entry_orders_) {
      const model::Order* o = exec_.find(id);
      if (!o) continue;
      exec::Amendment change;
      if (given(a.limit) && (o->type == OrderType::Limit || o->type == OrderType::StopLimit))
        change.limit_price = exec::round_to_tick(a.limit, tick, exec::limit_rounding(o->side));
      if (given(a.stop_trigger) && (o->type == OrderType::Stop || o->type == OrderType::StopLimit))
        change.stop_price = exec::round_to_tick(a.stop_trigger, tick, exec::stop_rounding(o->side));
      if (change.limit_price || change.stop_price) exec_.amend(id, change);
    }
  }
  bool stop_changed = false;
  if (given(a.stop)) {
    want_stop_ = exec::round_to_tick(a.stop, tick, exec::Rounding::Nearest);
    stop_changed = true;
  }
  if ((a.flags & script::kActFlagStopToBreakeven) && held != 0) {
    want_stop_ = exec::round_to_tick(portfolio_.position(instrument_.id).avg_price, tick, exec::Rounding::Nearest);
    stop_changed = true;
  }
  bool trail_changed = false;
  if (given(a.trail)) {
    want_trail_ = a.trail;
    want_trail_pct_ = 0;
    trail_changed = true;
  }
  if (given(a.trail_pct)) {
    want_trail_pct_ = a.trail_pct;
    want_trail_ = 0;
    trail_changed = true;
  }
  const bool target_changed = given(a.target);
  if (target_changed) want_target_ = exec::round_to_tick(a.target, tick, exec::Rounding::Nearest);
  if (held == 0) return;  // applied when the entry fills
  if (stop_changed || trail_changed) {
    const model::Order* stop = stop_order_ ? exec_.find(stop_order_) : nullptr;
    const bool trailing = want_trail_ > 0 || want_trail_pct_ > 0;
    if (stop && (stop->type == OrderType::TrailingStop) == trailing) {
      exec::Amendment change;
      if (stop_changed) change.stop_price = want_stop_;
      if (trail_changed && want_trail_ > 0) change.trail_amount = want_trail_;
      if (trail_changed && want_trail_pct_ > 0) change.trail_pct = want_trail_pct_;
      exec_.amend(stop_order_, change);
    } else {
      if (stop_order_) exec_.cancel(stop_order_);
      stop_order_ = 0;
      place_protection();
    }
  }
  if (target_changed) {
    if (target_order_ && working(exec_, target_order_)) {
      exec::Amendment change;
      change.limit_price = want_target_;
      exec_.amend(target_order_, change);
    } else {
      place_protection();
    }
  }
}

// The exit bracket: a stop (fixed or trailing) and a target, sized to the
// position and linked one-cancels-other, so a bar that fills one can never fill
// the other. Resized (amended) when the position changes.
void SymbolRunner::place_protection() {
  const double q = portfolio_.position(instrument_.id).qty;
  if (q == 0) return;
  const Side side = q > 0 ? Side::Sell : Side::Buy;
  const double qty = std::fabs(q);
  if (oco_group_ == 0) oco_group_ = (static_cast<model::OrderId>(1) << 63) | (static_cast<model::OrderId>(config_.id) << 32) |
                                    static_cast<model::OrderId>(bar_index_ & 0xffffffff);
  // An existing leg only needs its size matched: total = filled + what is held.
  auto resize = [&](model::OrderId id) {
    const model::Order* o = id ? exec_.find(id) : nullptr;
    if (!o) return false;
    const double want = o->filled_qty + qty;
    if (std::fabs(o->qty - want) > 1e-9 * std::max(1.0, want)) {
      exec::Amendment change;
      change.qty = want;
      if (!exec_.amend(id, change)) return false;
    }
    return true;
  };
  const bool trailing = want_trail_ > 0 || want_trail_pct_ > 0;
  if ((want_stop_ > 0 || trailing) && !resize(stop_order_)) {
    if (stop_order_) exec_.cancel(stop_order_);
    stop_order_ = 0;
    model::Order o = make_order(side, qty, trailing ? OrderPurpose::Trailing : OrderPurpose::StopLoss,
                                trailing ? "trailing stop" : "protective stop");
    o.type = trailing ? OrderType::TrailingStop : OrderType::Stop;
    o.stop_price = want_stop_;
    o.trail_amount = want_trail_;
    o.trail_pct = want_trail_pct_;
    o.oco_group = oco_group_;
    submit(std::move(o));
  }
  if (want_target_ > 0 && !resize(target_order_)) {
    if (target_order_) exec_.cancel(target_order_);
    target_order_ = 0;
    model::Order o = make_order(side, qty, OrderPurpose::TakeProfit, "take profit");
    o.type = OrderType::Limit;
    o.limit_price = want_target_;
    o.oco_group = oco_group_;
    submit(std::move(o));
  }
}

void SymbolRunner::cancel_protection() {
  if (stop_order_) exec_.cancel(stop_order_);
  if (target_order_) exec_.cancel(target_order_);
  stop_order_ = 0;
  target_order_ = 0;
}

void SymbolRunner::flatten(OrderPurpose purpose, std::string reason) {
  // (between bars, e.g. from a feed: the orders below read the venue)
  if (idle_) leave_idle_between();
  quiet_ = false;
  cancel_orders(entry_orders_);
  const double q = portfolio_.position(instrument_.id).qty;
  // Already on its way out for this reason: nothing more to send.
  for (auto id : exit_orders_) {
    const model::Order* o = exec_.find(id);
    if (o && o->purpose == purpose && o->type == OrderType::Market) return;
  }
  if (q == 0) {
    cancel_protection();
    if (state_ == RunnerState::InTrade && entry_orders_.empty()) transition(RunnerEvent::EntryFailed, reason);
    return;
  }
  exit_position(std::move(reason), purpose);
}

// Per bar, before the strategy runs: risk bookkeeping and its consequences,
// then the trade's automatic rules (timeout, breakeven). Cheap when idle.
void SymbolRunner::manage_orders_on_bar(const model::Bar& bar) {
  if (risk_) {
    risk_->on_bar(config_.strategy_id, instrument_.id, bar.close, bar.ts_ns, this);
    if (risk_->must_flatten(config_.strategy_id) &&
        (portfolio_.position(instrument_.id).qty != 0 || !entry_orders_.empty())) {
      const OrderPurpose p = risk_->flatten_purpose();
      flatten(p, p == OrderPurpose::KillSwitch ? "kill switch" : "StormGuard HALT");
    }
  }
  if (state_ != RunnerState::InTrade || (max_bars_ <= 0 && breakeven_distance_ <= 0)) return;
  const portfolio::Position& p = portfolio_.position(instrument_.id);
  if (p.qty == 0) return;
  if (breakeven_distance_ > 0 && !breakeven_done_) {
    const bool reached = p.qty > 0 ? bar.high >= p.avg_price + breakeven_distance_
                                   : bar.low <= p.avg_price - breakeven_distance_;
    if (reached) {
      breakeven_done_ = true;
      const double be = exec::round_to_tick(p.avg_price, instrument_.tick_size, exec::Rounding::Nearest);
      const bool tighter = want_stop_ <= 0 || (p.qty > 0 ? be > want_stop_ : be < want_stop_);
      if (tighter) {
        te_action a{};
        const double nan = std::numeric_limits<double>::quiet_NaN();
        a.qty = a.fraction = a.risk = a.limit = a.stop_trigger = a.target = a.trail = a.trail_pct = nan;
        a.tif_bars = a.breakeven = a.max_bars = nan;
        a.stop = be;
        const model::Order* stop = stop_order_ ? exec_.find(stop_order_) : nullptr;
        if (stop && stop->type == OrderType::TrailingStop) {
          // The trailing stop keeps trailing; its trigger is raised to breakeven.
          if (p.qty > 0 ? be > stop->stop_price : be < stop->stop_price) {
            exec::Amendment change;
            change.stop_price = be;
            exec_.amend(stop_order_, change);
          }
        } else {
          adjust(a);
        }
      }
    }
  }
  if (max_bars_ > 0) {
    const portfolio::Trade* t = portfolio_.open_trade(instrument_.id);
    if (t && bar_index_ - t->entry_bar >= max_bars_) {
      for (auto id : exit_orders_) {
        const model::Order* o = exec_.find(id);
        if (o && o->purpose == OrderPurpose::Timeout) return;
      }
      exit_position(fmt::format("held {} bars", max_bars_), OrderPurpose::Timeout);
    }
  }
}

// ---- execution events ------------------------------------------------------------

void SymbolRunner::on_order_update(const model::Order& order, std::string_view reason_code) {
  quiet_ = false;
  to_order_observers([&](RunnerObserver& o) { o.on_order_event(*this, order, reason_code, nullptr, nullptr); });
  if (!model::is_terminal(order.status)) return;
  if (order.id == stop_order_) stop_order_ = 0;
  if (order.id == target_order_) target_order_ = 0;
  if (order.purpose != OrderPurpose::Entry || order.status == model::OrderStatus::Filled) return;
  // A cancelled or expired entry: if nothing is held and nothing else is
  // working, the trade never happened.
  prune(entry_orders_, exec_);
  entry_orders_.erase(std::remove(entry_orders_.begin(), entry_orders_.end(), order.id), entry_orders_.end());
  if (state_ == RunnerState::InTrade && entry_orders_.empty() && portfolio_.position(instrument_.id).qty == 0)
    transition(RunnerEvent::EntryFailed,
               order.status == model::OrderStatus::Expired
                   ? fmt::format("entry order expired before it filled ({})", reason_code)
                   : fmt::format("entry order cancelled before it filled ({})", reason_code));
}

void SymbolRunner::on_fill(const model::Fill& fill, const model::Order& order) {
  quiet_ = false;
  if (observer_fills_) observer_->on_fill(*this, fill);
  to_order_observers([&](RunnerObserver& o) { o.on_order_event(*this, order, {}, &fill, nullptr); });
  if (risk_) risk_->on_fill(fill);
  if (host_->may_notify()) {  // else nobody to tell: no copy of the order
    PendingNotice n;
    n.kind = script::OrderNotice::Kind::Fill;
    n.order = order;
    n.fill = fill;
    notices_.push_back(std::move(n));
  }
  const double q = portfolio_.position(instrument_.id).qty;
  if (order.purpose == OrderPurpose::Entry) {
    prune(entry_orders_, exec_);
    place_protection();
    return;
  }
  prune(exit_orders_, exec_);
  if (order.id == stop_order_ && model::is_terminal(order.status)) stop_order_ = 0;
  if (order.id == target_order_ && model::is_terminal(order.status)) target_order_ = 0;
  if (q != 0) {
    place_protection();  // a partial exit: resize the protection
    return;
  }
  cancel_protection();
  cancel_orders(exit_orders_);
  cancel_orders(entry_orders_);
  if (state_ == RunnerState::InTrade) {
    // Into a stack buffer (transition() copies the text into its reused reason);
    // not built when nobody reads transition reasons.
    fmt::basic_memory_buffer<char, 128> reason;
    auto out = std::back_inserter(reason);
    const auto price = FmtShort{fill.price};
    if (transition_reasons_) {
      switch (order.purpose) {
        case OrderPurpose::StopLoss: fmt::format_to(out, FMT_COMPILE("stop filled at {}"), price); break;
        case OrderPurpose::TakeProfit: fmt::format_to(out, FMT_COMPILE("target filled at {}"), price); break;
        case OrderPurpose::Trailing: fmt::format_to(out, FMT_COMPILE("trailing stop filled at {}"), price); break;
        default: fmt::format_to(out, FMT_COMPILE("{} filled at {}"), reason_or(order.tag, "exit"), price); break;
      }
    }
    transition(RunnerEvent::PositionClosed, std::string_view(reason.data(), reason.size()));
  }
}

void SymbolRunner::on_rejected(const model::Rejection& rejection, const model::Order& order) {
  quiet_ = false;
  ++stats_.rejections;
  // (every observer's on_rejected, then every observer's on_order_event, as a fan-out calls them)
  to_order_observers([&](RunnerObserver& o) { o.on_rejected(*this, rejection); });
  to_order_observers([&](RunnerObserver& o) { o.on_order_event(*this, order, rejection.code, nullptr, &rejection); });
  if (host_->may_notify()) queue_rejection_notice(order, rejection.code, rejection.text(), "exchange");
  if (order.id == stop_order_) stop_order_ = 0;
  if (order.id == target_order_) target_order_ = 0;
  if (order.purpose != OrderPurpose::Entry) return;
  prune(entry_orders_, exec_);
  entry_orders_.erase(std::remove(entry_orders_.begin(), entry_orders_.end(), order.id), entry_orders_.end());
  if (state_ == RunnerState::InTrade && entry_orders_.empty() && portfolio_.position(instrument_.id).qty == 0) {
    std::string_view reason;  // nobody reads it without transition_reasons_: the refusal's text is never built
    if (transition_reasons_) {
      if (rejected_reason_.empty() || rejected_reason_code_ != rejection.code) {
        rejected_reason_code_ = rejection.code;
        rejected_reason_.assign("entry rejected (").append(rejection.code).append("): ");
      }
      reason = rejected_reason_;
    }
    transition(RunnerEvent::EntryFailed, reason, &rejection);  // (the text: Transition::refusal)
  }
}

void SymbolRunner::on_stormguard(const risk::StormGuardChange& change) {
  if (observer_) observer_->on_stormguard(*this, change);
}

void SymbolRunner::on_kill_switch(const risk::KillSwitchEvent& event) {
  if (observer_) observer_->on_kill_switch(*this, event);
}

// Tells the strategy what happened to its orders, at points where no order
// handling is in progress (callbacks cannot send orders; they may note things in ctx).
void SymbolRunner::deliver_order_notices() {
  std::vector<PendingNotice> pending;
  pending.swap(notices_);
  if (state_ == RunnerState::Faulted) return;
  // Most strategies define neither callback: then a notice costs nothing (no
  // strings, no Lua table, no call). Checked per notice, since a strategy may
  // define them late (they are plain globals).
  bool framed = false;
  for (const auto& p : pending) {
    if (!host_->defines(p.kind == script::OrderNotice::Kind::Fill ? "on_fill" : "on_order_rejected")) continue;
    if (!framed) {
      write_frame(current_bar_);
      framed = true;
    }
    script::OrderNotice n;
    n.kind = p.kind;
    n.order_id = p.order.id;
    n.side = model::to_string(p.order.side);
    n.type = model::to_string(p.order.type);
    n.purpose = model::to_string(p.order.purpose);
    n.tag = p.order.tag;
    n.filled_qty = p.order.filled_qty;
    if (p.kind == script::OrderNotice::Kind::Fill) {
      n.qty = p.fill.qty;
      n.price = p.fill.price;
      n.commission = p.fill.commission;
      n.slippage = p.fill.slippage;
      n.liquidity = model::to_string(p.fill.liquidity);
      n.time_ms = static_cast<double>(p.fill.ts_ns / kNsPerMs);
    } else {
      n.qty = p.order.qty;
      n.price = p.order.type == OrderType::Limit || p.order.type == OrderType::StopLimit ? p.order.limit_price
                                                                                          : p.order.stop_price;
      n.code = p.code;
      n.message = p.message;
      n.source = p.source;
      n.time_ms = static_cast<double>(last_ts_ns_ / kNsPerMs);
    }
    if (host_->notify(n) < 0) {
      fault(host_->last_error());
      return;
    }
  }
  if (notices_.empty()) {
    pending.clear();
    notices_.swap(pending);  // keep the capacity
  }
}

// ---- routing -----------------------------------------------------------------------

void Router::on_order_update(const model::Order& order, std::string_view reason_code) {
  if (SymbolRunner* r = runner(order.runner)) r->on_order_update(order, reason_code);
}

void Router::on_fill(const model::Fill& fill, const model::Order& order) {
  SymbolRunner* r = runner(fill.runner);
  TE_ASSERT(r != nullptr, "fill for unknown runner %u (order %llu)", fill.runner,
            static_cast<unsigned long long>(fill.order));
  portfolio_.apply(fill, fill.bar_index);
  r->on_fill(fill, order);
}

void Router::on_rejected(const model::Rejection& rejection, const model::Order& order) {
  if (SymbolRunner* r = runner(order.runner)) r->on_rejected(rejection, order);
}

}  // namespace te::runner
