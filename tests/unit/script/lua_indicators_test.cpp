// Indicators as strategies see them: ind.* returns exactly the native
// IndicatorSet's values (the golden-checked path), and indicators written in
// Lua (indicators/*.lua) behave like native ones: warm-up, late creation,
// offsets, errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/core/numbers.hpp"
#include "engine/core/sha256.hpp"
#include "engine/data/csv_loader.hpp"
#include "engine/ta/indicator_set.hpp"
#include "engine/ta/spec.hpp"

using namespace te;

namespace {

model::BarSeries nvda() {
  auto s = data::load_csv(TE_SHARED_DIR "/data/nvda-1999-2014.txt", {});
  REQUIRE(s.ok());
  return std::move(*s);
}

script::StrategySource src(const std::string& code, const std::string& path = "strategies/probe.lua") {
  return {path, code, sha256_hex(code)};
}

// Runs `body` (a Lua expression list per bar, printed with %.17g) over the bars
// and returns one row of numbers per bar (NaN for nil).
std::vector<std::vector<double>> probe(const model::BarSeries& bars, const std::string& exprs, int n_values,
                                       std::vector<script::StrategySource> indicator_files = {}) {
  std::string code = "params = {}\nlocal function f(v) if v == nil then return 'nil' end return string.format('%.17g', v) end\n"
                     "function detect_opportunity(bar, ctx, ind)\n  local v = {" +
                     exprs + "}\n  local out = {}\n  for i = 1, " + std::to_string(n_values) +
                     " do out[i] = f(v[i]) end\n  log(table.concat(out, ','))\nend\n"
                     "function filter_commitment() end\nfunction manage_position() end\n";
  backtest::BacktestConfig cfg;
  cfg.indicator_files = std::move(indicator_files);
  auto r = backtest::run_backtest(cfg, bars, src(code));
  INFO((r ? "" : r.error().message));
  REQUIRE(r.ok());
  INFO((r->fault ? r->fault->message : ""));
  REQUIRE_FALSE(r->fault);
  std::vector<std::vector<double>> rows;
  for (const auto& line : r->strategy_log) {
    std::vector<double> row;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
      double v = std::nan("");
      if (cell != "nil") REQUIRE(parse_double(cell, v));
      row.push_back(v);
    }
    rows.push_back(std::move(row));
  }
  REQUIRE(rows.size() == bars.size());
  return rows;
}

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

}  // namespace

TEST_CASE("ind.* inside a strategy equals the native indicator set bit for bit", "[unit][script][golden]") {
  const auto bars = nvda();
  const char* specs[] = {"sma(20)", "ema(20)", "rsi(14)", "macd(12,26,9)", "bbands(20,2,2)", "atr(14)",
                         "stoch(14,3,3)", "willr(14)", "cci(20)", "adx(14)", "obv()", "vwap()"};
  const std::string exprs =
      "ind.sma(20), ind.ema(20), ind.rsi(14), ind.macd(12,26,9), select(2, ind.macd(12,26,9)), "
      "select(3, ind.macd(12,26,9)), ind.bbands(20,2,2), select(2, ind.bbands(20,2,2)), "
      "select(3, ind.bbands(20,2,2)), ind.atr(14), ind.stoch(14,3,3), select(2, ind.stoch(14,3,3)), ind.willr(14), "
      "ind.cci(20), ind.adx(14), ind.obv(), ind.vwap(), ind.at(1).sma(20), ind.ema(20, 'high')";
  const auto rows = probe(bars, exprs, 19);

  ta::IndicatorSet set;
  std::vector<int> slots;
  for (const char* s : specs) {
    auto spec = ta::parse_spec(s);
    REQUIRE(spec.ok());
    auto slot = set.add(*spec);
    REQUIRE(slot.ok());
    slots.push_back(*slot);
  }
  auto high_spec = ta::parse_spec("ema(20,high)");
  const int high_slot = *set.add(*high_spec);
  // Lua column -> native slot (+ output offset)
  const int col_slot[] = {slots[0], slots[1], slots[2], slots[3], slots[3] + 1, slots[3] + 2, slots[4], slots[4] + 1,
                          slots[4] + 2, slots[5], slots[6], slots[6] + 1, slots[7], slots[8], slots[9], slots[10],
                          slots[11]};
  for (std::size_t i = 0; i < bars.size(); ++i) {
    set.update(bars.at(i));
    INFO("bar " << i);
    for (int c = 0; c < 17; ++c) {
      INFO("column " << c);
      // a multi-output indicator returns nil for all outputs while its first is warming up
      REQUIRE(same(rows[i][static_cast<std::size_t>(c)], set.value(col_slot[c])));
    }
    REQUIRE(same(rows[i][17], set.value(slots[0], 1)));
    REQUIRE(same(rows[i][18], set.value(high_slot)));
  }
}

