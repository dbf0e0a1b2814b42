// The simulated exchange on hand-built bars: every order type under every fill
// model, gaps, same-bar stop and target, partial fills, time in force,
// latency, slippage, commissions, instrument rules and rejections.
// Convention: an order with submitted_bar t was sent by the strategy after bar
// t closed; run_bar() then plays bar t+1 (open phase, then close phase).
#include <catch2/catch.hpp>

#include "engine/core/time.hpp"
#include "tests/unit/exec/exec_test_support.hpp"

using namespace te;
using namespace te::test;
using exec::FillModel;
using model::OrderStatus;
using model::OrderType;
using model::Side;
using model::TimeInForce;

TEST_CASE("market orders under each fill model", "[unit][exec]") {
  SECTION("next_open: the open of the next bar") {
    Capture cap;
    exec::SimulatedExchange ex(with_fill(FillModel::NextOpen), cap, cap);
    ex.submit(order(Side::Buy, OrderType::Market, 10, 0));
    ex.on_bar_close(0, bar(10, 11, 9, 10.5), 0);
    CHECK(cap.fills.empty());
    run_bar(ex, bar(10.8, 11, 9, 10.5), 1);
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].price == 10.8);
    CHECK(cap.fills[0].bar_index == 1);
    CHECK(cap.fills[0].liquidity == model::Liquidity::Taker);
  }
  SECTION("close: the close of the bar it was sent on") {
    Capture cap;
    exec::SimulatedExchange ex(with_fill(FillModel::Close), cap, cap);
    ex.submit(order(Side::Buy, OrderType::Market, 10, 0));
    ex.on_bar_close(0, bar(10, 11, 9, 10.5), 0);
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].price == 10.5);
  }
  SECTION("ohlc: the open of the next bar") {
    Capture cap;
    exec::SimulatedExchange ex(with_fill(FillModel::Ohlc), cap, cap);
    ex.submit(order(Side::Sell, OrderType::Market, 10, 0));
    run_bar(ex, bar(9.5, 11, 9, 10.5), 1);
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].price == 9.5);
  }
  SECTION("bid_ask: buys at the ask, sells at the bid, the close without a quote") {
    Capture cap;
    exec::SimulatedExchange ex(with_fill(FillModel::BidAsk), cap, cap);
    ex.submit(order(Side::Buy, OrderType::Market, 10, 0));
    ex.submit(order(Side::Sell, OrderType::Market, 4, 0));
    ex.on_bar_close(0, quote_bar(10, 11, 9, 10.5, 10.4, 10.6), 0);
    REQUIRE(cap.fills.size() == 2);
    CHECK(cap.fills[0].price == 10.6);
    CHECK(cap.fills[1].price == 10.4);
    ex.submit(order(Side::Buy, OrderType::Market, 1, 1));
    ex.on_bar_close(0, bar(10, 11, 9, 10.25), 1);
    REQUIRE(cap.fills.size() == 3);
    CHECK(cap.fills[2].price == 10.25);
  }
}

TEST_CASE("limit orders under each fill model: touch, gap and no fill", "[unit][exec]") {
  for (auto m : {FillModel::NextOpen, FillModel::Close, FillModel::Ohlc}) {
    INFO(exec::to_string(m));
    Capture cap;
    exec::SimulatedExchange ex(with_fill(m), cap, cap);
    const auto id = ex.submit(order(Side::Buy, OrderType::Limit, 10, 0, 0, 95));
    run_bar(ex, bar(100, 101, 96, 99), 1);  // not reached
    CHECK(cap.fills.empty());
    run_bar(ex, bar(98, 99, 94, 97), 2);  // touched: fills at the limit
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].order == id);
    CHECK(cap.fills[0].price == 95);
    CHECK(cap.fills[0].liquidity == model::Liquidity::Maker);
    ex.submit(order(Side::Buy, OrderType::Limit, 10, 2, 0, 95));
    run_bar(ex, bar(93, 96, 92, 95), 3);  // opened below the limit: fills at the (better) open
    REQUIRE(cap.fills.size() == 2);
    CHECK(cap.fills[1].price == 93);
    CHECK(cap.fills[1].liquidity == model::Liquidity::Taker);
  }
  SECTION("bid_ask: when the ask reaches the limit, at the ask") {
    Capture cap;
    exec::SimulatedExchange ex(with_fill(FillModel::BidAsk), cap, cap);
    ex.submit(order(Side::Buy, OrderType::Limit, 10, 0, 0, 95));
    ex.on_bar_close(0, quote_bar(100, 101, 96, 97, 96.9, 97.1), 0);
    CHECK(cap.fills.empty());
    ex.on_bar_close(0, quote_bar(98, 99, 94, 94.8, 94.7, 94.9), 1);
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].price == 94.9);
    CHECK(cap.fills[0].liquidity == model::Liquidity::Maker);  // it rested one quote
  }
}

