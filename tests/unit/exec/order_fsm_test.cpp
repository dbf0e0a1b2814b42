#include <catch2/catch.hpp>

#include <map>
#include <utility>

#include "engine/exec/order_fsm.hpp"

using namespace te;
using model::OrderStatus;
using exec::OrderEvent;

TEST_CASE("order transition table matches the specification for every pair", "[unit][exec]") {
  using S = OrderStatus;
  using E = OrderEvent;
  // Written independently of next_status(): pairs not listed are invalid.
  const std::map<std::pair<S, E>, S> spec = {
      {{S::Submitted, E::Accept}, S::Accepted},
      {{S::Submitted, E::Reject}, S::Rejected},
      {{S::Submitted, E::Cancel}, S::Cancelled},
      {{S::Accepted, E::PartialFill}, S::PartiallyFilled},
      {{S::Accepted, E::Fill}, S::Filled},
      {{S::Accepted, E::Cancel}, S::Cancelled},
      {{S::Accepted, E::Expire}, S::Expired},
      {{S::Accepted, E::Reject}, S::Rejected},
      {{S::Accepted, E::Amend}, S::Accepted},
      {{S::PartiallyFilled, E::PartialFill}, S::PartiallyFilled},
      {{S::PartiallyFilled, E::Fill}, S::Filled},
      {{S::PartiallyFilled, E::Cancel}, S::Cancelled},
      {{S::PartiallyFilled, E::Expire}, S::Expired},
      {{S::PartiallyFilled, E::Reject}, S::Rejected},
      {{S::PartiallyFilled, E::Amend}, S::PartiallyFilled},
  };
  std::size_t valid = 0;
  for (std::size_t s = 0; s < exec::kOrderStatuses; ++s) {
    for (std::size_t e = 0; e < exec::kOrderEvents; ++e) {
      const auto st = static_cast<S>(s);
      const auto ev = static_cast<E>(e);
      const auto got = exec::next_status(st, ev);
      const auto it = spec.find({st, ev});
      INFO(model::to_string(st) << " + " << exec::to_string(ev));
      if (it == spec.end()) {
        CHECK_FALSE(got.has_value());
      } else {
        REQUIRE(got.has_value());
        CHECK(*got == it->second);
        ++valid;
      }
    }
  }
  CHECK(valid == spec.size());
}

TEST_CASE("terminal order states accept no event", "[unit][exec]") {
  for (auto s : {OrderStatus::Filled, OrderStatus::Cancelled, OrderStatus::Rejected, OrderStatus::Expired}) {
    CHECK(model::is_terminal(s));
    for (std::size_t e = 0; e < exec::kOrderEvents; ++e)
      CHECK_FALSE(exec::next_status(s, static_cast<OrderEvent>(e)).has_value());
  }
}
