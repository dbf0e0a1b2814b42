// Every order type under every fill model on one hand-built bar sequence, with
// the expected fill worked out by hand from the rules in docs/execution.md
// ("The fill matrix" there is this table). A change to any matching rule shows
// up here as a changed cell.
//
// The order is sent on bar 0 by a strategy (between bar 0's open and close
// phases, as the runner does), then bars 1..4 play. Bars carry a closing quote
// of close -/+ 0.5 for bid_ask.
#include <catch2/catch.hpp>

#include <array>
#include <string>

#include "engine/core/time.hpp"
#include "tests/unit/exec/exec_test_support.hpp"

using namespace te;
using namespace te::test;
using exec::FillModel;
using model::OrderType;
using model::Side;

namespace {

//                          open   high   low   close
const std::array<model::Bar, 5> kBars = {
    quote_bar(100, 101, 99, 100, 99.5, 100.5, 0 * kNsPerDay),   // bar 0: the order is sent on it
    quote_bar(102, 106, 101, 105, 104.5, 105.5, 1 * kNsPerDay),  // opens above 101.5, up to 106
    quote_bar(105, 112, 104, 110, 109.5, 110.5, 2 * kNsPerDay),  // a new high: trailing stops ratchet
    quote_bar(108, 109, 95, 96, 95.5, 96.5, 3 * kNsPerDay),      // gaps down, falls to 95
    quote_bar(96, 97, 94, 95, 94.5, 95.5, 4 * kNsPerDay),
};

struct Expect {
  std::int64_t bar = -1;  // -1: never fills
  double price = 0;
};

struct Row {
  const char* name;
  model::Order order;
  std::array<Expect, 4> by_model;  // next_open, close, ohlc, bid_ask
};

model::Order make(Side side, OrderType type, double stop, double limit, double trail = 0) {
  model::Order o = order(side, type, 10, 0, stop, limit);
  o.trail_amount = trail;
  return o;
}

constexpr std::array<FillModel, 4> kModels = {FillModel::NextOpen, FillModel::Close, FillModel::Ohlc,
                                              FillModel::BidAsk};

}  // namespace

TEST_CASE("fill matrix: every order type under every fill model", "[unit][exec]") {
  const Row rows[] = {
      {"market buy", make(Side::Buy, OrderType::Market, 0, 0),
       // next open; the signal bar's close; next open; the signal bar's ask
       {{{1, 102}, {0, 100}, {1, 102}, {0, 100.5}}}},
      {"limit buy 101.5", make(Side::Buy, OrderType::Limit, 0, 101.5),
       // bar 1's low 101 reaches it: fills at the limit; bid_ask: the ask 100.5 is already better
       {{{1, 101.5}, {1, 101.5}, {1, 101.5}, {0, 100.5}}}},
      {"stop buy 104", make(Side::Buy, OrderType::Stop, 104, 0),
       // bar 1's high 106 touches it: at the stop; bid_ask: bar 1's ask 105.5 triggers, fills there
       {{{1, 104}, {1, 104}, {1, 104}, {1, 105.5}}}},
      {"stop buy 101.5 gapped through", make(Side::Buy, OrderType::Stop, 101.5, 0),
       // bar 1 opens at 102, above the stop: the open, not the stop
       {{{1, 102}, {1, 102}, {1, 102}, {1, 105.5}}}},
      {"stop-limit buy 104 / 104.5", make(Side::Buy, OrderType::StopLimit, 104, 104.5),
       // triggered at 104 with a marketable limit: at the stop; bid_ask: the ask 105.5 is above
       // the limit, it rests until bar 3's ask 96.5
       {{{1, 104}, {1, 104}, {1, 104}, {3, 96.5}}}},
      {"stop-limit buy 101.5 / 101.8 gapped", make(Side::Buy, OrderType::StopLimit, 101.5, 101.8),
       // the open 102 triggers it above its limit; bar 1's low 101 then reaches the limit
       {{{1, 101.8}, {1, 101.8}, {1, 101.8}, {3, 96.5}}}},
      {"trailing sell, 3 behind the best price", make(Side::Sell, OrderType::TrailingStop, 0, 0, 3),
       // trigger 97 (from 100) -> 103 (high 106) -> 109 (high 112); bar 3 opens at 108, below 109:
       // the open. bid_ask trails the bid: 101.5, 106.5, then bar 3's bid 95.5 is below it
       {{{3, 108}, {3, 108}, {3, 108}, {3, 95.5}}}},
  };
  for (const Row& row : rows) {
    for (std::size_t m = 0; m < kModels.size(); ++m) {
      const FillModel model = kModels[m];
      DYNAMIC_SECTION(row.name << " / " << exec::to_string(model)) {
        Capture cap;
        exec::SimulatedExchange ex(with_fill(model), cap, cap);
        ex.on_bar_open(0, kBars[0], 0);
        const model::OrderId id = ex.submit(row.order);
        ex.on_bar_close(0, kBars[0], 0);
        for (std::int64_t i = 1; i < static_cast<std::int64_t>(kBars.size()); ++i) run_bar(ex, kBars[i], i);
        const Expect& want = row.by_model[m];
        if (want.bar < 0) {
          CHECK(cap.fills.empty());
          continue;
        }
        REQUIRE(cap.fills.size() == 1);
        CHECK(cap.fills[0].order == id);
        CHECK(cap.fills[0].bar_index == want.bar);
        CHECK(cap.fills[0].price == Approx(want.price).epsilon(1e-12));
        CHECK(cap.fills[0].qty == 10);
        CHECK(cap.last_status(id) == model::OrderStatus::Filled);
      }
    }
  }
}

