#include "engine/exec/simulated_exchange.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/core.h>

#include "engine/core/assert.hpp"
#include "engine/core/time.hpp"
#include "engine/exec/instrument_rules.hpp"
#include "engine/exec/reject_codes.hpp"

namespace te::exec {
namespace {

using model::Liquidity;
using model::Order;
using model::OrderType;
using model::Side;
using model::TimeInForce;

constexpr double kQtyEps = 1e-9;
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// Submitted, Accepted and PartiallyFilled precede the terminal states.
bool is_working(const Order& o) noexcept { return o.status <= model::OrderStatus::PartiallyFilled; }
static_assert(model::OrderStatus::PartiallyFilled < model::OrderStatus::Filled &&
              model::OrderStatus::Filled < model::OrderStatus::Cancelled &&
              model::OrderStatus::Cancelled < model::OrderStatus::Rejected &&
              model::OrderStatus::Rejected < model::OrderStatus::Expired);
bool is_stop_type(OrderType t) noexcept {
  return t == OrderType::Stop || t == OrderType::TrailingStop || t == OrderType::StopLimit;
}
bool is_first_chance(TimeInForce t) noexcept { return t == TimeInForce::IOC || t == TimeInForce::FOK; }

}  // namespace

SimulatedExchange::SimulatedExchange(SimulatedExchangeConfig config, const FillGate& gate, ExecutionListener& listener)
    : config_(config), gate_(gate), listener_(listener) {}

std::size_t SimulatedExchange::working_orders() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(orders_.begin(), orders_.end(), [](const Working& w) { return is_working(w.order); }));
}

std::size_t SimulatedExchange::working_orders(model::InstrumentId instrument) const noexcept {
  return instrument < venues_.size() ? venues_[instrument]->working : 0;
}

// Out of line: the per-bar entry points index venues_ directly and call this
// only for an instrument not seen yet.
[[gnu::noinline]] SimulatedExchange::Venue& SimulatedExchange::venue(model::InstrumentId id) {
  if (id >= venues_.size()) {
    // One by one after the room: an allocation that throws leaves no empty
    // slot behind (the per-bar entry points test only the size).
    venues_.reserve(static_cast<std::size_t>(id) + 1);
    while (venues_.size() <= id) venues_.push_back(std::make_unique<Venue>());
  }
  venue_count_ = venues_.size();
  return *venues_[id];
}

double SimulatedExchange::tick(model::InstrumentId instrument) const noexcept {
  return instrument < venues_.size() ? venues_[instrument]->rules.tick_size : 0.0;
}

std::size_t SimulatedExchange::index_of(model::OrderId id) const {
  auto it = std::lower_bound(orders_.begin(), orders_.end(), id,
                             [](const Working& w, model::OrderId x) { return w.order.id < x; });
  return it != orders_.end() && it->order.id == id ? static_cast<std::size_t>(it - orders_.begin()) : kNone;
}

SimulatedExchange::Working* SimulatedExchange::find_working(model::OrderId id) {
  const std::size_t i = index_of(id);
  return i != kNone && is_working(orders_[i].order) ? &orders_[i] : nullptr;
}

const model::Order* SimulatedExchange::find(model::OrderId id) const {
  const std::size_t i = index_of(id);
  return i != kNone && is_working(orders_[i].order) ? &orders_[i].order : nullptr;
}

void SimulatedExchange::set_instrument(const model::Instrument& instrument) { venue(instrument.id).rules = instrument; }

double SimulatedExchange::trail_distance(const model::Order& o, double anchor) const noexcept {
  return o.trail_amount > 0 ? o.trail_amount : anchor * o.trail_pct;
}

// The trigger follows the best price seen (the highest for a sell stop, the
// lowest for a buy stop) and never moves back; a stop_price given with the
// order is the initial trigger (a floor for sells, a cap for buys).
void SimulatedExchange::retrail(Working& w, double price) {
  Order& o = w.order;
  if (!(price > 0)) return;
  const double t = tick(o.instrument);
  if (o.side == Side::Sell) {
    if (w.anchor >= price) return;
    w.anchor = price;
    double trig = w.anchor - trail_distance(o, w.anchor);
    if (t > 0) trig = round_to_tick(trig, t, Rounding::Down);
    if (trig > o.stop_price) o.stop_price = trig;
  } else {
    if (w.anchor <= price) return;
    w.anchor = price;
    double trig = w.anchor + trail_distance(o, w.anchor);
    if (t > 0) trig = round_to_tick(trig, t, Rounding::Up);
    if (o.stop_price <= 0 || trig < o.stop_price) o.stop_price = trig;
  }
}

void SimulatedExchange::note_needs(const Working& w) noexcept {
  switch (w.order.type) {
    case OrderType::Market: break;
    case OrderType::Limit: needs_.limits = true; break;
    case OrderType::Stop: needs_.stops = true; break;
    case OrderType::TrailingStop:
      needs_.stops = true;
      needs_.trailing = true;
      break;
    case OrderType::StopLimit:
      needs_.stops = true;
      needs_.limits = true;
      break;
  }
  if (is_first_chance(w.order.tif)) needs_.first_chance = true;
  if (w.order.type == OrderType::TrailingStop) needs_.trailing_reach = true;
}

