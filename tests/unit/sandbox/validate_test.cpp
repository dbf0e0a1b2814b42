// `trading-engine validate` and `new-strategy` through the built binary, and the
// lookahead probe on its own: every shipped strategy and template is valid;
// each kind of problem is found with its file and line and fails the command;
// a decision that depends on later bars is caught. Also `backtest --config`
// applying [sandbox].
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "engine/app/strategy_validation.hpp"
#include "engine/data/bar_generator.hpp"
#include "engine/core/numbers.hpp"
#include "tests/support/temp_files.hpp"
#include "tests/unit/sandbox/sandbox_support.hpp"

using te::test::CliRun;
using te::test::run_cli;
using te::test::TempDir;
using te::test::write_file;

namespace {

// Small and quick: 3 series of 1500 bars, 2 truncations.
const std::string kQuick = " --bars 1500 --lookahead-cuts 2";

CliRun validate(const TempDir& dir, const std::string& code, const std::string& extra = "") {
  const std::string path = dir.file("probe.lua");
  write_file(path, code);
  return run_cli(dir, "validate " + path + kQuick + extra);
}

const char* kIdle = R"LUA(
function filter_commitment(bar, ctx, ind) return enter_long { qty = 1 } end
function manage_position(bar, ctx, ind) if ctx.position.bars_held > 3 then return exit_position() end end
)LUA";

}  // namespace

TEST_CASE("every shipped strategy passes validate", "[validate][sandbox]") {
  TempDir dir;
  for (const auto& e : std::filesystem::directory_iterator(TE_SOURCE_DIR "/strategies")) {
    if (e.path().extension() != ".lua") continue;
    const std::string rel = "strategies/" + e.path().filename().string();
    INFO(rel);
    const CliRun r = run_cli(dir, "validate " + rel + kQuick);
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains(rel + ": valid"));
    CHECK_THAT(r.out, Catch::Contains("lookahead"));
  }
}

TEST_CASE("validate prints a summary of callbacks, params, indicators and the probes", "[validate][sandbox]") {
  TempDir dir;
  const CliRun r = run_cli(dir, "validate strategies/sma_cross.lua --param fast=5" + kQuick);
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  for (const char* row : {"syntax", "globals", "load", "callbacks", "params", "dry run", "hot reload", "lookahead"})
    CHECK_THAT(r.out, Catch::Contains(std::string("  ") + row));
  CHECK_THAT(r.out, Catch::Contains("detect_opportunity, filter_commitment, manage_position"));
  CHECK_THAT(r.out, Catch::Contains("fast=5 (number)"));
  CHECK_THAT(r.out, Catch::Contains("slow=30 (number)"));
  CHECK_THAT(r.out, Catch::Contains("indicators used: sma(5), sma(30)"));
  CHECK_THAT(r.out, Catch::Contains("decisions identical to the full run"));
  CHECK_THAT(r.out, Catch::Contains("ctx carried over to a fresh VM"));
}

TEST_CASE("validate finds undeclared and forbidden globals on paths that never run", "[validate][sandbox]") {
  TempDir dir;
  // Line numbers matter: the static scan must name each one.
  const std::string code =
      "params = { n = 3 }\n"                                   // 1
      "local function never_called()\n"                       // 2
      "  return totally_undeclared + 1\n"                     // 3
      "end\n"                                                 // 4
      "function detect_opportunity(bar, ctx, ind)\n"          // 5
      "  if bar.close < 0 then\n"                             // 6
      "    local f = io.open('/tmp/x', 'w')\n"                // 7
      "    lastseen = bar.time\n"                             // 8
      "    return os.time()\n"                                // 9
      "  end\n"                                               // 10
      "  if math.floor(bar.close) % 7 == 0 then return true end\n"  // 11
      "end\n" +
      std::string(kIdle);
  const CliRun r = validate(dir, code);
  INFO(r.out << r.err);
  CHECK(r.code == 1);
  const std::string f = dir.file("probe.lua");
  CHECK_THAT(r.err, Catch::Contains(f + ":3: undeclared global \"totally_undeclared\""));
  CHECK_THAT(r.err, Catch::Contains(f + ":7: io is not available: files are off limits"));
  CHECK_THAT(r.err, Catch::Contains(f + ":8: assignment to undeclared global \"lastseen\" inside a function"));
  CHECK_THAT(r.err, Catch::Contains(f + ":9: os is not available"));
  CHECK(r.err.find(f + ":11:") == std::string::npos);  // math is provided
  CHECK_THAT(r.out, Catch::Contains("NOT valid (4 errors"));
}

