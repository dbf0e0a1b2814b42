#include "engine/runner/symbol_runner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/core.h>

#include "engine/core/time.hpp"

namespace te::runner {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool working(const exec::ExecutionEngine& exec, model::OrderId id) {
  const model::Order* o = exec.find(id);
  return o != nullptr && !model::is_terminal(o->status);
}

void prune(std::vector<model::OrderId>& ids, const exec::ExecutionEngine& exec) {
  ids.erase(std::remove_if(ids.begin(), ids.end(), [&](model::OrderId id) { return !working(exec, id); }), ids.end());
}

std::string reason_or(std::string_view reason, std::string_view fallback) {
  return reason.empty() ? std::string(fallback) : std::string(reason);
}

}  // namespace

SymbolRunner::SymbolRunner(RunnerConfig config, model::Instrument instrument, std::unique_ptr<BarHistory> history,
                           exec::ExecutionEngine& exec, portfolio::Portfolio& portfolio, RunnerObserver* observer)
    : config_(config),
      instrument_(std::move(instrument)),
      history_(std::move(history)),
      exec_(exec),
      portfolio_(portfolio),
      observer_(observer),
      indicators_(*history_) {}

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
  ++bar_index_;
  ++stats_.bars;
  last_ts_ns_ = bar.ts_ns;
  current_bar_ = bar;
  history_->push(bar);
  if (observer_) observer_->on_bar(*this, bar);
  exec_.on_bar_open(instrument, bar, bar_index_);
  indicators_.update(bar);
  portfolio_.mark(instrument, bar.close, bar.low, bar.high);
  if (state_ != RunnerState::Faulted) run_strategy(bar);
  exec_.on_bar_close(instrument, bar, bar_index_);
  portfolio_.mark(instrument, bar.close, bar.close, bar.close);
  if (observer_) observer_->on_bar_end(*this, bar);
  return state_ != RunnerState::Faulted;
}

void SymbolRunner::write_frame(const model::Bar& bar) {
  te_frame& f = host_->frame();
  f.bar.time_ms = static_cast<double>(bar.ts_ns / kNsPerMs);
  f.bar.open = bar.open;
  f.bar.high = bar.high;
  f.bar.low = bar.low;
  f.bar.close = bar.close;
  f.bar.volume = bar.volume;
  f.bar.bid = bar.bid;
  f.bar.ask = bar.ask;
  f.bar.bid_size = bar.bid_size;
  f.bar.ask_size = bar.ask_size;
  f.bar_index = static_cast<double>(bar_index_);
  f.state = static_cast<std::int32_t>(state_);
  f.bars_in_state = static_cast<std::int32_t>(bar_index_ - state_since_bar_);
  f.phase = 1;

  const portfolio::Position& p = portfolio_.position(instrument_.id);
  const portfolio::Trade* t = portfolio_.open_trade(instrument_.id);
  f.pos.qty = p.qty;
  f.pos.avg_price = p.avg_price;
  f.pos.unrealized_pnl = p.unrealized();
  f.pos.realized_pnl = t ? t->pnl_gross : 0.0;
  f.pos.entry_time_ms = t ? static_cast<double>(t->entry_ts_ns / kNsPerMs) : 0.0;
  f.pos.bars_held = t ? static_cast<double>(bar_index_ - t->entry_bar) : 0.0;
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

  f.acct.cash = portfolio_.cash();
  f.acct.position_value = portfolio_.position_value();
  f.acct.equity = f.acct.cash + f.acct.position_value;
  f.acct.initial_cash = portfolio_.initial_cash();
  f.acct.commission_paid = portfolio_.commission_paid();
  f.acct.realized_pnl = portfolio_.realized_pnl();
  f.acct.trades = static_cast<double>(portfolio_.closed_trades());
}

