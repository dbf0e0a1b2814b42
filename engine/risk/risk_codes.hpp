#pragma once
// Stable reason codes of risk decisions (report.json "risk_rejections" counts by
// them; docs/risk.md lists each with its rule).
namespace te::risk::codes {

inline constexpr const char* kKillSwitch = "kill_switch";
inline constexpr const char* kStormGuardWarm = "stormguard_warm";    // approved, size scaled (or denied when scaled to nothing)
inline constexpr const char* kStormGuardStorm = "stormguard_storm";  // only reducing orders
inline constexpr const char* kStormGuardHalt = "stormguard_halt";
inline constexpr const char* kMaxPositionQty = "max_position_qty";
inline constexpr const char* kMaxPositionNotional = "max_position_notional";
inline constexpr const char* kMaxPositionFraction = "max_position_fraction";
inline constexpr const char* kMaxOpenPositions = "max_open_positions";
inline constexpr const char* kMaxRiskPerTrade = "max_risk_per_trade";
inline constexpr const char* kPriceBand = "price_band";
inline constexpr const char* kOrderRate = "order_rate";
inline constexpr const char* kMaxDailyLoss = "max_daily_loss";              // account-wide
inline constexpr const char* kMaxDrawdown = "max_drawdown";                 // account-wide
inline constexpr const char* kStrategyMaxDailyLoss = "strategy_max_daily_loss";
inline constexpr const char* kStrategyMaxDrawdown = "strategy_max_drawdown";

}  // namespace te::risk::codes