TEST_CASE("validate reports a syntax error with file and line", "[validate][sandbox]") {
  TempDir dir;
  const CliRun r = validate(dir, "params = {}\nfunction detect_opportunity(bar, ctx, ind)\n  if bar.close > then\nend\n");
  INFO(r.out << r.err);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains(dir.file("probe.lua") + ":3: unexpected symbol near 'then'"));
  CHECK_THAT(r.out, Catch::Contains("syntax"));
  CHECK_THAT(r.out, Catch::Contains("FAILED"));
}

TEST_CASE("validate reports missing callbacks and bad params", "[validate][sandbox]") {
  TempDir dir;
  SECTION("two callbacks missing: one line each") {
    const CliRun r = validate(dir, "params = {}\nfunction detect_opportunity() end\n");
    INFO(r.out << r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains(dir.file("probe.lua") + ": missing callback filter_commitment"));
    CHECK_THAT(r.err, Catch::Contains(dir.file("probe.lua") + ": missing callback manage_position"));
  }
  SECTION("a callback that is not a function") {
    const CliRun r = validate(dir, "params = {}\nfunction detect_opportunity() end\nfilter_commitment = 3\n"
                                   "function manage_position() end\n");
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("filter_commitment must be a function, was 3"));
  }
  SECTION("an override that does not match") {
    const CliRun r = validate(dir, std::string("params = { n = 3 }\nfunction detect_opportunity() end\n") + kIdle,
                              " --param m=4");
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("--param m: the strategy has no parameter m (it declares: n)"));
    const CliRun t = validate(dir, std::string("params = { n = 3 }\nfunction detect_opportunity() end\n") + kIdle,
                              " --param n=lots");
    CHECK(t.code == 1);
    CHECK_THAT(t.err, Catch::Contains("--param n=lots: expected a number"));
  }
  SECTION("a params value that is not a plain default") {
    const CliRun r = validate(dir, std::string("params = { n = {} }\nfunction detect_opportunity() end\n") + kIdle);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains(dir.file("probe.lua") + ":1: params.n must be a number, boolean or string"));
  }
  SECTION("a non-finite default") {
    const CliRun r = validate(dir, std::string("params = { n = 1/0 }\nfunction detect_opportunity() end\n") + kIdle);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("params.n is inf: defaults must be finite numbers"));
  }
  SECTION("params keys and values with terminal escapes are printed escaped") {
    const CliRun r = validate(dir, std::string("params = { [\"a\\27[2Jb\"] = 1, s = \"x\\27]0;t\\7\" }\n"
                                               "function detect_opportunity() end\n") + kIdle);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("params key \"a\\x1b[2Jb\" is not a plain name"));
    CHECK_THAT(r.out, Catch::Contains("s=x\\x1b]0;t\\x07 (string)"));
    CHECK((r.out + r.err).find('\x1b') == std::string::npos);
  }
}