TEST_CASE("stop orders: a gap through fills at the open, a touch at the stop", "[unit][exec]") {
  for (auto m : {FillModel::NextOpen, FillModel::Close, FillModel::Ohlc}) {
    INFO(exec::to_string(m));
    Capture cap;
    exec::SimulatedExchange ex(with_fill(m), cap, cap);
    ex.submit(order(Side::Sell, OrderType::Stop, 5, 0, 95));
    run_bar(ex, bar(99, 100, 96, 97), 1);  // not reached
    CHECK(cap.fills.empty());
    run_bar(ex, bar(90, 92, 88, 91), 2);  // gapped below the stop: the open, not the stop
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].price == 90);
    ex.submit(order(Side::Sell, OrderType::Stop, 5, 2, 85));
    run_bar(ex, bar(88, 89, 84, 86), 3);  // touched inside the bar
    REQUIRE(cap.fills.size() == 2);
    CHECK(cap.fills[1].price == 85);
    ex.submit(order(Side::Buy, OrderType::Stop, 5, 3, 90));
    run_bar(ex, bar(87, 91, 86, 90.5), 4);  // buy stop touched
    REQUIRE(cap.fills.size() == 3);
    CHECK(cap.fills[2].price == 90);
  }
  SECTION("bid_ask: a sell stop triggers on the bid and fills there") {
    Capture cap;
    exec::SimulatedExchange ex(with_fill(FillModel::BidAsk), cap, cap);
    ex.submit(order(Side::Sell, OrderType::Stop, 5, 0, 95));
    ex.on_bar_close(0, quote_bar(99, 100, 96, 97, 96.9, 97.1), 0);
    CHECK(cap.fills.empty());
    ex.on_bar_close(0, quote_bar(96, 96, 94, 94.6, 94.5, 94.7), 1);
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].price == 94.5);
  }
}

TEST_CASE("stop-limit orders trigger, then fill as limits", "[unit][exec]") {
  SECTION("triggered with a marketable limit: fills at the stop") {
    Capture cap;
    exec::SimulatedExchange ex({}, cap, cap);
    ex.submit(order(Side::Buy, OrderType::StopLimit, 5, 0, 105, 106));
    run_bar(ex, bar(100, 104, 99, 103), 1);
    CHECK(cap.fills.empty());
    run_bar(ex, bar(103, 108, 102, 107), 2);
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].price == 105);
  }
  SECTION("gapped above the limit: rests as a limit until reached") {
    Capture cap;
    exec::SimulatedExchange ex({}, cap, cap);
    const auto id = ex.submit(order(Side::Buy, OrderType::StopLimit, 5, 0, 105, 106));
    run_bar(ex, bar(107, 109, 106.5, 108), 1);
    CHECK(cap.fills.empty());
    REQUIRE(ex.find(id));
    run_bar(ex, bar(106.5, 107, 105.5, 106), 2);
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].price == 106);
  }
  SECTION("a pullback limit below the stop: next_open fills within the bar, ohlc follows the path") {
    Capture a, b;
    exec::SimulatedExchange range(with_fill(FillModel::NextOpen), a, a);
    exec::SimulatedExchange path(with_fill(FillModel::Ohlc), b, b);
    for (auto* ex : {&range, &path}) {
      ex->submit(order(Side::Buy, OrderType::StopLimit, 5, 0, 105, 104));
      run_bar(*ex, bar(103, 106, 103.5, 105), 1);  // up bar: low first, then the high triggers; no pullback to 104 after
    }
    REQUIRE(a.fills.size() == 1);
    CHECK(a.fills[0].price == 104);
    CHECK(b.fills.empty());
  }
}

