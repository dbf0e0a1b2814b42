#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "engine/exec/instrument_rules.hpp"
#include "engine/exec/models.hpp"

using namespace te;
using exec::CommissionModel;
using exec::SlippageModel;
using model::Liquidity;

TEST_CASE("fill model names round-trip and unknown names are refused", "[unit][exec]") {
  for (auto m : {exec::FillModel::NextOpen, exec::FillModel::Close, exec::FillModel::Ohlc, exec::FillModel::BidAsk})
    CHECK(*exec::parse_fill_model(exec::to_string(m)) == m);
  auto bad = exec::parse_fill_model("vwap");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("next_open, close, ohlc or bid_ask"));
}

TEST_CASE("slippage specs parse and price moves follow each model", "[unit][exec]") {
  auto pct = exec::parse_slippage_model("0.001");
  REQUIRE(pct);
  CHECK(pct->kind == SlippageModel::Kind::Percent);
  CHECK(pct->slip(100, 10, 1000, 0.01) == Approx(0.1));
  auto ticks = exec::parse_slippage_model("ticks:2");
  REQUIRE(ticks);
  CHECK(ticks->slip(100, 10, 1000, 0.05) == Approx(0.1));
  auto vol = exec::parse_slippage_model("volume:0.1");
  REQUIRE(vol);
  // square-root impact: 100 * 0.1 * sqrt(25 / 10000) = 0.5
  CHECK(vol->slip(100, 25, 10000, 0) == Approx(0.5));
  CHECK(vol->slip(100, 25, std::numeric_limits<double>::quiet_NaN(), 0) == 0);  // no volume data: no impact
  CHECK(exec::parse_slippage_model("none")->kind == SlippageModel::Kind::None);
  CHECK(exec::to_string(*vol) == "volume:0.1");
  for (const char* bad : {"percent:1.5", "ticks:-1", "ticks", "random:1", "0.5:1:2", "abc"})
    CHECK_FALSE(exec::parse_slippage_model(bad));
}

TEST_CASE("commission models: percent, per share with a minimum, fixed, maker/taker", "[unit][exec]") {
  auto pct = *exec::parse_commission_model("percent:0.001");
  CHECK(pct.commission(10, 100) == Approx(1.0));
  CHECK(exec::parse_commission_model("0.002")->commission(10, 100) == Approx(2.0));

  auto ps = *exec::parse_commission_model("per_share:0.005:1");
  CHECK(ps.commission(100, 50) == Approx(1.0));   // 0.50 raised to the 1.00 minimum
  CHECK(ps.commission(400, 50) == Approx(2.0));
  // partial fills of one order: the minimum applies to the order, not each fill
  const double first = ps.commission(100, 50, Liquidity::Taker, 0, 0);
  const double second = ps.commission(300, 50, Liquidity::Taker, 100, first);
  CHECK(first == Approx(1.0));
  CHECK(first + second == Approx(2.0));

  auto fixed = *exec::parse_commission_model("fixed:4.95");
  CHECK(fixed.commission(10, 10, Liquidity::Taker, 0, 0) == Approx(4.95));
  CHECK(fixed.commission(10, 10, Liquidity::Taker, 10, 4.95) == 0);  // once per order

  auto mt = *exec::parse_commission_model("maker_taker:0.0002:0.0004");
  CHECK(mt.commission(10, 1000, Liquidity::Maker, 0, 0) == Approx(2.0));
  CHECK(mt.commission(10, 1000, Liquidity::Taker, 0, 0) == Approx(4.0));
  CHECK(exec::to_string(mt) == "maker_taker:0.0002:0.0004");

  auto pct_min = *exec::parse_commission_model("percent:0.001:5");
  CHECK(pct_min.commission(1, 100) == Approx(5.0));

  for (const char* bad : {"maker_taker:0.1", "fixed", "per_share:x", "percent:2", "flat:1"})
    CHECK_FALSE(exec::parse_commission_model(bad));
}