// Like note_needs, but only what this bar's range can reach: most bars reach
// no order, and then only the trailing stops need work.
void SimulatedExchange::note_reach(Working& w, const model::Bar& bar, std::int64_t bar_index) noexcept {
  const Order& o = w.order;
  const bool buy = o.side == Side::Buy;
  if (is_first_chance(o.tif)) needs_.first_chance = true;
  if (o.type == OrderType::Market) return;
  if (o.type == OrderType::Limit || (o.type == OrderType::StopLimit && w.triggered)) {
    if (buy ? bar.low <= o.limit_price : bar.high >= o.limit_price) needs_.limits = true;
    return;
  }
  if (w.triggered) return;  // a stop remainder: market at the next open
  if (o.type == OrderType::StopLimit) needs_.limits = true;  // may trigger and rest within the bar
  const bool reached = o.stop_price > 0 && (buy ? bar.high >= o.stop_price : bar.low <= o.stop_price);
  if (reached) needs_.stops = true;
  if (o.type != OrderType::TrailingStop) return;
  if (!reached) {
    // Not reached with its trigger as the bar opened, so it cannot fill on this
    // bar under the range models; under ohlc only if the bar could reach the
    // trigger trailed to the bar's best price. Otherwise trail it now.
    bool later = false;
    if (config_.fill == FillModel::Ohlc) {
      const double best = buy ? bar.low : bar.high;
      const double d = trail_distance(o, best);
      later = buy ? bar.high >= best + d : bar.low <= best - d;
    }
    if (!later) {
      retrail(w, buy ? bar.low : bar.high);
      w.trailed_bar = bar_index;
      return;
    }
    needs_.trailing_reach = true;
  }
  needs_.trailing = true;
}

void SimulatedExchange::ratchet_all(model::InstrumentId instrument, std::int64_t bar_index, double high, double low) {
  for (auto& w : orders_) {
    const Order& o = w.order;
    if (o.type != OrderType::TrailingStop || o.instrument != instrument || !is_working(o) || w.at_close ||
        w.intrabar_from > bar_index || w.trailed_bar == bar_index)
      continue;
    retrail(w, o.side == Side::Sell ? high : low);
  }
}

// ---- order entry -------------------------------------------------------------

SimulatedExchange::Reported::Reported(SimulatedExchange& x, const model::Order& o) : x_(x) {
  if (x.reported_depth_ == x.reported_.size()) x.reported_.emplace_back();
  model::Order& c = x.reported_[x.reported_depth_++];
  c = o;
  copy_ = &c;
}

model::OrderId SimulatedExchange::submit(model::Order order) {
  forget_quiet(order.instrument);
  const model::OrderId id = next_id_++;
  order.id = id;
  order.status = model::OrderStatus::Submitted;
  order.filled_qty = 0;
  order.avg_fill_price = 0;
  Venue& v = venue(order.instrument);
  const std::int64_t lat = std::max<std::int64_t>(0, config_.latency_bars);
  // The exchange's fields of the order, set on its Working once accepted
  // (built in place in orders_, not aside and moved in).
  const bool at_close =
      config_.fill == FillModel::BidAsk || (config_.fill == FillModel::Close && order.type == OrderType::Market);
  std::int64_t open_from = 0, intrabar_from = 0, close_from = 0, expire_bar = kNever;
  switch (phase_) {
    case Phase::Idle: {
      const std::int64_t t = order.submitted_bar;
      open_from = intrabar_from = t + 1 + lat;
      close_from = t + lat;
      break;
    }
    case Phase::Open: {
      // Sent while this bar's open is processed (a protective stop after an
      // entry filled at the open): it watches the rest of the bar.
      const std::int64_t t = phase_bar_;
      intrabar_from = t + lat;
      open_from = lat == 0 ? t + 1 : t + lat;
      close_from = t + lat;
      break;
    }
    case Phase::Close: {
      const std::int64_t t = phase_bar_;
      open_from = intrabar_from = close_from = t + 1 + lat;
      break;
    }
  }
  order.active_from_bar = at_close ? close_from : intrabar_from;
  if (order.tif == TimeInForce::GoodForBars && order.tif_bars > 0) expire_bar = order.active_from_bar + order.tif_bars;

  if (auto refusal = check_order(order, v.rules, v.last_price)) {
    transition(order, OrderEvent::Reject);
    model::Rejection r;
    r.order = id;
    r.runner = order.runner;
    r.strategy = order.strategy;
    r.code = refusal->code;
    r.set_text(refusal->message);
    r.ts_ns = order.submitted_ns;
    r.bar_index = order.submitted_bar;
    listener_.on_rejected(r, order);
    return id;
  }
  transition(order, OrderEvent::Accept);
  Working& w = orders_.emplace_back();
  w.order = std::move(order);
  w.open_from = open_from;
  w.intrabar_from = intrabar_from;
  w.close_from = close_from;
  w.expire_bar = expire_bar;
  w.at_close = at_close;
  if (w.order.type == OrderType::TrailingStop) {
    const double ref = phase_ == Phase::Open ? phase_price_ : v.last_price;
    if (ref > 0) retrail(w, ref);
  }
  if (phase_ != Phase::Idle) note_needs(w);
  ++v.working;
  if (w.order.type == OrderType::Market) {
    // What scan_quiet would find (a working market order is never quiet),
    // known without the scan until the orders change again.
    v.quiet_known = true;
    v.quiet_ok = false;
    v.quiet_recheck = kNever;
  }
  const Reported copy(*this, w.order);  // the listener may submit and reallocate orders_
  listener_.on_order_update(copy.order(), "");
  return id;
}