TEST_CASE("trailing stops follow the best price and never loosen", "[unit][exec]") {
  SECTION("absolute distance, sell") {
    Capture cap;
    exec::SimulatedExchange ex({}, cap, cap);
    ex.on_bar_close(0, bar(100, 100, 100, 100), 0);  // last price 100
    auto o = order(Side::Sell, OrderType::TrailingStop, 10, 0);
    o.trail_amount = 5;
    const auto id = ex.submit(o);
    REQUIRE(ex.find(id));
    CHECK(ex.find(id)->stop_price == 95);
    run_bar(ex, bar(101, 108, 100, 107), 1);
    CHECK(cap.fills.empty());
    CHECK(ex.find(id)->stop_price == 103);
    run_bar(ex, bar(106, 107, 104, 105), 2);  // no new high: unchanged
    CHECK(ex.find(id)->stop_price == 103);
    run_bar(ex, bar(104, 105, 101, 102), 3);
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].price == 103);
  }
  SECTION("percent distance, and a stop price as the initial floor") {
    Capture cap;
    exec::SimulatedExchange ex({}, cap, cap);
    ex.on_bar_close(0, bar(100, 100, 100, 100), 0);
    auto o = order(Side::Sell, OrderType::TrailingStop, 10, 0, 97);
    o.trail_pct = 0.05;
    const auto id = ex.submit(o);
    CHECK(ex.find(id)->stop_price == 97);  // max(97, 100 - 5 %)
    run_bar(ex, bar(101, 110, 100, 109), 1);
    CHECK(ex.find(id)->stop_price == Approx(104.5));
  }
  SECTION("buy side, for shorts") {
    Capture cap;
    exec::SimulatedExchange ex({}, cap, cap);
    ex.on_bar_close(0, bar(100, 100, 100, 100), 0);
    auto o = order(Side::Buy, OrderType::TrailingStop, 10, 0);
    o.trail_amount = 5;
    const auto id = ex.submit(o);
    CHECK(ex.find(id)->stop_price == 105);
    run_bar(ex, bar(99, 100, 92, 93), 1);
    CHECK(ex.find(id)->stop_price == 97);
    run_bar(ex, bar(95, 98, 94, 97.5), 2);
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].price == 97);
  }
  SECTION("ohlc trails along the path inside one bar") {
    Capture a, b;
    exec::SimulatedExchange range(with_fill(FillModel::NextOpen), a, a);
    exec::SimulatedExchange path(with_fill(FillModel::Ohlc), b, b);
    for (auto* ex : {&range, &path}) {
      ex->on_bar_close(0, bar(100, 100, 100, 100), 0);
      auto o = order(Side::Sell, OrderType::TrailingStop, 10, 0);
      o.trail_amount = 5;
      ex->submit(o);
      run_bar(*ex, bar(100, 110, 99, 101), 1);  // up bar: low, then 110 (trigger 105), then down to 101
    }
    CHECK(a.fills.empty());
    REQUIRE(b.fills.size() == 1);
    CHECK(b.fills[0].price == 105);
  }
  SECTION("amending the distance re-anchors the trigger") {
    Capture cap;
    exec::SimulatedExchange ex({}, cap, cap);
    ex.on_bar_close(0, bar(100, 100, 100, 100), 0);
    auto o = order(Side::Sell, OrderType::TrailingStop, 10, 0);
    o.trail_amount = 5;
    const auto id = ex.submit(o);
    exec::Amendment change;
    change.trail_amount = 2;
    REQUIRE(ex.amend(id, change));
    CHECK(ex.find(id)->stop_price == 98);
  }
}

TEST_CASE("one bar reaching both the stop and the target fills the stop (pessimistic)", "[unit][exec]") {
  auto bracket = [](exec::SimulatedExchange& ex, Capture& cap, double qty, bool oco) {
    const bool long_pos = qty > 0;
    cap.position[0] = qty;
    const Side exit = long_pos ? Side::Sell : Side::Buy;
    auto target = order(exit, OrderType::Limit, std::fabs(qty), 0, 0, long_pos ? 110 : 90);
    auto stop = order(exit, OrderType::Stop, std::fabs(qty), 0, long_pos ? 90 : 110);
    target.reduce_only = stop.reduce_only = true;
    target.oco_group = stop.oco_group = oco ? 77 : 0;
    const auto t = ex.submit(target);
    const auto s = ex.submit(stop);
    return std::make_pair(s, t);
  };
  for (auto m : {FillModel::NextOpen, FillModel::Ohlc}) {
    INFO(exec::to_string(m));
    Capture cap;
    exec::SimulatedExchange ex(with_fill(m), cap, cap);
    auto [stop, target] = bracket(ex, cap, 5, true);
    run_bar(ex, bar(100, 112, 88, 95), 1);  // a down bar: ohlc's default path would see the high first
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].order == stop);
    CHECK(cap.fills[0].price == 90);
    CHECK(cap.last_status(target) == OrderStatus::Cancelled);
    CHECK(cap.last_code(target) == "oco");
    CHECK(ex.working_orders() == 0);
  }
  SECTION("short position: the buy stop above wins") {
    Capture cap;
    exec::SimulatedExchange ex(with_fill(FillModel::Ohlc), cap, cap);
    auto [stop, target] = bracket(ex, cap, -5, true);
    run_bar(ex, bar(100, 112, 88, 105), 1);  // an up bar: default path low first
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].order == stop);
    CHECK(cap.fills[0].price == 110);
  }
  SECTION("ohlc without a pair follows its path; the reduce-only stop then finds nothing to close") {
    Capture cap;
    exec::SimulatedExchange ex(with_fill(FillModel::Ohlc), cap, cap);
    auto [stop, target] = bracket(ex, cap, 5, false);
    run_bar(ex, bar(100, 112, 88, 95), 1);  // down bar: high first
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].order == target);
    CHECK(cap.fills[0].price == 110);
    CHECK(cap.last_code(stop) == "reduce_only");
  }
}

TEST_CASE("a partial fill of one leg shrinks its one-cancels-other sibling", "[unit][exec]") {
  Capture cap;
  exec::SimulatedExchangeConfig cfg;
  cfg.max_volume_fraction = 0.5;
  exec::SimulatedExchange ex(cfg, cap, cap);
  cap.position[0] = 10;
  auto target = order(Side::Sell, OrderType::Limit, 10, 0, 0, 105);
  auto stop = order(Side::Sell, OrderType::Stop, 10, 0, 90);
  target.oco_group = stop.oco_group = 9;
  target.reduce_only = stop.reduce_only = true;
  const auto t = ex.submit(target);
  const auto s = ex.submit(stop);
  run_bar(ex, bar(100, 106, 99, 104, 0, 8), 1);  // 4 of volume available: 4 of the target fill
  REQUIRE(cap.fills.size() == 1);
  CHECK(cap.fills[0].qty == 4);
  REQUIRE(ex.find(s));
  CHECK(ex.find(s)->qty == 6);
  CHECK(ex.find(t)->status == OrderStatus::PartiallyFilled);
}

