// Indicators written in Lua (indicators/*.lua) are used exactly like native
// ones (issue 4, points 4-6): on higher timeframes through ind.tf(...) with the
// same lookahead-proof closing rule (truncation test on a real file), with the
// same late-creation and ind.at(k) semantics, and from `indicators --compute`
// with the same columns a strategy reads.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/app/command.hpp"
#include "engine/backtest/backtest_engine.hpp"
#include "engine/core/numbers.hpp"
#include "engine/core/sha256.hpp"
#include "engine/core/time.hpp"
#include "engine/runner/bar_history.hpp"
#include "engine/runner/runner_indicators.hpp"
#include "engine/script/strategy_host.hpp"
#include "engine/ta/timeframe.hpp"
#include "tests/support/temp_files.hpp"
#include "tests/support/yahoo_csv.hpp"

using namespace te;

namespace {

bool same_bits(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }
bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

script::StrategySource src(const std::string& code, const std::string& path) { return {path, code, sha256_hex(code)}; }

// The close of each bar it is fed: on a higher timeframe, the close of the last
// closed higher-timeframe bar.
const char* kLastClose =
    "return { name = 'last_close', params = {}, outputs = { 'close' }, warmup = 0,\n"
    "  new = function() return { update = function(_, x) return x end } end }\n";

std::vector<script::StrategySource> indicator_files() {
  auto files = script::builtin_indicators();
  files.push_back(src(kLastClose, "indicators/zz_last_close.lua"));
  return files;
}

// Lua indicator columns driven bar by bar through a strategy host, the way
// `indicators --compute` does it (a fresh VM per driver).
struct Driver {
  runner::SeriesHistory history;
  runner::RunnerIndicators indicators{history};
  std::unique_ptr<script::StrategyHost> host;

  Driver(const model::BarSeries& bars, script::VmPool& pool) : history(bars) {
    script::HostOptions ho;
    ho.symbol = "T";
    ho.indicator_files = indicator_files();
    ho.limits = pool.limits();
    ho.pool = &pool;
    auto h = script::StrategyHost::create(
        src("function detect_opportunity() end function filter_commitment() end function manage_position() end",
            "strategies/probe.lua"),
        ho, indicators, nullptr);
    INFO((h ? "" : h.error().message));
    REQUIRE(h.ok());
    host = std::move(*h);
  }
  void add(const std::string& name, std::vector<double> params, const std::string& tf) {
    auto n = host->add_indicator_column(name, params, "", tf);
    INFO((n ? "" : n.error().message));
    REQUIRE(n.ok());
  }
  std::vector<double> step(std::size_t i, const model::Bar& bar) {
    history.push(bar);
    indicators.update(bar);
    te_frame& f = host->frame();
    f.bar.time_ms = static_cast<double>(bar.ts_ns / kNsPerMs);
    f.bar.open = bar.open;
    f.bar.high = bar.high;
    f.bar.low = bar.low;
    f.bar.close = bar.close;
    f.bar.volume = bar.volume;
    f.bar_index = static_cast<double>(i);
    std::vector<double> out;
    const Status st = host->read_indicator_columns(out);
    INFO((st ? "" : st.error().message));
    REQUIRE(st.ok());
    return out;
  }
};

struct Column {
  std::string name;
  std::vector<double> params;
  std::string tf;
};

void add_all(Driver& d, const std::vector<Column>& cols) {
  for (const auto& c : cols) d.add(c.name, c.params, c.tf);
}

// Runs a probe strategy that logs the Lua expressions `exprs` each bar (%.17g,
// "nil" for nil); one row of numbers per bar, NaN for nil.
std::vector<std::vector<double>> probe(const model::BarSeries& bars, const std::string& exprs, int n_values) {
  const std::string code =
      "params = {}\nlocal function f(v) if v == nil then return 'nil' end return string.format('%.17g', v) end\n"
      "function detect_opportunity(bar, ctx, ind)\n  local v = {" +
      exprs + "}\n  local out = {}\n  for i = 1, " + std::to_string(n_values) +
      " do out[i] = f(v[i]) end\n  log(table.concat(out, ','))\nend\n"
      "function filter_commitment() end\nfunction manage_position() end\n";
  backtest::BacktestConfig cfg;
  cfg.indicator_files = indicator_files();
  auto r = backtest::run_backtest(cfg, bars, src(code, "strategies/probe.lua"));
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

// Direct HMA over a series (weights 1..n, newest heaviest): NaN until defined.
std::vector<double> hma_reference(const std::vector<double>& x, std::size_t n) {
  auto wma = [](const std::vector<double>& v, std::size_t end, std::size_t len) {
    if (end + 1 < len) return std::nan("");
    double num = 0, den = 0;
    for (std::size_t k = 0; k < len; ++k) {
      if (std::isnan(v[end - k])) return std::nan("");
      num += static_cast<double>(len - k) * v[end - k];
      den += static_cast<double>(len - k);
    }
    return num / den;
  };
  std::vector<double> diff(x.size()), out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) diff[i] = 2 * wma(x, i, n / 2) - wma(x, i, n);
  for (std::size_t i = 0; i < x.size(); ++i)
    out[i] = wma(diff, i, static_cast<std::size_t>(std::floor(std::sqrt(static_cast<double>(n)))));
  return out;
}

}  // namespace

