#include <catch2/catch.hpp>

#include <vector>

#include "engine/exec/simulated_exchange.hpp"

using namespace te;
using model::OrderStatus;
using model::Side;

namespace {

struct Capture final : exec::ExecutionListener, exec::FillGate {
  std::vector<model::Fill> fills;
  std::vector<model::Rejection> rejections;
  std::vector<model::Order> updates;
  double budget = 1e18;
  void on_order_update(const model::Order& o) override { updates.push_back(o); }
  void on_fill(const model::Fill& f, const model::Order&) override { fills.push_back(f); }
  void on_rejected(const model::Rejection& r, const model::Order&) override { rejections.push_back(r); }
  std::optional<std::string> check_fill(model::InstrumentId, Side, double qty, double price, double c) const override {
    if (qty * price + c > budget) return std::string("too expensive");
    return std::nullopt;
  }
};

model::Bar bar(double o, double h, double l, double c, std::int64_t ts) {
  model::Bar b;
  b.ts_ns = ts;
  b.open = o;
  b.high = h;
  b.low = l;
  b.close = c;
  b.volume = 1000;
  return b;
}

model::Order order(Side side, model::OrderType type, double qty, std::int64_t bar_index, double stop = 0,
                   double limit = 0) {
  model::Order o;
  o.side = side;
  o.type = type;
  o.qty = qty;
  o.stop_price = stop;
  o.limit_price = limit;
  o.submitted_bar = bar_index;
  return o;
}

}  // namespace

TEST_CASE("market orders fill at the next bar's open by default", "[unit][exec]") {
  Capture cap;
  exec::SimulatedExchange ex({exec::FillModel::NextOpen, {0.001}}, cap, cap);
  ex.submit(order(Side::Buy, model::OrderType::Market, 10, 0));
  ex.on_bar_close(0, bar(10, 11, 9, 10.5, 1), 0);
  CHECK(cap.fills.empty());
  ex.on_bar_open(0, bar(10.8, 11, 9, 10.5, 2), 1);
  REQUIRE(cap.fills.size() == 1);
  CHECK(cap.fills[0].price == 10.8);
  CHECK(cap.fills[0].commission == Approx(10 * 10.8 * 0.001));
  CHECK(cap.fills[0].bar_index == 1);
}

TEST_CASE("the close fill model fills on the signal bar's close", "[unit][exec]") {
  Capture cap;
  exec::SimulatedExchange ex({exec::FillModel::Close, {}}, cap, cap);
  ex.submit(order(Side::Buy, model::OrderType::Market, 10, 0));
  ex.on_bar_close(0, bar(10, 11, 9, 10.5, 1), 0);
  REQUIRE(cap.fills.size() == 1);
  CHECK(cap.fills[0].price == 10.5);
}

TEST_CASE("stops: a gap through fills at the open, a touch fills at the stop", "[unit][exec]") {
  Capture cap;
  exec::SimulatedExchange ex({}, cap, cap);
  ex.submit(order(Side::Sell, model::OrderType::Stop, 5, 0, 95));
  ex.on_bar_open(0, bar(99, 100, 96, 97, 2), 1);  // not reached
  CHECK(cap.fills.empty());
  ex.on_bar_open(0, bar(90, 92, 88, 91, 3), 2);  // gapped below the stop
  REQUIRE(cap.fills.size() == 1);
  CHECK(cap.fills[0].price == 90);

  ex.submit(order(Side::Sell, model::OrderType::Stop, 5, 2, 85));
  ex.on_bar_open(0, bar(88, 89, 84, 86, 4), 3);  // touched intrabar
  REQUIRE(cap.fills.size() == 2);
  CHECK(cap.fills[1].price == 85);
}

TEST_CASE("when one bar reaches both the stop and the target, the stop fills first", "[unit][exec]") {
  Capture cap;
  exec::SimulatedExchange ex({}, cap, cap);
  const auto target = ex.submit(order(Side::Sell, model::OrderType::Limit, 5, 0, 0, 110));
  const auto stop = ex.submit(order(Side::Sell, model::OrderType::Stop, 5, 0, 90));
  ex.on_bar_open(0, bar(100, 112, 88, 100, 2), 1);
  REQUIRE(cap.fills.size() >= 1);
  CHECK(cap.fills[0].order == stop);
  CHECK(cap.fills[0].price == 90);
  (void)target;
}

TEST_CASE("a fill the account cannot pay for is rejected with a reason", "[unit][exec]") {
  Capture cap;
  cap.budget = 500;
  exec::SimulatedExchange ex({}, cap, cap);
  ex.submit(order(Side::Buy, model::OrderType::Market, 10, 0));
  ex.on_bar_open(0, bar(60, 61, 59, 60, 2), 1);
  CHECK(cap.fills.empty());
  REQUIRE(cap.rejections.size() == 1);
  CHECK(cap.rejections[0].code == "insufficient_funds");
  CHECK(ex.working_orders() == 0);
}

TEST_CASE("invalid orders are rejected at submission", "[unit][exec]") {
  Capture cap;
  exec::SimulatedExchange ex({}, cap, cap);
  ex.submit(order(Side::Buy, model::OrderType::Market, -1, 0));
  ex.submit(order(Side::Buy, model::OrderType::Limit, 1, 0, 0, 0));
  REQUIRE(cap.rejections.size() == 2);
  CHECK(cap.rejections[0].code == "invalid_quantity");
  CHECK(cap.rejections[1].code == "invalid_price");
}