TEST_CASE("partial fills are limited by bar volume and carried to later bars", "[unit][exec]") {
  SECTION("a market order over four bars") {
    Capture cap;
    exec::SimulatedExchangeConfig cfg;
    cfg.max_volume_fraction = 0.3;
    exec::SimulatedExchange ex(cfg, cap, cap);
    const auto id = ex.submit(order(Side::Buy, OrderType::Market, 100, 0));
    run_bar(ex, bar(10, 11, 9, 10, 0, 100), 1);
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].qty == 30);
    CHECK(cap.last_status(id) == OrderStatus::PartiallyFilled);
    CHECK(ex.find(id)->filled_qty == 30);
    run_bar(ex, bar(11, 12, 10, 11, 0, 100), 2);
    run_bar(ex, bar(12, 13, 11, 12, 0, 100), 3);
    run_bar(ex, bar(13, 14, 12, 13, 0, 100), 4);
    REQUIRE(cap.fills.size() == 4);
    CHECK(cap.fills[1].price == 11);
    CHECK(cap.fills[3].qty == 10);
    CHECK(cap.fills[3].price == 13);
    CHECK(cap.last_status(id) == OrderStatus::Filled);
    CHECK(ex.working_orders() == 0);
  }
  SECTION("a resting limit fills as the price comes back") {
    Capture cap;
    exec::SimulatedExchangeConfig cfg;
    cfg.max_volume_fraction = 0.2;
    exec::SimulatedExchange ex(cfg, cap, cap);
    ex.submit(order(Side::Buy, OrderType::Limit, 50, 0, 0, 95));
    run_bar(ex, bar(96, 97, 94, 96, 0, 100), 1);
    run_bar(ex, bar(96, 97, 94.5, 96, 0, 100), 2);
    run_bar(ex, bar(97, 98, 96, 97, 0, 100), 3);  // not reached
    run_bar(ex, bar(96, 97, 93, 94, 0, 100), 4);
    REQUIRE(cap.fills.size() == 3);
    CHECK(cap.fills[0].qty == 20);
    CHECK(cap.fills[1].qty == 20);
    CHECK(cap.fills[2].qty == 10);
    for (const auto& f : cap.fills) CHECK(f.price == 95);
  }
  SECTION("orders of one instrument share the bar's volume") {
    Capture cap;
    exec::SimulatedExchangeConfig cfg;
    cfg.max_volume_fraction = 0.4;
    exec::SimulatedExchange ex(cfg, cap, cap);
    ex.submit(order(Side::Buy, OrderType::Market, 30, 0));
    ex.submit(order(Side::Buy, OrderType::Market, 30, 0));
    run_bar(ex, bar(10, 11, 9, 10, 0, 100), 1);
    REQUIRE(cap.fills.size() == 2);
    CHECK(cap.fills[0].qty == 30);
    CHECK(cap.fills[1].qty == 10);
  }
  SECTION("a triggered stop's remainder fills at the next open") {
    Capture cap;
    exec::SimulatedExchangeConfig cfg;
    cfg.max_volume_fraction = 0.5;
    exec::SimulatedExchange ex(cfg, cap, cap);
    ex.submit(order(Side::Sell, OrderType::Stop, 80, 0, 95));
    run_bar(ex, bar(99, 100, 94, 95, 0, 100), 1);
    run_bar(ex, bar(93, 96, 92, 95, 0, 100), 2);
    REQUIRE(cap.fills.size() == 2);
    CHECK(cap.fills[0].price == 95);
    CHECK(cap.fills[0].qty == 50);
    CHECK(cap.fills[1].price == 93);
    CHECK(cap.fills[1].qty == 30);
  }
}

