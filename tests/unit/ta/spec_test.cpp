#include <catch2/catch.hpp>

#include <string>

#include "engine/ta/registry.hpp"
#include "engine/ta/spec.hpp"

using namespace te;
using namespace te::ta;

namespace {
std::string key_of(const char* text) {
  auto s = parse_spec(text);
  INFO(text << ": " << (s.ok() ? std::string() : s.error().message));
  REQUIRE(s.ok());
  return spec_key(*s);
}
std::string error_of(const char* text) {
  auto s = parse_spec(text);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == Errc::invalid_argument);
  return s.error().message;
}
}  // namespace

TEST_CASE("parse_spec fills defaults and builds canonical keys", "[unit][ta]") {
  auto macd = parse_spec("macd(12,26,9)");
  REQUIRE(macd.ok());
  CHECK(macd->name == "macd");
  CHECK(macd->params == std::vector<double>{12, 26, 9});
  CHECK(macd->source == Source::close);
  CHECK(macd->timeframe.empty());
  CHECK(output_columns(*macd) == std::vector<std::string>{"macd_12_26_9_macd", "macd_12_26_9_signal", "macd_12_26_9_hist"});

  auto ema = parse_spec("ema(20,high)");
  REQUIRE(ema.ok());
  CHECK(ema->source == Source::high);
  CHECK(spec_key(*ema) == "ema_20_high");

  CHECK(key_of("obv()") == "obv");
  CHECK(key_of("obv") == "obv");
  CHECK(key_of("vwap()") == "vwap");
  CHECK(key_of("vwap(20)") == "vwap_20");
  CHECK(key_of("vwap(reset=1)") == "vwap_0_1");
  CHECK(key_of("sma(20)") == "sma_20");
  CHECK(key_of("SMA( 20 , close )") == "sma_20");
  CHECK(key_of("sma") == "sma_20");
  CHECK(key_of("macd()") == "macd_12_26_9");
  CHECK(key_of("bbands(20,2,2)") == "bbands_20_2_2");
  CHECK(key_of("bbands(20, devup=2.5)") == "bbands_20_2.5_2");
  CHECK(key_of("stddev(20)") == "stddev_20");
  CHECK(key_of("stddev(20,2)") == "stddev_20_2");
  CHECK(key_of("rvol(20,252)") == "rvol_20_252");
  CHECK(key_of("highest(20)") == "highest_20");  // default source high
  CHECK(key_of("highest(20,close)") == "highest_20_close");
  CHECK(key_of("rsi(14)@1w") == "rsi_14_1w");
  CHECK(key_of("sma(10,tf=1M)") == "sma_10_1M");
  CHECK(key_of("ema(9,source=typical)@4h") == "ema_9_typical_4h");

  auto b = parse_spec("bbands(20,2,2)");
  REQUIRE(b.ok());
  CHECK(output_columns(*b)[0] == "bbands_20_2_2_upper");
  CHECK(spec_lookback(*b) == 19);
  CHECK(spec_to_string(*parse_spec("ema(20,high)@1w")) == "ema(20,high)@1w");
}

TEST_CASE("make_spec validates the Lua-style path", "[unit][ta]") {
  const double p[] = {12, 26, 9};
  auto s = make_spec("macd", p);
  REQUIRE(s.ok());
  CHECK(spec_key(*s) == "macd_12_26_9");
  auto e = make_spec("ema", std::span<const double>(p, 1), Source::high);
  REQUIRE(e.ok());
  CHECK(spec_key(*e) == "ema_12_high");
  CHECK_FALSE(make_spec("atr", std::span<const double>(p, 1), Source::high).ok());
  CHECK_FALSE(make_spec("nope", {}).ok());
}

