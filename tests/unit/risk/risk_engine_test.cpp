// The risk engine's pre-trade checks, one reason code at a time; StormGuard
// effects; the kill switch from config, schedule and another thread.
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "engine/core/time.hpp"
#include "engine/risk/risk_codes.hpp"
#include "engine/risk/risk_engine.hpp"

using namespace te;
using model::Side;

namespace {

struct Sink final : risk::RiskEventSink {
  std::vector<risk::StormGuardChange> changes;
  std::vector<risk::KillSwitchEvent> kills;
  void on_stormguard(const risk::StormGuardChange& c) override { changes.push_back(c); }
  void on_kill_switch(const risk::KillSwitchEvent& e) override { kills.push_back(e); }
};

model::Order entry(double qty, Side side = Side::Buy, model::InstrumentId instrument = 0) {
  model::Order o;
  o.side = side;
  o.qty = qty;
  o.instrument = instrument;
  return o;
}

model::Fill fill(Side side, double qty, double price, model::InstrumentId instrument = 0) {
  model::Fill f;
  f.side = side;
  f.qty = qty;
  f.price = price;
  f.instrument = instrument;
  return f;
}

struct World {
  portfolio::Portfolio account{100000};
  model::Instrument ins;
  Sink sink;
  std::unique_ptr<risk::RiskEngine> engine;
  explicit World(risk::RiskConfig cfg) {
    ins.lot_size = 1;
    engine = std::make_unique<risk::RiskEngine>(cfg, account);
  }
  risk::Decision check(const model::Order& o, double last = 100, double stop = 0, std::int64_t ts = 1) {
    return engine->check(o, ins, last, stop, ts, &sink);
  }
  void trade(Side side, double qty, double price, model::InstrumentId i = 0) {
    auto f = fill(side, qty, price, i);
    account.apply(f, 0);
    engine->on_fill(f);
  }
};

}  // namespace

TEST_CASE("without limits every order passes unchanged", "[unit][risk]") {
  World w({});
  auto d = w.check(entry(1e6));
  CHECK(d.approved);
  CHECK(d.approved_qty == 1e6);
  CHECK(d.code.empty());
}

TEST_CASE("position size, notional and share of equity", "[unit][risk]") {
  risk::RiskConfig cfg;
  cfg.strategy.max_position_qty = 100;
  cfg.strategy.max_position_notional = 20000;
  cfg.strategy.max_position_fraction = 0.15;
  World w(cfg);
  CHECK(w.check(entry(150)).code == risk::codes::kMaxPositionQty);
  CHECK(w.check(entry(100), 250).code == risk::codes::kMaxPositionNotional);  // 25000
  CHECK(w.check(entry(100), 160).code == risk::codes::kMaxPositionFraction);  // 16000 of 100000
  CHECK(w.check(entry(100), 140).approved);
  w.trade(Side::Buy, 80, 100);
  CHECK(w.check(entry(30)).code == risk::codes::kMaxPositionQty);  // 110 after the fill
  CHECK(w.check(entry(30, Side::Sell)).approved);                  // 50 after the fill
}

TEST_CASE("open positions, risk per trade, price band", "[unit][risk]") {
  risk::RiskConfig cfg;
  cfg.account.max_open_positions = 1;
  cfg.strategy.max_risk_per_trade = 0.01;
  cfg.account.price_band = 0.05;
  World w(cfg);
  w.trade(Side::Buy, 10, 100, 1);
  auto other = entry(10);
  CHECK(w.check(other).code == risk::codes::kMaxOpenPositions);
  CHECK(w.check(entry(10, Side::Buy, 1)).approved);  // adding to the open one
  CHECK(w.check(entry(200, Side::Buy, 1), 100, 90).code == risk::codes::kMaxRiskPerTrade);  // 2000 = 2 %
  CHECK(w.check(entry(100, Side::Buy, 1), 100, 90).approved);
  auto limit = entry(1, Side::Buy, 1);
  limit.type = model::OrderType::Limit;
  limit.limit_price = 106;
  CHECK(w.check(limit).code == risk::codes::kPriceBand);
  limit.limit_price = 104;
  CHECK(w.check(limit).approved);
}