void SymbolRunner::run_strategy(const model::Bar& bar) {
  if (state_ == RunnerState::CloseWatch && config_.closewatch_timeout_bars > 0 &&
      bar_index_ - state_since_bar_ >= config_.closewatch_timeout_bars) {
    transition(RunnerEvent::CloseWatchTimeout,
               fmt::format("no commitment within {} bars", config_.closewatch_timeout_bars));
  }
  // Within one bar a transition runs the new state's callback right away, but
  // each state's callback runs at most once per bar (no loops, no double
  // evaluation of a bar).
  bool ran[3] = {false, false, false};
  for (;;) {
    const auto cb_index = static_cast<std::size_t>(state_);
    if (state_ == RunnerState::Faulted || ran[cb_index]) return;
    ran[cb_index] = true;
    write_frame(bar);
    ++stats_.callbacks;
    const auto cb = static_cast<script::Callback>(cb_index + 1);
    const int kind = host_->call(cb);
    if (kind < 0) {
      fault(host_->last_error());
      return;
    }
    const te_action& a = host_->action();
    const std::string reason(host_->action_reason());
    if (observer_ && kind != script::kActNone) observer_->on_action(*this, cb, kind, a, reason);
    switch (state_) {
      case RunnerState::Watch:
        if (kind != script::kActSetup) return;
        transition(RunnerEvent::SetupFound, reason_or(reason, "setup found"));
        continue;
      case RunnerState::CloseWatch:
        if (kind == script::kActAbandon) {
          transition(RunnerEvent::Abandoned, "abandoned by filter_commitment");
          continue;
        }
        if (kind == script::kActEnterLong || kind == script::kActEnterShort) {
          enter(a, bar, kind == script::kActEnterLong);
          continue;
        }
        return;
      case RunnerState::InTrade:
        if (kind == script::kActExit) {
          exit_position(reason_or(reason, "exit signal"), model::OrderPurpose::Exit);
        } else if (kind == script::kActAdjust) {
          adjust(a);
        }
        return;
      case RunnerState::Faulted:
        return;
    }
  }
}

void SymbolRunner::transition(RunnerEvent event, std::string reason) {
  const auto next = next_state(state_, event);
  TE_ASSERT(next.has_value(), "illegal runner transition %s --%s-->", std::string(to_string(state_)).c_str(),
            std::string(to_string(event)).c_str());
  Transition t;
  t.bar_index = bar_index_;
  t.ts_ns = last_ts_ns_;
  t.from = state_;
  t.to = *next;
  t.event = event;
  t.reason = std::move(reason);
  state_ = *next;
  state_since_bar_ = bar_index_;
  ++stats_.transitions;
  if (observer_) observer_->on_transition(*this, t);
  if (config_.keep_transitions || state_ == RunnerState::Faulted) transitions_.push_back(std::move(t));
  if (state_ == RunnerState::Watch) {
    want_stop_ = 0;
    want_target_ = 0;
    host_->clear_setup();
  }
}

void SymbolRunner::fault(const script::StrategyError& error) {
  fault_ = error;
  if (observer_) observer_->on_fault(*this, error);
  for (auto id : entry_orders_) exec_.cancel(id);
  entry_orders_.clear();
  if (config_.flatten_on_fault) {
    exit_position("strategy fault", model::OrderPurpose::Exit);
  } else {
    cancel_protection();
  }
  transition(RunnerEvent::Fault, error.message);
}

std::optional<double> SymbolRunner::entry_quantity(const te_action& a, const model::Bar& bar, std::string& why) const {
  const double equity = portfolio_.equity();
  const double ref = bar.close;
  double q = 0;
  if (a.qty == a.qty) {
    q = a.qty;
  } else if (a.fraction == a.fraction) {
    q = a.fraction * equity / ref;
  } else if (a.risk == a.risk) {
    const double distance = std::fabs(ref - a.stop);
    if (!(distance > 0)) {
      why = fmt::format("risk sizing needs a stop away from the price {}, stop was {}", ref, a.stop);
      return std::nullopt;
    }
    q = a.risk * equity / distance;
  }
  const double lot = instrument_.lot_size;
  if (lot > 0) q = std::floor(q / lot + 1e-9) * lot;
  if (!(q > 0) || !std::isfinite(q)) {
    why = lot > 0 ? fmt::format("sized quantity is below one lot of {} (equity {}, price {})", lot, equity, ref)
                  : fmt::format("sized quantity must be positive (equity {}, price {})", equity, ref);
    return std::nullopt;
  }
  if (instrument_.min_qty > 0 && q < instrument_.min_qty) {
    why = fmt::format("quantity {} is below the minimum {}", q, instrument_.min_qty);
    return std::nullopt;
  }
  if (instrument_.min_notional > 0 && q * ref < instrument_.min_notional) {
    why = fmt::format("order value {} is below the minimum notional {}", q * ref, instrument_.min_notional);
    return std::nullopt;
  }
  return q;
}

