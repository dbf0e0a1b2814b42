#include "engine/backtest/config_value.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <string_view>
#include <utility>

namespace te::backtest {
namespace {

constexpr std::array<std::string_view, 4> kCommissionKinds = {"percent", "per_share", "fixed", "maker_taker"};
constexpr std::array<std::string_view, 4> kSlippageKinds = {"none", "ticks", "percent", "volume"};
constexpr std::array<std::string_view, 2> kBases = {"drawdown", "daily"};

// uint64 values above int64 go as decimal strings (JSON readers lose them otherwise).
Value u64(std::uint64_t v) {
  return v <= static_cast<std::uint64_t>(INT64_MAX) ? Value(static_cast<std::int64_t>(v)) : Value(std::to_string(v));
}

Value stormguard_value(const risk::StormGuardConfig& s) {
  return Value::map({{"basis", Value(kBases[static_cast<std::size_t>(s.basis)])},
                     {"cooldown_bars", Value(s.cooldown_bars)},
                     {"enabled", Value(s.enabled)},
                     {"halt", Value(s.halt)},
                     {"halt_cooldown_bars", Value(s.halt_cooldown_bars)},
                     {"halt_flatten", Value(s.halt_flatten)},
                     {"storm", Value(s.storm)},
                     {"warm", Value(s.warm)},
                     {"warm_size_scale", Value(s.warm_size_scale)}});
}

Value strategy_limits_value(const risk::StrategyLimits& l) {
  return Value::map({{"capital", Value(l.capital)},
                     {"max_daily_loss", Value(l.max_daily_loss)},
                     {"max_drawdown", Value(l.max_drawdown)},
                     {"max_orders", Value(l.max_orders)},
                     {"max_position_fraction", Value(l.max_position_fraction)},
                     {"max_position_notional", Value(l.max_position_notional)},
                     {"max_position_qty", Value(l.max_position_qty)},
                     {"max_risk_per_trade", Value(l.max_risk_per_trade)},
                     {"order_window_s", Value(l.order_window_s)},
                     {"stormguard", stormguard_value(l.stormguard)}});
}

Value risk_value(const risk::RiskConfig& r) {
  const auto& a = r.account;
  Value account = Value::map({{"max_daily_loss", Value(a.max_daily_loss)},
                              {"max_drawdown", Value(a.max_drawdown)},
                              {"max_open_positions", Value(a.max_open_positions)},
                              {"max_orders", Value(a.max_orders)},
                              {"order_window_s", Value(a.order_window_s)},
                              {"price_band", Value(a.price_band)},
                              {"stormguard", stormguard_value(a.stormguard)}});
  Value::Map per;
  for (const auto& [id, l] : r.strategies) per.emplace_back(std::to_string(id), strategy_limits_value(l));
  return Value::map({{"account", std::move(account)},
                     {"kill_switch", Value(r.kill_switch)},
                     {"kill_switch_at_ns", Value(r.kill_switch_at_ns)},
                     {"strategies", Value(std::move(per))},
                     {"strategy", strategy_limits_value(r.strategy)}});
}

// Typed reads of a map with the key path in every complaint; all problems are
// collected (a config is fixed in one go, not one error at a time).
struct Reader {
  std::string* problems;

