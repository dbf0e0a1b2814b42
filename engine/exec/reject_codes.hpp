#pragma once
// Stable reason codes of refused, cancelled and expired orders. Reports count by
// these strings and strategies branch on them, so they never change meaning;
// docs/execution.md lists every one. Risk engine codes live in
// engine/risk/risk_codes.hpp.
namespace te::exec::codes {

// Refused at submission (order status Rejected).
inline constexpr const char* kInvalidQuantity = "invalid_quantity";      // <= 0, not a number
inline constexpr const char* kInvalidPrice = "invalid_price";            // missing, <= 0, not a number
inline constexpr const char* kOffTick = "off_tick";                      // price not a multiple of the tick size
inline constexpr const char* kOffLot = "off_lot";                        // quantity not a multiple of the lot size
inline constexpr const char* kBelowMinQuantity = "below_min_quantity";   // quantity < instrument min_qty
inline constexpr const char* kBelowMinNotional = "below_min_notional";   // qty x price < instrument min_notional
inline constexpr const char* kUnsupportedOrder = "unsupported_order";    // e.g. a trailing stop without a distance
// Refused when a fill was due (status Rejected).
inline constexpr const char* kInsufficientCash = "insufficient_cash";
inline constexpr const char* kInsufficientMargin = "insufficient_margin";
// Refused by the runner before reaching the exchange (an intent, no order id).
inline constexpr const char* kShortNotAllowed = "short_not_allowed";
inline constexpr const char* kPyramidingLimit = "pyramiding_limit";
inline constexpr const char* kOppositePosition = "opposite_position";    // entry against the open position
inline constexpr const char* kNoPosition = "no_position";                // partial exit while flat

// Why a working order stopped working without filling completely.
inline constexpr const char* kCancelRequested = "cancel_requested";
inline constexpr const char* kOcoCancelled = "oco";                      // its one-cancels-other sibling filled
inline constexpr const char* kIocRemainder = "ioc_remainder";            // IOC: what did not fill at once
inline constexpr const char* kFokUnfilled = "fok_unfilled";              // FOK: could not fill completely at once
inline constexpr const char* kReduceOnly = "reduce_only";                // would have increased the position
inline constexpr const char* kExpiredDay = "expired_day";
inline constexpr const char* kExpiredBars = "expired_bars";

}  // namespace te::exec::codes
