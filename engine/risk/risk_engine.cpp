#include "engine/risk/risk_engine.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/core.h>

#include "engine/core/time.hpp"
#include "engine/risk/risk_codes.hpp"

namespace te::risk {
namespace {

std::string percent(double f) { return fmt::format("{:.4g} %", f * 100); }

double threshold(const StormGuardConfig& c, StormState s) {
  switch (s) {
    case StormState::Warm: return c.warm;
    case StormState::Storm: return c.storm;
    case StormState::Halt: return c.halt;
    case StormState::Normal: return 0;
  }
  return 0;
}

std::string transition_reason(const StormGuardConfig& c, const StormTransition& t) {
  switch (t.event) {
    case StormEvent::EscalateWarm:
    case StormEvent::EscalateStorm:
    case StormEvent::EscalateHalt:
      return fmt::format("loss {} reached {} ({})", percent(t.loss), to_string(t.to), percent(threshold(c, t.to)));
    case StormEvent::Recover:
      return fmt::format("no further loss for {} bars: back to {}",
                         t.from == StormState::Halt ? c.halt_cooldown_bars : c.cooldown_bars, to_string(t.to));
    case StormEvent::Reset: return "new trading day";
  }
  return "";
}

double rounded_lot(double qty, double lot) {
  if (!(lot > 0)) return qty;
  return std::floor(qty / lot + 1e-9) * lot;
}

}  // namespace

double RiskEngine::Book::pnl() const noexcept {
  double u = 0;
  for (const auto& l : lots) u += l.qty * (l.last - l.avg);
  return realized + u;
}

RiskEngine::RiskEngine(RiskConfig config, const portfolio::Portfolio& portfolio)
    : config_(std::move(config)),
      portfolio_(portfolio),
      validators_(standard_validators()),
      account_guard_(config_.account.stormguard),
      kill_(config_.kill_switch) {}

void RiskEngine::add_validator(std::unique_ptr<Validator> v) { validators_.push_back(std::move(v)); }

const StrategyLimits& RiskEngine::limits(model::StrategyId strategy) const noexcept {
  auto it = config_.strategies.find(strategy);
  return it != config_.strategies.end() ? it->second : config_.strategy;
}

double RiskEngine::capital(model::StrategyId strategy) const noexcept {
  const double c = limits(strategy).capital;
  return c > 0 ? c : portfolio_.initial_cash();
}

RiskEngine::Book& RiskEngine::book(model::StrategyId strategy) {
  if (strategy >= books_.size()) books_.resize(static_cast<std::size_t>(strategy) + 1);
  Book& b = books_[strategy];
  if (!b.used) {
    b.used = true;
    b.guard = StormGuard(limits(strategy).stormguard);
  }
  return b;
}

const RiskEngine::Book* RiskEngine::find_book(model::StrategyId strategy) const noexcept {
  return strategy < books_.size() && books_[strategy].used ? &books_[strategy] : nullptr;
}

StormState RiskEngine::strategy_state(model::StrategyId strategy) const noexcept {
  const Book* b = find_book(strategy);
  return b ? b->guard.state() : StormState::Normal;
}

StormState RiskEngine::effective_state(model::StrategyId strategy) const noexcept {
  return std::max(account_guard_.state(), strategy_state(strategy));
}

double RiskEngine::strategy_pnl(model::StrategyId strategy) const noexcept {
  const Book* b = find_book(strategy);
  return b ? b->pnl() : 0.0;
}

bool RiskEngine::must_flatten(model::StrategyId strategy) const noexcept {
  if (kill_) return true;
  const Book* b = find_book(strategy);
  const bool strategy_halt = b && b->guard.state() == StormState::Halt && b->guard.config().halt_flatten;
  const bool account_halt = account_guard_.state() == StormState::Halt && account_guard_.config().halt_flatten;
  return strategy_halt || account_halt;
}

void RiskEngine::report(bool account, model::StrategyId strategy, const std::optional<StormTransition>& t,
                        std::string reason, std::int64_t ts_ns, RiskEventSink* sink) {
  if (!t || !sink) return;
  StormGuardChange c;
  c.account = account;
  c.strategy = strategy;
  c.transition = *t;
  c.reason = std::move(reason);
  c.ts_ns = ts_ns;
  sink->on_stormguard(c);
}

void RiskEngine::engage_kill_switch(std::string reason, std::int64_t ts_ns, RiskEventSink* sink) {
  kill_requested_.store(false, std::memory_order_relaxed);
  if (kill_) return;
  kill_ = true;
  if (sink) sink->on_kill_switch(KillSwitchEvent{true, std::move(reason), ts_ns});
}

void RiskEngine::release_kill_switch(std::string reason, std::int64_t ts_ns, RiskEventSink* sink) {
  kill_requested_.store(false, std::memory_order_relaxed);
  if (!kill_) return;
  kill_ = false;
  if (sink) sink->on_kill_switch(KillSwitchEvent{false, std::move(reason), ts_ns});
}

void RiskEngine::poll_kill_switch(std::int64_t ts_ns, RiskEventSink* sink) {
  if (kill_requested_.load(std::memory_order_acquire))
    engage_kill_switch(kill_reason_.load(std::memory_order_relaxed), ts_ns, sink);
  if (!kill_at_done_ && config_.kill_switch_at_ns != 0 && ts_ns >= config_.kill_switch_at_ns) {
    kill_at_done_ = true;
    engage_kill_switch(fmt::format("kill switch scheduled at {}", format_iso8601(config_.kill_switch_at_ns)), ts_ns,
                       sink);
  }
}

void RiskEngine::on_fill(const model::Fill& fill) {
  Book& b = book(fill.strategy);
  b.realized -= fill.commission;
  auto it = std::find_if(b.lots.begin(), b.lots.end(), [&](const Lot& l) { return l.instrument == fill.instrument; });
  if (it == b.lots.end()) {
    b.lots.push_back(Lot{fill.instrument, 0, 0, fill.price});
    it = b.lots.end() - 1;
  }
  Lot& l = *it;
  const double f = model::sign(fill.side) * fill.qty;
  l.last = fill.price;
  if (l.qty == 0 || l.qty * f > 0) {
    l.avg = (std::fabs(l.qty) * l.avg + std::fabs(f) * fill.price) / (std::fabs(l.qty) + std::fabs(f));
    l.qty += f;
    return;
  }
  const double k = std::min(std::fabs(f), std::fabs(l.qty));
  b.realized += k * (fill.price - l.avg) * (l.qty > 0 ? 1.0 : -1.0);
  const double rest = std::fabs(f) - k;
  l.qty += f > 0 ? k : -k;
  if (std::fabs(l.qty) < 1e-12) l.qty = 0;
  if (rest > 0) {
    l.qty = f > 0 ? rest : -rest;
    l.avg = fill.price;
  }
}

void RiskEngine::on_bar(model::StrategyId strategy, model::InstrumentId instrument, double price, std::int64_t ts_ns,
                        RiskEventSink* sink) {
  poll_kill_switch(ts_ns, sink);
  Book& b = book(strategy);
  for (auto& l : b.lots)
    if (l.instrument == instrument && price > 0) l.last = price;
  const double cap = capital(strategy);
  const double value = cap + b.pnl();
  // Scopes start from where trading started (capital, initial cash), so a loss
  // before the first mark still counts.
  if (!b.scope.started) b.scope.mark(cap, ts_ns);
  b.scope.mark(value, ts_ns);
  const double equity = portfolio_.equity();
  if (!account_scope_.started) account_scope_.mark(portfolio_.initial_cash(), ts_ns);
  account_scope_.mark(equity, ts_ns);
  if (auto t = account_guard_.evaluate(equity, 0, ts_ns))
    report(true, strategy, t, transition_reason(account_guard_.config(), *t), ts_ns, sink);
  if (auto t = b.guard.evaluate(value, cap, ts_ns))
    report(false, strategy, t, transition_reason(b.guard.config(), *t), ts_ns, sink);
}

Decision RiskEngine::check(const model::Order& order, const model::Instrument& instrument, double last_price,
                           double planned_stop, std::int64_t ts_ns, RiskEventSink* sink) {
  poll_kill_switch(ts_ns, sink);
  Decision d;
  d.runner = order.runner;
  d.strategy = order.strategy;
  d.instrument = order.instrument;
  d.side = order.side;
  d.purpose = order.purpose;
  d.requested_qty = d.approved_qty = order.qty;
  d.ts_ns = ts_ns;
  d.state = effective_state(order.strategy);
  Book& b = book(order.strategy);
  if (!account_scope_.started) account_scope_.mark(portfolio_.initial_cash(), ts_ns);
  account_scope_.mark(portfolio_.equity(), ts_ns);
  const double cap = capital(order.strategy);
  if (!b.scope.started) b.scope.mark(cap, ts_ns);
  b.scope.mark(cap + b.pnl(), ts_ns);
  model::Order o = order;
  double price = last_price;
  if (o.type == model::OrderType::Limit || o.type == model::OrderType::StopLimit) price = o.limit_price;
  else if (o.type == model::OrderType::Stop) price = o.stop_price;
  const StrategyLimits& lim = limits(order.strategy);
  CheckContext ctx{o,   instrument, price, last_price, portfolio_.position(order.instrument).qty, planned_stop, ts_ns,
                   portfolio_, account_scope_, b.scope, cap, config_.account, lim};
  auto deny = [&](const char* code, std::string message) {
    d.approved = false;
    d.approved_qty = 0;
    d.code = code;
    d.message = std::move(message);
    return d;
  };
  if (o.reduce_only) {
    for (auto& v : validators_) v->on_sent(ctx);
    return d;
  }
  if (kill_) return deny(codes::kKillSwitch, "the kill switch is engaged: no new positions");
  switch (d.state) {
    case StormState::Halt:
      return deny(codes::kStormGuardHalt, "StormGuard is HALT: trading is stopped");
    case StormState::Storm:
      return deny(codes::kStormGuardStorm, "StormGuard is STORM: only orders that reduce a position are allowed");
    case StormState::Warm: {
      const double scale = std::max(account_guard_.state() == StormState::Warm ? account_guard_.config().warm_size_scale : 1.0,
                                    0.0) *
                           (b.guard.state() == StormState::Warm ? b.guard.config().warm_size_scale : 1.0);
      const double q = rounded_lot(o.qty * scale, instrument.lot_size);
      if (!(q > 0))
        return deny(codes::kStormGuardWarm,
                    fmt::format("StormGuard is WARM: quantity {} scaled by {} leaves nothing to trade", o.qty, scale));
      o.qty = q;
      d.approved_qty = q;
      d.code = codes::kStormGuardWarm;
      d.message = fmt::format("StormGuard is WARM: quantity scaled by {} from {} to {}", scale, order.qty, q);
      break;
    }
    case StormState::Normal: break;
  }
  for (auto& v : validators_) {
    if (auto denial = v->check(ctx)) return deny(denial->code, std::move(denial->message));
  }
  for (auto& v : validators_) v->on_sent(ctx);
  return d;
}

void RiskEngine::reset_stormguard(std::optional<model::StrategyId> strategy, std::int64_t ts_ns, RiskEventSink* sink) {
  if (!strategy) {
    report(true, 0, account_guard_.reset(portfolio_.equity()), "operator reset", ts_ns, sink);
    return;
  }
  Book& b = book(*strategy);
  report(false, *strategy, b.guard.reset(capital(*strategy) + b.pnl()), "operator reset", ts_ns, sink);
}

void RiskEngine::force_stormguard(std::optional<model::StrategyId> strategy, StormState to, std::int64_t ts_ns,
                                  RiskEventSink* sink) {
  const std::string reason = fmt::format("operator forced {}", to_string(to));
  if (!strategy) {
    report(true, 0, account_guard_.force(to, portfolio_.equity()), reason, ts_ns, sink);
    return;
  }
  Book& b = book(*strategy);
  report(false, *strategy, b.guard.force(to, capital(*strategy) + b.pnl()), reason, ts_ns, sink);
}

}  // namespace te::risk
