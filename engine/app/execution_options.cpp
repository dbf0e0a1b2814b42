#include "engine/app/execution_options.hpp"

#include "engine/app/sandbox_options.hpp"

#include <fmt/core.h>

#include <cmath>
#include <utility>

#include "engine/core/numbers.hpp"
#include "engine/core/sha256.hpp"
#include "engine/core/time.hpp"

namespace te::app {
namespace {

risk::StormGuardConfig stormguard(const config::StormGuardSection& s) {
  risk::StormGuardConfig g;
  g.enabled = s.enabled;
  g.warm = s.warm;
  g.storm = s.storm;
  g.halt = s.halt;
  g.basis = s.basis == "daily" ? risk::StormGuardConfig::Basis::Daily : risk::StormGuardConfig::Basis::Drawdown;
  g.warm_size_scale = s.warm_size_scale;
  g.halt_flatten = s.halt_flatten;
  g.cooldown_bars = s.cooldown_bars;
  g.halt_cooldown_bars = s.halt_cooldown_bars;
  return g;
}

}  // namespace

Result<ExecutionSetup> execution_setup(const config::ExecutionSection& s) {
  ExecutionSetup out;
  auto fill = exec::parse_fill_model(s.fill);
  if (!fill) return std::move(fill).error();
  out.exchange.fill = *fill;
  exec::CommissionModel& c = out.exchange.commission;
  if (s.commission_model == "percent") {
    c.kind = exec::CommissionModel::Kind::Percent;
  } else if (s.commission_model == "per_share") {
    c.kind = exec::CommissionModel::Kind::PerShare;
  } else if (s.commission_model == "fixed") {
    c.kind = exec::CommissionModel::Kind::Fixed;
  } else if (s.commission_model == "maker_taker") {
    c.kind = exec::CommissionModel::Kind::MakerTaker;
  } else {
    return make_error(Errc::invalid_argument, "unknown commission model '" + s.commission_model + "'");
  }
  c.rate = s.commission;
  c.minimum = s.commission_minimum;
  c.maker_rate = s.maker_fee;
  c.taker_rate = s.taker_fee;
  exec::SlippageModel& sl = out.exchange.slippage;
  sl.value = s.slippage;
  if (s.slippage == 0 || s.slippage_model == "none") sl.kind = exec::SlippageModel::Kind::None;
  else if (s.slippage_model == "percent") sl.kind = exec::SlippageModel::Kind::Percent;
  else if (s.slippage_model == "ticks") sl.kind = exec::SlippageModel::Kind::Ticks;
  else if (s.slippage_model == "volume") sl.kind = exec::SlippageModel::Kind::Volume;
  else return make_error(Errc::invalid_argument, "unknown slippage model '" + s.slippage_model + "'");
  out.exchange.max_volume_fraction = s.max_volume_fraction;
  out.exchange.latency_bars = s.latency_bars;
  out.tick_size = s.tick_size;
  out.lot_size = s.lot_size;
  out.min_qty = s.min_qty;
  out.min_notional = s.min_notional;
  out.margin.leverage = s.leverage;
  out.margin.short_margin = s.short_margin;
  out.allow_short = s.allow_short;
  out.pyramiding = s.pyramiding;
  out.close_at_end = s.close_at_end;
  out.initial_cash = s.initial_cash;
  return out;
}

risk::StrategyLimits strategy_limits(const config::StrategyRiskSection& s) {
  risk::StrategyLimits l;
  l.capital = s.capital;
  l.max_position_qty = s.max_position_qty;
  l.max_position_notional = s.max_position_notional;
  l.max_position_fraction = s.max_position_fraction;
  l.max_risk_per_trade = s.max_risk_per_trade;
  l.max_daily_loss = s.max_daily_loss;
  l.max_drawdown = s.max_drawdown;
  l.max_orders = s.max_orders;
  l.order_window_s = s.order_window_s;
  l.stormguard = stormguard(s.stormguard);
  return l;
}

risk::RiskConfig risk_config(const config::RiskSection& s) {
  risk::RiskConfig r;
  r.kill_switch = s.kill_switch;
  r.kill_switch_at_ns = s.kill_switch_at_ns;
  r.kill_switch_file = s.kill_switch_file;
  r.account.max_open_positions = s.max_open_positions;
  r.account.price_band = s.price_band;
  r.account.max_daily_loss = s.max_daily_loss;
  r.account.max_drawdown = s.max_drawdown;
  r.account.max_orders = s.max_orders;
  r.account.order_window_s = s.order_window_s;
  r.account.stormguard = stormguard(s.stormguard);
  r.strategy = strategy_limits(s.strategy);
  return r;
}

void add_execution_flags(CLI::App* cmd, ExecutionFlags& f) {
  f.cmd = cmd;
  cmd->add_option("--cash", f.cash, "Initial cash")->capture_default_str();
  cmd->add_option("--commission", f.commission, "Commission as a fraction of traded value (0.001 = 0.1 %)")
      ->capture_default_str();
  cmd->add_option("--fill", f.fill,
                  "Fill model: next_open (market orders at the next open; stops/limits on the bar's range), close "
                  "(market orders at the signal bar's close), ohlc (stops/limits along a modelled intrabar path) or "
                  "bid_ask (at the bar's quote)")
      ->capture_default_str();
  cmd->add_option("--commission-model", f.commission_model,
                  "percent:RATE[:MIN], per_share:RATE[:MIN], fixed:AMOUNT or maker_taker:MAKER:TAKER (a bare "
                  "percent/per_share/fixed takes --commission as its rate)");
  cmd->add_option("--slippage", f.slippage,
                  "Slippage of taker fills: none, a fraction (0.0005), percent:F, ticks:N (needs --tick-size) or "
                  "volume:K (square-root impact)");
  cmd->add_option("--max-volume-fraction", f.max_volume_fraction,
                  "Largest share of a bar's volume that may fill (0 = no limit); the rest carries to later bars");
  cmd->add_option("--latency-bars", f.latency_bars, "Bars before orders, cancels and amendments take effect");
  cmd->add_option("--tick-size", f.tick_size, "Price increment: order prices are rounded to it (0 = none)");
  cmd->add_option("--min-qty", f.min_qty, "Smallest order quantity (0 = none)");
  cmd->add_option("--min-notional", f.min_notional, "Smallest order value (0 = none)");
  cmd->add_option("--allow-short", f.allow_short, "Allow short entries (true/false)")->capture_default_str();
  cmd->add_option("--pyramiding", f.pyramiding, "Entries allowed per trade (1 = no adding)")->capture_default_str();
  cmd->add_option("--leverage", f.leverage, "Longs need 1/leverage of their value as margin")->capture_default_str();
  cmd->add_option("--short-margin", f.short_margin, "Shorts need this fraction of their value as margin")
      ->capture_default_str();
  cmd->add_flag("--close-at-end", f.close_at_end, "Close an open trade at the last bar's close (end_of_data)");
  cmd->add_flag("--kill-switch", f.kill_switch, "Engage the kill switch from the start: no orders at all");
  cmd->add_option("--kill-switch-at", f.kill_switch_at,
                  "Engage the kill switch at this time (ISO-8601): flatten, then refuse new orders");
  cmd->add_option("--kill-switch-file", f.kill_switch_file,
                  "Engage the kill switch when this file appears while the backtest runs (also: SIGUSR1)");
  cmd->add_option("--config", f.config,
                  "TOML file whose [execution], [risk] and [sandbox] sections apply (flags given here override them)");
  cmd->add_option("--lot-size", f.lot_size,
                  "Quantity increment for sized entries (fraction/risk sizing); 0 allows any quantity")
      ->capture_default_str();
}

namespace {

// Every flag of add_execution_flags, in the order execution_args writes them.
constexpr const char* kExecutionFlags[] = {
    "--config",    "--cash",         "--commission", "--commission-model", "--fill",     "--slippage",
    "--max-volume-fraction", "--latency-bars", "--tick-size", "--min-qty", "--min-notional", "--allow-short",
    "--pyramiding", "--leverage",    "--short-margin", "--close-at-end",   "--kill-switch", "--kill-switch-at",
    "--kill-switch-file", "--lot-size"};

}  // namespace

std::vector<std::string> execution_args(const ExecutionFlags& f) {
  std::vector<std::string> out;
  if (f.cmd == nullptr) return out;
  for (const char* name : kExecutionFlags) {
    if (!f.given(name)) continue;
    const std::string n(name);
    if (n == "--close-at-end") out.push_back(f.close_at_end ? n : n + "=false");
    else if (n == "--kill-switch") out.push_back(f.kill_switch ? n : n + "=false");
    else if (n == "--config") out.push_back(n + "=" + f.config);
    else if (n == "--cash") out.push_back(n + "=" + format_double(f.cash));
    else if (n == "--commission") out.push_back(n + "=" + format_double(f.commission));
    else if (n == "--commission-model") out.push_back(n + "=" + f.commission_model);
    else if (n == "--fill") out.push_back(n + "=" + f.fill);
    else if (n == "--slippage") out.push_back(n + "=" + f.slippage);
    else if (n == "--max-volume-fraction") out.push_back(n + "=" + format_double(f.max_volume_fraction));
    else if (n == "--latency-bars") out.push_back(n + "=" + std::to_string(f.latency_bars));
    else if (n == "--tick-size") out.push_back(n + "=" + format_double(f.tick_size));
    else if (n == "--min-qty") out.push_back(n + "=" + format_double(f.min_qty));
    else if (n == "--min-notional") out.push_back(n + "=" + format_double(f.min_notional));
    else if (n == "--allow-short") out.push_back(n + "=" + (f.allow_short ? "true" : "false"));
    else if (n == "--pyramiding") out.push_back(n + "=" + std::to_string(f.pyramiding));
    else if (n == "--leverage") out.push_back(n + "=" + format_double(f.leverage));
    else if (n == "--short-margin") out.push_back(n + "=" + format_double(f.short_margin));
    else if (n == "--kill-switch-at") out.push_back(n + "=" + f.kill_switch_at);
    else if (n == "--kill-switch-file") out.push_back(n + "=" + f.kill_switch_file);
    else if (n == "--lot-size") out.push_back(n + "=" + format_double(f.lot_size));
  }
  return out;
}

Status parse_execution_args(const std::vector<std::string>& args, ExecutionFlags& flags,
                            std::unique_ptr<CLI::App>& holder) {
  holder = std::make_unique<CLI::App>("execution settings");
  flags = ExecutionFlags{};
  add_execution_flags(holder.get(), flags);
  std::vector<std::string> argv(args.rbegin(), args.rend());  // CLI11 takes them reversed
  try {
    holder->parse(argv);
  } catch (const CLI::ParseError& e) {
    return make_error(Errc::parse, "execution settings: " + std::string(e.what()));
  }
  return {};
}

Result<ResolvedExecution> resolve_execution(const ExecutionFlags& a) {
  config::ExecutionSection sec;
  config::RiskSection risk_sec;
  ResolvedExecution res;
  if (!a.config.empty()) {
    auto file = config::load_config(a.config);
    if (!file) return std::move(file).error();
    sec = file->execution;
    risk_sec = file->risk;
    res.sandbox = file->sandbox;
    auto hash = sha256_file_hex(a.config);
    if (!hash) return std::move(hash).error();
    res.config_sha256 = *hash;
  }
  // inf and nan parse as numbers but no range check below can be trusted with
  // them (nan compares false both ways; inf cash breaks the accounting).
  const std::pair<const char*, double> numbers[] = {
      {"--cash", a.cash},         {"--commission", a.commission}, {"--lot-size", a.lot_size},
      {"--tick-size", a.tick_size}, {"--min-qty", a.min_qty},      {"--min-notional", a.min_notional},
      {"--max-volume-fraction", a.max_volume_fraction},           {"--leverage", a.leverage},
      {"--short-margin", a.short_margin}};
  for (const auto& [flag, v] : numbers) {
    if (a.given(flag) && !std::isfinite(v))
      return make_error(Errc::invalid_argument, fmt::format("{} must be a finite number, was {}", flag, v));
  }
  // The same ranges as the config's [execution] keys (execution_section.cpp):
  // a flag must not accept what the file refuses (--cash 1e300 ran, and lost
  // every trade's P&L below the cash's precision).
  const struct {
    const char* flag;
    double value, lo, hi;
  } ranges[] = {
      {"--cash", a.cash, 1e-9, 1e18},          {"--lot-size", a.lot_size, 0, 1e12},
      {"--tick-size", a.tick_size, 0, 1e12},   {"--min-qty", a.min_qty, 0, 1e15},
      {"--min-notional", a.min_notional, 0, 1e18},
      {"--latency-bars", static_cast<double>(a.latency_bars), 0, 1'000'000},
      {"--pyramiding", static_cast<double>(a.pyramiding), 1, 1000},
      {"--leverage", a.leverage, 1, 1000},     {"--short-margin", a.short_margin, 0, 100},
  };
  for (const auto& r : ranges) {
    if (a.given(r.flag) && !(r.value >= r.lo && r.value <= r.hi))
      return make_error(Errc::invalid_argument,
                        fmt::format("{} must be between {} and {}, was {}", r.flag, r.lo, r.hi, r.value));
  }
  if (a.given("--fill")) {
    if (auto fill = exec::parse_fill_model(a.fill); !fill)
      return make_error(Errc::invalid_argument, "--fill: " + fill.error().message);
    sec.fill = a.fill;
  }
  if (a.given("--cash")) sec.initial_cash = a.cash;
  if (a.given("--lot-size")) sec.lot_size = a.lot_size;
  if (a.given("--tick-size")) sec.tick_size = a.tick_size;
  if (a.given("--min-qty")) sec.min_qty = a.min_qty;
  if (a.given("--min-notional")) sec.min_notional = a.min_notional;
  if (a.given("--max-volume-fraction")) sec.max_volume_fraction = a.max_volume_fraction;
  if (a.given("--latency-bars")) sec.latency_bars = a.latency_bars;
  if (a.given("--allow-short")) sec.allow_short = a.allow_short;
  if (a.given("--pyramiding")) sec.pyramiding = a.pyramiding;
  if (a.given("--leverage")) sec.leverage = a.leverage;
  if (a.given("--short-margin")) sec.short_margin = a.short_margin;
  if (a.given("--close-at-end")) sec.close_at_end = a.close_at_end;
  auto setup = execution_setup(sec);
  if (!setup) return std::move(setup).error();
  ExecutionSetup& out = *setup;
  if (!(out.initial_cash > 0)) return make_error(Errc::invalid_argument, fmt::format("--cash must be > 0, was {}", out.initial_cash));
  if (a.given("--commission")) {
    if (!(a.commission >= 0) || (out.exchange.commission.kind == exec::CommissionModel::Kind::Percent && a.commission >= 1))
      return make_error(Errc::invalid_argument,
                        fmt::format("--commission is a fraction of traded value in [0, 1), was {}", a.commission));
    out.exchange.commission.rate = a.commission;
  }
  if (a.given("--commission-model")) {
    std::string spec = a.commission_model;
    // A bare kind takes its rate from --commission.
    if (spec.find(':') == std::string::npos && (spec == "percent" || spec == "per_share" || spec == "fixed"))
      spec += ":" + format_double(a.commission);
    auto m = exec::parse_commission_model(spec);
    if (!m) return make_error(Errc::invalid_argument, "--commission-model: " + m.error().message);
    out.exchange.commission = *m;
  }
  if (a.given("--slippage")) {
    auto m = exec::parse_slippage_model(a.slippage);
    if (!m) return make_error(Errc::invalid_argument, "--slippage: " + m.error().message);
    out.exchange.slippage = *m;
  }
  if (!(out.lot_size >= 0)) return make_error(Errc::invalid_argument, fmt::format("--lot-size must be >= 0, was {}", out.lot_size));
  if (out.exchange.max_volume_fraction < 0 || out.exchange.max_volume_fraction > 1)
    return make_error(Errc::invalid_argument,
                      fmt::format("--max-volume-fraction must be in [0, 1], was {}", out.exchange.max_volume_fraction));
  if (out.exchange.latency_bars < 0)
    return make_error(Errc::invalid_argument, fmt::format("--latency-bars must be >= 0, was {}", out.exchange.latency_bars));
  if (out.pyramiding < 1) return make_error(Errc::invalid_argument, fmt::format("--pyramiding must be >= 1, was {}", out.pyramiding));
  if (!(out.margin.leverage >= 1))
    return make_error(Errc::invalid_argument, fmt::format("--leverage must be >= 1, was {}", out.margin.leverage));
  if (!(out.margin.short_margin >= 0))
    return make_error(Errc::invalid_argument, fmt::format("--short-margin must be >= 0, was {}", out.margin.short_margin));
  if (!(out.tick_size >= 0) || !(out.min_qty >= 0) || !(out.min_notional >= 0))
    return make_error(Errc::invalid_argument, "--tick-size, --min-qty and --min-notional must be >= 0");
  if (out.exchange.slippage.kind == exec::SlippageModel::Kind::Ticks && !(out.tick_size > 0))
    return make_error(Errc::invalid_argument, "--slippage ticks:N needs --tick-size");
  if (risk_sec.present || a.kill_switch || !a.kill_switch_at.empty() || !a.kill_switch_file.empty()) {
    res.risk = risk_config(risk_sec);
    if (a.kill_switch) res.risk->kill_switch = true;
    if (!a.kill_switch_file.empty()) res.risk->kill_switch_file = a.kill_switch_file;
    res.risk->kill_switch_signal = true;  // `kill -USR1 <pid>` engages it while the backtest runs
    if (!a.kill_switch_at.empty()) {
      auto at = parse_iso8601_ns(a.kill_switch_at);
      if (!at)
        return make_error(Errc::invalid_argument,
                          "--kill-switch-at: expected an ISO-8601 date or date-time, was '" + a.kill_switch_at + "'");
      res.risk->kill_switch_at_ns = *at;
    }
  }
  res.setup = std::move(out);
  return res;
}

void apply_execution(const ResolvedExecution& r, backtest::BacktestConfig& cfg) {
  const ExecutionSetup& ex = r.setup;
  cfg.initial_cash = ex.initial_cash;
  cfg.exchange = ex.exchange;
  cfg.lot_size = ex.lot_size;
  cfg.tick_size = ex.tick_size;
  cfg.min_qty = ex.min_qty;
  cfg.min_notional = ex.min_notional;
  cfg.margin = ex.margin;
  cfg.allow_short = ex.allow_short;
  cfg.pyramiding = ex.pyramiding;
  cfg.close_at_end = ex.close_at_end;
  cfg.risk = r.risk;
  cfg.limits = sandbox_limits(r.sandbox, script::RunMode::Backtest);
  cfg.max_consecutive_errors = r.sandbox.max_consecutive_errors;
  cfg.flatten_on_fault = r.sandbox.flatten_on_fault;
}

}  // namespace te::app
