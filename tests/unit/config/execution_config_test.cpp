// [execution] and [risk] sections: every key read, combinations checked, every
// problem reported with its key path; per-runner overrides.
#include <catch2/catch.hpp>

#include "engine/config/config.hpp"

using namespace te;

namespace {
const char* kRunner = R"(
[[runners]]
symbol = "BTCUSDT"
strategy = "strategies/sma_cross.lua"
[runners.data_source]
type = "simulated"
)";
}

TEST_CASE("execution and risk sections with per-runner overrides", "[unit][config]") {
  const std::string text = std::string(R"(
[execution]
fill = "ohlc"
commission_model = "per_share"
commission = 0.005
commission_minimum = 1
slippage_model = "ticks"
slippage = 2
tick_size = 0.01
lot_size = 1
min_qty = 1
min_notional = 10
max_volume_fraction = 0.1
latency_bars = 1
allow_short = false
pyramiding = 3
leverage = 2
short_margin = 0.5
close_at_end = true

[risk]
kill_switch_at = "2024-03-01T14:30:00Z"
max_open_positions = 5
price_band = 0.05
max_daily_loss = 0.03
max_drawdown = 0.1
max_orders = 100
order_window_s = 10
[risk.stormguard]
enabled = true
warm = 0.005
storm = 0.01
halt = 0.015
basis = "daily"
warm_size_scale = 0.25
cooldown_bars = 20
[risk.strategy]
max_position_qty = 1000
max_risk_per_trade = 0.01
)") + kRunner + R"(
[runners.risk]
max_position_qty = 50
[runners.risk.stormguard]
enabled = true
)";
  auto cfg = config::parse_config(text, "t.toml");
  INFO((cfg ? "" : cfg.error().message));
  REQUIRE(cfg.ok());
  const auto& e = cfg->execution;
  CHECK(e.fill == "ohlc");
  CHECK(e.commission_model == "per_share");
  CHECK(e.commission_minimum == 1);
  CHECK(e.slippage_model == "ticks");
  CHECK(e.latency_bars == 1);
  CHECK_FALSE(e.allow_short);
  CHECK(e.pyramiding == 3);
  CHECK(e.leverage == 2);
  CHECK(e.close_at_end);
  const auto& r = cfg->risk;
  CHECK(r.present);
  CHECK(r.kill_switch_at_ns == 1709303400LL * 1000000000LL);
  CHECK(r.max_open_positions == 5);
  CHECK(r.stormguard.enabled);
  CHECK(r.stormguard.basis == "daily");
  CHECK(r.stormguard.cooldown_bars == 20);
  CHECK(r.strategy.max_position_qty == 1000);
  REQUIRE(cfg->runners.size() == 1);
  CHECK(cfg->runners[0].execution.pyramiding == 3);          // inherited
  CHECK(cfg->runners[0].risk.max_position_qty == 50);        // overridden
  CHECK(cfg->runners[0].risk.max_risk_per_trade == 0.01);    // inherited from [risk.strategy]
  CHECK(cfg->runners[0].risk.stormguard.enabled);
}

TEST_CASE("execution and risk problems are all reported with their key paths", "[unit][config]") {
  const std::string text = std::string(R"(
[execution]
fill = "vwap"
commission = 0.7
maker_fee = 0.001
slippage_model = "ticks"
slippage = 1
pyramiding = 0

[risk]
kill_switch_at = "tomorrow"
max_drawdown = 2
colour = "red"
[risk.stormguard]
warm = 0.02
storm = 0.01
basis = "weekly"
)") + kRunner;
  auto cfg = config::parse_config(text, "t.toml");
  REQUIRE_FALSE(cfg.ok());
  const std::string& m = cfg.error().message;
  INFO(m);
  for (const char* key : {"execution.fill", "execution.commission", "execution.maker_fee", "execution.slippage_model",
                          "execution.pyramiding", "risk.kill_switch_at", "risk.max_drawdown", "risk.colour",
                          "risk.stormguard.warm", "risk.stormguard.basis"})
    CHECK_THAT(m, Catch::Contains(key));
}
