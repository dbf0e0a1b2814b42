#pragma once
// Risk limits (docs/risk.md). Zero disables a limit. Fractions are of the
// scope's base: account equity (peak, or start of day), or a strategy's capital.
#include <cstdint>
#include <map>
#include <string>

#include "engine/model/ids.hpp"
#include "engine/risk/storm_guard.hpp"

namespace te::risk {

// Limits of one strategy (every runner of it), or the defaults for all.
struct StrategyLimits {
  double capital = 0;                // base of this strategy's fractions; 0 = the account's initial cash
  double max_position_qty = 0;       // |position| after the fill, per instrument
  double max_position_notional = 0;  // |position| x price after the fill
  double max_position_fraction = 0;  // |position| x price / account equity
  double max_risk_per_trade = 0;     // |entry - planned stop| x qty / account equity
  double max_daily_loss = 0;         // loss since the start of the UTC day / capital
  double max_drawdown = 0;           // loss from the strategy's PnL peak / capital
  std::int64_t max_orders = 0;       // orders per sliding window (data time)
  double order_window_s = 60;
  StormGuardConfig stormguard;
};

struct AccountLimits {
  std::int64_t max_open_positions = 0;  // instruments with a position
  double price_band = 0;                // |limit or stop - last price| / last price
  double max_daily_loss = 0;            // equity lost since the start of the UTC day / that equity
  double max_drawdown = 0;              // equity lost from its peak / the peak
  std::int64_t max_orders = 0;          // orders of all strategies per sliding window
  double order_window_s = 60;
  StormGuardConfig stormguard;
};

struct RiskConfig {
  bool kill_switch = false;          // engaged from the start: flatten and block
  std::int64_t kill_switch_at_ns = 0;  // engage at the first bar at or after this time (0 = never)
  // Operator triggers while running (KillSwitchControl): this file appearing,
  // or SIGUSR1. Empty / false = not watched.
  std::string kill_switch_file;
  bool kill_switch_signal = false;
  AccountLimits account;
  StrategyLimits strategy;                                 // every strategy's defaults
  std::map<model::StrategyId, StrategyLimits> strategies;  // replacements for single strategies
};

}  // namespace te::risk
