#pragma once
// Orders and fills. Every order and fill carries the runner and strategy that
// caused it, so nothing the engine does is ever unattributed.
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/model/ids.hpp"
#include "engine/model/refusal_text.hpp"

namespace te::model {

enum class Side : std::uint8_t { Buy, Sell };
inline constexpr Side opposite(Side s) noexcept { return s == Side::Buy ? Side::Sell : Side::Buy; }
inline constexpr double sign(Side s) noexcept { return s == Side::Buy ? 1.0 : -1.0; }
std::string_view to_string(Side s) noexcept;

enum class OrderType : std::uint8_t { Market, Limit, Stop, StopLimit, TrailingStop };
std::string_view to_string(OrderType t) noexcept;

enum class TimeInForce : std::uint8_t { GTC, IOC, FOK, Day, GoodForBars };
std::string_view to_string(TimeInForce t) noexcept;

enum class OrderStatus : std::uint8_t { Submitted, Accepted, PartiallyFilled, Filled, Cancelled, Rejected, Expired };
std::string_view to_string(OrderStatus s) noexcept;
inline constexpr bool is_terminal(OrderStatus s) noexcept {
  return s == OrderStatus::Filled || s == OrderStatus::Cancelled || s == OrderStatus::Rejected ||
         s == OrderStatus::Expired;
}

// Why an order exists; exits carry the reason a position was closed.
enum class OrderPurpose : std::uint8_t {
  Entry,
  Exit,        // strategy signal ("signal")
  StopLoss,
  TakeProfit,
  Trailing,    // trailing stop
  Timeout,     // held for the entry's max_bars
  KillSwitch,
  EndOfData,
  RiskHalt,    // StormGuard HALT flattened the position
};
std::string_view to_string(OrderPurpose p) noexcept;

struct Order {
  OrderId id = 0;
  InstrumentId instrument = 0;
  RunnerId runner = 0;
  StrategyId strategy = 0;
  Side side = Side::Buy;
  OrderType type = OrderType::Market;
  TimeInForce tif = TimeInForce::GTC;
  OrderPurpose purpose = OrderPurpose::Entry;
  OrderStatus status = OrderStatus::Submitted;
  double qty = 0;          // requested, always > 0
  double filled_qty = 0;
  double limit_price = 0;  // Limit / StopLimit
  double stop_price = 0;   // Stop / StopLimit / TrailingStop (current trigger)
  bool reduce_only = false;
  std::int32_t tif_bars = 0;       // GoodForBars: bars the order stays working once active
  std::int64_t submitted_ns = 0;
  std::int64_t submitted_bar = 0;  // bar index at submission
  // First bar on which the order may execute. Orders sent from a strategy
  // callback become active on the next bar; orders sent while a bar's open is
  // being processed (e.g. a protective stop after an entry filled at the open)
  // are active for the rest of that bar, but not at its open.
  std::int64_t active_from_bar = 0;
  std::string tag;                 // strategy-supplied reason
  // TrailingStop: distance of the trigger behind the best price seen since the
  // order became active, in price units (trail_amount) or as a fraction of that
  // price (trail_pct); exactly one is > 0. stop_price holds the current trigger.
  double trail_amount = 0;
  double trail_pct = 0;
  double avg_fill_price = 0;       // quantity-weighted price of the fills so far
  // Working orders sharing a non-zero group are one-cancels-other: a fill of one
  // reduces the others by the filled quantity (cancelling them once nothing is left).
  OrderId oco_group = 0;

  double remaining() const noexcept { return qty - filled_qty; }
};

// Whether a fill took liquidity (market orders, triggered stops, orders
// marketable on arrival) or rested on the book (limit orders filled later).
enum class Liquidity : std::uint8_t { Taker, Maker };
std::string_view to_string(Liquidity l) noexcept;

struct Fill {
  OrderId order = 0;
  InstrumentId instrument = 0;
  RunnerId runner = 0;
  StrategyId strategy = 0;
  Side side = Side::Buy;
  OrderPurpose purpose = OrderPurpose::Entry;
  Liquidity liquidity = Liquidity::Taker;
  double qty = 0;
  double price = 0;
  double commission = 0;
  std::int64_t ts_ns = 0;
  std::int64_t bar_index = 0;
  // Price moved against the order by the slippage model (>= 0, price units per
  // unit of quantity): price = reference price +/- slippage.
  double slippage = 0;
};

// A refused order: the reason code is stable (reports count by it), the text explains.
struct Rejection {
  OrderId order = 0;
  RunnerId runner = 0;
  StrategyId strategy = 0;
  std::string code;  // e.g. "insufficient_cash", "invalid_quantity"
  std::int64_t ts_ns = 0;
  std::int64_t bar_index = 0;

  // The text, e.g. "buy 1000 at 12.5 costs 12512.5, cash is 9000": built from
  // `facts` the first time it is read (most refusals are never read as text).
  // Reading builds it in place, so a Rejection is read by one thread at a
  // time: threads hand each other copies (a copy carries the facts).
  std::string_view text() const {
    if (facts.kind != RefusalFacts::Kind::None) {
      message.clear();
      append_refusal_text(message, facts);
      facts.kind = RefusalFacts::Kind::None;
    }
    return message;
  }
  void set_text(std::string_view t) {
    facts.kind = RefusalFacts::Kind::None;
    message.assign(t.data(), t.size());
  }
  // The refusal's numbers when it has them (the text is built on reading),
  // else `text` as it is.
  void set_reason(std::string_view text, const RefusalFacts& f) {
    if (f.kind == RefusalFacts::Kind::None) return set_text(text);
    facts = f;
  }
  // Pending text (empty kind: the text is `message`).
  const RefusalFacts& pending() const noexcept { return facts; }

 private:
  mutable std::string message;
  mutable RefusalFacts facts;
};

}  // namespace te::model