  void bad(const std::string& path, const std::string& what) {
    if (!problems->empty()) *problems += '\n';
    *problems += path + " " + what;
  }
  static std::string kind_name(const Value& v) {
    switch (v.kind()) {
      case Value::Kind::Nil: return "null";
      case Value::Kind::Bool: return "a boolean";
      case Value::Kind::Int: return "an integer";
      case Value::Kind::Double: return "a number";
      case Value::Kind::String: return "a string";
      case Value::Kind::Array: return "an array";
      case Value::Kind::Map: return "an object";
    }
    return "?";
  }
  void number(const Value& m, const std::string& path, const char* key, double& out) {
    const Value* v = m.find(key);
    if (v == nullptr) return;
    if (!v->is_number()) return bad(path + "." + key, "must be a number, was " + kind_name(*v));
    out = v->as_double();
  }
  template <class I>
  void integer(const Value& m, const std::string& path, const char* key, I& out) {
    const Value* v = m.find(key);
    if (v == nullptr) return;
    if (!v->is_int()) return bad(path + "." + key, "must be an integer, was " + kind_name(*v));
    const std::int64_t i = v->as_int();
    if constexpr (std::is_unsigned_v<I>) {
      if (i < 0) return bad(path + "." + key, "must be >= 0, was " + std::to_string(i));
    }
    out = static_cast<I>(i);
  }
  void boolean(const Value& m, const std::string& path, const char* key, bool& out) {
    const Value* v = m.find(key);
    if (v == nullptr) return;
    if (!v->is_bool()) return bad(path + "." + key, "must be true or false, was " + kind_name(*v));
    out = v->as_bool();
  }
  void text(const Value& m, const std::string& path, const char* key, std::string& out) {
    const Value* v = m.find(key);
    if (v == nullptr) return;
    if (!v->is_string()) return bad(path + "." + key, "must be a string, was " + kind_name(*v));
    out = v->as_string();
  }
  template <std::size_t N, class E>
  void choice(const Value& m, const std::string& path, const char* key, const std::array<std::string_view, N>& names,
              E& out) {
    std::string s;
    const std::string before = *problems;
    text(m, path, key, s);
    if (s.empty() || *problems != before) return;
    for (std::size_t i = 0; i < N; ++i) {
      if (names[i] == s) {
        out = static_cast<E>(i);
        return;
      }
    }
    std::string list;
    for (std::size_t i = 0; i < N; ++i) list += (i ? ", " : "") + std::string(names[i]);
    bad(path + "." + key, "must be one of " + list + ", was \"" + s + "\"");
  }
  // A nested object, or nullptr (with a complaint when present but not an object).
  const Value* object(const Value& m, const std::string& path, const char* key) {
    const Value* v = m.find(key);
    if (v == nullptr) return nullptr;
    if (!v->is_map()) {
      bad(path + "." + key, "must be an object, was " + kind_name(*v));
      return nullptr;
    }
    return v;
  }
  void u64_value(const Value& m, const std::string& path, const char* key, std::uint64_t& out) {
    const Value* v = m.find(key);
    if (v == nullptr) return;
    if (v->is_int() && v->as_int() >= 0) {
      out = static_cast<std::uint64_t>(v->as_int());
      return;
    }
    if (v->is_string()) {
      const std::string& s = v->as_string();
      std::uint64_t x = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
      if (ec == std::errc() && p == s.data() + s.size()) {
        out = x;
        return;
      }
    }
    bad(path + "." + key, "must be an unsigned 64-bit integer (or its decimal string)");
  }

