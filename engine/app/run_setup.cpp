#include "engine/app/run_setup.hpp"

#include <cctype>
#include <map>
#include <memory>

#include <fmt/core.h>

#include "engine/app/execution_options.hpp"
#include "engine/core/time.hpp"
#include "engine/data/interval.hpp"
#include "engine/data/load_bars.hpp"

namespace te::app {
namespace {

bool has_strategy_limits(const config::StrategyRiskSection& s) {
  return s.capital > 0 || s.max_position_qty > 0 || s.max_position_notional > 0 || s.max_position_fraction > 0 ||
         s.max_risk_per_trade > 0 || s.max_daily_loss > 0 || s.max_drawdown > 0 || s.max_orders > 0 ||
         s.stormguard.enabled;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<backtest::BacktestConfig> trading_config(const config::Config& cfg, const config::RunnerSection& r) {
  auto setup = execution_setup(r.execution);
  if (!setup) return std::move(setup).error();
  backtest::BacktestConfig t;
  t.params = r.params;
  t.initial_cash = setup->initial_cash;
  t.exchange = setup->exchange;
  t.lot_size = setup->lot_size;
  t.tick_size = setup->tick_size;
  t.min_qty = setup->min_qty;
  t.min_notional = setup->min_notional;
  t.margin = setup->margin;
  t.allow_short = setup->allow_short;
  t.pyramiding = setup->pyramiding;
  t.close_at_end = setup->close_at_end;
  if (cfg.risk.present || has_strategy_limits(r.risk)) {
    config::RiskSection rs = cfg.risk;
    rs.strategy = r.risk;  // [risk.strategy] overridden by [runners.risk]
    t.risk = risk_config(rs);
    t.risk->kill_switch_signal = true;  // `kill -USR1 <pid>` engages every runner's kill switch
  }
  t.closewatch_timeout_bars = r.closewatch_timeout_bars;
  t.seed = cfg.engine.seed;
  t.keep_transitions = false;
  t.limits = script::make_limits(script::RunMode::Live, cfg.sandbox.callback_timeout_ms, cfg.sandbox.memory_limit_mb);
  t.max_consecutive_errors = cfg.sandbox.max_consecutive_errors;
  t.flatten_on_fault = cfg.sandbox.flatten_on_fault;
  return t;
}

Result<std::vector<live::RunnerSpec>> runner_specs(const config::Config& cfg,
                                                   const std::vector<script::StrategySource>& indicator_files) {
  std::vector<live::RunnerSpec> out;
  std::vector<std::string> problems;
  std::map<std::string, std::shared_ptr<const model::BarSeries>> loaded;  // by path + symbol
  std::map<std::string, script::StrategySource> sources;
  for (const auto& r : cfg.runners) {
    live::RunnerSpec spec;
    spec.name = r.name;
    spec.key_path = r.key_path;
    spec.param_at = r.param_at;
    spec.symbol = r.symbol;
    spec.paper = r.execution.type == "paper";
    auto src = sources.find(r.strategy);
    if (src == sources.end()) {
      auto read = script::read_strategy(r.strategy);
      if (!read) {
        problems.push_back(r.key_path + ".strategy: " + read.error().message);
        continue;
      }
      src = sources.emplace(r.strategy, std::move(*read)).first;
    }
    spec.strategy = src->second;
    auto trading = trading_config(cfg, r);
    if (!trading) {
      problems.push_back(r.key_path + ".execution: " + trading.error().message);
      continue;
    }
    spec.trading = std::move(*trading);
    spec.trading.indicator_files = indicator_files;
    const auto& ds = r.data_source;
    live::SourceSpec& s = spec.source;
    s.interval = ds.interval;
    if (ds.type == "live") {
      s.kind = live::SourceKind::Live;
      spec.symbol = upper(r.symbol);
    } else if (ds.type == "historical") {
      s.kind = live::SourceKind::Historical;
      s.simulate_realtime = ds.simulate_realtime;
      s.speed = ds.speed;
      const std::string key = ds.path + "\n" + r.symbol;
      auto it = loaded.find(key);
      if (it == loaded.end()) {
        data::LoadOptions lo;
        lo.symbol = r.symbol;
        auto bars = data::load_bars(ds.path, lo);
        if (!bars) {
          problems.push_back(r.key_path + ".data_source.path: " + bars.error().message);
          continue;
        }
        it = loaded.emplace(key, std::make_shared<const model::BarSeries>(std::move(*bars))).first;
      }
      s.bars = it->second;
    } else {
      s.kind = live::SourceKind::Simulated;
      data::GeneratorOptions& g = s.generator;
      g.seed = ds.seed;
      g.volatility = ds.volatility;
      g.start_price = ds.start_price;
      if (auto ns = data::parse_interval_ns(ds.interval)) g.interval_ns = *ns;
      if (!ds.start.empty())
        if (auto st = parse_iso8601_ns(ds.start)) g.start_ns = *st;
      s.max_bars = ds.bars;
      s.bars_per_second = ds.bars_per_second;
      if (auto v = data::validate(g); !v) {
        problems.push_back(r.key_path + ".data_source: " + v.error().message);
        continue;
      }
    }
    out.push_back(std::move(spec));
  }
  if (!problems.empty()) {
    std::string text;
    for (const auto& p : problems) text += (text.empty() ? "" : "\n") + cfg.path + ": " + p;
    return make_error(Errc::invalid_argument, text);
  }
  return out;
}

}  // namespace te::app
