#include "engine/exec/instrument_rules.hpp"

#include <cmath>

#include <fmt/core.h>

#include "engine/exec/reject_codes.hpp"

namespace te::exec {
namespace {

// Decimal places of a step such as 0.01 or 0.25 (at most 12), so grid values
// can be snapped to the nearest double of their decimal form.
int decimals(double step) noexcept {
  double scale = 1;
  for (int d = 0; d <= 12; ++d) {
    const double x = step * scale;
    if (std::fabs(x - std::round(x)) <= kGridEps * std::max(1.0, x)) return d;
    scale *= 10;
  }
  return -1;
}

double snap(double n, double step) noexcept {
  // A step of 1 (a whole lot or tick): decimals() is 0, the value round(n).
  if (step == 1.0) return std::round(n);
  const double v = n * step;
  const int d = decimals(step);
  if (d < 0) return v;
  // A whole step (lot 1, tick 1): pow(10, 0) is exactly 1, so this is the
  // same value without the pow call (a sized entry rounds every time).
  if (d == 0) return std::round(v);
  const double scale = std::pow(10.0, d);
  return std::round(v * scale) / scale;
}

}  // namespace

double round_to_tick(double price, double tick, Rounding mode) noexcept {
  if (!(tick > 0) || !std::isfinite(price)) return price;
  const double x = price / tick;
  double n = std::round(x);
  if (std::fabs(x - n) > kGridEps * std::max(1.0, std::fabs(x))) {
    switch (mode) {
      case Rounding::Down: n = std::floor(x); break;
      case Rounding::Up: n = std::ceil(x); break;
      case Rounding::Nearest: break;
    }
  }
  return snap(n, tick);
}

double round_to_lot_any(double qty, double lot) noexcept {
  if (!(lot > 0) || !std::isfinite(qty)) return qty;
  return snap(std::floor(qty / lot + kGridEps), lot);
}

bool on_grid(double value, double step) noexcept {
  if (!(step > 0)) return true;
  const double x = value / step;
  return std::fabs(x - std::round(x)) <= kGridEps * std::max(1.0, std::fabs(x));
}

Rounding limit_rounding(model::Side side) noexcept {
  return side == model::Side::Buy ? Rounding::Down : Rounding::Up;
}
Rounding stop_rounding(model::Side side) noexcept {
  return side == model::Side::Buy ? Rounding::Up : Rounding::Down;
}

std::optional<OrderRefusal> check_order(const model::Order& o, const model::Instrument& rules,
                                        double reference_price) {
  using model::OrderType;
  if (!(o.qty > 0) || !std::isfinite(o.qty))
    return OrderRefusal{codes::kInvalidQuantity, fmt::format("quantity must be a positive number, was {}", o.qty)};
  const bool needs_limit = o.type == OrderType::Limit || o.type == OrderType::StopLimit;
  const bool needs_stop = o.type == OrderType::Stop || o.type == OrderType::StopLimit;
  if (needs_limit && !(o.limit_price > 0 && std::isfinite(o.limit_price)))
    return OrderRefusal{codes::kInvalidPrice,
                        fmt::format("{} order needs a positive limit price, was {}", model::to_string(o.type),
                                    o.limit_price)};
  if (needs_stop && !(o.stop_price > 0 && std::isfinite(o.stop_price)))
    return OrderRefusal{codes::kInvalidPrice,
                        fmt::format("{} order needs a positive stop price, was {}", model::to_string(o.type),
                                    o.stop_price)};
  if (o.type == OrderType::TrailingStop) {
    const bool amount = o.trail_amount > 0 && std::isfinite(o.trail_amount);
    const bool pct = o.trail_pct > 0 && o.trail_pct < 1;
    if (amount == pct)
      return OrderRefusal{codes::kUnsupportedOrder,
                          fmt::format("a trailing stop needs exactly one distance: trail_amount > 0 or trail_pct in "
                                      "(0, 1); was {} and {}",
                                      o.trail_amount, o.trail_pct)};
    if (o.stop_price < 0 || !std::isfinite(o.stop_price))
      return OrderRefusal{codes::kInvalidPrice, fmt::format("trailing stop trigger must be >= 0, was {}", o.stop_price)};
  }
  if (o.tif == model::TimeInForce::GoodForBars && o.tif_bars <= 0)
    return OrderRefusal{codes::kUnsupportedOrder,
                        fmt::format("good-for-bars needs a bar count > 0, was {}", o.tif_bars)};
  if (rules.tick_size > 0) {
    if (needs_limit && !on_grid(o.limit_price, rules.tick_size))
      return OrderRefusal{codes::kOffTick,
                          fmt::format("limit price {} is not a multiple of the tick size {}", o.limit_price,
                                      rules.tick_size)};
    if (needs_stop && !on_grid(o.stop_price, rules.tick_size))
      return OrderRefusal{codes::kOffTick, fmt::format("stop price {} is not a multiple of the tick size {}",
                                                       o.stop_price, rules.tick_size)};
  }
  if (rules.lot_size > 0 && !on_grid(o.qty, rules.lot_size))
    return OrderRefusal{codes::kOffLot,
                        fmt::format("quantity {} is not a multiple of the lot size {}", o.qty, rules.lot_size)};
  if (o.reduce_only) return std::nullopt;
  if (rules.min_qty > 0 && o.qty < rules.min_qty * (1 - kGridEps))
    return OrderRefusal{codes::kBelowMinQuantity,
                        fmt::format("quantity {} is below the minimum {}", o.qty, rules.min_qty)};
  if (rules.min_notional > 0) {
    double px = reference_price;
    if (needs_limit) px = o.limit_price;
    else if (needs_stop) px = o.stop_price;
    if (px > 0 && o.qty * px < rules.min_notional * (1 - kGridEps))
      return OrderRefusal{codes::kBelowMinNotional,
                          fmt::format("order value {} ({} x {}) is below the minimum notional {}", o.qty * px, o.qty,
                                      px, rules.min_notional)};
  }
  return std::nullopt;
}

}  // namespace te::exec