TEST_CASE("prices snap to the tick grid and quantities to lots", "[unit][exec]") {
  using exec::Rounding;
  CHECK(exec::round_to_tick(10.123, 0.01, Rounding::Down) == 10.12);
  CHECK(exec::round_to_tick(10.123, 0.01, Rounding::Up) == 10.13);
  CHECK(exec::round_to_tick(10.126, 0.01, Rounding::Nearest) == 10.13);
  CHECK(exec::round_to_tick(10.12, 0.01, Rounding::Up) == 10.12);  // already on the grid: unchanged
  CHECK(exec::round_to_tick(101.3, 0.25, Rounding::Down) == 101.25);
  CHECK(exec::round_to_tick(101.3, 0, Rounding::Down) == 101.3);
  CHECK(exec::round_to_lot(157, 10) == 150);
  CHECK(exec::round_to_lot(0.0379, 0.001) == 0.037);
  CHECK(exec::round_to_lot(3, 1) == 3);
  CHECK(exec::on_grid(10.12, 0.01));
  CHECK_FALSE(exec::on_grid(10.125, 0.01));
  CHECK(exec::limit_rounding(model::Side::Buy) == Rounding::Down);
  CHECK(exec::stop_rounding(model::Side::Buy) == Rounding::Up);
}

TEST_CASE("every instrument rule has its rejection reason", "[unit][exec]") {
  model::Instrument rules;
  rules.tick_size = 0.01;
  rules.lot_size = 10;
  rules.min_qty = 20;
  rules.min_notional = 1000;
  auto code = [&](model::Order o, double ref = 50) {
    auto r = exec::check_order(o, rules, ref);
    return r ? std::string(r->code) : std::string("ok");
  };
  model::Order o;
  o.side = model::Side::Buy;
  o.qty = 30;
  CHECK(code(o) == "ok");
  o.qty = 0;
  CHECK(code(o) == "invalid_quantity");
  o.qty = 25;
  CHECK(code(o) == "off_lot");
  o.qty = 10;
  CHECK(code(o) == "below_min_quantity");
  o.qty = 20;
  CHECK(code(o, 40) == "below_min_notional");  // 20 x 40 = 800 < 1000
  CHECK(code(o, 0) == "ok");                   // market order, no price known yet: not checked
  o.type = model::OrderType::Limit;
  o.limit_price = 50.005;
  CHECK(code(o) == "off_tick");
  o.limit_price = 0;
  CHECK(code(o) == "invalid_price");
  o.limit_price = 60;
  CHECK(code(o) == "ok");
  o.type = model::OrderType::TrailingStop;
  CHECK(code(o) == "unsupported_order");  // no distance
  o.trail_amount = 1;
  CHECK(code(o) == "ok");
  o.trail_pct = 0.01;
  CHECK(code(o) == "unsupported_order");  // both distances
  o = model::Order{};
  o.qty = 10;
  o.reduce_only = true;  // closing orders are exempt from the minimums
  CHECK(code(o, 1) == "ok");
  o.tif = model::TimeInForce::GoodForBars;
  CHECK(code(o) == "unsupported_order");
}

TEST_CASE("round_to_lot's inline path for a lot of 1 gives the general path's bits", "[exec][lot]") {
  // Sizes as entries make them (fractions of equity over a price), values
  // near whole numbers (within and past the grid tolerance), signs, zeros,
  // huge, tiny and non-finite values.
  std::vector<double> qs = {0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1e-9, -1e-9, 1 - 1e-9, 1 - 2e-9, 3 - 5e-10,
                            2.9999999999, 1e15, 1e16, 1e300, -1e300, 5e-324, -5e-324,
                            std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                            std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::max()};
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> frac(0, 1), price(0.01, 5000), equity(-1e3, 1e7);
  for (int i = 0; i < 200000; ++i) qs.push_back(frac(rng) * equity(rng) / price(rng));
  for (int i = 0; i < 20000; ++i) {
    const double w = std::floor(price(rng));
    qs.push_back(std::nextafter(w, -1e9));
    qs.push_back(std::nextafter(w + 1e-9, 1e9));
    qs.push_back(w - 1e-9);
  }
  std::size_t same = 0;
  for (const double q : qs) {
    const double a = exec::round_to_lot(q, 1), b = exec::round_to_lot_any(q, 1);
    same += std::memcmp(&a, &b, sizeof a) == 0 ? 1 : 0;
  }
  CHECK(same == qs.size());
}