TEST_CASE("a Lua indicator on a higher timeframe at t does not depend on data after t (real files, every t)",
          "[ta][indicators][mtf]") {
  script::VmPool pool(script::make_limits(script::RunMode::Backtest));
  struct Case {
    const char* file;
    std::vector<Column> cols;
    std::size_t stride;
  };
  const std::vector<Case> cases = {
      {"data/orcl-2014.txt", {{"hma", {4}, "1w"}, {"kama", {5, 2, 30}, "1w"}, {"last_close", {}, "1w"}}, 1},
      // Every 37th t (a stride prime to the 5-day week): 137 fresh runs over up to 20 years.
      {"data/orcl-1995-2014.txt", {{"hma", {10}, "1w"}, {"kama", {10, 2, 30}, "1M"}, {"hma", {6}, "1M"}}, 37},
  };
  for (const Case& c : cases) {
    INFO(c.file);
    const model::BarSeries s = test::load_yahoo_csv(test::shared_path(c.file));
    std::vector<std::vector<double>> full;
    {
      Driver all(s, pool);
      add_all(all, c.cols);
      for (std::size_t t = 0; t < s.size(); ++t) full.push_back(all.step(t, s.at(t)));
    }
    // Truncated at t: a fresh VM over a series that ends at bar t.
    std::size_t checked = 0, valued = 0;
    for (std::size_t t = 0; t < s.size(); t += c.stride) {
      const model::BarSeries cut = s.slice(0, t + 1);
      Driver part(cut, pool);
      add_all(part, c.cols);
      std::vector<double> last;
      for (std::size_t i = 0; i <= t; ++i) last = part.step(i, cut.at(i));
      INFO("t = " << t);
      for (std::size_t k = 0; k < last.size(); ++k) {
        REQUIRE(same_bits(last[k], full[t][k]));
        valued += std::isnan(last[k]) ? 0 : 1;
      }
      ++checked;
    }
    CHECK(checked >= 130);
    CHECK(valued > checked);  // the comparison covers real values, not only warm-up NaNs
  }

  // The value is the indicator over the closed weeks only: HMA(10) of the
  // closes of the weeks that ended before bar t's week (no base interval: a week
  // is known closed when the next one's first bar arrives).
  const model::BarSeries s = test::load_yahoo_csv(test::shared_path("data/orcl-1995-2014.txt"));
  Driver d(s, pool);
  d.add("hma", {10}, "1w");
  const ta::Timeframe w = *ta::parse_timeframe("1w");
  std::vector<double> week_closes;  // closed weeks, oldest first
  std::vector<double> ref;
  double open_week_close = 0;
  std::int64_t open_week = w.bucket(s.at(0).ts_ns);
  std::size_t compared = 0;
  for (std::size_t t = 0; t < s.size(); ++t) {
    const model::Bar b = s.at(t);
    if (w.bucket(b.ts_ns) != open_week) {
      week_closes.push_back(open_week_close);
      ref = hma_reference(week_closes, 10);
      open_week = w.bucket(b.ts_ns);
    }
    open_week_close = b.close;
    const double got = d.step(t, b)[0];
    const double want = ref.empty() ? std::nan("") : ref.back();
    INFO("bar " << t);
    if (std::isnan(want)) {
      REQUIRE(std::isnan(got));
      continue;
    }
    REQUIRE(got == Approx(want).epsilon(1e-12));
    ++compared;
  }
  CHECK(compared > 900);
}

