// Orders sent while a bar is being matched (the runner places an entry's exit
// bracket from inside the entry's fill) under the range models next_open and
// close: they watch the rest of the bar, from the level the entry filled at.
#include <catch2/catch.hpp>

#include "tests/unit/exec/exec_test_support.hpp"

using namespace te;
using namespace te::test;
using exec::FillModel;
using model::OrderType;
using model::Side;

namespace {

// Places a protective sell order (a stop, or a trailing stop) for every entry fill, as the runner does.
struct Protecting final : exec::ExecutionListener, exec::FillGate {
  Capture cap;
  exec::SimulatedExchange* ex = nullptr;
  model::Order protection;  // side, type and prices; qty and bar come from the fill
  void on_order_update(const model::Order& o, std::string_view c) override { cap.on_order_update(o, c); }
  void on_fill(const model::Fill& f, const model::Order& o) override {
    cap.on_fill(f, o);
    if (o.purpose != model::OrderPurpose::Entry) return;
    model::Order p = protection;
    p.qty = f.qty;
    p.submitted_bar = f.bar_index;
    p.purpose = model::OrderPurpose::StopLoss;
    p.reduce_only = true;
    ex->submit(p);
  }
  void on_rejected(const model::Rejection& r, const model::Order& o) override { cap.on_rejected(r, o); }
  std::optional<exec::FillRefusal> check_fill(model::InstrumentId i, Side s, double q, double p,
                                              double c) const override {
    return cap.check_fill(i, s, q, p, c);
  }
  double position_qty(model::InstrumentId i) const override { return cap.position_qty(i); }
};

}  // namespace

TEST_CASE("range models: the stop of a limit entry filled inside the bar watches the rest of the bar", "[unit][exec]") {
  // The buy limit at 97 rests from the open at 100; the bar falls to 94. The
  // price crossed 97 on its way to 94, so the stop at 95 was hit after the entry.
  for (auto m : {FillModel::NextOpen, FillModel::Close}) {
    INFO(exec::to_string(m));
    Protecting p;
    p.protection = order(Side::Sell, OrderType::Stop, 0, 0, 95);
    exec::SimulatedExchange ex(with_fill(m), p, p);
    p.ex = &ex;
    ex.submit(order(Side::Buy, OrderType::Limit, 10, 0, 0, 97));
    run_bar(ex, bar(100, 101, 94, 96), 1);
    REQUIRE(p.cap.fills.size() == 2);
    CHECK(p.cap.fills[0].price == 97);
    CHECK(p.cap.fills[1].price == 95);
    CHECK(p.cap.fills[1].bar_index == 1);
    CHECK(p.cap.position[0] == 0);
  }
}

TEST_CASE("range models: a trailing stop sent inside the bar anchors on the entry's fill, not the open", "[unit][exec]") {
  // Trailing 2 behind the best price: from the fill at 97 the trigger is 95,
  // hit on the way to the low of 94. (Anchored on the open 100 it would have
  // been 98, above the entry: a gain the bar never offered.)
  Protecting p;
  p.protection = order(Side::Sell, OrderType::TrailingStop, 0, 0);
  p.protection.trail_amount = 2;
  exec::SimulatedExchange ex(with_fill(FillModel::NextOpen), p, p);
  p.ex = &ex;
  ex.submit(order(Side::Buy, OrderType::Limit, 10, 0, 0, 97));
  run_bar(ex, bar(100, 101, 94, 96), 1);
  REQUIRE(p.cap.fills.size() == 2);
  CHECK(p.cap.fills[0].price == 97);
  CHECK(p.cap.fills[1].price == 95);
}

TEST_CASE("range models: a stop that is already through the price when sent fills at that price", "[unit][exec]") {
  // A sell stop at 99 sent when the entry filled at 97: it is triggered on
  // arrival and executes at 97, not at its (better) trigger 99.
  Protecting p;
  p.protection = order(Side::Sell, OrderType::Stop, 0, 0, 99);
  exec::SimulatedExchange ex(with_fill(FillModel::NextOpen), p, p);
  p.ex = &ex;
  ex.submit(order(Side::Buy, OrderType::Limit, 10, 0, 0, 97));
  run_bar(ex, bar(100, 101, 94, 96), 1);
  REQUIRE(p.cap.fills.size() == 2);
  CHECK(p.cap.fills[1].price == 97);
  SECTION("a market entry at the open: its stop above the open fills at the open") {
    Protecting q;
    q.protection = order(Side::Sell, OrderType::Stop, 0, 0, 101);
    exec::SimulatedExchange ex2(with_fill(FillModel::NextOpen), q, q);
    q.ex = &ex2;
    ex2.submit(order(Side::Buy, OrderType::Market, 10, 0));
    run_bar(ex2, bar(100, 102, 99, 101), 1);
    REQUIRE(q.cap.fills.size() == 2);
    CHECK(q.cap.fills[0].price == 100);
    CHECK(q.cap.fills[1].price == 100);
  }
}