TEST_CASE("order rate over a sliding window of data time", "[unit][risk]") {
  risk::RiskConfig cfg;
  cfg.strategy.max_orders = 2;
  cfg.strategy.order_window_s = 60;
  World w(cfg);
  const std::int64_t t0 = 1000 * kNsPerSec;
  CHECK(w.check(entry(1), 100, 0, t0).approved);
  CHECK(w.check(entry(1), 100, 0, t0 + 10 * kNsPerSec).approved);
  CHECK(w.check(entry(1), 100, 0, t0 + 20 * kNsPerSec).code == risk::codes::kOrderRate);
  CHECK(w.check(entry(1), 100, 0, t0 + 61 * kNsPerSec).approved);  // the first left the window
}

TEST_CASE("account and strategy loss limits deny new exposure, never exits", "[unit][risk]") {
  SECTION("account daily loss") {
    risk::RiskConfig cfg;
    cfg.account.max_daily_loss = 0.02;
    World w(cfg);
    w.engine->on_bar(0, 0, 100, kNsPerDay + 1, &w.sink);  // start of day: 100000
    w.trade(Side::Buy, 1000, 100);
    w.account.mark(0, 97, 97, 97);
    w.engine->on_bar(0, 0, 97, kNsPerDay + 2, &w.sink);
    CHECK(w.check(entry(1), 97, 0, kNsPerDay + 3).code == risk::codes::kMaxDailyLoss);
    auto exit = entry(1000, Side::Sell);
    exit.reduce_only = true;
    CHECK(w.check(exit, 97, 0, kNsPerDay + 3).approved);
    w.engine->on_bar(0, 0, 97, 2 * kNsPerDay + 1, &w.sink);  // a new day starts from here
    CHECK(w.check(entry(1), 97, 0, 2 * kNsPerDay + 2).approved);
  }
  SECTION("account drawdown") {
    risk::RiskConfig cfg;
    cfg.account.max_drawdown = 0.02;
    World w(cfg);
    w.trade(Side::Buy, 1000, 100);
    w.account.mark(0, 97, 97, 97);
    w.engine->on_bar(0, 0, 97, 1, &w.sink);
    CHECK(w.check(entry(1)).code == risk::codes::kMaxDrawdown);
  }
  SECTION("one strategy's drawdown on its own capital") {
    risk::RiskConfig cfg;
    risk::StrategyLimits s7;
    s7.capital = 10000;
    s7.max_drawdown = 0.05;
    cfg.strategies[7] = s7;
    World w(cfg);
    auto f = fill(Side::Buy, 100, 100);
    f.strategy = 7;
    w.account.apply(f, 0);
    w.engine->on_fill(f);
    w.engine->on_bar(7, 0, 94, 1, &w.sink);  // -600 of 10000 = 6 %
    auto o = entry(1);
    o.strategy = 7;
    CHECK(w.check(o, 94).code == risk::codes::kStrategyMaxDrawdown);
    CHECK(w.engine->strategy_pnl(7) == Approx(-600));
    CHECK(w.check(entry(1), 94).approved);  // strategy 0 is not limited
  }
}