TEST_CASE("a Lua indicator on a higher timeframe closes its bars exactly like a native one", "[ta][indicators][mtf]") {
  // last_close@1w is the close of the last closed week, which native highest(1, close)@1w is too.
  const model::BarSeries s = test::load_yahoo_csv(test::shared_path("data/orcl-1995-2014.txt"));
  const auto rows = probe(s, "ind.tf('1w').last_close(), ind.tf('1w').highest(1, 'close'), "
                             "ind.tf('1M').last_close(), ind.tf('1M').highest(1, 'close')", 4);
  std::size_t valued = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    INFO("bar " << i);
    REQUIRE(same(rows[i][0], rows[i][1]));
    REQUIRE(same(rows[i][2], rows[i][3]));
    valued += std::isnan(rows[i][2]) ? 0 : 1;
  }
  CHECK(valued > 4900);
}

TEST_CASE("ind.tf(...).<lua indicator>: late use, offsets and --compute give the same values", "[ta][indicators][mtf]") {
  const model::BarSeries s = test::load_yahoo_csv(test::shared_path("data/nvda-1999-2014.txt"));
  // Asked from the first bar, one bar back, and first asked on bar 2000 only.
  const std::string late = "bar.time >= " + std::to_string(s.at(2000).ts_ns / kNsPerMs);
  const auto rows = probe(s,
                          "ind.tf('1w').hma(10), ind.tf('1w').at(1).hma(10), ind.at(3).tf('1M').kama(10, 2, 30), "
                          "ind.tf('1M').kama(10, 2, 30), " + late + " and ind.tf('1w').hma(10) or nil, " + late +
                              " and ind.tf('1w').at(5).hma(10) or nil, ind.tf('1w').hma(10, 'high')",
                          7);
  std::size_t valued = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    INFO("bar " << i);
    if (i >= 1) REQUIRE(same(rows[i][1], rows[i - 1][0]));
    if (i >= 3) REQUIRE(same(rows[i][2], rows[i - 3][3]));
    if (i >= 2000) {
      REQUIRE(same(rows[i][4], rows[i][0]));
      REQUIRE(same(rows[i][5], rows[i - 5][0]));
    }
    valued += std::isnan(rows[i][0]) ? 0 : 1;
  }
  CHECK(valued > 3500);

  // The same columns out of `indicators --compute`.
  test::TempDir dir;
  const std::string out = dir.file("lua.csv");
  const auto r = test::run_cli(dir, "indicators --data " + test::shared_path("data/nvda-1999-2014.txt") +
                                        " --compute 'sma(5),hma(10)@1w,kama(10,2,30)@1M,hma(10,high)@1w' --out " + out);
  INFO(r.err);
  REQUIRE(r.code == 0);
  std::stringstream csv(test::read_file(out));
  std::string line;
  REQUIRE(std::getline(csv, line));
  CHECK(line == "date,sma_5,hma_10_1w,kama_10_2_30_1M,hma_10_high_1w");
  for (std::size_t i = 0; i < s.size(); ++i) {
    REQUIRE(std::getline(csv, line));
    std::vector<std::string> cells;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) cells.push_back(cell);
    while (cells.size() < 5) cells.emplace_back();  // trailing empty cells
    INFO(line);
    const double want[] = {rows[i][0], rows[i][3], rows[i][6]};
    for (int k = 0; k < 3; ++k) {
      const std::string& c = cells[static_cast<std::size_t>(k + 2)];
      if (std::isnan(want[k])) {
        REQUIRE(c.empty());
      } else {
        std::string expect;
        append_double(expect, want[k]);  // shortest round-trip form
        REQUIRE(c == expect);
      }
    }
  }
}