TEST_CASE("validate's dry run catches runtime errors with file, line and traceback", "[validate][sandbox]") {
  TempDir dir;
  SECTION("nil arithmetic after a while") {
    const CliRun r = validate(dir, std::string("params = {}\n"
                                               "function detect_opportunity(bar, ctx, ind)\n"
                                               "  local s = ind.sma(50)\n"
                                               "  if s then return s + ctx.missing end\n"
                                               "end\n") +
                                       kIdle);
    INFO(r.out << r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains(dir.file("probe.lua") + ":4: attempt to perform arithmetic on field 'missing'"));
    CHECK_THAT(r.err, Catch::Contains("detect_opportunity raised an error at bar 49"));
    CHECK_THAT(r.err, Catch::Contains("stack traceback:"));
  }
  SECTION("wrong action arguments") {
    const CliRun r = validate(dir, "params = {}\nfunction detect_opportunity() return true end\n"
                                   "function filter_commitment(bar, ctx, ind)\n"
                                   "  return enter_long { qty = -bar.close }\nend\n"
                                   "function manage_position() end\n");
    CHECK(r.code == 1);
    // `return enter_long {...}` is a tail call: the strategy's frame is gone by
    // the time the argument is checked, so the error names the callback's line.
    CHECK_THAT(r.err, Catch::Contains(dir.file("probe.lua") + ":3: enter_long: qty must be a positive number"));
    CHECK_THAT(r.err, Catch::Contains("tail call"));
  }
  SECTION("a broken CPU budget ([sandbox] of --config)") {
    const std::string cfg = dir.file("c.toml");
    write_file(cfg, "[sandbox]\ncallback_timeout_ms = 50\n");
    const CliRun r = validate(dir, std::string("params = {}\nfunction detect_opportunity(bar, ctx, ind)\n"
                                               "  if bar.close > 0 then while true do end end\nend\n") +
                                       kIdle,
                              " --config " + cfg);
    INFO(r.out << r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains(dir.file("probe.lua") + ":3: detect_opportunity exceeded its CPU deadline of 50 ms"));
    CHECK_THAT(r.out, Catch::Contains("callback_timeout_ms 50"));
  }
  SECTION("a memory budget broken inside compiled code") {
    // The refusal is raised from a compiled trace. Debian's LuaJIT
    // 2.1-20230119 as packaged crashed the whole command there (SIGSEGV, exit
    // 139, in validate and backtest alike); scripts/luajit-patches/0001 fixes it.
    const std::string code = std::string("params = {}\nfunction detect_opportunity(bar, ctx, ind)\n"
                                         "  local t = {}\n"
                                         "  for k = 1, 1e9 do t[k] = string.rep('x', 1e6) end\nend\n") +
                             kIdle;
    const CliRun r = validate(dir, code);
    INFO(r.out << r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("detect_opportunity exceeded the memory budget of 64 MB"));
    const CliRun b = run_cli(dir, "backtest --strategy " + dir.file("probe.lua") + " --data " +
                                      std::string(TE_SHARED_DIR) + "/data/nvda-1999-2014.txt --out " +
                                      dir.file("out") + " --quiet");
    INFO(b.out << b.err);
    CHECK(b.code == 1);
    CHECK_THAT(b.err, Catch::Contains("exceeded the memory budget of 64 MB"));
  }
  SECTION("coroutines nested until the native stack is nearly used up") {
    // Each nested resume is a native call of LuaJIT's VM; at the default
    // budgets the thread's stack ran out first (SIGSEGV) before
    // engine/script/c_stack.hpp.
    const struct {
      const char* body;
      const char* message;
    } cases[] = {
        {"  local co co = function(n) return coroutine.wrap(function() return co(n + 1)() end) end co(1)()\n",
         "coroutine.wrap: nested too deeply"},
        {"  local function go(n) local ok, e = coroutine.resume(coroutine.create(go), n + 1)\n"
         "    if not ok then error(e, 0) end end go(1)\n",
         "coroutine.resume: nested too deeply"},
    };
    for (const auto& c : cases) {
      write_file(dir.file("probe.lua"),
                 std::string("params = {}\nfunction detect_opportunity(bar, ctx, ind)\n") + c.body + "end\n" + kIdle);
      const CliRun b = run_cli(dir, "backtest --strategy " + dir.file("probe.lua") + " --data " +
                                        std::string(TE_SHARED_DIR) + "/data/nvda-1999-2014.txt --out " +
                                        dir.file("out") + " --quiet");
      INFO(b.out << b.err);
      CHECK(b.code == 1);
      CHECK_THAT(b.err, Catch::Contains(c.message));
    }
  }
  SECTION("a ctx that cannot survive a hot reload") {
    const CliRun r = validate(dir, std::string("params = {}\nfunction on_start(ctx) ctx.helper = function() end end\n"
                                               "function detect_opportunity() end\n") +
                                       kIdle);
    INFO(r.out << r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("a hot reload would be refused"));
    CHECK_THAT(r.err, Catch::Contains("ctx.helper is a function"));
  }
}

TEST_CASE("validate warns about code the dry run never reached, and --strict fails on it", "[validate][sandbox]") {
  TempDir dir;
  const std::string code = std::string("params = {}\nfunction detect_opportunity() end\n") + kIdle;
  const CliRun r = validate(dir, code);
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK_THAT(r.err, Catch::Contains("warning: filter_commitment never ran"));
  CHECK_THAT(r.err, Catch::Contains("warning: manage_position never ran"));
  CHECK(validate(dir, code, " --strict").code == 1);
}