TEST_CASE("Lua indicators: values, warm-up on late use, offsets", "[unit][script]") {
  const auto bars = nvda();
  const auto files = script::builtin_indicators();
  REQUIRE(files.size() >= 2);
  // Early and late (first asked at bar 1000) must agree from then on.
  const auto rows = probe(bars, "ind.hma(20), ind.kama(10), ind.at(1).hma(20)", 3, files);
  // HMA reference: WMA(2*WMA(x, 10) - WMA(x, 20), 4) computed directly.
  auto wma = [](const std::vector<double>& x, std::size_t end, std::size_t n) {
    if (end + 1 < n) return std::nan("");
    double num = 0, den = 0;
    for (std::size_t k = 0; k < n; ++k) {
      num += static_cast<double>(n - k) * x[end - k];
      den += static_cast<double>(n - k);
    }
    return num / den;
  };
  std::vector<double> close(bars.close().begin(), bars.close().end()), diff;
  std::size_t first_valid = 0;
  for (std::size_t i = 0; i < close.size(); ++i) {
    const double a = wma(close, i, 10), b = wma(close, i, 20);
    if (std::isnan(a) || std::isnan(b)) continue;
    diff.push_back(2 * a - b);
    const double h = wma(diff, diff.size() - 1, 4);
    if (std::isnan(h)) {
      CHECK(std::isnan(rows[i][0]));
      continue;
    }
    if (first_valid == 0) first_valid = i;
    INFO("bar " << i);
    REQUIRE(rows[i][0] == Approx(h).epsilon(1e-9));
    REQUIRE(same(rows[i][2], rows[i - 1][0]));
  }
  CHECK(first_valid == 19 + 3);  // warm-up = (period - 1) + (floor(sqrt(period)) - 1)
  CHECK(std::isnan(rows[9][1]));
  CHECK_FALSE(std::isnan(rows[10][1]));

  const auto late = probe(bars, "bar.time >= 1e12 and ind.hma(20) or nil", 1, files);  // asked from 2001-09 on
  std::size_t compared = 0;
  for (std::size_t i = 0; i < bars.size(); ++i)
    if (!std::isnan(late[i][0])) {
      REQUIRE(late[i][0] == rows[i][0]);
      ++compared;
    }
  CHECK(compared > 2000);
}

TEST_CASE("Lua indicator definitions are checked and errors name the file", "[unit][script]") {
  const auto bars = nvda().slice(0, 50);
  auto run = [&](const std::string& indicator_code) {
    backtest::BacktestConfig cfg;
    cfg.indicator_files = {src(indicator_code, "indicators/bad.lua")};
    const std::string strategy = "params = {}\nfunction detect_opportunity(bar, ctx, ind) local v = ind.custom() end\n"
                                 "function filter_commitment() end\nfunction manage_position() end\n";
    auto r = backtest::run_backtest(cfg, bars, src(strategy));
    return r ? std::string(r->fault ? r->fault->message : "") : r.error().message;
  };
  CHECK_THAT(run("return 5"), Catch::StartsWith("indicators/bad.lua: an indicator file must return a definition table"));
  CHECK_THAT(run("return { name = 'sma', new = function() end }"), Catch::Contains("taken by a native indicator"));
  CHECK_THAT(run("return { name = 'x' }"), Catch::Contains("new must be a function"));
  CHECK_THAT(run("local t = {\nreturn t"), Catch::StartsWith("indicators/bad.lua:2:"));
  CHECK_THAT(run("local x = io.open('f')\nreturn {}"), Catch::Contains("io is not available"));
  CHECK_THAT(run("return { name = 'custom', new = function() return { update = function(_, x) return x.y end } end }"),
             Catch::Contains("indicators/bad.lua:1:"));
}