TEST_CASE("indicators --compute takes Lua indicators with native conventions and errors", "[ta][indicators][cli]") {
  test::TempDir dir;
  const std::string data = test::shared_path("data/orcl-2014.txt");
  auto r = test::run_cli(dir, "indicators --data " + data + " --compute 'sma(20),hma(10),kama(10,2,30),hma()'");
  INFO(r.err);
  REQUIRE(r.code == 0);
  std::stringstream csv(r.out);
  std::string line;
  REQUIRE(std::getline(csv, line));
  CHECK(line == "date,sma_20,hma_10,kama_10_2_30,hma_20");
  // hma(10): warm-up (10 - 1) + (floor(sqrt(10)) - 1) = 11 empty cells, then values.
  for (int i = 0; i < 11; ++i) {
    REQUIRE(std::getline(csv, line));
    std::vector<std::string> cells;
    std::stringstream ls(line + ",");
    std::string cell;
    while (std::getline(ls, cell, ',')) cells.push_back(cell);
    REQUIRE(cells.size() >= 3);
    CHECK(cells[2].empty());
  }
  REQUIRE(std::getline(csv, line));
  CHECK(line.rfind("2014-01-17,,3", 0) == 0);  // row 12 has an hma_10 value (sma_20 still warming up)

  // Errors list the valid names, Lua ones included, and the parameter ranges.
  r = test::run_cli(dir, "indicators --data " + data + " --compute 'sma(20),hmaa(10)'");
  CHECK(r.code == 1);
  CHECK(r.err.find("unknown indicator \"hmaa\"") != std::string::npos);
  CHECK(r.err.find("sma, ema") != std::string::npos);
  CHECK(r.err.find("hma, kama") != std::string::npos);
  r = test::run_cli(dir, "indicators --data " + data + " --compute 'hma(2)'");
  CHECK(r.code == 1);
  CHECK(r.err.find("period must be in [4, 100000], was 2; usage: hma(period=20[, source=close])") != std::string::npos);
  r = test::run_cli(dir, "indicators --data " + data + " --compute 'kama(10,2,30,5)'");
  CHECK(r.code == 1);
  CHECK(r.err.find("takes at most 3 parameters") != std::string::npos);
  r = test::run_cli(dir, "indicators --data " + data + " --compute 'hma(10)@2x'");
  CHECK(r.code == 1);
  CHECK(r.err.find("unknown timeframe") != std::string::npos);

  // --indicators-dir: a file's runtime error names it; a runaway one hits the
  // strategy memory budget instead of taking the machine.
  test::write_file(dir.file("ratio.lua"),
                   "return { name = 'hl_ratio', takes_source = false, outputs = { 'ratio', 'inverse' },\n"
                   "  new = function() return { update = function(_, x, bar)\n"
                   "    if bar.volume == 0 then error('zero volume') end\n"
                   "    return bar.high / bar.low, bar.low / bar.high end } end }\n");
  test::write_file(dir.file("hog.lua"),
                   "return { name = 'hog', new = function() local t = {} return { update = function(_, x)\n"
                   "  for i = 1, 1e9 do t[#t + 1] = { i } end end } end }\n");
  r = test::run_cli(dir, "indicators --indicators-dir " + dir.path().string() + " --data " + data +
                             " --compute 'hl_ratio,sma(2)'");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.rfind("date,hl_ratio_ratio,hl_ratio_inverse,sma_2\n2014-01-02,", 0) == 0);
  r = test::run_cli(dir, "indicators --indicators-dir " + dir.path().string() + " --data " + data +
                             " --compute 'hma(10)'");
  CHECK(r.code == 1);  // only the given folder's indicators
  CHECK(r.err.find("written in Lua (" + dir.path().string() + "): hog, hl_ratio") != std::string::npos);
  r = test::run_cli(dir, "indicators --indicators-dir " + dir.path().string() + " --data " + data +
                             " --compute 'hl_ratio(close)'");
  CHECK(r.code == 1);
  CHECK(r.err.find("does not take a source") != std::string::npos);
  r = test::run_cli(dir, "indicators --indicators-dir " + dir.path().string() + " --data " + data +
                             " --compute 'hog'");
  CHECK(r.code == 1);
  CHECK(r.err.find("memory budget") != std::string::npos);
  CHECK(r.err.find("hog.lua") != std::string::npos);
}

