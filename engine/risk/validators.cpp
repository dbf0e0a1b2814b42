#include "engine/risk/validators.hpp"

#include <cmath>

#include <fmt/core.h>

#include "engine/core/time.hpp"
#include "engine/risk/risk_codes.hpp"

namespace te::risk {
namespace {

std::string percent(double f) { return fmt::format("{:.4g} %", f * 100); }

double after_fill(const CheckContext& c) {
  return c.position_qty + model::sign(c.order.side) * c.order.qty;
}

void expire(std::deque<std::int64_t>& q, std::int64_t now, std::int64_t window) {
  while (!q.empty() && q.front() <= now - window) q.pop_front();
}

std::int64_t window_ns(double seconds) { return static_cast<std::int64_t>(std::llround(seconds * 1e9)); }

}  // namespace

void ScopeState::mark(double v, std::int64_t ts_ns) noexcept {
  const std::int64_t d = floor_days(ts_ns);
  if (!started || d != day) {
    day = d;
    day_start = v;
  }
  if (!started || v > peak) peak = v;
  started = true;
  value = v;
}

std::optional<Denial> LossLimits::check(const CheckContext& c) {
  const auto& a = c.account;
  const auto& al = c.account_limits;
  if (al.max_daily_loss > 0 && a.day_start > 0) {
    const double loss = (a.day_start - a.value) / a.day_start;
    if (loss >= al.max_daily_loss)
      return Denial{codes::kMaxDailyLoss, fmt::format("account lost {} today (limit {})", percent(loss),
                                                      percent(al.max_daily_loss))};
  }
  if (al.max_drawdown > 0 && a.peak > 0) {
    const double dd = (a.peak - a.value) / a.peak;
    if (dd >= al.max_drawdown)
      return Denial{codes::kMaxDrawdown, fmt::format("account drawdown is {} (limit {})", percent(dd),
                                                     percent(al.max_drawdown))};
  }
  const auto& s = c.strategy;
  const auto& l = c.limits;
  if (c.strategy_capital > 0 && s.started) {
    if (l.max_daily_loss > 0) {
      const double loss = (s.day_start - s.value) / c.strategy_capital;
      if (loss >= l.max_daily_loss)
        return Denial{codes::kStrategyMaxDailyLoss,
                      fmt::format("strategy lost {} of its capital today (limit {})", percent(loss),
                                  percent(l.max_daily_loss))};
    }
    if (l.max_drawdown > 0) {
      const double dd = (s.peak - s.value) / c.strategy_capital;
      if (dd >= l.max_drawdown)
        return Denial{codes::kStrategyMaxDrawdown,
                      fmt::format("strategy drawdown is {} of its capital (limit {})", percent(dd),
                                  percent(l.max_drawdown))};
    }
  }
  return std::nullopt;
}

std::optional<Denial> OpenPositions::check(const CheckContext& c) {
  const std::int64_t limit = c.account_limits.max_open_positions;
  if (limit <= 0 || c.position_qty != 0) return std::nullopt;  // adding to an open position opens nothing new
  const auto open = static_cast<std::int64_t>(c.portfolio.open_positions());
  if (open >= limit)
    return Denial{codes::kMaxOpenPositions,
                  fmt::format("{} positions are open, the limit is {}", open, limit)};
  return std::nullopt;
}

std::optional<Denial> PositionSize::check(const CheckContext& c) {
  const auto& l = c.limits;
  const double q = std::fabs(after_fill(c));
  if (l.max_position_qty > 0 && q > l.max_position_qty * (1 + 1e-12))
    return Denial{codes::kMaxPositionQty,
                  fmt::format("position would be {} (limit {})", q, l.max_position_qty)};
  const double notional = q * c.price;
  if (l.max_position_notional > 0 && notional > l.max_position_notional * (1 + 1e-12))
    return Denial{codes::kMaxPositionNotional,
                  fmt::format("position value would be {} (limit {})", notional, l.max_position_notional)};
  const double equity = c.account.value;
  if (l.max_position_fraction > 0 && equity > 0 && notional / equity > l.max_position_fraction * (1 + 1e-12))
    return Denial{codes::kMaxPositionFraction,
                  fmt::format("position value {} would be {} of equity (limit {})", notional,
                              percent(notional / equity), percent(l.max_position_fraction))};
  return std::nullopt;
}

std::optional<Denial> TradeRisk::check(const CheckContext& c) {
  const double limit = c.limits.max_risk_per_trade;
  if (limit <= 0 || !(c.planned_stop > 0) || !(c.account.value > 0)) return std::nullopt;
  const double at_risk = std::fabs(c.price - c.planned_stop) * c.order.qty;
  const double f = at_risk / c.account.value;
  if (f > limit * (1 + 1e-12))
    return Denial{codes::kMaxRiskPerTrade,
                  fmt::format("{} x |{} - stop {}| = {} at risk is {} of equity (limit {})", c.order.qty, c.price,
                              c.planned_stop, at_risk, percent(f), percent(limit))};
  return std::nullopt;
}

std::optional<Denial> PriceBand::check(const CheckContext& c) {
  const double band = c.account_limits.price_band;
  if (band <= 0 || !(c.last_price > 0)) return std::nullopt;
  auto outside = [&](double px) { return px > 0 && std::fabs(px - c.last_price) / c.last_price > band * (1 + 1e-12); };
  const auto& o = c.order;
  const bool has_limit = o.type == model::OrderType::Limit || o.type == model::OrderType::StopLimit;
  const bool has_stop = o.type == model::OrderType::Stop || o.type == model::OrderType::StopLimit;
  if (has_limit && outside(o.limit_price))
    return Denial{codes::kPriceBand, fmt::format("limit price {} is more than {} from the last price {}",
                                                 o.limit_price, percent(band), c.last_price)};
  if (has_stop && outside(o.stop_price))
    return Denial{codes::kPriceBand, fmt::format("stop price {} is more than {} from the last price {}", o.stop_price,
                                                 percent(band), c.last_price)};
  return std::nullopt;
}

std::optional<Denial> OrderRate::check(const CheckContext& c) {
  const auto& l = c.limits;
  if (l.max_orders > 0) {
    auto& q = per_strategy_[c.order.strategy];
    expire(q, c.ts_ns, window_ns(l.order_window_s));
    if (static_cast<std::int64_t>(q.size()) >= l.max_orders)
      return Denial{codes::kOrderRate, fmt::format("strategy sent {} orders within {} s (limit {})", q.size(),
                                                   l.order_window_s, l.max_orders)};
  }
  const auto& al = c.account_limits;
  if (al.max_orders > 0) {
    expire(account_, c.ts_ns, window_ns(al.order_window_s));
    if (static_cast<std::int64_t>(account_.size()) >= al.max_orders)
      return Denial{codes::kOrderRate, fmt::format("the account sent {} orders within {} s (limit {})",
                                                   account_.size(), al.order_window_s, al.max_orders)};
  }
  return std::nullopt;
}

void OrderRate::on_sent(const CheckContext& c) {
  if (c.limits.max_orders > 0) per_strategy_[c.order.strategy].push_back(c.ts_ns);
  if (c.account_limits.max_orders > 0) account_.push_back(c.ts_ns);
}

std::vector<std::unique_ptr<Validator>> standard_validators() {
  std::vector<std::unique_ptr<Validator>> v;
  v.push_back(std::make_unique<LossLimits>());
  v.push_back(std::make_unique<OpenPositions>());
  v.push_back(std::make_unique<PositionSize>());
  v.push_back(std::make_unique<TradeRisk>());
  v.push_back(std::make_unique<PriceBand>());
  v.push_back(std::make_unique<OrderRate>());
  return v;
}

}  // namespace te::risk
