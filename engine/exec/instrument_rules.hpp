#pragma once
// An instrument's trading rules applied to orders: prices on the tick grid,
// quantities on the lot grid, minimum quantity and notional. The runner rounds
// what a strategy asked for (round_*); the exchange refuses what is still off
// the rules (check_order), as a venue would.
#include <optional>
#include <string>

#include "engine/model/instrument.hpp"
#include "engine/model/order.hpp"

namespace te::exec {

enum class Rounding : std::uint8_t { Down, Up, Nearest };

// `price` on the grid of `tick` (tick <= 0: unchanged). The result is the
// double nearest to the decimal grid value (10.12, not 10.120000000000001).
double round_to_tick(double price, double tick, Rounding mode) noexcept;
// `qty` rounded down to a whole number of lots (lot <= 0: unchanged).
double round_to_lot(double qty, double lot) noexcept;
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