model::Order SymbolRunner::make_order(model::Side side, double qty, model::OrderPurpose purpose, std::string tag) const {
  model::Order o;
  o.instrument = instrument_.id;
  o.runner = config_.id;
  o.strategy = config_.strategy_id;
  o.side = side;
  o.type = model::OrderType::Market;
  o.qty = qty;
  o.purpose = purpose;
  o.reduce_only = purpose != model::OrderPurpose::Entry;
  o.submitted_ns = last_ts_ns_;
  o.submitted_bar = bar_index_;
  o.tag = std::move(tag);
  return o;
}

void SymbolRunner::submit(model::Order order) {
  ++stats_.orders;
  const model::OrderPurpose purpose = order.purpose;
  const model::OrderType type = order.type;
  const model::OrderId id = exec_.submit(std::move(order));
  if (!working(exec_, id)) return;  // rejected or filled synchronously
  if (purpose == model::OrderPurpose::Entry) {
    entry_orders_.push_back(id);
  } else if (purpose == model::OrderPurpose::StopLoss && type != model::OrderType::Market) {
    stop_order_ = id;
  } else if (purpose == model::OrderPurpose::TakeProfit && type != model::OrderType::Market) {
    target_order_ = id;
  } else {
    exit_orders_.push_back(id);
  }
}

void SymbolRunner::reject_intent(const std::string& code, const std::string& message) {
  ++stats_.rejections;
  model::Rejection r;
  r.runner = config_.id;
  r.strategy = config_.strategy_id;
  r.code = code;
  r.message = message;
  r.ts_ns = last_ts_ns_;
  r.bar_index = bar_index_;
  if (observer_) observer_->on_rejected(*this, r);
}

void SymbolRunner::enter(const te_action& a, const model::Bar& bar, bool is_long) {
  const std::string reason(host_->action_reason());
  transition(RunnerEvent::EntrySubmitted, reason_or(reason, is_long ? "enter long" : "enter short"));
  want_stop_ = a.stop == a.stop ? a.stop : 0;
  want_target_ = a.target == a.target ? a.target : 0;
  std::string why;
  const auto qty = entry_quantity(a, bar, why);
  if (!qty) {
    reject_intent("invalid_quantity", why);
    transition(RunnerEvent::EntryFailed, "entry not sent: " + why);
    return;
  }
  model::Order o = make_order(is_long ? model::Side::Buy : model::Side::Sell, *qty, model::OrderPurpose::Entry,
                              reason);
  if (a.order_type == 1) {
    o.type = model::OrderType::Limit;
    o.limit_price = a.limit;
  } else if (a.order_type == 2) {
    o.type = model::OrderType::Stop;
    o.stop_price = a.stop_trigger;
  } else if (a.order_type == 3) {
    reject_intent("unsupported_order", "stop-limit entries are not supported by this version");
    transition(RunnerEvent::EntryFailed, "entry not sent: stop-limit entries are not supported");
    return;
  }
  submit(std::move(o));
}

void SymbolRunner::exit_position(std::string reason, model::OrderPurpose purpose) {
  for (auto id : entry_orders_) exec_.cancel(id);
  entry_orders_.clear();
  cancel_protection();
  prune(exit_orders_, exec_);
  const double q = portfolio_.position(instrument_.id).qty;
  if (q != 0) {
    if (exit_orders_.empty())
      submit(make_order(q > 0 ? model::Side::Sell : model::Side::Buy, std::fabs(q), purpose, std::move(reason)));
  } else if (state_ == RunnerState::InTrade) {
    transition(RunnerEvent::EntryFailed, "entry cancelled before it filled: " + reason);
  }
}

void SymbolRunner::adjust(const te_action& a) {
  if (a.stop == a.stop) want_stop_ = a.stop;
  if (a.target == a.target) want_target_ = a.target;
  if (portfolio_.position(instrument_.id).qty == 0) return;  // applied when the entry fills
  if (a.stop == a.stop) {
    if (stop_order_ && working(exec_, stop_order_))
      exec_.amend(stop_order_, a.stop, std::nullopt);
    else
      place_protection();
  }
  if (a.target == a.target) {
    if (target_order_ && working(exec_, target_order_))
      exec_.amend(target_order_, std::nullopt, a.target);
    else
      place_protection();
  }
}

