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

// Each section's fields are listed once and walked by both the writer and the
// reader, so the two directions cannot drift apart (a field written but never
// read back would silently reset on `rerun`). `f(key, field)` for plain fields,
// `f(key, field, names)` for enums, `f.object(key, field, fields_fn)` for nested ones.
template <class S, class F>
void stormguard_fields(S& s, F&& f) {
  f("basis", s.basis, kBases);
  f("cooldown_bars", s.cooldown_bars);
  f("enabled", s.enabled);
  f("halt", s.halt);
  f("halt_cooldown_bars", s.halt_cooldown_bars);
  f("halt_flatten", s.halt_flatten);
  f("storm", s.storm);
  f("warm", s.warm);
  f("warm_size_scale", s.warm_size_scale);
}

template <class S, class F>
void strategy_limit_fields(S& l, F&& f) {
  f("capital", l.capital);
  f("max_daily_loss", l.max_daily_loss);
  f("max_drawdown", l.max_drawdown);
  f("max_orders", l.max_orders);
  f("max_position_fraction", l.max_position_fraction);
  f("max_position_notional", l.max_position_notional);
  f("max_position_qty", l.max_position_qty);
  f("max_risk_per_trade", l.max_risk_per_trade);
  f("order_window_s", l.order_window_s);
  f.object("stormguard", l.stormguard, [](auto& x, auto& g) { stormguard_fields(x, g); });
}

template <class S, class F>
void account_limit_fields(S& a, F&& f) {
  f("max_daily_loss", a.max_daily_loss);
  f("max_drawdown", a.max_drawdown);
  f("max_open_positions", a.max_open_positions);
  f("max_orders", a.max_orders);
  f("order_window_s", a.order_window_s);
  f("price_band", a.price_band);
  f.object("stormguard", a.stormguard, [](auto& x, auto& g) { stormguard_fields(x, g); });
}

template <class S, class F>
void commission_fields(S& m, F&& f) {
  f("kind", m.kind, kCommissionKinds);
  f("maker_rate", m.maker_rate);
  f("minimum", m.minimum);
  f("rate", m.rate);
  f("taker_rate", m.taker_rate);
}

template <class S, class F>
void slippage_fields(S& m, F&& f) {
  f("kind", m.kind, kSlippageKinds);
  f("value", m.value);
}

// The execution section except `fill` (a model name parsed with its own errors).
template <class C, class F>
void execution_fields(C& c, F&& f) {
  f("allow_short", c.allow_short);
  f("close_at_end", c.close_at_end);
  f.object("commission", c.exchange.commission, [](auto& x, auto& g) { commission_fields(x, g); });
  f("latency_bars", c.exchange.latency_bars);
  f("leverage", c.margin.leverage);
  f("lot_size", c.lot_size);
  f("max_volume_fraction", c.exchange.max_volume_fraction);
  f("min_notional", c.min_notional);
  f("min_qty", c.min_qty);
  f("pyramiding", c.pyramiding);
  f("short_margin", c.margin.short_margin);
  f.object("slippage", c.exchange.slippage, [](auto& x, auto& g) { slippage_fields(x, g); });
  f("tick_size", c.tick_size);
}

template <class C, class F>
void sandbox_fields(C& c, F&& f) {
  f("callback_timeout_ms", c.limits.callback_timeout_ms);
  f("flatten_on_fault", c.flatten_on_fault);
  f("max_consecutive_errors", c.max_consecutive_errors);
  f("memory_limit_bytes", c.limits.memory_limit_bytes);
  f("startup_timeout_ms", c.limits.startup_timeout_ms);
}

// Builds a map from a field list.
struct Writer {
  Value::Map* out;

  template <class T>
  void operator()(const char* key, const T& field) {
    if constexpr (std::is_same_v<T, std::uint64_t>) {
      out->emplace_back(key, u64(field));
    } else {
      out->emplace_back(key, Value(field));
    }
  }
  template <class E, std::size_t N>
  void operator()(const char* key, const E& field, const std::array<std::string_view, N>& names) {
    out->emplace_back(key, Value(names[static_cast<std::size_t>(field)]));
  }
  template <class T, class Fields>
  void object(const char* key, const T& field, Fields fields) {
    out->emplace_back(key, write(field, fields));
  }
  template <class T, class Fields>
  static Value write(const T& x, Fields fields) {
    Value::Map m;
    Writer w{&m};
    fields(x, w);
    return Value(std::move(m));
  }
};

Value risk_value(const risk::RiskConfig& r) {
  auto strategy = [](const risk::StrategyLimits& l) {
    return Writer::write(l, [](auto& x, auto& g) { strategy_limit_fields(x, g); });
  };
  Value::Map per;
  for (const auto& [id, l] : r.strategies) per.emplace_back(std::to_string(id), strategy(l));
  return Value::map({{"account", Writer::write(r.account, [](auto& x, auto& g) { account_limit_fields(x, g); })},
                     {"kill_switch", Value(r.kill_switch)},
                     {"kill_switch_at_ns", Value(r.kill_switch_at_ns)},
                     {"strategies", Value(std::move(per))},
                     {"strategy", strategy(r.strategy)}});
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

  // Reads a field list out of map `m` found at `path`.
  struct Fields {
    Reader* r;
    const Value* m;
    std::string path;

    template <class T>
    void operator()(const char* key, T& field) {
      if constexpr (std::is_same_v<T, double>) {
        r->number(*m, path, key, field);
      } else if constexpr (std::is_same_v<T, bool>) {
        r->boolean(*m, path, key, field);
      } else if constexpr (std::is_same_v<T, std::uint64_t>) {
        r->u64_value(*m, path, key, field);
      } else {
        static_assert(std::is_integral_v<T>, "a config field is a number, a boolean or an integer");
        r->integer(*m, path, key, field);
      }
    }
    template <class E, std::size_t N>
    void operator()(const char* key, E& field, const std::array<std::string_view, N>& names) {
      r->choice(*m, path, key, names, field);
    }
    template <class T, class FieldsFn>
    void object(const char* key, T& field, FieldsFn fields) {
      if (const Value* sub = r->object(*m, path, key)) r->read(*sub, path + "." + key, field, fields);
    }
  };
  template <class T, class FieldsFn>
  void read(const Value& m, const std::string& path, T& x, FieldsFn fields) {
    Fields f{this, &m, path};
    fields(x, f);
  }

  void strategy_limits(const Value& m, const std::string& path, risk::StrategyLimits& l) {
    read(m, path, l, [](auto& x, auto& g) { strategy_limit_fields(x, g); });
  }
  void risk_config(const Value& m, const std::string& path, risk::RiskConfig& r) {
    boolean(m, path, "kill_switch", r.kill_switch);
    integer(m, path, "kill_switch_at_ns", r.kill_switch_at_ns);
    if (const Value* a = object(m, path, "account"))
      read(*a, path + ".account", r.account, [](auto& x, auto& g) { account_limit_fields(x, g); });
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
  Value execution = Writer::write(c, [](auto& x, auto& g) { execution_fields(x, g); });
  execution.set("fill", Value(exec::to_string(c.exchange.fill)));
  Value sandbox = Writer::write(c, [](auto& x, auto& g) { sandbox_fields(x, g); });
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
    r.read(*e, root + ".execution", c, [](auto& x, auto& g) { execution_fields(x, g); });
    fill_from(*e, root + ".execution");
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
  if (const Value* s = r.object(v, root, "sandbox"))
    r.read(*s, root + ".sandbox", c, [](auto& x, auto& g) { sandbox_fields(x, g); });
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