TEST_CASE("Lua indicators step on every bar, also on bars whose fills reach on_fill first", "[ta][indicators]") {
  const model::BarSeries s = test::load_yahoo_csv(test::shared_path("data/orcl-2014.txt"));
  // Enters every 10 bars and leaves 3 bars later: fills (delivered to on_fill
  // before the bar's callback) on many bars. Logs hma(10) in every state.
  const std::string body =
      "params = {}\n"
      "local function f(v) if v == nil then return 'nil' end return string.format('%.17g', v) end\n"
      "local n, last = 0, nil\n"
      "local function note(bar, ind)\n"
      "  if bar.time ~= last then last = bar.time; n = n + 1 end\n"
      "  log(f(ind.hma(10)) .. ',' .. f(ind.tf('1w').hma(4)))\n"
      "end\n"
      "function detect_opportunity(bar, ctx, ind) note(bar, ind) if n % 10 == 0 then return true end end\n"
      "function filter_commitment(bar, ctx, ind) return enter_long{ qty = 1 } end\n"
      "function manage_position(bar, ctx, ind)\n"
      "  note(bar, ind)\n"
      "  if ctx.position.bars_held >= 3 then return exit_position{} end\n"
      "end\n";
  auto run = [&](const std::string& extra) {
    backtest::BacktestConfig cfg;
    cfg.indicator_files = indicator_files();
    auto r = backtest::run_backtest(cfg, s, src(body + extra, "strategies/fills.lua"));
    INFO((r ? "" : r.error().message));
    REQUIRE(r.ok());
    INFO((r->fault ? r->fault->message : ""));
    REQUIRE_FALSE(r->fault);
    CHECK(r->trades.size() > 10);
    return r->strategy_log;
  };
  const auto plain = run("");
  const auto with_fill = run("function on_fill(fill, ctx) ctx.fills = (ctx.fills or 0) + 1 end\n");
  REQUIRE(plain.size() == with_fill.size());
  for (std::size_t i = 0; i < plain.size(); ++i) {
    INFO("line " << i);
    REQUIRE(plain[i] == with_fill[i]);
  }
}

