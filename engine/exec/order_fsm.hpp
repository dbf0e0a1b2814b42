#pragma once
// The order lifecycle as one transition table (Nautilus' OrderStatus::transition
// style): every (status, event) pair either names the next status or is
// invalid. tests/unit/exec/order_fsm_test.cpp checks every pair against an
// independently written table. Execution engines move orders only through
// next_status(); an invalid transition is a broken invariant (TE_ASSERT).
//
//   Submitted --accept--> Accepted --partial_fill--> PartiallyFilled --fill--> Filled
//       |                   |  \--fill--> Filled          |  (partial_fill loops)
//       |                   |--cancel/expire/reject-->    |--cancel/expire/reject--> Cancelled/Expired/Rejected
//       |--reject--> Rejected, --cancel--> Cancelled      (amend keeps the status)
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "engine/model/order.hpp"

namespace te::exec {

inline constexpr std::size_t kOrderStatuses = 7;

enum class OrderEvent : std::uint8_t {
  Accept,       // passed validation, now working
  Reject,       // refused (validation, funds at fill time, venue)
  PartialFill,  // some quantity filled, some remains
  Fill,         // the remaining quantity filled
  Cancel,       // cancelled by request, OCO, IOC/FOK remainder
  Expire,       // time in force ran out (DAY, good-for-N-bars)
  Amend,        // price or quantity changed while working
};
inline constexpr std::size_t kOrderEvents = 7;
std::string_view to_string(OrderEvent e) noexcept;

constexpr std::optional<model::OrderStatus> next_status(model::OrderStatus s, OrderEvent e) noexcept {
  using S = model::OrderStatus;
  using E = OrderEvent;
  switch (s) {
    case S::Submitted:
      switch (e) {
        case E::Accept: return S::Accepted;
        case E::Reject: return S::Rejected;
        case E::Cancel: return S::Cancelled;
        default: return std::nullopt;
      }
    case S::Accepted:
    case S::PartiallyFilled:
      switch (e) {
        case E::PartialFill: return S::PartiallyFilled;
        case E::Fill: return S::Filled;
        case E::Cancel: return S::Cancelled;
        case E::Expire: return S::Expired;
        case E::Reject: return S::Rejected;
        case E::Amend: return s;
        case E::Accept: return std::nullopt;
      }
      return std::nullopt;
    case S::Filled:
    case S::Cancelled:
    case S::Rejected:
    case S::Expired:
      return std::nullopt;  // terminal
  }
  return std::nullopt;
}

// Applies `e` to `order.status`. Aborts on an invalid transition.
void transition(model::Order& order, OrderEvent e);

}  // namespace te::exec
