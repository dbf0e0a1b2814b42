#include "engine/model/order.hpp"

namespace te::model {

std::string_view to_string(Side s) noexcept { return s == Side::Buy ? "buy" : "sell"; }

std::string_view to_string(OrderType t) noexcept {
  switch (t) {
    case OrderType::Market: return "market";
    case OrderType::Limit: return "limit";
    case OrderType::Stop: return "stop";
    case OrderType::StopLimit: return "stop_limit";
    case OrderType::TrailingStop: return "trailing_stop";
  }
  return "?";
}

std::string_view to_string(TimeInForce t) noexcept {
  switch (t) {
    case TimeInForce::GTC: return "gtc";
    case TimeInForce::IOC: return "ioc";
    case TimeInForce::FOK: return "fok";
    case TimeInForce::Day: return "day";
    case TimeInForce::GoodForBars: return "good_for_bars";
  }
  return "?";
}

std::string_view to_string(OrderStatus s) noexcept {
  switch (s) {
    case OrderStatus::Submitted: return "submitted";
    case OrderStatus::Accepted: return "accepted";
    case OrderStatus::PartiallyFilled: return "partially_filled";
    case OrderStatus::Filled: return "filled";
    case OrderStatus::Cancelled: return "cancelled";
    case OrderStatus::Rejected: return "rejected";
    case OrderStatus::Expired: return "expired";
  }
  return "?";
}

std::string_view to_string(OrderPurpose p) noexcept {
  switch (p) {
    case OrderPurpose::Entry: return "entry";
    case OrderPurpose::Exit: return "signal";
    case OrderPurpose::StopLoss: return "stop";
    case OrderPurpose::TakeProfit: return "target";
    case OrderPurpose::Trailing: return "trailing";
    case OrderPurpose::Timeout: return "timeout";
    case OrderPurpose::KillSwitch: return "kill_switch";
    case OrderPurpose::EndOfData: return "end_of_data";
    case OrderPurpose::RiskHalt: return "risk_halt";
  }
  return "?";
}

std::string_view to_string(Liquidity l) noexcept { return l == Liquidity::Maker ? "maker" : "taker"; }

}  // namespace te::model