TEST_CASE("IOC cancels what does not fill at once, FOK fills completely or not at all", "[unit][exec]") {
  exec::SimulatedExchangeConfig cfg;
  cfg.max_volume_fraction = 0.3;
  SECTION("IOC market: a partial fill, the rest cancelled") {
    Capture cap;
    exec::SimulatedExchange ex(cfg, cap, cap);
    auto o = order(Side::Buy, OrderType::Market, 100, 0);
    o.tif = TimeInForce::IOC;
    const auto id = ex.submit(o);
    run_bar(ex, bar(10, 11, 9, 10, 0, 100), 1);
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].qty == 30);
    CHECK(cap.last_status(id) == OrderStatus::Cancelled);
    CHECK(cap.last_code(id) == "ioc_remainder");
    run_bar(ex, bar(10, 11, 9, 10, 0, 100), 2);
    CHECK(cap.fills.size() == 1);
  }
  SECTION("IOC limit not reached on its bar is cancelled") {
    Capture cap;
    exec::SimulatedExchange ex(cfg, cap, cap);
    auto o = order(Side::Buy, OrderType::Limit, 10, 0, 0, 90);
    o.tif = TimeInForce::IOC;
    const auto id = ex.submit(o);
    run_bar(ex, bar(100, 101, 95, 99, 0, 100), 1);
    CHECK(cap.fills.empty());
    CHECK(cap.last_code(id) == "ioc_remainder");
  }
  SECTION("FOK larger than the volume allows: nothing fills") {
    Capture cap;
    exec::SimulatedExchange ex(cfg, cap, cap);
    auto o = order(Side::Buy, OrderType::Market, 100, 0);
    o.tif = TimeInForce::FOK;
    const auto id = ex.submit(o);
    run_bar(ex, bar(10, 11, 9, 10, 0, 100), 1);
    CHECK(cap.fills.empty());
    CHECK(cap.last_status(id) == OrderStatus::Cancelled);
    CHECK(cap.last_code(id) == "fok_unfilled");
  }
  SECTION("FOK within the volume fills completely") {
    Capture cap;
    exec::SimulatedExchange ex(cfg, cap, cap);
    auto o = order(Side::Buy, OrderType::Market, 20, 0);
    o.tif = TimeInForce::FOK;
    ex.submit(o);
    run_bar(ex, bar(10, 11, 9, 10, 0, 100), 1);
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].qty == 20);
  }
}

TEST_CASE("DAY orders expire at the end of their day, good-for-N-bars after N bars", "[unit][exec]") {
  SECTION("day") {
    Capture cap;
    exec::SimulatedExchange ex({}, cap, cap);
    const std::int64_t day = kNsPerDay * 100;
    auto o = order(Side::Buy, OrderType::Limit, 10, 0, 0, 90);
    o.tif = TimeInForce::Day;
    const auto id = ex.submit(o);
    run_bar(ex, bar(100, 101, 95, 99, day + 11 * kNsPerHour), 1);
    run_bar(ex, bar(99, 100, 94, 95, day + 23 * kNsPerHour), 2);
    CHECK(ex.find(id));
    run_bar(ex, bar(91, 92, 85, 88, day + kNsPerDay), 3);  // next day: expired before it could fill
    CHECK(cap.fills.empty());
    CHECK(cap.last_status(id) == OrderStatus::Expired);
    CHECK(cap.last_code(id) == "expired_day");
  }
  SECTION("good for 2 bars") {
    Capture cap;
    exec::SimulatedExchange ex({}, cap, cap);
    auto o = order(Side::Buy, OrderType::Limit, 10, 0, 0, 90);
    o.tif = TimeInForce::GoodForBars;
    o.tif_bars = 2;
    const auto id = ex.submit(o);
    run_bar(ex, bar(100, 101, 95, 99), 1);
    run_bar(ex, bar(99, 100, 94, 95), 2);
    CHECK(ex.find(id));
    run_bar(ex, bar(91, 92, 85, 88), 3);
    CHECK(cap.fills.empty());
    CHECK(cap.last_code(id) == "expired_bars");
  }
}

TEST_CASE("latency delays orders and cancels by whole bars", "[unit][exec]") {
  exec::SimulatedExchangeConfig cfg;
  cfg.latency_bars = 1;
  SECTION("a market order fills one bar later") {
    Capture cap;
    exec::SimulatedExchange ex(cfg, cap, cap);
    ex.submit(order(Side::Buy, OrderType::Market, 10, 0));
    run_bar(ex, bar(10, 11, 9, 10), 1);
    CHECK(cap.fills.empty());
    run_bar(ex, bar(12, 13, 11, 12), 2);
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].price == 12);
  }
  SECTION("a cancel takes effect one bar late: the order can still fill meanwhile") {
    Capture cap;
    exec::SimulatedExchange ex(cfg, cap, cap);
    const auto a = ex.submit(order(Side::Buy, OrderType::Limit, 10, 0, 0, 95));
    const auto b = ex.submit(order(Side::Buy, OrderType::Limit, 10, 0, 0, 90));
    run_bar(ex, bar(100, 101, 96, 99), 1);
    run_bar(ex, bar(100, 101, 96, 99), 2);
    REQUIRE(ex.cancel(a));
    REQUIRE(ex.cancel(b));
    CHECK(ex.find(a));  // still working
    run_bar(ex, bar(96, 97, 94, 95), 3);  // a fills before its cancel arrives
    REQUIRE(cap.fills.size() == 1);
    CHECK(cap.fills[0].order == a);
    run_bar(ex, bar(92, 93, 88, 90), 4);  // b's cancel arrives first
    CHECK(cap.fills.size() == 1);
    CHECK(cap.last_status(b) == OrderStatus::Cancelled);
    CHECK(cap.last_code(b) == "cancel_requested");
  }
}