TEST_CASE("StormGuard effects: WARM scales entries, STORM only reduces, HALT flattens and blocks", "[unit][risk]") {
  risk::RiskConfig cfg;
  cfg.account.stormguard.enabled = true;
  cfg.account.stormguard.warm = 0.01;
  cfg.account.stormguard.storm = 0.02;
  cfg.account.stormguard.halt = 0.03;
  cfg.account.stormguard.warm_size_scale = 0.5;
  World w(cfg);
  w.engine->on_bar(0, 0, 100, 1, &w.sink);
  w.trade(Side::Buy, 1000, 100);
  auto step = [&](double price, std::int64_t ts) {
    w.account.mark(0, price, price, price);
    w.engine->on_bar(0, 0, price, ts, &w.sink);
  };
  step(98.5, 2);  // -1.5 %
  CHECK(w.engine->account_state() == risk::StormState::Warm);
  REQUIRE(w.sink.changes.size() == 1);
  CHECK(w.sink.changes[0].account);
  CHECK_THAT(w.sink.changes[0].reason, Catch::Contains("WARM"));
  auto d = w.check(entry(101), 98.5, 0, 3);
  CHECK(d.approved);
  CHECK(d.approved_qty == 50);  // 50.5 rounded down to the lot
  CHECK(d.code == risk::codes::kStormGuardWarm);
  CHECK(w.check(entry(1), 98.5, 0, 3).code == risk::codes::kStormGuardWarm);  // 0.5 rounds to nothing
  CHECK_FALSE(w.check(entry(1), 98.5, 0, 3).approved);
  step(97.5, 4);
  CHECK(w.engine->account_state() == risk::StormState::Storm);
  CHECK(w.check(entry(10), 97.5, 0, 5).code == risk::codes::kStormGuardStorm);
  auto reduce = entry(10, Side::Sell);
  reduce.reduce_only = true;
  CHECK(w.check(reduce, 97.5, 0, 5).approved);
  CHECK_FALSE(w.engine->must_flatten(0));
  step(96.5, 6);
  CHECK(w.engine->account_state() == risk::StormState::Halt);
  CHECK(w.check(entry(10), 96.5, 0, 7).code == risk::codes::kStormGuardHalt);
  CHECK(w.engine->must_flatten(0));
  CHECK(w.engine->flatten_purpose() == model::OrderPurpose::RiskHalt);
  w.engine->reset_stormguard(std::nullopt, 8, &w.sink);
  CHECK(w.engine->account_state() == risk::StormState::Normal);
  CHECK(w.sink.changes.back().reason == "operator reset");
  CHECK(w.check(entry(10), 96.5, 0, 9).approved);
}

TEST_CASE("a strategy's own StormGuard applies to that strategy only", "[unit][risk]") {
  risk::RiskConfig cfg;
  risk::StrategyLimits s;
  s.capital = 1000;
  s.stormguard.enabled = true;
  s.stormguard.warm = 0.05;
  s.stormguard.storm = 0.1;
  s.stormguard.halt = 0.2;
  cfg.strategies[3] = s;
  World w(cfg);
  auto f = fill(Side::Buy, 10, 100);
  f.strategy = 3;
  w.engine->on_fill(f);
  w.engine->on_bar(3, 0, 100, 1, &w.sink);
  w.engine->on_bar(3, 0, 88, 2, &w.sink);  // -120 of 1000: STORM
  CHECK(w.engine->strategy_state(3) == risk::StormState::Storm);
  REQUIRE_FALSE(w.sink.changes.empty());
  CHECK_FALSE(w.sink.changes.back().account);
  CHECK(w.sink.changes.back().strategy == 3);
  auto o = entry(1);
  o.strategy = 3;
  CHECK(w.check(o).code == risk::codes::kStormGuardStorm);
  CHECK(w.check(entry(1)).approved);
  w.engine->force_stormguard(3, risk::StormState::Halt, 3, &w.sink);
  CHECK(w.engine->must_flatten(3));
  CHECK_FALSE(w.engine->must_flatten(0));
}

