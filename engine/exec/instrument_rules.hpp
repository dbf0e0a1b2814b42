#pragma once
// An instrument's trading rules applied to orders: prices on the tick grid,
// quantities on the lot grid, minimum quantity and notional. The runner rounds
// what a strategy asked for (round_*); the exchange refuses what is still off
// the rules (check_order), as a venue would.
#include <cmath>
#include <optional>
#include <string>

#include "engine/model/instrument.hpp"
#include "engine/model/order.hpp"

namespace te::exec {

enum class Rounding : std::uint8_t { Down, Up, Nearest };

// `price` on the grid of `tick` (tick <= 0: unchanged). The result is the
// double nearest to the decimal grid value (10.12, not 10.120000000000001).
double round_to_tick(double price, double tick, Rounding mode) noexcept;
// A value within this fraction of a grid step of a grid point is on it.
inline constexpr double kGridEps = 1e-9;
// `qty` rounded down to a whole number of lots (lot <= 0: unchanged).
double round_to_lot_any(double qty, double lot) noexcept;
// A lot of 1 (whole units, the usual case; every entry is sized) inline:
// qty / 1 is qty, and floor() gives a whole double, which snapping to a step
// of 1 (round) leaves as it is, so this is round_to_lot_any's value.
inline double round_to_lot(double qty, double lot) noexcept {
  if (lot == 1.0) return std::isfinite(qty) ? std::floor(qty + kGridEps) : qty;
  return round_to_lot_any(qty, lot);
}
bool on_grid(double value, double step) noexcept;

// The rounding that never makes an order worse for its sender: buy limits
// down, sell limits up; buy stops up, sell stops down (they trigger no earlier
// than asked).
Rounding limit_rounding(model::Side side) noexcept;
Rounding stop_rounding(model::Side side) noexcept;

struct OrderRefusal {
  const char* code = "";  // engine/exec/reject_codes.hpp
  std::string message;
};

// Checks quantity and prices against `rules`. `reference_price` values market
// orders for the notional check (0: unknown, check skipped). Reduce-only orders
// are exempt from the minimum quantity and notional so that a position can
// always be closed.
std::optional<OrderRefusal> check_order(const model::Order& order, const model::Instrument& rules,
                                        double reference_price);

}  // namespace te::exec