TEST_CASE("slippage moves taker fills against the order, never limits, never outside the bar", "[unit][exec]") {
  exec::SimulatedExchangeConfig cfg;
  cfg.slippage = *exec::parse_slippage_model("percent:0.01");
  Capture cap;
  exec::SimulatedExchange ex(cfg, cap, cap);
  ex.submit(order(Side::Buy, OrderType::Market, 1, 0));
  ex.submit(order(Side::Sell, OrderType::Market, 1, 0));
  ex.submit(order(Side::Buy, OrderType::Limit, 1, 0, 0, 99.5));
  run_bar(ex, bar(100, 102, 98, 100), 1);
  REQUIRE(cap.fills.size() == 3);
  CHECK(cap.fills[0].price == Approx(101));
  CHECK(cap.fills[0].slippage == Approx(1));
  CHECK(cap.fills[1].price == Approx(99));
  CHECK(cap.fills[2].price == 99.5);
  CHECK(cap.fills[2].slippage == 0);
  ex.submit(order(Side::Buy, OrderType::Market, 1, 1));
  run_bar(ex, bar(100, 100.5, 99, 100), 2);
  CHECK(cap.fills.back().price == 100.5);  // clamped to the bar's high

  SECTION("ticks") {
    exec::SimulatedExchangeConfig tc;
    tc.slippage = *exec::parse_slippage_model("ticks:2");
    Capture c2;
    exec::SimulatedExchange e2(tc, c2, c2);
    model::Instrument ins;
    ins.tick_size = 0.05;
    e2.set_instrument(ins);
    e2.submit(order(Side::Sell, OrderType::Stop, 1, 0, 95));
    run_bar(e2, bar(99, 100, 94, 96), 1);
    REQUIRE(c2.fills.size() == 1);
    CHECK(c2.fills[0].price == Approx(94.9));
  }
}

TEST_CASE("per-order commission minimums hold across partial fills", "[unit][exec]") {
  exec::SimulatedExchangeConfig cfg;
  cfg.commission = *exec::parse_commission_model("per_share:0.01:5");
  cfg.max_volume_fraction = 0.5;
  Capture cap;
  exec::SimulatedExchange ex(cfg, cap, cap);
  ex.submit(order(Side::Buy, OrderType::Market, 300, 0));
  ex.submit(order(Side::Buy, OrderType::Market, 1000, 10));
  for (int i = 1; i <= 3; ++i) run_bar(ex, bar(10, 11, 9, 10, 0, 200), i);
  REQUIRE(cap.fills.size() == 3);
  double total = 0;
  for (const auto& f : cap.fills) total += f.commission;
  CHECK(total == Approx(5));
  CHECK(cap.fills[0].commission == Approx(5));
}

TEST_CASE("orders off the instrument's rules are rejected with their reason", "[unit][exec]") {
  Capture cap;
  exec::SimulatedExchange ex({}, cap, cap);
  model::Instrument ins;
  ins.tick_size = 0.01;
  ins.lot_size = 10;
  ins.min_qty = 20;
  ins.min_notional = 1000;
  ex.set_instrument(ins);
  ex.on_bar_close(0, bar(40, 40, 40, 40), 0);  // last price 40
  auto limit = order(Side::Buy, OrderType::Limit, 30, 0, 0, 40.005);
  ex.submit(limit);
  ex.submit(order(Side::Buy, OrderType::Market, 25, 0));
  ex.submit(order(Side::Buy, OrderType::Market, 10, 0));
  ex.submit(order(Side::Buy, OrderType::Market, 20, 0));  // 20 x 40 = 800
  ex.submit(order(Side::Buy, OrderType::Market, 0, 0));
  ex.submit(order(Side::Buy, OrderType::Stop, 30, 0, 0));
  auto trailing = order(Side::Sell, OrderType::TrailingStop, 30, 0);
  ex.submit(trailing);
  REQUIRE(cap.rejections.size() == 7);
  const char* expected[] = {"off_tick", "off_lot", "below_min_quantity", "below_min_notional", "invalid_quantity",
                            "invalid_price", "unsupported_order"};
  for (std::size_t i = 0; i < 7; ++i) CHECK(cap.rejections[i].code == expected[i]);
  CHECK(ex.working_orders() == 0);
  // a closing order below the minimums is accepted: positions can always be closed
  auto close = order(Side::Sell, OrderType::Market, 10, 0);
  close.reduce_only = true;
  const auto id = ex.submit(close);
  CHECK(ex.find(id));
}

TEST_CASE("a fill the account cannot pay for is rejected with the account's reason", "[unit][exec]") {
  Capture cap;
  cap.budget = 500;
  exec::SimulatedExchange ex({}, cap, cap);
  const auto id = ex.submit(order(Side::Buy, OrderType::Market, 10, 0));
  run_bar(ex, bar(60, 61, 59, 60), 1);
  CHECK(cap.fills.empty());
  REQUIRE(cap.rejections.size() == 1);
  CHECK(cap.rejections[0].code == "insufficient_cash");
  CHECK(cap.rejections[0].order == id);
  CHECK(ex.working_orders() == 0);
}