TEST_CASE("the lookahead probe catches decisions that depend on later bars", "[validate][sandbox]") {
  // A classic leak: a threshold computed from the whole data set (here its
  // last close, handed in as a parameter), so earlier decisions change when
  // the series grows. The probe must see it; the honest version passes.
  te::data::GeneratorOptions g;
  g.seed = 5;
  g.interval_ns = te::kNsPerHour;
  auto bars = te::data::generate_bars(g, 2000, "LEAK");
  REQUIRE(bars.ok());
  const auto leaky = te::test::lua_source(R"LUA(
params = { future_close = 0.5 }  -- not a whole number: overrides may be fractional
function detect_opportunity(bar, ctx, ind)
  if bar.close < params.future_close then return { reason = "below the final close" } end
end
function filter_commitment(bar, ctx, ind) return enter_long { qty = 1 } end
function manage_position(bar, ctx, ind)
  if bar.close > params.future_close then return exit_position("above the final close") end
end
)LUA");
  auto run = [&](bool leak) {
    return [&, leak](const te::model::BarSeries& d) {
      te::backtest::BacktestConfig cfg;
      const double last = d.close()[d.size() - 1];
      cfg.params = {{"future_close", te::format_double(leak ? last : bars->close()[0])}};
      return te::app::record_decisions(cfg, d, leaky);
    };
  };
  const std::size_t cuts[] = {500, 1000, 1500};
  auto honest = te::app::probe_lookahead(*bars, run(false), cuts);
  REQUIRE(honest.ok());
  CHECK(honest->ok);
  CHECK(honest->cuts_checked == 3);
  CHECK(honest->decisions_compared > 10);

  auto caught = te::app::probe_lookahead(*bars, run(true), cuts);
  REQUIRE(caught.ok());
  CHECK_FALSE(caught->ok);
  CHECK(caught->bar < caught->cut);
  CHECK(caught->full != caught->truncated);
}

TEST_CASE("validate --config reports every config problem with its key path", "[validate][sandbox]") {
  TempDir dir;
  const std::string cfg = dir.file("bad.toml");
  write_file(cfg, "[engine]\nthreads = \"many\"\n[sandbox]\nmemory_limit_mb = 0\ncolour = 1\n");
  const CliRun r = run_cli(dir, "validate --config " + cfg);
  INFO(r.out << r.err);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains(cfg + ":2: engine.threads"));
  CHECK_THAT(r.err, Catch::Contains(cfg + ":4: sandbox.memory_limit_mb"));
  CHECK_THAT(r.err, Catch::Contains(cfg + ":5: sandbox.colour: unknown key"));
}

TEST_CASE("validate --config checks the strategies it uses with their params", "[validate][sandbox]") {
  TempDir dir;
  const std::string cfg = dir.file("run.toml");
  write_file(cfg,
             "[[runners]]\nsymbol = \"AAA\"\nstrategy = \"strategies/sma_cross.lua\"\n"
             "params = { fast = 5, slow = 20 }\n[runners.data_source]\ntype = \"simulated\"\n"
             "[[runners]]\nsymbol = \"BBB\"\nstrategy = \"" + dir.file("missing.lua") + "\"\n"
             "[runners.data_source]\ntype = \"simulated\"\n");
  const CliRun r = run_cli(dir, "validate --config " + cfg + kQuick);
  INFO(r.out << r.err);
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("strategies/sma_cross.lua: valid"));
  CHECK_THAT(r.out, Catch::Contains("fast=5 (number), slow=20 (number)"));
  CHECK_THAT(r.err, Catch::Contains("runners[1].strategy: no such file: " + dir.file("missing.lua")));
  CHECK_THAT(r.err, !Catch::Contains("open strategy"));  // reported once, by the config checks
}

TEST_CASE("new-strategy writes a template that validates and backtests, and never overwrites", "[validate][sandbox]") {
  TempDir dir;
  const std::string sdir = dir.file("strats");
  const std::string data = dir.file("prices.csv");
  REQUIRE(run_cli(dir, "generate-data --bars 3000 --interval 1h --seed 3 --out " + data).code == 0);
  const CliRun list = run_cli(dir, "new-strategy --list");
  CHECK(list.code == 0);
  for (const char* t : {"crossover", "mean_reversion", "breakout"}) {
    INFO(t);
    CHECK_THAT(list.out, Catch::Contains(t));
    const std::string name = std::string("my_") + t;
    const CliRun w = run_cli(dir, "new-strategy " + name + " --template " + t + " --dir " + sdir);
    INFO(w.out << w.err);
    REQUIRE(w.code == 0);
    const std::string path = sdir + "/" + name + ".lua";
    REQUIRE(std::filesystem::exists(path));
    CHECK_THAT(te::test::read_file(path), Catch::StartsWith("-- " + name + ".lua"));
    const CliRun v = run_cli(dir, "validate --strict " + path + kQuick);
    INFO(v.out << v.err);
    CHECK(v.code == 0);
    const CliRun b = run_cli(dir, "backtest -q --no-html --strategy " + path + " --data " + data + " --out " + dir.file(name));
    INFO(b.err);
    CHECK(b.code == 0);
    CHECK(std::filesystem::exists(dir.file(name) + "/trades.csv"));
  }
  const std::string before = te::test::read_file(sdir + "/my_crossover.lua");
  const CliRun again = run_cli(dir, "new-strategy my_crossover --template breakout --dir " + sdir);
  CHECK(again.code == 1);
  CHECK_THAT(again.err, Catch::Contains("already exists"));
  CHECK(te::test::read_file(sdir + "/my_crossover.lua") == before);
  CHECK(run_cli(dir, "new-strategy ../escape --dir " + sdir).code == 2);
  CHECK(run_cli(dir, "new-strategy x --template nope --dir " + sdir).code == 2);
}

