#pragma once
// The seam between runners and whatever executes orders: the simulated exchange
// (backtest and paper) or a live venue. Runners only see this interface, so the
// runner code path is the same in every mode.
#include <cstdint>
#include <optional>
#include <string>

#include "engine/model/bar.hpp"
#include "engine/model/instrument.hpp"
#include "engine/model/order.hpp"

namespace te::exec {

// Told about every order status change, fill and rejection, on the run's event
// thread, synchronously from submit()/cancel()/amend()/on_bar_*(). A listener
// may submit, cancel or amend orders from inside these calls.
class ExecutionListener {
 public:
  virtual ~ExecutionListener() = default;
  // Accepted, amended, cancelled, expired (fills come through on_fill, whose
  // order carries the new status). `reason_code` is empty for acceptance and amendments, else a code
  // from reject_codes.hpp (cancel_requested, oco, ioc_remainder, expired_day, ...).
  virtual void on_order_update(const model::Order& order, std::string_view reason_code) = 0;
  // One fill; `order` already carries the new filled quantity and status.
  virtual void on_fill(const model::Fill& fill, const model::Order& order) = 0;
  virtual void on_rejected(const model::Rejection& rejection, const model::Order& order) = 0;
};

// Why the account cannot take a fill.
struct FillRefusal {
  const char* code = "";  // insufficient_cash | insufficient_margin: static text (compared by pointer)
  std::string message;        // the text, when `facts` has none pending
  model::RefusalFacts facts;  // its numbers, formatted only when read (model::Rejection::text)
};

// The account as the exchange sees it (implemented over the portfolio).
class FillGate {
 public:
  virtual ~FillGate() = default;
  // nullopt when a fill of `qty` at `price` costing `commission` can be paid for.
  virtual std::optional<FillRefusal> check_fill(model::InstrumentId instrument, model::Side side, double qty,
                                                double price, double commission) const = 0;
  // The account's signed position in the instrument (reduce-only orders are
  // clamped to it).
  virtual double position_qty(model::InstrumentId instrument) const = 0;
};

// What an amendment changes; unset fields stay as they are.
struct Amendment {
  std::optional<double> stop_price;    // Stop / StopLimit / TrailingStop trigger
  std::optional<double> limit_price;   // Limit / StopLimit
  std::optional<double> qty;           // new total quantity (>= what has filled)
  std::optional<double> trail_amount;  // TrailingStop distance (clears trail_pct)
  std::optional<double> trail_pct;     // TrailingStop distance (clears trail_amount)
};

class ExecutionEngine {
 public:
  virtual ~ExecutionEngine() = default;
  // Takes an order (id assigned here); the listener hears of acceptance or
  // rejection before this returns. Returns the id.
  virtual model::OrderId submit(model::Order order) = 0;
  // Cancels a working order (reason cancel_requested); false when it is unknown
  // or already final. With latency the cancel may take effect some bars later.
  virtual bool cancel(model::OrderId id) = 0;
  // Changes a working order; false when it is unknown, final, or the change is
  // invalid (a quantity below what has filled, a price <= 0).
  virtual bool amend(model::OrderId id, const Amendment& change) = 0;
  // The order while it is working (terminal orders may be forgotten).
  virtual const model::Order* find(model::OrderId id) const = 0;
  // Trading rules of an instrument (tick, lot, minimums); none by default.
  virtual void set_instrument(const model::Instrument& instrument) = 0;
  // Bar boundaries of one instrument: before the strategy sees the bar, and
  // after it has acted on it.
  virtual void on_bar_open(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) = 0;
  virtual void on_bar_close(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) = 0;
};

}  // namespace te::exec