TEST_CASE("reduce-only orders never open or flip a position", "[unit][exec]") {
  Capture cap;
  exec::SimulatedExchange ex({}, cap, cap);
  cap.position[0] = 4;
  auto o = order(Side::Sell, OrderType::Market, 10, 0);
  o.reduce_only = true;
  ex.submit(o);
  auto flat = order(Side::Sell, OrderType::Market, 10, 0);
  flat.reduce_only = true;
  const auto second = ex.submit(flat);
  run_bar(ex, bar(10, 11, 9, 10), 1);
  REQUIRE(cap.fills.size() == 1);
  CHECK(cap.fills[0].qty == 4);  // shrunk to what was held
  CHECK(cap.last_code(second) == "reduce_only");
}

TEST_CASE("amend and cancel working orders", "[unit][exec]") {
  Capture cap;
  exec::SimulatedExchange ex({}, cap, cap);
  const auto id = ex.submit(order(Side::Sell, OrderType::Stop, 10, 0, 90));
  exec::Amendment move;
  move.stop_price = 95;
  REQUIRE(ex.amend(id, move));
  CHECK(ex.find(id)->stop_price == 95);
  CHECK(ex.find(id)->status == OrderStatus::Accepted);
  exec::Amendment bad;
  bad.qty = 0;
  CHECK_FALSE(ex.amend(id, bad));
  bad.qty = std::nullopt;
  bad.stop_price = -1;
  CHECK_FALSE(ex.amend(id, bad));
  CHECK_FALSE(ex.amend(999, move));
  exec::Amendment size;
  size.qty = 4;
  REQUIRE(ex.amend(id, size));
  run_bar(ex, bar(99, 100, 94, 96), 1);
  REQUIRE(cap.fills.size() == 1);
  CHECK(cap.fills[0].price == 95);
  CHECK(cap.fills[0].qty == 4);
  CHECK_FALSE(ex.cancel(id));  // filled
  const auto other = ex.submit(order(Side::Buy, OrderType::Limit, 1, 1, 0, 50));
  REQUIRE(ex.cancel(other));
  CHECK(cap.last_code(other) == "cancel_requested");
  CHECK_FALSE(ex.find(other));
}

TEST_CASE("orders sent while a bar's open is processed watch the rest of that bar", "[unit][exec]") {
  // A listener that places a protective stop when the entry fills, as the runner does.
  struct Bracketing final : exec::ExecutionListener, exec::FillGate {
    Capture cap;
    exec::SimulatedExchange* ex = nullptr;
    void on_order_update(const model::Order& o, std::string_view c) override { cap.on_order_update(o, c); }
    void on_fill(const model::Fill& f, const model::Order& o) override {
      cap.on_fill(f, o);
      if (o.purpose == model::OrderPurpose::Entry) {
        auto stop = order(Side::Sell, OrderType::Stop, f.qty, f.bar_index, 95);
        stop.purpose = model::OrderPurpose::StopLoss;
        stop.reduce_only = true;
        ex->submit(stop);
      }
    }
    void on_rejected(const model::Rejection& r, const model::Order& o) override { cap.on_rejected(r, o); }
    std::optional<exec::FillRefusal> check_fill(model::InstrumentId i, Side s, double q, double p,
                                                double c) const override {
      return cap.check_fill(i, s, q, p, c);
    }
    double position_qty(model::InstrumentId i) const override { return cap.position_qty(i); }
  };
  for (auto m : {FillModel::NextOpen, FillModel::Ohlc}) {
    INFO(exec::to_string(m));
    Bracketing b;
    exec::SimulatedExchange ex(with_fill(m), b, b);
    b.ex = &ex;
    ex.submit(order(Side::Buy, OrderType::Market, 10, 0));
    run_bar(ex, bar(100, 101, 94, 96), 1);  // entry at the open 100, the stop at 95 is reached later in the bar
    REQUIRE(b.cap.fills.size() == 2);
    CHECK(b.cap.fills[0].price == 100);
    CHECK(b.cap.fills[1].price == 95);
  }
  SECTION("ohlc: a limit entry during the bar and its stop hit on the rest of the path") {
    Bracketing b;
    exec::SimulatedExchange ex(with_fill(FillModel::Ohlc), b, b);
    b.ex = &ex;
    ex.submit(order(Side::Buy, OrderType::Limit, 10, 0, 0, 97));
    run_bar(ex, bar(100, 101, 94, 99), 1);  // up bar: open 100 -> low 94 (entry at 97, then stop at 95) -> high
    REQUIRE(b.cap.fills.size() == 2);
    CHECK(b.cap.fills[0].price == 97);
    CHECK(b.cap.fills[1].price == 95);
  }
}