bool SimulatedExchange::cancel(model::OrderId id) {
  const std::size_t i = index_of(id);
  if (i == kNone || !is_working(orders_[i].order)) return false;
  forget_quiet(orders_[i].order.instrument);
  if (config_.latency_bars > 0) {
    const Order& o = orders_[i].order;
    const std::int64_t now = phase_ != Phase::Idle ? phase_bar_ : std::max(venues_[o.instrument]->last_bar, o.submitted_bar);
    requests_.push_back(Request{now + 1 + config_.latency_bars, id, o.instrument, true, {}});
    return true;
  }
  finish(i, OrderEvent::Cancel, codes::kCancelRequested);
  return true;
}

bool SimulatedExchange::amend(model::OrderId id, const Amendment& change) {
  const std::size_t i = index_of(id);
  if (i == kNone || !is_working(orders_[i].order)) return false;
  forget_quiet(orders_[i].order.instrument);
  if (config_.latency_bars > 0) {
    // Validated now so the caller learns of a bad amendment at once; applied later.
    Order probe = orders_[i].order;
    if (change.qty && !(*change.qty > probe.filled_qty + kQtyEps && std::isfinite(*change.qty))) return false;
    if (change.qty) probe.qty = *change.qty;
    if (change.stop_price) probe.stop_price = *change.stop_price;
    if (change.limit_price) probe.limit_price = *change.limit_price;
    const Venue& v = *venues_[probe.instrument];
    if (check_order(probe, v.rules, v.last_price)) return false;
    const std::int64_t now = phase_ != Phase::Idle ? phase_bar_ : std::max(v.last_bar, probe.submitted_bar);
    requests_.push_back(Request{now + 1 + config_.latency_bars, id, probe.instrument, false, change});
    return true;
  }
  return apply_amend(i, change);
}

bool SimulatedExchange::apply_amend(std::size_t i, const Amendment& change) {
  Working& w = orders_[i];
  Order next = w.order;
  if (change.qty) {
    if (!(*change.qty > next.filled_qty + kQtyEps) || !std::isfinite(*change.qty)) return false;
    next.qty = *change.qty;
  }
  if (change.stop_price) next.stop_price = *change.stop_price;
  if (change.limit_price) next.limit_price = *change.limit_price;
  const bool retrail_now = change.trail_amount.has_value() || change.trail_pct.has_value();
  if (change.trail_amount) {
    next.trail_amount = *change.trail_amount;
    next.trail_pct = 0;
  }
  if (change.trail_pct) {
    next.trail_pct = *change.trail_pct;
    next.trail_amount = 0;
  }
  const Venue& v = *venues_[next.instrument];
  if (next.type != OrderType::TrailingStop && (change.trail_amount || change.trail_pct)) return false;
  if (check_order(next, v.rules, v.last_price)) return false;
  if (retrail_now && w.anchor == w.anchor) {
    // A new distance re-anchors the trigger at the best price seen, even if that loosens it.
    const double t = tick(next.instrument);
    const bool sell = next.side == Side::Sell;
    double trig = sell ? w.anchor - trail_distance(next, w.anchor) : w.anchor + trail_distance(next, w.anchor);
    if (t > 0) trig = round_to_tick(trig, t, sell ? Rounding::Down : Rounding::Up);
    if (!change.stop_price) next.stop_price = std::max(0.0, trig);
  }
  w.order = std::move(next);
  transition(w.order, OrderEvent::Amend);
  if (phase_ != Phase::Idle) note_needs(w);
  const Reported copy(*this, w.order);
  listener_.on_order_update(copy.order(), "");
  return true;
}

void SimulatedExchange::apply_requests(model::InstrumentId instrument, std::int64_t bar_index) {
  for (std::size_t k = 0; k < requests_.size();) {
    if (requests_[k].instrument != instrument || requests_[k].effective_bar > bar_index) {
      ++k;
      continue;
    }
    const Request r = requests_[k];
    requests_.erase(requests_.begin() + static_cast<std::ptrdiff_t>(k));
    const std::size_t i = index_of(r.id);
    if (i == kNone || !is_working(orders_[i].order)) continue;
    if (r.is_cancel)
      finish(i, OrderEvent::Cancel, codes::kCancelRequested);
    else
      apply_amend(i, r.change);
  }
}

void SimulatedExchange::finish(std::size_t i, OrderEvent event, const char* code) {
  Order& o = orders_[i].order;
  transition(o, event);
  --venues_[o.instrument]->working;
  dirty_ = true;
  const Reported copy(*this, o);
  listener_.on_order_update(copy.order(), code);
}

