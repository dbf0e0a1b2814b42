// The backtest config's value tree (meta.json "config", what `rerun` restores):
// every field written must be read back, and bad values are named by key path.
#include <catch2/catch.hpp>

#include <string>

#include "engine/backtest/config_value.hpp"

using namespace te;
using namespace te::backtest;

namespace {

// A different valid value for every leaf, so a field that is written but not
// read back (or read into the wrong place) shows up as a difference.
Value changed(const std::string& key, const Value& v) {
  if (v.is_bool()) return Value(!v.as_bool());
  if (v.is_int()) return Value(v.as_int() + 3);
  if (v.is_double()) return Value(v.as_double() + 0.375);
  if (v.is_string()) {
    if (key == "kind") return Value(v.as_string() == "percent" ? "fixed" : "ticks");
    if (key == "basis") return Value("daily");
    if (key == "fill") return Value("ohlc");
  }
  if (v.is_map()) {
    Value::Map m;
    for (const auto& [k, x] : v.as_map()) m.emplace_back(k, changed(k, x));
    return Value(std::move(m));
  }
  FAIL("no change rule for key " << key);
  return v;
}

BacktestConfig with_risk() {
  BacktestConfig c;
  c.risk = risk::RiskConfig{};
  return c;
}

}  // namespace

TEST_CASE("config value: every field survives a round trip", "[backtest][config_value]") {
  const Value base = config_to_value(with_risk());
  Value::Map m;
  for (const auto& [k, v] : base.as_map()) {
    // format is the layout version; commission, lot_size and fill at the top are
    // format 1's copies of execution's (checked through execution).
    if (k == "format" || k == "commission" || k == "lot_size" || k == "fill") {
      m.emplace_back(k, v);
    } else if (k == "params") {
      m.emplace_back(k, Value::map({{"fast", Value("7")}, {"slow", Value("30")}}));
    } else if (k == "indicator_files") {
      m.emplace_back(k, Value::array({Value::map({{"path", Value("indicators/hma.lua")},
                                                  {"sha256", Value(std::string(64, 'a'))}})}));
    } else if (k == "seed") {
      m.emplace_back(k, Value("18446744073709551615"));  // above int64: the decimal-string form
    } else if (k == "risk") {
      Value r = changed(k, v);
      r.set("strategies", Value::map({{"7", changed("strategy", v.find("strategy") ? *v.find("strategy") : Value())}}));
      m.emplace_back(k, std::move(r));
    } else {
      m.emplace_back(k, changed(k, v));
    }
  }
  Value want(std::move(m));
  want.set("execution", [&] {
    Value e = *want.find("execution");
    e.set("fill", Value("ohlc"));
    return e;
  }());

  BacktestConfig back;
  REQUIRE(config_from_value(want, back));
  Value got = config_to_value(back);
  CHECK(back.seed == 18446744073709551615ULL);
  CHECK(back.exchange.fill == exec::FillModel::Ohlc);
  REQUIRE(back.risk.has_value());
  CHECK(back.risk->strategies.count(7) == 1);
  for (const char* legacy : {"commission", "lot_size", "fill"}) {
    want.erase(legacy);
    got.erase(legacy);
  }
  CHECK(got == want);
  // Nothing was left at its default: the changed tree differs from the base in every section.
  for (const auto& [k, v] : base.as_map()) {
    if (k == "format" || k == "commission" || k == "lot_size" || k == "fill") continue;
    INFO(k);
    CHECK_FALSE(*got.find(k) == v);
  }
}

TEST_CASE("config value: bad values are named by key path", "[backtest][config_value]") {
  Value v = config_to_value(with_risk());
  Value e = *v.find("execution");
  e.set("pyramiding", Value("two"));
  Value s = *e.find("slippage");
  s.set("kind", Value("sideways"));
  e.set("slippage", s);
  v.set("execution", e);
  Value sb = *v.find("sandbox");
  sb.set("memory_limit_bytes", Value(-1));
  v.set("sandbox", sb);
  BacktestConfig c;
  auto st = config_from_value(v, c);
  REQUIRE_FALSE(st);
  const std::string& msg = st.error().message;
  CHECK_THAT(msg, Catch::Contains("config.execution.pyramiding must be an integer, was a string"));
  CHECK_THAT(msg, Catch::Contains("config.execution.slippage.kind must be one of none, ticks, percent, volume, was \"sideways\""));
  CHECK_THAT(msg, Catch::Contains("config.sandbox.memory_limit_bytes must be an unsigned 64-bit integer"));
}