TEST_CASE("ind.crossover mixes Lua and native indicators and bare prices", "[ta][indicators]") {
  const model::BarSeries s = test::load_yahoo_csv(test::shared_path("data/nvda-1999-2014.txt"));
  const auto rows = probe(s,
                          "ind.crossover('hma(10)', 'sma(30)'), ind.hma(10), ind.sma(30), "
                          "ind.at(1).crossover('kama(10,2,30)', 'hma(20)'), ind.kama(10, 2, 30), ind.hma(20), "
                          "ind.crossover('close', 'ema(50)'), bar.close, ind.ema(50), ind.crossover('close', 'hma(20)')",
                          10);
  // Reference: the sign change of a - b against the last non-zero difference.
  auto expect = [&](std::size_t i, std::size_t a, std::size_t b) {
    const double d = rows[i][a] - rows[i][b];
    if (std::isnan(d)) return std::nan("");
    if (d == 0) return 0.0;
    for (std::size_t j = i; j-- > 0;) {
      const double pd = rows[j][a] - rows[j][b];
      if (std::isnan(pd)) return 0.0;
      if (pd != 0) return pd < 0 && d > 0 ? 1.0 : pd > 0 && d < 0 ? -1.0 : 0.0;
    }
    return 0.0;
  };
  int crosses = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    INFO("bar " << i);
    REQUIRE(same(rows[i][0], expect(i, 1, 2)));
    if (i >= 1) REQUIRE(same(rows[i][3], expect(i - 1, 4, 5)));
    REQUIRE(same(rows[i][6], expect(i, 7, 8)));  // a bare price name is the series itself
    REQUIRE(same(rows[i][9], expect(i, 7, 5)));
    crosses += rows[i][0] != 0 && !std::isnan(rows[i][0]) ? 1 : 0;
  }
  CHECK(crosses > 50);
}

TEST_CASE("indicators --compute refuses the same indicator twice", "[ta][indicators][cli]") {
  test::TempDir dir;
  for (const char* list : {"sma(20),sma(20)", "sma(20),sma(20,close)", "hma(10)@1w,rsi(14),hma(10)@1w"}) {
    INFO(list);
    const auto r = test::run_cli(dir, "indicators --data " + test::shared_path("data/orcl-2014.txt") + " --compute '" +
                                          list + "' --out " + dir.file("dup.csv"));
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Catch::Contains("the same indicator twice"));
  }
}

TEST_CASE("a timeframe finer than the data is refused, naming the strategy line", "[ta][mtf][lua]") {
  // Daily bars: a 1h (or 1m) bucket holds one daily bar, so its "closed" bars
  // would be the previous days, silently a bar late.
  const model::BarSeries s = test::load_yahoo_csv(test::shared_path("data/nvda-1999-2014.txt"));
  const auto run = [&](const std::string& line) {
    const std::string code = "params = {}\nfunction detect_opportunity(bar, ctx, ind)\n  local v = " + line +
                             "\nend\nfunction filter_commitment() end\nfunction manage_position() end\n";
    backtest::BacktestConfig cfg;
    cfg.indicator_files = indicator_files();
    auto r = backtest::run_backtest(cfg, s, src(code, "strategies/tf.lua"));
    REQUIRE(r.ok());
    return r->fault ? r->fault->message : std::string();
  };
  for (const std::string line : {"ind.tf('1h').sma(2)", "ind.tf('23h').ema(3)", "ind.tf('1m').rsi(14)",
                                 "ind.tf('4h').crossover('sma(2)', 'close')", "ind.tf('1h').hma(10)"}) {
    INFO(line);
    const std::string err = run(line);
    CHECK(err.find("strategies/tf.lua:3:") == 0);
    CHECK(err.find("is finer than the bars it would be built from (they are 1d apart)") != std::string::npos);
    CHECK(err.find("use 1d or a coarser timeframe") != std::string::npos);
  }
  for (const std::string line : {"ind.tf('1d').sma(2)", "ind.tf('1w').sma(2)", "ind.tf('1M').ema(3)"}) {
    INFO(line);
    CHECK(run(line).empty());
  }

  // The same rule for `indicators --compute`, native and Lua indicators.
  test::TempDir dir;
  const std::string data = test::shared_path("data/nvda-1999-2014.txt");
  for (const std::string spec : {"sma(20),rsi(14)@4h", "hma(10)@4h"}) {
    auto r = test::run_cli(dir, "indicators --data " + data + " --compute '" + spec + "'");
    CHECK(r.code == 1);
    CHECK(r.err.find(" on 4h: timeframe 4h is finer than the bars it would be built from (they are 1d apart)") !=
              std::string::npos);
  }
  auto r = test::run_cli(dir, "indicators --data " + data + " --compute 'sma(2)@1w,hma(10)@1d'");
  CHECK(r.code == 0);
}