void SimulatedExchange::reject_at(std::size_t i, const char* code, std::string_view message,
                                  const model::RefusalFacts& facts, std::int64_t ts_ns,
                                  std::int64_t bar_index) {
  Order& o = orders_[i].order;
  transition(o, OrderEvent::Reject);
  --venues_[o.instrument]->working;
  dirty_ = true;
  // The exchange's reused rejection (its code keeps its capacity: most codes
  // are longer than a short string's 15 bytes, a heap string per refused fill);
  // a rejection reported from inside the listener's call gets its own.
  std::optional<model::Rejection> nested;  // (made only when needed: two strings)
  model::Rejection& r = rejecting_ ? nested.emplace() : rejection_;
  struct Busy {
    bool& flag;
    bool was;
    ~Busy() { flag = was; }
  } busy{rejecting_, rejecting_};
  rejecting_ = true;
  r.order = o.id;
  r.runner = o.runner;
  r.strategy = o.strategy;
  // Codes are literals (reject_codes.hpp, FillRefusal): the same pointer, the
  // same text, so the reused rejection's code is copied only when it changes.
  if (&r != &rejection_ || code != rejection_code_) r.code = code;
  if (&r == &rejection_) rejection_code_ = code;
  r.set_reason(message, facts);
  r.ts_ns = ts_ns;
  r.bar_index = bar_index;
  const Reported copy(*this, o);
  listener_.on_rejected(r, copy.order());
}

// ---- fills -------------------------------------------------------------------

bool SimulatedExchange::execute(std::size_t i, double price, Liquidity liquidity, const model::Bar& bar,
                                std::int64_t bar_index) {
  Working& w = orders_[i];
  Order& o = w.order;
  double qty = o.remaining();
  if (qty <= kQtyEps * std::max(1.0, o.qty)) return false;
  Venue& v = *venues_[o.instrument];
  const bool buy = o.side == Side::Buy;
  if (o.reduce_only) {
    const double pos = gate_.position_qty(o.instrument);
    const double allowed = buy ? std::max(0.0, -pos) : std::max(0.0, pos);
    if (allowed <= kQtyEps * std::max(1.0, qty)) {
      finish(i, OrderEvent::Cancel, codes::kReduceOnly);
      return false;
    }
    if (allowed < qty) {  // never flip a position: the order shrinks to what is held
      o.qty = o.filled_qty + allowed;
      qty = allowed;
    }
  }
  double fill_qty = qty;
  const bool capped = std::isfinite(v.volume_left);
  if (capped) {
    double avail = std::max(0.0, v.volume_left);
    if (v.rules.lot_size > 0) avail = round_to_lot(avail, v.rules.lot_size);
    if (o.tif == TimeInForce::FOK && avail + kQtyEps * qty < qty) return false;
    fill_qty = std::min(qty, avail);
    if (fill_qty <= kQtyEps * std::max(1.0, qty)) return false;
  }
  double px = price;
  double slip = 0;
  if (liquidity == Liquidity::Taker && config_.slippage.kind != SlippageModel::Kind::None) {
    const double d = config_.slippage.slip(price, fill_qty, bar.volume, v.rules.tick_size);
    if (d > 0) {
      px = buy ? price + d : price - d;
      if (v.rules.tick_size > 0) px = round_to_tick(px, v.rules.tick_size, buy ? Rounding::Up : Rounding::Down);
      // Bars say where trading happened: a slipped price stays inside the bar.
      if (config_.fill != FillModel::BidAsk && bar.low <= bar.high) px = std::clamp(px, bar.low, bar.high);
      if (!(px > 0)) px = price;
      slip = std::fabs(px - price);
    }
  }
  if (!(px > 0) || !std::isfinite(px)) {  // data that slipped past the loaders: refuse, never book it
    reject_at(i, codes::kInvalidPrice, fmt::format("fill price {} is not above 0", px), {}, bar.ts_ns, bar_index);
    return false;
  }
  const double commission = config_.commission.commission(fill_qty, px, liquidity, o.filled_qty, w.charged);
  if (auto refusal = gate_.check_fill(o.instrument, o.side, fill_qty, px, commission)) {
    reject_at(i, refusal->code, refusal->message, refusal->facts, bar.ts_ns, bar_index);
    return false;
  }
  o.avg_fill_price = (o.avg_fill_price * o.filled_qty + px * fill_qty) / (o.filled_qty + fill_qty);
  o.filled_qty += fill_qty;
  const bool done = o.remaining() <= kQtyEps * std::max(1.0, o.qty);
  if (done) o.filled_qty = o.qty;
  transition(o, done ? OrderEvent::Fill : OrderEvent::PartialFill);
  w.charged += commission;
  if (capped) v.volume_left -= fill_qty;
  if (done) {
    --v.working;
    dirty_ = true;
  }
  model::Fill f;
  f.order = o.id;
  f.instrument = o.instrument;
  f.runner = o.runner;
  f.strategy = o.strategy;
  f.side = o.side;
  f.purpose = o.purpose;
  f.liquidity = liquidity;
  f.qty = fill_qty;
  f.price = px;
  f.commission = commission;
  f.ts_ns = bar.ts_ns;
  f.bar_index = bar_index;
  f.slippage = slip;
  const model::OrderId group = o.oco_group;
  const Reported copy(*this, o);
  listener_.on_fill(f, copy.order());
  if (group != 0) reduce_siblings(copy.order().id, group, fill_qty);
  return true;
}

// One-cancels-other: what one leg filled no longer needs the others.
void SimulatedExchange::reduce_siblings(model::OrderId id, model::OrderId group, double filled) {
  for (std::size_t j = 0; j < orders_.size(); ++j) {
    Order& s = orders_[j].order;
    if (s.id == id || s.oco_group != group || !is_working(s)) continue;
    const double left = s.qty - filled;
    if (left <= s.filled_qty + kQtyEps * std::max(1.0, s.qty)) {
      finish(j, OrderEvent::Cancel, codes::kOcoCancelled);
    } else {
      s.qty = left;
      transition(s, OrderEvent::Amend);
      const Reported copy(*this, s);
      listener_.on_order_update(copy.order(), codes::kOcoCancelled);
    }
  }
}