TEST_CASE("fill matrix: one bar reaching a stop and a target, under every fill model", "[unit][exec]") {
  // A long of 10 protected by a sell stop at 95 and a sell limit (target) at
  // 105, one-cancels-other. The bar opens at 100, reaches 106 and 94 and closes
  // at 99 (so its natural ohlc path would visit the high first).
  const model::Bar setup = quote_bar(100, 101, 99, 100, 99.5, 100.5, 0);
  const model::Bar both = quote_bar(100, 106, 94, 99, 98.5, 99.5, kNsPerDay);
  const std::array<Expect, 4> want = {{
      {1, 95},  // next_open: stops before limits
      {1, 95},  // close: as next_open
      {1, 95},  // ohlc: the path goes to the stop first when both legs are reached
      {-1, 0},  // bid_ask: only the closing quote counts; 98.5 reaches neither
  }};
  for (std::size_t m = 0; m < kModels.size(); ++m) {
    DYNAMIC_SECTION(exec::to_string(kModels[m])) {
      Capture cap;
      cap.position[0] = 10;
      exec::SimulatedExchange ex(with_fill(kModels[m]), cap, cap);
      ex.on_bar_open(0, setup, 0);
      model::Order stop = order(Side::Sell, OrderType::Stop, 10, 0, 95);
      model::Order target = order(Side::Sell, OrderType::Limit, 10, 0, 0, 105);
      stop.reduce_only = target.reduce_only = true;
      stop.oco_group = target.oco_group = 1;
      const auto stop_id = ex.submit(stop);
      const auto target_id = ex.submit(target);
      ex.on_bar_close(0, setup, 0);
      run_bar(ex, both, 1);
      if (want[m].bar < 0) {
        CHECK(cap.fills.empty());
        CHECK(ex.working_orders() == 2);
        continue;
      }
      REQUIRE(cap.fills.size() == 1);
      CHECK(cap.fills[0].order == stop_id);
      CHECK(cap.fills[0].price == want[m].price);
      CHECK(cap.last_status(target_id) == model::OrderStatus::Cancelled);
      CHECK(cap.last_code(target_id) == "oco");
      CHECK(ex.working_orders() == 0);
    }
  }
}
