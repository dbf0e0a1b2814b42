#pragma once
// Injectable simulation models (hftbacktest style): how orders fill against a
// bar, how far fills slip, and what trading costs. Each is a small value type
// with a deterministic rule; docs/execution.md gives the exact rules with
// worked examples. Text forms ("percent:0.001", "per_share:0.005:1") are what
// the CLI and the TOML config accept.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/result.hpp"
#include "engine/model/order.hpp"

namespace te::exec {

enum class FillModel : std::uint8_t {
  // Market orders fill at the open of the bar after the one they were sent on
  // (backtrader's default). Stops and limits are matched against each bar's
  // range: a gap through the open fills at the open, a touch fills at the order
  // price, all stops before all limits (pessimistic).
  NextOpen,
  // Market orders fill at the close of the bar they were sent on (backtrader's
  // cheat-on-close); stops and limits as NextOpen.
  Close,
  // Market orders as NextOpen; stops and limits are matched along a modelled
  // price path inside the bar (open, then the two extremes, then the close), so
  // an entry and its protective stop can both fill in one bar. When a bar
  // reaches both legs of a stop/target pair, the stop fills (pessimistic).
  Ohlc,
  // Everything executes against the bar's closing quote: buys at the ask,
  // sells at the bid (the close when the bar has no quote), on the bar the order
  // was sent on.
  BidAsk,
};
std::string_view to_string(FillModel m) noexcept;
Result<FillModel> parse_fill_model(std::string_view text);

// How far a taker fill moves against the order. Limit orders never slip (they
// fill at their price or better).
struct SlippageModel {
  enum class Kind : std::uint8_t {
    None,
    Ticks,    // value ticks of the instrument (value = tick count)
    Percent,  // value as a fraction of the price (0.001 = 0.1 %)
    Volume,   // impact: price * value * sqrt(fill qty / bar volume) (square-root law)
  };
  Kind kind = Kind::None;
  double value = 0;

  // Price distance (>= 0) a fill of `qty` at `price` is moved against the order.
  double slip(double price, double qty, double bar_volume, double tick_size) const noexcept {
    switch (kind) {
      case Kind::None: return 0;
      case Kind::Ticks: return value * tick_size;
      case Kind::Percent: return price * value;
      case Kind::Volume:
        if (!(bar_volume > 0) || !std::isfinite(bar_volume)) return 0;
        return price * value * std::sqrt(qty / bar_volume);
    }
    return 0;
  }
};
std::string to_string(const SlippageModel& m);
// "none", "0.001" (percent), "percent:0.001", "ticks:2", "volume:0.1".
Result<SlippageModel> parse_slippage_model(std::string_view text);

// Trading costs. Per-order quantities (minimum, fixed fee) are charged against
// the order's cumulative fills, so partial fills cost the same in total as one
// fill of the whole order.
struct CommissionModel {
  enum class Kind : std::uint8_t {
    Percent,     // rate x traded value
    PerShare,    // rate x quantity, at least `minimum` per order
    Fixed,       // rate per order (charged on its first fill)
    MakerTaker,  // maker_rate or taker_rate x traded value
  };
  Kind kind = Kind::Percent;
  double rate = 0;
  double minimum = 0;  // Percent and PerShare: least commission per order
  double maker_rate = 0;
  double taker_rate = 0;

  // Commission for a fill of `qty` at `price`, given what the order had filled
  // (`filled_before`) and been charged (`charged_before`) already.
  double commission(double qty, double price, model::Liquidity liquidity, double filled_before,
                    double charged_before) const noexcept;
  // Shorthand for a whole order filled at once by a taker.
  double commission(double qty, double price) const noexcept {
    return commission(qty, price, model::Liquidity::Taker, 0, 0);
  }
};
std::string to_string(const CommissionModel& m);
// "percent:0.001", "per_share:0.005[:MIN]", "fixed:1.5", "maker_taker:0.0002:0.0004",
// or a bare number (percent).
Result<CommissionModel> parse_commission_model(std::string_view text);

}  // namespace te::exec