// ---- bars --------------------------------------------------------------------

// Time in force bookkeeping: DAY orders learn their day when they first become
// active; DAY and good-for-N-bars orders expire before the bar is matched.
void SimulatedExchange::activate(Working& w, const model::Bar& bar, std::int64_t bar_index, bool eligible) {
  if (w.order.tif == TimeInForce::Day && eligible && w.day_end_ns == 0)
    w.day_end_ns = (floor_days(bar.ts_ns) + 1) * kNsPerDay;
  if (w.order.type == OrderType::TrailingStop && eligible && !(w.anchor == w.anchor)) retrail(w, bar.open);
  (void)bar_index;
}

// Which working orders of the instrument the quiet-bar shortcut can vouch for,
// and the price levels that would wake them. Any other kind of order (market,
// triggered, stop-limit, IOC/FOK, DAY, good-for-N-bars, executing at the
// close, not yet active) turns the shortcut off until the orders change.
void SimulatedExchange::scan_quiet(Venue& v, model::InstrumentId instrument, std::int64_t bar_index) {
  v.quiet_known = true;
  v.quiet_ok = true;
  v.quiet_recheck = kNever;
  v.low_level = -std::numeric_limits<double>::infinity();
  v.high_level = std::numeric_limits<double>::infinity();
  v.trailing.clear();
  for (std::size_t i = 0; i < orders_.size(); ++i) {
    const Working& w = orders_[i];
    const Order& o = w.order;
    if (o.instrument != instrument || !is_working(o)) continue;
    bool plain = o.tif == TimeInForce::GTC && !w.at_close && !w.triggered;
    if (o.type == OrderType::Stop)
      plain = plain && o.stop_price > 0;
    else if (o.type == OrderType::TrailingStop)
      plain = plain && o.stop_price > 0 && w.anchor == w.anchor;  // anchored: it trails from here
    else if (o.type != OrderType::Limit)
      plain = false;
    if (!plain) {
      v.quiet_ok = false;
      return;
    }
    if (w.open_from > bar_index || w.intrabar_from > bar_index) {
      v.quiet_ok = false;
      v.quiet_recheck = std::min(v.quiet_recheck, std::max(w.open_from, w.intrabar_from));
      continue;
    }
    const bool buy = o.side == Side::Buy;
    if (o.type == OrderType::Limit) {
      if (buy) v.low_level = std::max(v.low_level, o.limit_price);
      else v.high_level = std::min(v.high_level, o.limit_price);
    } else {
      if (buy) v.high_level = std::min(v.high_level, o.stop_price);
      else v.low_level = std::max(v.low_level, o.stop_price);
      if (o.type == OrderType::TrailingStop) v.trailing.push_back(static_cast<std::uint32_t>(i));
    }
  }
}

// The per-bar fast path (issue 6 budget: an open bracket with a trailing stop
// in <= 20 ns a bar). True when the bar cannot execute, trigger or expire any
// working order of the instrument; the trailing stops have then been ratcheted
// exactly as the full matching would (docs/execution.md, "Trailing stops").
bool SimulatedExchange::quiet_bar(Venue& v, model::InstrumentId instrument, const model::Bar& bar,
                                  std::int64_t bar_index) {
  if (!v.quiet_known || bar_index >= v.quiet_recheck) scan_quiet(v, instrument, bar_index);
  if (!v.quiet_ok || !(bar.low > v.low_level && bar.high < v.high_level)) return false;
  if (v.trailing.empty()) return true;
  if (config_.fill == FillModel::Ohlc) {
    // ohlc walks a bar that could reach a trigger trailed to the bar's best price.
    for (const std::uint32_t i : v.trailing) {
      const Order& o = orders_[i].order;
      const bool buy = o.side == Side::Buy;
      const double best = buy ? bar.low : bar.high;
      const double d = trail_distance(o, best);
      if (buy ? bar.high >= best + d : bar.low <= best - d) return false;
    }
  }
  for (const std::uint32_t i : v.trailing) {
    Working& w = orders_[i];
    const bool buy = w.order.side == Side::Buy;
    retrail(w, buy ? bar.low : bar.high);
    if (buy) v.high_level = std::min(v.high_level, w.order.stop_price);
    else v.low_level = std::max(v.low_level, w.order.stop_price);
  }
  return true;
}

// The per-bar entry points end in tail calls only (a venue not seen yet is
// created by venue() and the call starts over), so a bar without orders runs
// without a stack frame.
void SimulatedExchange::open_phase(Venue& v, model::InstrumentId instrument, const model::Bar& bar,
                                   std::int64_t bar_index) {
  if (requests_.empty() && config_.quiet_bar_shortcut && quiet_bar(v, instrument, bar, bar_index)) return;
  v.quiet_known = false;  // the full matching below may change anything
  phase_ = Phase::Open;
  phase_bar_ = bar_index;
  phase_price_ = bar.open;
  needs_ = BarNeeds{};
  if (!requests_.empty()) apply_requests(instrument, bar_index);
  if (config_.fill == FillModel::Ohlc)
    match_path(instrument, bar, bar_index);
  else
    match_range(instrument, bar, bar_index);
  if (needs_.first_chance) end_first_chance(instrument, bar_index, false);
  phase_ = Phase::Idle;
  if (dirty_) compact();
}