TEST_CASE("bars without working orders cost nothing and change nothing", "[unit][exec]") {
  Capture cap;
  exec::SimulatedExchange ex({}, cap, cap);
  for (int i = 0; i < 100; ++i) run_bar(ex, bar(10, 11, 9, 10), i, 3);
  CHECK(ex.working_orders(3) == 0);
  CHECK(cap.updates.empty());
  const auto id = ex.submit(order(Side::Buy, OrderType::Limit, 1, 100, 0, 1));
  CHECK(ex.working_orders(0) == 1);  // instrument 0 (the order's)
  CHECK(ex.working_orders(3) == 0);
  CHECK(ex.find(id)->active_from_bar == 101);
}

TEST_CASE("a bar priced at or below 0 is refused as a fill price, never booked", "[unit][exec]") {
  // The loaders refuse such data; this is the exchange's own guard (the
  // portfolio treats a non-positive fill price as a broken invariant).
  Capture cap;
  exec::SimulatedExchange ex(with_fill(FillModel::NextOpen), cap, cap);
  ex.submit(order(Side::Buy, OrderType::Market, 10, 0));
  run_bar(ex, bar(0, 0, 0, 0), 1);
  CHECK(cap.fills.empty());
  REQUIRE(cap.rejections.size() == 1);
  CHECK(cap.rejections[0].code == "invalid_price");
}

TEST_CASE("fills refused for different reasons in a row each keep their code", "[unit][exec]") {
  // The exchange copies a refusal's code into its reused rejection only when
  // the code's (static) text changes: alternating codes still come out each
  // as it was.
  struct Gate final : exec::ExecutionListener, exec::FillGate {
    std::vector<std::string> codes;
    mutable int n = 0;
    void on_order_update(const model::Order&, std::string_view) override {}
    void on_fill(const model::Fill&, const model::Order&) override {}
    void on_rejected(const model::Rejection& r, const model::Order&) override { codes.push_back(r.code); }
    std::optional<exec::FillRefusal> check_fill(model::InstrumentId, Side, double, double, double) const override {
      return exec::FillRefusal{++n % 3 == 2 ? "insufficient_margin" : "insufficient_cash", "refused", {}};
    }
    double position_qty(model::InstrumentId) const override { return 0; }
  } gate;
  exec::SimulatedExchange ex({}, gate, gate);
  for (std::int64_t i = 0; i < 6; ++i) {
    ex.submit(order(Side::Buy, OrderType::Market, 10, i));
    run_bar(ex, bar(100, 101, 99, 100), i + 1);
  }
  CHECK(gate.codes == std::vector<std::string>{"insufficient_cash", "insufficient_margin", "insufficient_cash",
                                               "insufficient_cash", "insufficient_margin", "insufficient_cash"});
}

TEST_CASE("a venue stays put as venues are added, and its bar steps are the instrument's", "[unit][exec]") {
  // The runner's quiet step keeps its instrument's venue (venue_if) for the
  // whole run and steps bars through it: the address must survive the venues
  // of later instruments, and a bar stepped through the venue must do what
  // the instrument's entry points do.
  Capture cap;
  exec::SimulatedExchange ex(with_fill(FillModel::NextOpen), cap, cap);
  CHECK(ex.venue_if(0) == nullptr);
  model::Instrument inst;
  inst.id = 0;
  inst.symbol = "A";
  ex.set_instrument(inst);
  exec::SimVenue* v = ex.venue_if(0);
  REQUIRE(v != nullptr);
  CHECK(ex.venue_if(1) == nullptr);
  for (model::InstrumentId id = 1; id <= 40; ++id) run_bar(ex, bar(10, 11, 9, 10), 0, id);  // 40 more venues
  CHECK(ex.venue_if(0) == v);
  CHECK(v->rules.symbol == "A");

  Capture cap2;
  exec::SimulatedExchange ref(with_fill(FillModel::NextOpen), cap2, cap2);
  ref.set_instrument(inst);
  for (auto* x : {&ex, &ref}) {
    x->submit(order(Side::Buy, OrderType::Limit, 10, 0, 0, 9.5));
    x->submit(order(Side::Buy, OrderType::Market, 5, 0));
  }
  const model::Bar bars[] = {bar(10, 10.5, 9.8, 10.2), bar(10.1, 10.3, 9.4, 9.6), bar(9.7, 9.9, 9.5, 9.8)};
  for (std::int64_t i = 0; i < 3; ++i) {
    ex.on_bar_open(*v, 0, bars[i], i + 1);
    ex.on_bar_close(*v, 0, bars[i], i + 1);
    run_bar(ref, bars[i], i + 1);
    CHECK(v->last_bar == i + 1);
    CHECK(v->last_price == bars[i].close);
  }
  REQUIRE(cap.fills.size() == 2);
  REQUIRE(cap2.fills.size() == 2);
  for (std::size_t k = 0; k < 2; ++k) {
    CHECK(cap.fills[k].price == cap2.fills[k].price);
    CHECK(cap.fills[k].qty == cap2.fills[k].qty);
    CHECK(cap.fills[k].bar_index == cap2.fills[k].bar_index);
  }
  CHECK(cap.fills[0].price == 10);   // the market order at the first open
  CHECK(cap.fills[1].price == 9.5);  // the limit on the second bar's low
  CHECK(ex.working_orders(0) == 0);
}
