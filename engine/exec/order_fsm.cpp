#include "engine/exec/order_fsm.hpp"

#include <string>

#include "engine/core/assert.hpp"

namespace te::exec {

std::string_view to_string(OrderEvent e) noexcept {
  switch (e) {
    case OrderEvent::Accept: return "accept";
    case OrderEvent::Reject: return "reject";
    case OrderEvent::PartialFill: return "partial_fill";
    case OrderEvent::Fill: return "fill";
    case OrderEvent::Cancel: return "cancel";
    case OrderEvent::Expire: return "expire";
    case OrderEvent::Amend: return "amend";
  }
  return "?";
}

void transition(model::Order& order, OrderEvent e) {
  const auto next = next_status(order.status, e);
  TE_ASSERT(next.has_value(), "illegal order transition: order %llu is %s, event %s",
            static_cast<unsigned long long>(order.id), std::string(model::to_string(order.status)).c_str(),
            std::string(to_string(e)).c_str());
  order.status = *next;
}

}  // namespace te::exec