// The open: expiries first, then everything the open executes, in id order:
// market orders, stops the open gapped through (at the open, not the stop),
// limits the open is at or better than, and remainders carried from earlier bars.
void SimulatedExchange::match_at_open(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) {
  const bool quote_model = config_.fill == FillModel::BidAsk;
  for (std::size_t i = 0; i < orders_.size(); ++i) {
    Working& w = orders_[i];
    Order& o = w.order;
    if (o.instrument != instrument || !is_working(o)) continue;
    if (o.tif == TimeInForce::Day && w.day_end_ns != 0 && bar.ts_ns >= w.day_end_ns) {
      finish(i, OrderEvent::Expire, codes::kExpiredDay);
      continue;
    }
    if (bar_index >= w.expire_bar) {
      finish(i, OrderEvent::Expire, codes::kExpiredBars);
      continue;
    }
    if (w.at_close || quote_model) continue;
    const bool eligible = w.intrabar_from <= bar_index;
    if (o.tif == TimeInForce::Day || (o.type == OrderType::TrailingStop && !(w.anchor == w.anchor)))
      activate(w, bar, bar_index, eligible);
    if (w.open_from > bar_index) {
      if (eligible) note_reach(w, bar, bar_index);
      continue;
    }
    const bool buy = o.side == Side::Buy;
    const double open = bar.open;
    switch (o.type) {
      case OrderType::Market:
        execute(i, open, Liquidity::Taker, bar, bar_index);
        break;
      case OrderType::Stop:
      case OrderType::TrailingStop:
        if (!w.triggered && o.stop_price > 0 && (buy ? open >= o.stop_price : open <= o.stop_price))
          w.triggered = true;
        if (w.triggered) execute(i, open, Liquidity::Taker, bar, bar_index);
        break;
      case OrderType::Limit:
        if (buy ? open <= o.limit_price : open >= o.limit_price)
          execute(i, open, w.open_from == bar_index ? Liquidity::Taker : Liquidity::Maker, bar, bar_index);
        break;
      case OrderType::StopLimit:
        if (!w.triggered && o.stop_price > 0 && (buy ? open >= o.stop_price : open <= o.stop_price))
          w.triggered = true;
        if (w.triggered && (buy ? open <= o.limit_price : open >= o.limit_price))
          execute(i, open, Liquidity::Taker, bar, bar_index);
        break;
    }
    Working& after = orders_[i];  // (execute may have grown orders_)
    if (is_working(after.order)) note_reach(after, bar, bar_index);
  }
}

// next_open / close: the bar is a range, not a path. After the open, every
// stop the range reaches fills at its trigger, then every limit it reaches at
// its limit: stops before limits, so a bar that reaches both a stop and a
// target fills the stop (the pessimistic reading). The price "now" (where an
// order sent from inside a fill lands, and what a trailing stop sent then
// anchors on) is the level of the last fill.
//
// Orders sent while the limit pass runs (the protective stop of a limit entry
// that filled inside the bar) missed the stop pass, so the passes run again
// for them: a long entered by a buy limit at L, below the open, went down
// through L first, so if the bar's low reaches its stop the stop was hit after
// the entry.
void SimulatedExchange::match_range(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) {
  match_at_open(instrument, bar, bar_index);
  std::size_t begin = 0;
  for (int round = 0; round < 4 && begin < orders_.size(); ++round) {
    if (needs_.stops) {
      for (std::size_t i = begin; i < orders_.size(); ++i) {
        Working& w = orders_[i];
        Order& o = w.order;
        if (o.instrument != instrument || !is_working(o) || w.at_close || w.intrabar_from > bar_index ||
            !is_stop_type(o.type) || w.triggered || !(o.stop_price > 0) || w.trailed_bar == bar_index)
          continue;
        const bool buy = o.side == Side::Buy;
        if (!(buy ? bar.high >= o.stop_price : bar.low <= o.stop_price)) continue;
        w.triggered = true;
        // A stop already through the price when it arrived mid-bar fills at that price.
        const bool through = buy ? phase_price_ >= o.stop_price : phase_price_ <= o.stop_price;
        const double level = through && w.open_from > bar_index ? phase_price_ : o.stop_price;
        if (o.type != OrderType::StopLimit || (buy ? o.limit_price >= level : o.limit_price <= level)) {
          phase_price_ = level;
          execute(i, level, Liquidity::Taker, bar, bar_index);
        }
      }
    }
    const std::size_t sent_before_limits = orders_.size();
    if (needs_.limits) {
      for (std::size_t i = begin; i < orders_.size(); ++i) {
        Working& w = orders_[i];
        Order& o = w.order;
        if (o.instrument != instrument || !is_working(o) || w.at_close || w.intrabar_from > bar_index) continue;
        if (o.type != OrderType::Limit && !(o.type == OrderType::StopLimit && w.triggered)) continue;
        const bool buy = o.side == Side::Buy;
        if (!(buy ? bar.low <= o.limit_price : bar.high >= o.limit_price)) continue;
        // A limit already marketable when it arrived mid-bar takes the price it found.
        const bool marketable = buy ? o.limit_price >= phase_price_ : o.limit_price <= phase_price_;
        if (marketable && w.open_from > bar_index) {
          execute(i, phase_price_, Liquidity::Taker, bar, bar_index);
        } else {
          phase_price_ = o.limit_price;
          execute(i, o.limit_price, Liquidity::Maker, bar, bar_index);
        }
      }
    }
    begin = sent_before_limits;
  }
  if (needs_.trailing) ratchet_all(instrument, bar_index, bar.high, bar.low);
}

