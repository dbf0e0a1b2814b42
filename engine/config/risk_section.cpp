#include <fmt/core.h>

#include "engine/config/sections.hpp"
#include "engine/core/time.hpp"

namespace te::config::detail {
namespace {

void read_stormguard(TableReader& t, StormGuardSection& g) {
  t.read("enabled", g.enabled);
  t.read("warm", g.warm, 1e-9, 0.999);
  t.read("storm", g.storm, 1e-9, 0.999);
  t.read("halt", g.halt, 1e-9, 0.999);
  t.read_choice("basis", g.basis, {"drawdown", "daily"});
  t.read("warm_size_scale", g.warm_size_scale, 0, 1);
  t.read("halt_flatten", g.halt_flatten);
  t.read("cooldown_bars", g.cooldown_bars, 0, 1'000'000'000);
  t.read("halt_cooldown_bars", g.halt_cooldown_bars, 0, 1'000'000'000);
  if (!(g.warm < g.storm && g.storm < g.halt))
    t.problem("warm", fmt::format("thresholds must rise: warm < storm < halt, were {} / {} / {}", g.warm, g.storm,
                                  g.halt));
}

}  // namespace

void read_strategy_risk(TableReader& t, StrategyRiskSection& s) {
  t.read("capital", s.capital, 0, 1e18);
  t.read("max_position_qty", s.max_position_qty, 0, 1e18);
  t.read("max_position_notional", s.max_position_notional, 0, 1e18);
  t.read("max_position_fraction", s.max_position_fraction, 0, 1000);
  t.read("max_risk_per_trade", s.max_risk_per_trade, 0, 1);
  t.read("max_daily_loss", s.max_daily_loss, 0, 1);
  t.read("max_drawdown", s.max_drawdown, 0, 1);
  t.read("max_orders", s.max_orders, 0, 1'000'000'000);
  t.read("order_window_s", s.order_window_s, 1e-3, 1e9);
  t.table("stormguard", [&](TableReader& g) { read_stormguard(g, s.stormguard); });
}

void read_risk(TableReader& t, RiskSection& out) {
  out.present = true;
  t.read("kill_switch", out.kill_switch);
  std::string at;
  t.read("kill_switch_at", at);
  if (!at.empty()) {
    if (auto ns = parse_iso8601_ns(at))
      out.kill_switch_at_ns = *ns;
    else
      t.problem("kill_switch_at", "expected an ISO-8601 date or date-time, was \"" + at + "\"");
  }
  t.read("kill_switch_file", out.kill_switch_file);
  t.read("max_open_positions", out.max_open_positions, 0, 1'000'000);
  t.read("price_band", out.price_band, 0, 100);
  t.read("max_daily_loss", out.max_daily_loss, 0, 1);
  t.read("max_drawdown", out.max_drawdown, 0, 1);
  t.read("max_orders", out.max_orders, 0, 1'000'000'000);
  t.read("order_window_s", out.order_window_s, 1e-3, 1e9);
  t.table("stormguard", [&](TableReader& g) { read_stormguard(g, out.stormguard); });
  t.table("strategy", [&](TableReader& s) { read_strategy_risk(s, out.strategy); });
}

}  // namespace te::config::detail