  void stormguard(const Value& m, const std::string& path, risk::StormGuardConfig& s) {
    choice(m, path, "basis", kBases, s.basis);
    integer(m, path, "cooldown_bars", s.cooldown_bars);
    boolean(m, path, "enabled", s.enabled);
    number(m, path, "halt", s.halt);
    integer(m, path, "halt_cooldown_bars", s.halt_cooldown_bars);
    boolean(m, path, "halt_flatten", s.halt_flatten);
    number(m, path, "storm", s.storm);
    number(m, path, "warm", s.warm);
    number(m, path, "warm_size_scale", s.warm_size_scale);
  }
  void strategy_limits(const Value& m, const std::string& path, risk::StrategyLimits& l) {
    number(m, path, "capital", l.capital);
    number(m, path, "max_daily_loss", l.max_daily_loss);
    number(m, path, "max_drawdown", l.max_drawdown);
    integer(m, path, "max_orders", l.max_orders);
    number(m, path, "max_position_fraction", l.max_position_fraction);
    number(m, path, "max_position_notional", l.max_position_notional);
    number(m, path, "max_position_qty", l.max_position_qty);
    number(m, path, "max_risk_per_trade", l.max_risk_per_trade);
    number(m, path, "order_window_s", l.order_window_s);
    if (const Value* sg = object(m, path, "stormguard")) stormguard(*sg, path + ".stormguard", l.stormguard);
  }
  void risk_config(const Value& m, const std::string& path, risk::RiskConfig& r) {
    boolean(m, path, "kill_switch", r.kill_switch);
    integer(m, path, "kill_switch_at_ns", r.kill_switch_at_ns);
    if (const Value* a = object(m, path, "account")) {
      const std::string p = path + ".account";
      number(*a, p, "max_daily_loss", r.account.max_daily_loss);
      number(*a, p, "max_drawdown", r.account.max_drawdown);
      integer(*a, p, "max_open_positions", r.account.max_open_positions);
      integer(*a, p, "max_orders", r.account.max_orders);
      number(*a, p, "order_window_s", r.account.order_window_s);
      number(*a, p, "price_band", r.account.price_band);
      if (const Value* sg = object(*a, p, "stormguard")) stormguard(*sg, p + ".stormguard", r.account.stormguard);
    }
    if (const Value* s = object(m, path, "strategy")) strategy_limits(*s, path + ".strategy", r.strategy);
    if (const Value* per = object(m, path, "strategies")) {
      for (const auto& [id_text, limits] : per->as_map()) {
        const std::string p = path + ".strategies." + id_text;
        model::StrategyId id = 0;
        auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
        if (ec != std::errc() || end != id_text.data() + id_text.size()) {
          bad(p, "key must be a strategy id (an unsigned integer)");
          continue;
        }
        if (!limits.is_map()) {
          bad(p, "must be an object, was " + kind_name(limits));
          continue;
        }
        risk::StrategyLimits l;
        strategy_limits(limits, p, l);
        r.strategies[id] = l;
      }
    }
  }
};

}  // namespace

Value config_to_value(const BacktestConfig& c) {
  Value::Map params;
  for (const auto& [k, v] : c.params) params.emplace_back(k, Value(v));  // a repeated name: the last wins, as in the host
  const auto& cm = c.exchange.commission;
  Value commission = Value::map({{"kind", Value(kCommissionKinds[static_cast<std::size_t>(cm.kind)])},
                                 {"maker_rate", Value(cm.maker_rate)},
                                 {"minimum", Value(cm.minimum)},
                                 {"rate", Value(cm.rate)},
                                 {"taker_rate", Value(cm.taker_rate)}});
  Value slippage = Value::map({{"kind", Value(kSlippageKinds[static_cast<std::size_t>(c.exchange.slippage.kind)])},
                               {"value", Value(c.exchange.slippage.value)}});
  Value execution = Value::map({{"allow_short", Value(c.allow_short)},
                                {"close_at_end", Value(c.close_at_end)},
                                {"commission", std::move(commission)},
                                {"fill", Value(exec::to_string(c.exchange.fill))},
                                {"latency_bars", Value(c.exchange.latency_bars)},
                                {"leverage", Value(c.margin.leverage)},
                                {"lot_size", Value(c.lot_size)},
                                {"max_volume_fraction", Value(c.exchange.max_volume_fraction)},
                                {"min_notional", Value(c.min_notional)},
                                {"min_qty", Value(c.min_qty)},
                                {"pyramiding", Value(c.pyramiding)},
                                {"short_margin", Value(c.margin.short_margin)},
                                {"slippage", std::move(slippage)},
                                {"tick_size", Value(c.tick_size)}});
  Value sandbox = Value::map({{"callback_timeout_ms", Value(c.limits.callback_timeout_ms)},
                              {"flatten_on_fault", Value(c.flatten_on_fault)},
                              {"max_consecutive_errors", Value(c.max_consecutive_errors)},
                              {"memory_limit_bytes", u64(c.limits.memory_limit_bytes)},
                              {"startup_timeout_ms", Value(c.limits.startup_timeout_ms)}});
  Value::Array indicators;
  for (const auto& f : c.indicator_files)
    indicators.push_back(Value::map({{"path", Value(f.path)}, {"sha256", Value(f.sha256)}}));
  return Value::map({{"closewatch_timeout_bars", Value(c.closewatch_timeout_bars)},
                     // Kept at the top level for readers of format 1 (and `sessions`).
                     {"commission", Value(cm.rate)},
                     {"execution", std::move(execution)},
                     {"fill", Value(exec::to_string(c.exchange.fill))},
                     {"format", Value(kConfigValueFormat)},
                     {"indicator_files", Value(std::move(indicators))},
                     {"initial_cash", Value(c.initial_cash)},
                     {"lot_size", Value(c.lot_size)},
                     {"params", Value(std::move(params))},
                     {"risk", c.risk ? risk_value(*c.risk) : Value()},
                     {"sandbox", std::move(sandbox)},
                     {"seed", u64(c.seed)},
                     {"warmup_bars", u64(c.warmup_bars)}});
}

Status config_from_value(const Value& v, BacktestConfig& c) {
  std::string problems;
  Reader r{&problems};
  const std::string root = "config";
  if (!v.is_map()) return make_error(Errc::parse, "config must be an object, was " + Reader::kind_name(v));
  std::int64_t format = 1;
  r.integer(v, root, "format", format);
  if (format > kConfigValueFormat)
    return make_error(Errc::unsupported, "config format " + std::to_string(format) +
                                             " is newer than this build reads (" + std::to_string(kConfigValueFormat) +
                                             "); use a newer trading-engine");

  if (const Value* p = r.object(v, root, "params")) {
    c.params.clear();
    for (const auto& [k, val] : p->as_map()) {
      if (!val.is_string()) {
        r.bad(root + ".params." + k, "must be a string (the --param text), was " + Reader::kind_name(val));
        continue;
      }
      c.params.emplace_back(k, val.as_string());
    }
  }
  r.number(v, root, "initial_cash", c.initial_cash);
  r.integer(v, root, "closewatch_timeout_bars", c.closewatch_timeout_bars);
  r.u64_value(v, root, "seed", c.seed);
  std::uint64_t warmup = c.warmup_bars;
  r.u64_value(v, root, "warmup_bars", warmup);
  c.warmup_bars = static_cast<std::size_t>(warmup);
  // Format 1 kept only these at the top level.
  r.number(v, root, "commission", c.exchange.commission.rate);
  r.number(v, root, "lot_size", c.lot_size);
  auto fill_from = [&](const Value& m, const std::string& path) {
    std::string fill;
    r.text(m, path, "fill", fill);
    if (fill.empty()) return;
    auto f = exec::parse_fill_model(fill);
    if (!f) return r.bad(path + ".fill", f.error().message);
    c.exchange.fill = *f;
  };
  fill_from(v, root);

  if (const Value* e = r.object(v, root, "execution")) {
    const std::string p = root + ".execution";
    r.boolean(*e, p, "allow_short", c.allow_short);
    r.boolean(*e, p, "close_at_end", c.close_at_end);
    if (const Value* cm = r.object(*e, p, "commission")) {
      const std::string q = p + ".commission";
      auto& m = c.exchange.commission;
      r.choice(*cm, q, "kind", kCommissionKinds, m.kind);
      r.number(*cm, q, "maker_rate", m.maker_rate);
      r.number(*cm, q, "minimum", m.minimum);
      r.number(*cm, q, "rate", m.rate);
      r.number(*cm, q, "taker_rate", m.taker_rate);
    }
    fill_from(*e, p);
    r.integer(*e, p, "latency_bars", c.exchange.latency_bars);
    r.number(*e, p, "leverage", c.margin.leverage);
    r.number(*e, p, "lot_size", c.lot_size);
    r.number(*e, p, "max_volume_fraction", c.exchange.max_volume_fraction);
    r.number(*e, p, "min_notional", c.min_notional);
    r.number(*e, p, "min_qty", c.min_qty);
    r.integer(*e, p, "pyramiding", c.pyramiding);
    r.number(*e, p, "short_margin", c.margin.short_margin);
    if (const Value* s = r.object(*e, p, "slippage")) {
      r.choice(*s, p + ".slippage", "kind", kSlippageKinds, c.exchange.slippage.kind);
      r.number(*s, p + ".slippage", "value", c.exchange.slippage.value);
    }
    r.number(*e, p, "tick_size", c.tick_size);
  }
  if (const Value* rk = v.find("risk")) {
    if (rk->is_nil()) {
      c.risk.reset();
    } else if (!rk->is_map()) {
      r.bad(root + ".risk", "must be an object or null, was " + Reader::kind_name(*rk));
    } else {
      risk::RiskConfig rc;
      r.risk_config(*rk, root + ".risk", rc);
      c.risk = rc;
    }
  }
  if (const Value* s = r.object(v, root, "sandbox")) {
    const std::string p = root + ".sandbox";
    r.number(*s, p, "callback_timeout_ms", c.limits.callback_timeout_ms);
    r.boolean(*s, p, "flatten_on_fault", c.flatten_on_fault);
    r.integer(*s, p, "max_consecutive_errors", c.max_consecutive_errors);
    std::uint64_t mem = c.limits.memory_limit_bytes;
    r.u64_value(*s, p, "memory_limit_bytes", mem);
    c.limits.memory_limit_bytes = static_cast<std::size_t>(mem);
    r.number(*s, p, "startup_timeout_ms", c.limits.startup_timeout_ms);
  }
  if (const Value* ind = v.find("indicator_files")) {
    if (!ind->is_array()) {
      r.bad(root + ".indicator_files", "must be an array, was " + Reader::kind_name(*ind));
    } else {
      c.indicator_files.clear();
      for (std::size_t i = 0; i < ind->as_array().size(); ++i) {
        const Value& f = ind->as_array()[i];
        const std::string p = root + ".indicator_files[" + std::to_string(i) + "]";
        if (!f.is_map()) {
          r.bad(p, "must be an object, was " + Reader::kind_name(f));
          continue;
        }
        script::StrategySource src;
        r.text(f, p, "path", src.path);
        r.text(f, p, "sha256", src.sha256);
        if (src.sha256.size() != 64) r.bad(p + ".sha256", "must be a 64-digit hex SHA-256");
        c.indicator_files.push_back(std::move(src));
      }
    }
  }
  if (!problems.empty()) return make_error(Errc::parse, problems);
  return {};
}

}  // namespace te::backtest