TEST_CASE("backtest --config applies the [sandbox] budgets and error policy", "[validate][sandbox]") {
  TempDir dir;
  const std::string data = dir.file("prices.csv");
  REQUIRE(run_cli(dir, "generate-data --bars 300 --interval 1d --seed 3 --out " + data).code == 0);
  const std::string strat = dir.file("hog.lua");
  // Grows a table by ~1 MB per bar from bar 20 on.
  write_file(strat, std::string("params = {}\nlocal hoard = {}\n"
                                "function detect_opportunity(bar, ctx, ind)\n"
                                "  if ctx.n == nil then ctx.n = 0 end\n  ctx.n = ctx.n + 1\n"
                                "  if ctx.n > 20 then hoard[#hoard + 1] = string.rep('x', 1000000 + ctx.n) end\n"
                                "end\n") +
                        kIdle);
  const std::string cfg = dir.file("c.toml");
  write_file(cfg, "[sandbox]\nmemory_limit_mb = 8\n");
  const CliRun r = run_cli(dir, "backtest -q --no-html --strategy " + strat + " --data " + data + " --config " + cfg +
                                    " --out " + dir.file("out"));
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("exceeded the memory budget of 8 MB"));
  // Without the config the default 64 MB budget lets it run further before failing.
  const CliRun d = run_cli(dir, "backtest -q --no-html --strategy " + strat + " --data " + data + " --out " +
                                    dir.file("out2"));
  CHECK_THAT(d.err, Catch::Contains("memory budget of 64 MB"));

  // max_consecutive_errors: an error every other bar is tolerated with 2.
  const std::string flaky = dir.file("flaky.lua");
  write_file(flaky, std::string("params = {}\nfunction detect_opportunity(bar, ctx, ind)\n"
                                "  ctx.n = (ctx.n or 0) + 1\n  if ctx.n % 2 == 0 then error('every other bar') end\n"
                                "end\n") +
                        kIdle);
  CHECK(run_cli(dir, "backtest -q --no-html --strategy " + flaky + " --data " + data + " --out " + dir.file("o3")).code == 1);
  write_file(cfg, "[sandbox]\nmax_consecutive_errors = 2\n");
  const CliRun tolerant = run_cli(dir, "backtest -q --no-html --strategy " + flaky + " --data " + data + " --config " +
                                           cfg + " --out " + dir.file("o4"));
  INFO(tolerant.err);
  CHECK(tolerant.code == 0);
}

TEST_CASE("validate --config parses the historical files run would load", "[validate][sandbox]") {
  TempDir dir;
  const std::string csv = dir.file("bad.csv");
  write_file(csv, "date,open,high,low,close,volume\n2020-01-01,1,2,0.5,1.5,10\n2020-01-02,1,2,0.5,1.5,10\n"
                  "2020-01-03,abc,2,0.5,1.5,10\n");
  const std::string cfg = dir.file("run.toml");
  write_file(cfg, "[[runners]]\nsymbol = \"AAA\"\nstrategy = \"strategies/sma_cross.lua\"\n"
                  "[runners.data_source]\ntype = \"historical\"\npath = \"" + csv + "\"\n");
  const CliRun r = run_cli(dir, "validate --config " + cfg + kQuick);
  INFO(r.out << r.err);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains(cfg + ": runners[0].data_source.path: " + csv + ":4:"));
  CHECK_THAT(r.err, Catch::Contains("open: expected a number"));
}
