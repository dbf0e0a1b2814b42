#pragma once
// Composable pre-trade validators (seed 004): each looks at one order in its
// context and either lets it pass or denies it with a stable reason code. The
// RiskEngine runs the standard set in a fixed order, then any added ones; the
// first denial wins. Orders that only reduce a position never reach them.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model/instrument.hpp"
#include "engine/model/order.hpp"
#include "engine/portfolio/portfolio.hpp"
#include "engine/risk/risk_config.hpp"

namespace te::risk {

// Loss bookkeeping of one scope (the account, or one strategy).
struct ScopeState {
  double value = 0;      // account equity, or capital + strategy PnL
  double peak = 0;       // highest value seen
  double day_start = 0;  // value at the first mark of the current UTC day
  std::int64_t day = 0;
  bool started = false;
  void mark(double v, std::int64_t ts_ns) noexcept;
};

struct CheckContext {
  const model::Order& order;
  const model::Instrument& instrument;
  double price;           // the order's price: its limit or stop, else the last price
  double last_price;      // last price of the instrument (0 when none yet)
  double position_qty;    // signed position in the instrument before the order
  double planned_stop;    // protective stop planned with an entry (0 = none)
  std::int64_t ts_ns;
  const portfolio::Portfolio& portfolio;
  const ScopeState& account;
  const ScopeState& strategy;
  double strategy_capital;
  const AccountLimits& account_limits;
  const StrategyLimits& limits;
};

struct Denial {
  const char* code = "";
  std::string message;
};

class Validator {
 public:
  virtual ~Validator() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual std::optional<Denial> check(const CheckContext& c) = 0;
  // Told of every order that was sent after all checks (also reducing ones).
  virtual void on_sent(const CheckContext&) {}
};

// Daily loss and drawdown, account-wide and per strategy.
class LossLimits final : public Validator {
 public:
  std::string_view name() const noexcept override { return "loss_limits"; }
  std::optional<Denial> check(const CheckContext& c) override;
};

class OpenPositions final : public Validator {
 public:
  std::string_view name() const noexcept override { return "open_positions"; }
  std::optional<Denial> check(const CheckContext& c) override;
};

// Position size after the fill: quantity, notional, share of equity.
class PositionSize final : public Validator {
 public:
  std::string_view name() const noexcept override { return "position_size"; }
  std::optional<Denial> check(const CheckContext& c) override;
};

// Money at risk between the entry and its planned stop, as a share of equity.
class TradeRisk final : public Validator {
 public:
  std::string_view name() const noexcept override { return "trade_risk"; }
  std::optional<Denial> check(const CheckContext& c) override;
};

// Limit and stop prices must lie within a band around the last price.
class PriceBand final : public Validator {
 public:
  std::string_view name() const noexcept override { return "price_band"; }
  std::optional<Denial> check(const CheckContext& c) override;
};

// Orders per sliding window of data time, per strategy and account-wide.
class OrderRate final : public Validator {
 public:
  std::string_view name() const noexcept override { return "order_rate"; }
  std::optional<Denial> check(const CheckContext& c) override;
  void on_sent(const CheckContext& c) override;

 private:
  std::map<model::StrategyId, std::deque<std::int64_t>> per_strategy_;
  std::deque<std::int64_t> account_;
};

// The standard validators, in the order they run.
std::vector<std::unique_ptr<Validator>> standard_validators();

}  // namespace te::risk
