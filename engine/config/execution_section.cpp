#include <fmt/core.h>

#include "engine/config/sections.hpp"

namespace te::config::detail {

void read_execution(TableReader& t, ExecutionSection& out) {
  t.read_choice("type", out.type, {"simulated", "paper"});
  if (t.has("type")) out.type_given = true;
  t.read_choice("fill", out.fill, {"next_open", "close", "ohlc", "bid_ask"});
  t.read_choice("commission_model", out.commission_model, {"percent", "per_share", "fixed", "maker_taker"});
  t.read("commission", out.commission, 0, 1e9);
  t.read("commission_minimum", out.commission_minimum, 0, 1e9);
  t.read("maker_fee", out.maker_fee, 0, 0.5);
  t.read("taker_fee", out.taker_fee, 0, 0.5);
  t.read_choice("slippage_model", out.slippage_model, {"none", "percent", "ticks", "volume"});
  t.read("slippage", out.slippage, 0, 1e6);
  t.read("max_volume_fraction", out.max_volume_fraction, 0, 1);
  t.read("latency_bars", out.latency_bars, 0, 1'000'000);
  t.read("tick_size", out.tick_size, 0, 1e12);
  t.read("lot_size", out.lot_size, 0, 1e12);
  t.read("min_qty", out.min_qty, 0, 1e15);
  t.read("min_notional", out.min_notional, 0, 1e18);
  t.read("allow_short", out.allow_short);
  t.read("pyramiding", out.pyramiding, 1, 1000);
  t.read("leverage", out.leverage, 1, 1000);
  t.read("short_margin", out.short_margin, 0, 100);
  t.read("close_at_end", out.close_at_end);
  t.read("initial_cash", out.initial_cash, 1e-9, 1e18);
  // Combinations.
  if (out.commission_model == "percent" && out.commission >= 0.5)
    t.problem("commission", fmt::format("a percent commission is a fraction of traded value below 0.5, was {}",
                                        out.commission));
  if (out.commission_model == "maker_taker" && t.has("commission"))
    t.problem("commission", "maker_taker takes maker_fee and taker_fee, not commission");
  if (out.commission_model != "maker_taker" && (t.has("maker_fee") || t.has("taker_fee")))
    t.problem(t.has("maker_fee") ? "maker_fee" : "taker_fee",
              "maker_fee and taker_fee need commission_model = \"maker_taker\"");
  if (out.slippage_model == "percent" && out.slippage >= 1)
    t.problem("slippage", fmt::format("percent slippage is a fraction of the price below 1, was {}", out.slippage));
  if (out.slippage_model == "ticks" && out.slippage > 0 && out.tick_size <= 0)
    t.problem("slippage_model", "ticks slippage needs a tick_size");
}

}  // namespace te::config::detail
