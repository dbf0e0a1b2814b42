#include <catch2/catch.hpp>

#include "engine/portfolio/portfolio.hpp"

using namespace te;
using te::model::Side;

namespace {
model::Fill fill(Side side, double qty, double price, double commission, std::int64_t ts = 1,
                 model::OrderPurpose purpose = model::OrderPurpose::Exit) {
  model::Fill f;
  f.purpose = purpose;
  f.side = side;
  f.qty = qty;
  f.price = price;
  f.commission = commission;
  f.ts_ns = ts;
  f.instrument = 0;
  return f;
}
}  // namespace

TEST_CASE("a long round trip moves cash and books pnl net of commission", "[unit][portfolio]") {
  portfolio::Portfolio p(100000);
  p.apply(fill(Side::Buy, 1000, 1.53125, 1.53125), 10);
  CHECK(p.cash() == Approx(100000 - 1531.25 - 1.53125));
  CHECK(p.position(0).qty == 1000);
  p.mark(0, 1.6, 1.5, 1.7);
  CHECK(p.equity() == Approx(100000 - 1.53125 + 1000 * (1.6 - 1.53125)));
  REQUIRE(p.open_trade(0) != nullptr);
  CHECK(p.open_trade(0)->mae == Approx(1000 * (1.5 - 1.53125)));
  CHECK(p.open_trade(0)->mfe == Approx(1000 * (1.7 - 1.53125)));
  const bool closed = p.apply(fill(Side::Sell, 1000, 1.682292, 1.682292, 2), 20);
  CHECK(closed);
  CHECK(p.position(0).qty == 0);
  REQUIRE(p.trades().size() == 1);
  const auto& t = p.trades()[0];
  CHECK_FALSE(t.open());
  CHECK(t.pnl_gross == Approx(151.042));
  CHECK(t.pnl_net() == Approx(147.828458));
  CHECK(t.exit_reason() == "signal");
  CHECK(t.entry_bar == 10);
  CHECK(t.exit_bar == 20);
  CHECK(p.equity() == Approx(100000 + 147.828458));
  CHECK(p.closed_trades() == 1);
}

TEST_CASE("a short round trip and a reversal split into two trades", "[unit][portfolio]") {
  portfolio::Portfolio p(10000);
  p.apply(fill(Side::Sell, 10, 100, 1), 0);
  CHECK(p.position(0).qty == -10);
  CHECK(p.cash() == Approx(10000 + 1000 - 1));
  // buy 30: closes the 10 short and opens 20 long; commission split pro rata
  p.apply(fill(Side::Buy, 30, 90, 3), 1);
  REQUIRE(p.trades().size() == 2);
  CHECK(p.trades()[0].pnl_gross == Approx(100));
  CHECK(p.trades()[0].exit_commission == Approx(1));
  CHECK_FALSE(p.trades()[1].is_long == false);
  CHECK(p.trades()[1].entry_commission == Approx(2));
  CHECK(p.position(0).qty == 20);
  CHECK(p.position(0).avg_price == 90);
}

TEST_CASE("fills that cannot be paid for are refused with a reason", "[unit][portfolio]") {
  portfolio::Portfolio p(1000);
  CHECK_FALSE(p.check_fill(0, Side::Buy, 9, 100, 10));
  auto why = p.check_fill(0, Side::Buy, 10, 100, 1);
  REQUIRE(why);
  CHECK(why->text().find("cash is 1000") != std::string::npos);
  CHECK(std::string(why->code) == "insufficient_cash");
  // shorts need equity covering the short notional (short_margin 1.0)
  CHECK_FALSE(p.check_fill(0, Side::Sell, 10, 100, 0));
  REQUIRE(p.check_fill(0, Side::Sell, 11, 100, 0));
  CHECK(std::string(p.check_fill(0, Side::Sell, 11, 100, 0)->code) == "insufficient_margin");
  // reducing fills always pass
  p.apply(fill(Side::Buy, 5, 100, 0), 0);
  CHECK_FALSE(p.check_fill(0, Side::Sell, 5, 1, 1000));
}

TEST_CASE("leverage lets longs use margin, short margin is configurable", "[unit][portfolio]") {
  portfolio::Portfolio p(1000, portfolio::MarginPolicy{0.5, 2.0});
  // 2x leverage: 1000 of equity carries 2000 of longs
  CHECK_FALSE(p.check_fill(0, Side::Buy, 20, 100, 0));
  auto why = p.check_fill(0, Side::Buy, 21, 100, 0);
  REQUIRE(why);
  CHECK(std::string(why->code) == "insufficient_margin");
  p.apply(fill(Side::Buy, 20, 100, 0), 0);
  CHECK(p.cash() == Approx(-1000));
  CHECK(p.equity() == Approx(1000));
  CHECK(p.margin_used() == Approx(1000));
  CHECK(p.buying_power() == Approx(0));
  CHECK(p.open_positions() == 1);
  // shorts with 50 % margin on another instrument: equity 1000 already used by the long
  CHECK(p.check_fill(1, Side::Sell, 1, 100, 0));
  portfolio::Portfolio q(1000, portfolio::MarginPolicy{0.5, 1.0});
  CHECK_FALSE(q.check_fill(0, Side::Sell, 20, 100, 0));  // 2000 short needs 1000 of equity
  CHECK(q.check_fill(0, Side::Sell, 21, 100, 0));
}

// Sums over positions start at the lowest instrument the account has touched
// (an account of one runner among many has high instrument ids only): one
// touched later below it still counts, in every sum.
TEST_CASE("position sums count every instrument the account touched, in any order", "[unit][portfolio]") {
  portfolio::Portfolio p(1'000'000);
  CHECK(p.position_value() == 0);
  auto at = [](model::Fill f, model::InstrumentId id) {
    f.instrument = id;
    return f;
  };
  p.mark(40, 10, 10, 10);  // marked before any fill: flat, +0 in every sum
  p.apply(at(fill(Side::Buy, 100, 10, 0, 1, model::OrderPurpose::Entry), 40), 1);
  CHECK(p.position_value() == 1000);
  p.apply(at(fill(Side::Sell, 50, 20, 0, 2, model::OrderPurpose::Entry), 7), 2);  // below 40: a short
  p.mark(7, 20, 20, 20);
  CHECK(p.position_value() == 1000 - 1000);
  CHECK(p.long_value() == 1000);
  CHECK(p.short_value() == 1000);
  CHECK(p.open_positions() == 2);
  p.mark(3, 5, 5, 5);  // a lower instrument only marked
  CHECK(p.open_positions() == 2);
  CHECK(p.equity() == p.cash() + 0.0);
  // The refusal check sums the other instruments from the lowest one too.
  CHECK(p.check_fill(40, Side::Buy, 1e6, 10, 0).has_value());
  CHECK_FALSE(p.check_fill(40, Side::Buy, 10, 10, 0).has_value());
}