TEST_CASE("bad specs name the valid indicators or the expected parameters", "[unit][ta]") {
  const std::string unknown = error_of("smaa(20)");
  CHECK(unknown.find("unknown indicator \"smaa\"") != std::string::npos);
  CHECK(unknown.find("valid names: sma, ema") != std::string::npos);
  CHECK(unknown.find("macd") != std::string::npos);

  const std::string frac = error_of("sma(2.5)");
  CHECK(frac.find("period must be an integer, was 2.5") != std::string::npos);
  CHECK(frac.find("usage: sma(period=20[, source=close])") != std::string::npos);

  CHECK(error_of("sma(0)").find("period must be in [2, 100000], was 0") != std::string::npos);
  CHECK(error_of("sma(1000001)").find("must be in") != std::string::npos);
  CHECK(error_of("macd(12,26,9,4)").find("macd takes at most 3 parameters, was 4") != std::string::npos);
  CHECK(error_of("macd(26,12,9)").find("fast must be below slow") != std::string::npos);
  CHECK(error_of("atr(14,high)").find("atr does not take a source series") != std::string::npos);
  CHECK(error_of("ema(20,hgh)").find("unknown parameter \"hgh\"") != std::string::npos);
  CHECK(error_of("ema(20,source=hgh)").find("unknown source \"hgh\"") != std::string::npos);
  CHECK(error_of("ema(period=x)").find("period must be a number") != std::string::npos);
  CHECK(error_of("ema(foo=3)").find("unknown parameter \"foo\"") != std::string::npos);
  CHECK(error_of("ema(20").find("expected ')'") != std::string::npos);
  CHECK(error_of("sma(20)@2x").find("unknown timeframe \"2x\"") != std::string::npos);
  CHECK(error_of("sma(20,)").find("empty parameter") != std::string::npos);
  CHECK(error_of("vwap(10,1)").find("period and reset cannot both be set") != std::string::npos);
  CHECK(error_of("").find("valid names") != std::string::npos);
  CHECK(error_of("bbands(20,nan)").find("unknown parameter") != std::string::npos);
}

TEST_CASE("parse_spec_list splits on top-level commas", "[unit][ta]") {
  auto list = parse_spec_list("sma(20),ema(20),rsi(14),macd(12,26,9),bbands(20,2,2),atr(14),stoch(14,3,3),willr(14),"
                              "cci(20),adx(14),obv(),vwap()");
  REQUIRE(list.ok());
  CHECK(list->size() == 12);
  CHECK((*list)[3].params == std::vector<double>{12, 26, 9});
  auto bad = parse_spec_list("sma(20),,rsi(14)");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("empty entry") != std::string::npos);
  auto bad2 = parse_spec_list("sma(20),foo(3)");
  REQUIRE_FALSE(bad2.ok());
  CHECK(bad2.error().message.find("unknown indicator \"foo\"") != std::string::npos);
  for (const char* unbalanced : {"sma(20", "sma(20),rsi(14", "sma(20))", "macd(12,26,9"}) {
    INFO(unbalanced);
    auto u = parse_spec_list(unbalanced);
    REQUIRE_FALSE(u.ok());
    CHECK(u.error().message.find("unbalanced parentheses") != std::string::npos);
  }
}

TEST_CASE("registry entries are consistent", "[unit][ta]") {
  for (const IndicatorInfo& info : indicator_registry()) {
    INFO(info.name);
    CHECK(find_indicator(info.name) == &info);
    CHECK(info.params.size() <= static_cast<std::size_t>(kMaxParams));
    CHECK(!info.outputs.empty());
    CHECK(info.outputs.size() <= static_cast<std::size_t>(kMaxOutputs));
    std::vector<double> defaults;
    for (const ParamInfo& p : info.params) {
      CHECK(p.min <= p.default_value);
      CHECK(p.default_value <= p.max);
      defaults.push_back(p.default_value);
    }
    auto spec = make_spec(info.name, defaults);
    REQUIRE(spec.ok());
    auto ind = make_indicator(*spec);
    CHECK(ind->output_count() == static_cast<int>(info.outputs.size()));
    CHECK(ind->lookback() == spec_lookback(*spec));
    CHECK(&ind->info() == &info);
  }
}
