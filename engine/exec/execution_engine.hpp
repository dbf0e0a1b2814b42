#pragma once
// The seam between runners and whatever executes orders: the simulated exchange
// (backtest and paper) or a live venue. Runners only see this interface, so the
// runner code path is the same in every mode.
#include <cstdint>
#include <optional>
#include <string>

#include "engine/model/bar.hpp"
#include "engine/model/order.hpp"

namespace te::exec {

// Told about every order status change, fill and rejection, on the run's event
// thread, synchronously from submit()/on_bar_*().
class ExecutionListener {
 public:
  virtual ~ExecutionListener() = default;
  virtual void on_order_update(const model::Order& order) = 0;
  virtual void on_fill(const model::Fill& fill, const model::Order& order) = 0;
  virtual void on_rejected(const model::Rejection& rejection, const model::Order& order) = 0;
};

// Decides whether the account can pay for a fill (implemented over the portfolio).
class FillGate {
 public:
  virtual ~FillGate() = default;
  // nullopt when the fill may happen, else the reason it may not.
  virtual std::optional<std::string> check_fill(model::InstrumentId instrument, model::Side side, double qty,
                                                double price, double commission) const = 0;
};

class ExecutionEngine {
 public:
  virtual ~ExecutionEngine() = default;
  // Takes an order (id assigned here, status Submitted); the listener hears of
  // acceptance or rejection. Returns the id.
  virtual model::OrderId submit(model::Order order) = 0;
  // Cancels a working order; false when it is unknown or already final.
  virtual bool cancel(model::OrderId id) = 0;
  // Moves the trigger (stop) or limit price of a working order.
  virtual bool amend(model::OrderId id, std::optional<double> stop_price, std::optional<double> limit_price) = 0;
  virtual const model::Order* find(model::OrderId id) const = 0;
  // Bar boundaries of one instrument: before the strategy sees the bar, and
  // after it has acted on it.
  virtual void on_bar_open(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) = 0;
  virtual void on_bar_close(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) = 0;
};

}  // namespace te::exec