void SymbolRunner::place_protection() {
  const double q = portfolio_.position(instrument_.id).qty;
  if (q == 0) return;
  const model::Side side = q > 0 ? model::Side::Sell : model::Side::Buy;
  const double qty = std::fabs(q);
  auto needs_new = [&](model::OrderId id) {
    const model::Order* o = id ? exec_.find(id) : nullptr;
    return o == nullptr || model::is_terminal(o->status) || o->qty != qty;
  };
  if (want_stop_ > 0 && needs_new(stop_order_)) {
    if (stop_order_) exec_.cancel(stop_order_);
    stop_order_ = 0;
    model::Order o = make_order(side, qty, model::OrderPurpose::StopLoss, "protective stop");
    o.type = model::OrderType::Stop;
    o.stop_price = want_stop_;
    submit(std::move(o));
  }
  if (want_target_ > 0 && needs_new(target_order_)) {
    if (target_order_) exec_.cancel(target_order_);
    target_order_ = 0;
    model::Order o = make_order(side, qty, model::OrderPurpose::TakeProfit, "take profit");
    o.type = model::OrderType::Limit;
    o.limit_price = want_target_;
    submit(std::move(o));
  }
}

void SymbolRunner::cancel_protection() {
  if (stop_order_) exec_.cancel(stop_order_);
  if (target_order_) exec_.cancel(target_order_);
  stop_order_ = 0;
  target_order_ = 0;
}

void SymbolRunner::on_order_update(const model::Order& order) {
  if (observer_) {
    observer_->on_order(*this, order);
    observer_->on_order_event(*this, order, nullptr, nullptr);
  }
  if (order.purpose != model::OrderPurpose::Entry || !model::is_terminal(order.status) ||
      order.status == model::OrderStatus::Filled)
    return;
  // A cancelled or expired entry: if nothing is held and nothing else is
  // working, the trade never happened.
  prune(entry_orders_, exec_);
  if (state_ == RunnerState::InTrade && entry_orders_.empty() && portfolio_.position(instrument_.id).qty == 0)
    transition(RunnerEvent::EntryFailed, order.status == model::OrderStatus::Expired
                                             ? "entry order expired before it filled"
                                             : "entry order cancelled before it filled");
}

void SymbolRunner::on_fill(const model::Fill& fill, const model::Order& order) {
  if (observer_) {
    observer_->on_fill(*this, fill);
    observer_->on_order_event(*this, order, &fill, nullptr);
  }
  const double q = portfolio_.position(instrument_.id).qty;
  if (order.purpose == model::OrderPurpose::Entry) {
    prune(entry_orders_, exec_);
    place_protection();
    return;
  }
  prune(exit_orders_, exec_);
  if (q != 0) {
    place_protection();  // a partial exit: resize the protection
    return;
  }
  cancel_protection();
  for (auto id : exit_orders_) exec_.cancel(id);
  exit_orders_.clear();
  if (state_ == RunnerState::InTrade) {
    std::string reason;
    switch (order.purpose) {
      case model::OrderPurpose::StopLoss: reason = fmt::format("stop filled at {}", fill.price); break;
      case model::OrderPurpose::TakeProfit: reason = fmt::format("target filled at {}", fill.price); break;
      default: reason = fmt::format("{} filled at {}", reason_or(order.tag, "exit"), fill.price); break;
    }
    transition(RunnerEvent::PositionClosed, std::move(reason));
  }
}

void SymbolRunner::on_rejected(const model::Rejection& rejection, const model::Order& order) {
  ++stats_.rejections;
  if (observer_) {
    observer_->on_rejected(*this, rejection);
    observer_->on_order_event(*this, order, nullptr, &rejection);
  }
  if (order.purpose != model::OrderPurpose::Entry) return;
  prune(entry_orders_, exec_);
  entry_orders_.erase(std::remove(entry_orders_.begin(), entry_orders_.end(), order.id), entry_orders_.end());
  if (state_ == RunnerState::InTrade && entry_orders_.empty() && portfolio_.position(instrument_.id).qty == 0)
    transition(RunnerEvent::EntryFailed, fmt::format("entry rejected ({}): {}", rejection.code, rejection.message));
}

void Router::add(SymbolRunner& runner) {
  const auto id = runner.config().id;
  if (id >= runners_.size()) runners_.resize(id + 1, nullptr);
  TE_ASSERT(runners_[id] == nullptr, "two runners with id %u", id);
  runners_[id] = &runner;
}

void Router::on_order_update(const model::Order& order) {
  if (SymbolRunner* r = runner(order.runner)) r->on_order_update(order);
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