// ohlc: the bar is walked as a path open -> first extreme -> second extreme ->
// close. The low comes first when the bar closed at or above its open, the
// high first otherwise, except that a bar reaching both legs of a stop/target
// pair is walked towards the stop first (the pessimistic reading).
void SimulatedExchange::match_path(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) {
  match_at_open(instrument, bar, bar_index);
  if (!needs_.stops && !needs_.limits && !needs_.trailing_reach) {
    // Nothing on the path can fill: walking it would only trail the stops.
    if (needs_.trailing) ratchet_all(instrument, bar_index, bar.high, bar.low);
    return;
  }
  bool low_first = bar.close >= bar.open;
  for (std::size_t i = 0; i < orders_.size(); ++i) {
    const Working& w = orders_[i];
    const Order& o = w.order;
    if (o.instrument != instrument || !is_working(o) || w.at_close || w.intrabar_from > bar_index ||
        o.oco_group == 0 || (o.type != OrderType::Stop && o.type != OrderType::TrailingStop) || !(o.stop_price > 0))
      continue;
    const bool buy = o.side == Side::Buy;
    if (!(buy ? bar.high >= o.stop_price : bar.low <= o.stop_price)) continue;
    const bool target_reached = std::any_of(orders_.begin(), orders_.end(), [&](const Working& s) {
      const Order& t = s.order;
      return t.id != o.id && t.oco_group == o.oco_group && is_working(t) && t.type == OrderType::Limit &&
             !s.at_close && s.intrabar_from <= bar_index &&
             (t.side == Side::Buy ? bar.low <= t.limit_price : bar.high >= t.limit_price);
    });
    if (target_reached) {
      low_first = !buy;
      break;
    }
  }
  const double x1 = low_first ? bar.low : bar.high;
  const double x2 = low_first ? bar.high : bar.low;
  walk(instrument, bar.open, x1, bar, bar_index);
  walk(instrument, x1, x2, bar, bar_index);
  walk(instrument, x2, bar.close, bar, bar_index);
}

// Moves the price from `from` to `to`, executing orders in the order the move
// reaches them. Orders already marketable at the current price execute there.
bool SimulatedExchange::walk(model::InstrumentId instrument, double from, double to, const model::Bar& bar,
                             std::int64_t bar_index) {
  double cur = from;
  phase_price_ = cur;
  const bool up = to > from;
  const bool down = to < from;
  bool any = false;
  for (;;) {
    std::size_t best = kNone;
    double best_level = 0, best_dist = 0;
    bool best_is_stop = false;
    for (std::size_t i = 0; i < orders_.size(); ++i) {
      const Working& w = orders_[i];
      const Order& o = w.order;
      if (o.instrument != instrument || !is_working(o) || w.at_close || w.intrabar_from > bar_index ||
          w.tried_bar == bar_index || w.trailed_bar == bar_index)
        continue;
      const bool buy = o.side == Side::Buy;
      double level = 0;
      bool reach = false;
      bool stop = false;
      if (is_stop_type(o.type) && !w.triggered) {
        if (!(o.stop_price > 0)) continue;
        stop = true;
        if (buy) {
          if (cur >= o.stop_price) reach = true, level = cur;
          else if (up && to >= o.stop_price) reach = true, level = o.stop_price;
        } else {
          if (cur <= o.stop_price) reach = true, level = cur;
          else if (down && to <= o.stop_price) reach = true, level = o.stop_price;
        }
      } else if (o.type == OrderType::Limit || (o.type == OrderType::StopLimit && w.triggered)) {
        if (buy) {
          if (cur <= o.limit_price) reach = true, level = cur;
          else if (down && to <= o.limit_price) reach = true, level = o.limit_price;
        } else {
          if (cur >= o.limit_price) reach = true, level = cur;
          else if (up && to >= o.limit_price) reach = true, level = o.limit_price;
        }
      } else {
        continue;  // market remainders and triggered stops wait for the next open
      }
      if (!reach) continue;
      const double dist = std::fabs(level - cur);
      if (best == kNone || dist < best_dist || (dist == best_dist && stop && !best_is_stop)) {
        best = i;
        best_level = level;
        best_dist = dist;
        best_is_stop = stop;
      }
    }
    if (best == kNone) break;
    const bool moved = best_level != cur;
    cur = best_level;
    phase_price_ = cur;
    Working& w = orders_[best];
    Order& o = w.order;
    const bool buy = o.side == Side::Buy;
    const model::OrderId best_id = o.id;
    bool filled = false;
    if (is_stop_type(o.type) && !w.triggered) {
      w.triggered = true;
      if (o.type != OrderType::StopLimit || (buy ? o.limit_price >= cur : o.limit_price <= cur))
        filled = execute(best, cur, Liquidity::Taker, bar, bar_index);
      else
        filled = true;  // now a resting limit; it is looked at again on the rest of the path
    } else {
      const Liquidity liq = moved || w.open_from <= bar_index ? Liquidity::Maker : Liquidity::Taker;
      filled = execute(best, cur, liq, bar, bar_index);
    }
    // (orders_ may have grown while the listener was told; indices of older orders hold)
    if (!filled && orders_[best].order.id == best_id) orders_[best].tried_bar = bar_index;
    any = true;
  }
  if (needs_.trailing) ratchet_all(instrument, bar_index, std::max(from, to), std::min(from, to));
  phase_price_ = to;
  return any;
}