TEST_CASE("the kill switch: from config, on schedule, or requested from another thread", "[unit][risk]") {
  SECTION("config") {
    risk::RiskConfig cfg;
    cfg.kill_switch = true;
    World w(cfg);
    CHECK(w.engine->kill_switch_engaged());
    CHECK(w.engine->must_flatten(0));
    CHECK(w.engine->flatten_purpose() == model::OrderPurpose::KillSwitch);
    CHECK(w.check(entry(1)).code == risk::codes::kKillSwitch);
    auto exit = entry(1, Side::Sell);
    exit.reduce_only = true;
    CHECK(w.check(exit).approved);
  }
  SECTION("scheduled") {
    risk::RiskConfig cfg;
    cfg.kill_switch_at_ns = 10 * kNsPerDay;
    World w(cfg);
    w.engine->on_bar(0, 0, 100, 9 * kNsPerDay, &w.sink);
    CHECK_FALSE(w.engine->kill_switch_engaged());
    w.engine->on_bar(0, 0, 100, 10 * kNsPerDay, &w.sink);
    CHECK(w.engine->kill_switch_engaged());
    REQUIRE(w.sink.kills.size() == 1);
    CHECK_THAT(w.sink.kills[0].reason, Catch::Contains("scheduled"));
  }
  SECTION("requested by another thread, engaged at the next event") {
    World w({});
    std::thread other([&] { w.engine->request_kill_switch(); });
    other.join();
    CHECK_FALSE(w.engine->kill_switch_engaged());
    CHECK(w.check(entry(1)).code == risk::codes::kKillSwitch);
    CHECK(w.engine->kill_switch_engaged());
    REQUIRE(w.sink.kills.size() == 1);
    w.engine->release_kill_switch("operator", 2, &w.sink);
    CHECK(w.check(entry(1)).approved);
    CHECK(w.sink.kills.size() == 2);
    CHECK_FALSE(w.sink.kills[1].engaged);
  }
}

TEST_CASE("custom validators compose after the standard ones", "[unit][risk]") {
  struct NoSells final : risk::Validator {
    std::string_view name() const noexcept override { return "no_sells"; }
    std::optional<risk::Denial> check(const risk::CheckContext& c) override {
      if (c.order.side == Side::Sell) return risk::Denial{"no_sells", "sells are off today"};
      return std::nullopt;
    }
  };
  World w({});
  w.engine->add_validator(std::make_unique<NoSells>());
  CHECK(w.check(entry(1)).approved);
  auto d = w.check(entry(1, Side::Sell));
  CHECK(d.code == "no_sells");
  CHECK(d.message == "sells are off today");
}

TEST_CASE("a strategy's daily loss limit on its capital resets with the UTC day", "[unit][risk]") {
  risk::RiskConfig cfg;
  risk::StrategyLimits s3;
  s3.capital = 20000;
  s3.max_daily_loss = 0.02;  // 400 of 20000
  cfg.strategies[3] = s3;
  World w(cfg);
  auto f = fill(Side::Buy, 100, 100);
  f.strategy = 3;
  w.account.apply(f, 0);
  w.engine->on_fill(f);
  w.engine->on_bar(3, 0, 100, kNsPerDay + 1, &w.sink);  // the day starts at 20000
  auto o = entry(1);
  o.strategy = 3;
  w.engine->on_bar(3, 0, 96.5, kNsPerDay + 2, &w.sink);  // -350: 1.75 %, still allowed
  CHECK(w.check(o, 96.5, 0, kNsPerDay + 3).approved);
  w.engine->on_bar(3, 0, 95.5, kNsPerDay + 4, &w.sink);  // -450: 2.25 %
  const auto d = w.check(o, 95.5, 0, kNsPerDay + 5);
  CHECK_FALSE(d.approved);
  CHECK(d.code == risk::codes::kStrategyMaxDailyLoss);
  CHECK_THAT(d.message, Catch::Contains("2.25 %"));
  auto exit = o;
  exit.side = Side::Sell;
  exit.reduce_only = true;
  CHECK(w.check(exit, 95.5, 0, kNsPerDay + 5).approved);  // reducing is always allowed
  w.engine->on_bar(3, 0, 95.5, 2 * kNsPerDay + 1, &w.sink);  // a new day starts from 19550
  CHECK(w.check(o, 95.5, 0, 2 * kNsPerDay + 2).approved);
}
