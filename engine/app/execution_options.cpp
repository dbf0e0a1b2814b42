#include "engine/app/execution_options.hpp"

namespace te::app {
namespace {

risk::StormGuardConfig stormguard(const config::StormGuardSection& s) {
  risk::StormGuardConfig g;
  g.enabled = s.enabled;
  g.warm = s.warm;
  g.storm = s.storm;
  g.halt = s.halt;
  g.basis = s.basis == "daily" ? risk::StormGuardConfig::Basis::Daily : risk::StormGuardConfig::Basis::Drawdown;
  g.warm_size_scale = s.warm_size_scale;
  g.halt_flatten = s.halt_flatten;
  g.cooldown_bars = s.cooldown_bars;
  g.halt_cooldown_bars = s.halt_cooldown_bars;
  return g;
}

}  // namespace

Result<ExecutionSetup> execution_setup(const config::ExecutionSection& s) {
  ExecutionSetup out;
  auto fill = exec::parse_fill_model(s.fill);
  if (!fill) return std::move(fill).error();
  out.exchange.fill = *fill;
  exec::CommissionModel& c = out.exchange.commission;
  if (s.commission_model == "percent") {
    c.kind = exec::CommissionModel::Kind::Percent;
  } else if (s.commission_model == "per_share") {
    c.kind = exec::CommissionModel::Kind::PerShare;
  } else if (s.commission_model == "fixed") {
    c.kind = exec::CommissionModel::Kind::Fixed;
  } else if (s.commission_model == "maker_taker") {
    c.kind = exec::CommissionModel::Kind::MakerTaker;
  } else {
    return make_error(Errc::invalid_argument, "unknown commission model '" + s.commission_model + "'");
  }
  c.rate = s.commission;
  c.minimum = s.commission_minimum;
  c.maker_rate = s.maker_fee;
  c.taker_rate = s.taker_fee;
  exec::SlippageModel& sl = out.exchange.slippage;
  sl.value = s.slippage;
  if (s.slippage == 0 || s.slippage_model == "none") sl.kind = exec::SlippageModel::Kind::None;
  else if (s.slippage_model == "percent") sl.kind = exec::SlippageModel::Kind::Percent;
  else if (s.slippage_model == "ticks") sl.kind = exec::SlippageModel::Kind::Ticks;
  else if (s.slippage_model == "volume") sl.kind = exec::SlippageModel::Kind::Volume;
  else return make_error(Errc::invalid_argument, "unknown slippage model '" + s.slippage_model + "'");
  out.exchange.max_volume_fraction = s.max_volume_fraction;
  out.exchange.latency_bars = s.latency_bars;
  out.tick_size = s.tick_size;
  out.lot_size = s.lot_size;
  out.min_qty = s.min_qty;
  out.min_notional = s.min_notional;
  out.margin.leverage = s.leverage;
  out.margin.short_margin = s.short_margin;
  out.allow_short = s.allow_short;
  out.pyramiding = s.pyramiding;
  out.close_at_end = s.close_at_end;
  out.initial_cash = s.initial_cash;
  return out;
}

risk::StrategyLimits strategy_limits(const config::StrategyRiskSection& s) {
  risk::StrategyLimits l;
  l.capital = s.capital;
  l.max_position_qty = s.max_position_qty;
  l.max_position_notional = s.max_position_notional;
  l.max_position_fraction = s.max_position_fraction;
  l.max_risk_per_trade = s.max_risk_per_trade;
  l.max_daily_loss = s.max_daily_loss;
  l.max_drawdown = s.max_drawdown;
  l.max_orders = s.max_orders;
  l.order_window_s = s.order_window_s;
  l.stormguard = stormguard(s.stormguard);
  return l;
}

risk::RiskConfig risk_config(const config::RiskSection& s) {
  risk::RiskConfig r;
  r.kill_switch = s.kill_switch;
  r.kill_switch_at_ns = s.kill_switch_at_ns;
  r.kill_switch_file = s.kill_switch_file;
  r.account.max_open_positions = s.max_open_positions;
  r.account.price_band = s.price_band;
  r.account.max_daily_loss = s.max_daily_loss;
  r.account.max_drawdown = s.max_drawdown;
  r.account.max_orders = s.max_orders;
  r.account.order_window_s = s.order_window_s;
  r.account.stormguard = stormguard(s.stormguard);
  r.strategy = strategy_limits(s.strategy);
  return r;
}

}  // namespace te::app