// bid_ask: one closing quote per bar; buys execute at the ask, sells at the bid.
void SimulatedExchange::match_quote(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) {
  const double bid = bar.has_quote() ? bar.bid : bar.close;
  const double ask = bar.has_quote() ? bar.ask : bar.close;
  for (std::size_t i = 0; i < orders_.size(); ++i) {
    Working& w = orders_[i];
    Order& o = w.order;
    if (o.instrument != instrument || !is_working(o) || !w.at_close || w.close_from > bar_index) continue;
    activate(w, bar, bar_index, true);
    if (o.type == OrderType::TrailingStop && !(w.anchor == w.anchor)) retrail(w, o.side == Side::Sell ? bid : ask);
    note_needs(w);
    const bool buy = o.side == Side::Buy;
    const double px = buy ? ask : bid;
    switch (o.type) {
      case OrderType::Market:
        execute(i, px, Liquidity::Taker, bar, bar_index);
        break;
      case OrderType::Stop:
      case OrderType::TrailingStop:
        if (!w.triggered && o.stop_price > 0 && (buy ? px >= o.stop_price : px <= o.stop_price)) w.triggered = true;
        if (w.triggered) execute(i, px, Liquidity::Taker, bar, bar_index);
        break;
      case OrderType::Limit:
        if (buy ? px <= o.limit_price : px >= o.limit_price)
          execute(i, px, w.close_from == bar_index ? Liquidity::Taker : Liquidity::Maker, bar, bar_index);
        break;
      case OrderType::StopLimit:
        if (!w.triggered && o.stop_price > 0 && (buy ? px >= o.stop_price : px <= o.stop_price)) w.triggered = true;
        if (w.triggered && (buy ? px <= o.limit_price : px >= o.limit_price))
          execute(i, px, Liquidity::Taker, bar, bar_index);
        break;
    }
  }
  for (auto& w : orders_) {
    const Order& o = w.order;
    if (o.instrument == instrument && is_working(o) && o.type == OrderType::TrailingStop && w.at_close &&
        w.close_from <= bar_index)
      retrail(w, o.side == Side::Sell ? bid : ask);
  }
}

// IOC and FOK orders get one chance: the bar (or close) on which they first
// became active. What did not fill then is cancelled.
void SimulatedExchange::end_first_chance(model::InstrumentId instrument, std::int64_t bar_index, bool close_phase) {
  for (std::size_t i = 0; i < orders_.size(); ++i) {
    const Working& w = orders_[i];
    const Order& o = w.order;
    if (o.instrument != instrument || !is_working(o) || !is_first_chance(o.tif) || w.at_close != close_phase ||
        (close_phase ? w.close_from : w.intrabar_from) > bar_index)
      continue;
    finish(i, OrderEvent::Cancel, o.tif == TimeInForce::IOC ? codes::kIocRemainder : codes::kFokUnfilled);
  }
}

void SimulatedExchange::first_bar_open(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) {
  venue(instrument);
  on_bar_open(instrument, bar, bar_index);
}

void SimulatedExchange::first_bar_close(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) {
  venue(instrument);
  on_bar_close(instrument, bar, bar_index);
}

void SimulatedExchange::close_phase(Venue& v, model::InstrumentId instrument, const model::Bar& bar,
                                    std::int64_t bar_index) {
  v.quiet_known = false;
  phase_ = Phase::Close;
  phase_bar_ = bar_index;
  phase_price_ = bar.close;
  needs_ = BarNeeds{};
  if (config_.fill == FillModel::BidAsk) {
    match_quote(instrument, bar, bar_index);
  } else {
    for (std::size_t i = 0; i < orders_.size(); ++i) {
      Working& w = orders_[i];
      const Order& o = w.order;
      if (o.instrument != instrument || !is_working(o) || !w.at_close || w.close_from > bar_index) continue;
      activate(w, bar, bar_index, true);
      note_needs(w);
      execute(i, bar.close, Liquidity::Taker, bar, bar_index);
    }
  }
  if (needs_.first_chance) end_first_chance(instrument, bar_index, true);
  phase_ = Phase::Idle;
  if (dirty_) compact();
}

void SimulatedExchange::settle(model::InstrumentId instrument, const model::Bar& last_bar, std::int64_t bar_index) {
  forget_quiet(instrument);
  phase_ = Phase::Close;
  phase_bar_ = bar_index;
  phase_price_ = last_bar.close;
  venue(instrument).volume_left = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < orders_.size(); ++i) {
    const Order& o = orders_[i].order;
    if (o.instrument == instrument && is_working(o) && o.type == OrderType::Market)
      execute(i, last_bar.close, Liquidity::Taker, last_bar, bar_index);
  }
  phase_ = Phase::Idle;
  if (dirty_) compact();
}

void SimulatedExchange::compact() {
  // Finished orders were reported already; keep the vector short.
  orders_.erase(std::remove_if(orders_.begin(), orders_.end(), [](const Working& w) { return !is_working(w.order); }),
                orders_.end());
  dirty_ = false;
  for (auto& v : venues_) v->quiet_known = false;  // their trailing-stop indices moved
}

}  // namespace te::exec
