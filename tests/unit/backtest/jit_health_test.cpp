// JIT health (issue 3): the example strategies' per-bar path stays compiled.
//
// Every strategies/*.lua runs a backtest over real daily data with the VM's
// LuaJIT trace events recorded (jit.attach from the trusted host side). A trace
// abort costs about 10x on the bars that hit it, and an abort that repeats
// makes LuaJIT blacklist the code and leave it to the interpreter for good,
// silently. "Per-bar path" means the code that runs on quiet bars: bars on
// which the strategy took no action and no order event, transition or fill
// happened (those run once per trade; an interpreted entry costs microseconds
// per trade, not per bar). The test fails, naming the strategy, the line and
// LuaJIT's reason:
//  - when a trace aborts on a quiet bar in the second half of the run (after
//    warm-up) anywhere in the strategy, the prelude or the indicator files;
//  - when LuaJIT blacklisted code of ours where a root trace started (after
//    about ten aborts there, on any bar): it runs in the interpreter for good,
//    and every trace that reaches it aborts (the abort event compares the
//    start's bytecode before and after, see strategy_host.cpp);
//  - when the per-bar loop (M.run_batch in lua/prelude.lua, which calls the
//    engine's step and the strategy's callbacks bar after bar) never got a
//    completed root trace at all.
// Aborts during warm-up are not judged by themselves: while indicators warm up
// the paths change from bar to bar, and LuaJIT routinely gives up on side exits
// and function entries there (a few "loop unroll limit" aborts each) that are
// cold once the loop's trace compiled with those functions inlined. Code that
// still runs in the interpreter after warm-up shows itself: the interpreter
// makes its functions and loops hot again, and their traces abort on quiet bars
// of the second half (the first rule) until LuaJIT blacklists them (the second).
// No timing is measured. The trace history is not quite deterministic: which
// spots become hot first depends on where the bytecode sits in memory (LuaJIT's
// hot counters are a 64-entry table indexed by bytecode address), so it varies
// a little with the heap layout.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/data/bar_generator.hpp"
#include "engine/data/load_bars.hpp"
#include "engine/runner/symbol_runner.hpp"
#include "engine/script/jit_trace_log.hpp"

namespace {

using namespace te;

std::vector<std::string> example_strategies() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(std::string(TE_SOURCE_DIR) + "/strategies"))
    if (e.path().extension() == ".lua") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// "lua/prelude.lua:<line>" of `function M.run_batch(` (the per-bar loop).
std::string loop_location() {
  std::ifstream in(std::string(TE_SOURCE_DIR) + "/lua/prelude.lua");
  std::string line;
  for (int n = 1; std::getline(in, line); ++n)
    if (line.rfind("function M.run_batch(", 0) == 0) return "lua/prelude.lua:" + std::to_string(n);
  return "";
}

bool ours(const std::string& where) {
  return where.rfind("lua/", 0) == 0 || where.find("strategies/") != std::string::npos ||
         where.find("indicators/") != std::string::npos;
}

// Bars on which something other than the per-bar routine happened.
class EventBars final : public runner::RunnerObserver {
 public:
  std::set<std::uint64_t> bars;
  void on_transition(const runner::SymbolRunner& r, const runner::Transition&) override { mark(r); }
  void on_order(const runner::SymbolRunner& r, const model::Order&) override { mark(r); }
  void on_fill(const runner::SymbolRunner& r, const model::Fill&) override { mark(r); }
  void on_rejected(const runner::SymbolRunner& r, const model::Rejection&) override { mark(r); }
  void on_action(const runner::SymbolRunner& r, script::Callback, int, const te_action&, std::string_view) override {
    mark(r);
  }
  bool bar_end_runs_lua() const noexcept override { return false; }  // the run stays in the batch loop

 private:
  void mark(const runner::SymbolRunner& r) { bars.insert(static_cast<std::uint64_t>(r.bar_index())); }
};

struct Verdict {
  std::vector<std::string> problems;
  std::size_t traces = 0, aborts = 0;
  bool loop_compiled = false;
};

Verdict judge(const script::JitTraceLog& log, std::uint64_t steady_from, const std::string& loop,
              const std::set<std::uint64_t>& event_bars) {
  Verdict v;
  std::string start_where, start_function;
  int start_parent = 0;
  std::map<std::string, int> root_aborts;  // root start location -> aborts
  for (const auto& e : log.events()) {
    switch (e.kind) {
      case script::TraceEvent::Kind::Start:
        start_where = e.where;
        start_function = e.function;
        start_parent = e.parent;
        break;
      case script::TraceEvent::Kind::Stop:
        ++v.traces;
        if (start_parent == 0 && start_function == loop) v.loop_compiled = true;
        break;
      case script::TraceEvent::Kind::Abort: {
        ++v.aborts;
        const std::string reason = script::describe_trace_error(e.error, e.error_info, TE_LUAJIT_VMDEF);
        if (start_parent == 0) ++root_aborts[start_where];
        if (e.blacklisted && ours(start_where))
          v.problems.push_back("bar " + std::to_string(e.bar) + ": LuaJIT blacklisted the code at " + start_where +
                               " after " + std::to_string(root_aborts[start_where]) +
                               " aborted trace(s) (it runs in the interpreter for good): " + reason + " at " +
                               e.where);
        // Loading (bar 0: the strategy's top level, on_start) and once-per-trade
        // paths are not the per-bar path.
        if (e.bar == 0 || event_bars.count(e.bar) != 0) break;
        if (e.bar >= steady_from && (ours(start_where) || ours(e.where)))
          v.problems.push_back("bar " + std::to_string(e.bar) + ": trace from " + start_where +
                               (start_parent ? " (side trace of " + std::to_string(start_parent) + ")" : "") +
                               " aborted at " + e.where + ": " + reason);
        break;
      }
      case script::TraceEvent::Kind::Flush:
        break;
    }
  }
  return v;
}

}  // namespace

TEST_CASE("example strategies keep their per-bar path JIT-compiled", "[backtest][jit]") {
  const std::string loop = loop_location();
  REQUIRE_FALSE(loop.empty());
  const auto strategies = example_strategies();
  REQUIRE(strategies.size() >= 5);
  auto files = script::find_indicator_files(std::string(TE_SOURCE_DIR) + "/indicators");
  REQUIRE(files);

  for (const char* name : {"nvda-1999-2014.txt", "orcl-1995-2014.txt"}) {
    data::LoadOptions lo;
    lo.cache.read = lo.cache.write = false;
    auto bars = data::load_bars(std::string(TE_SHARED_DIR) + "/data/" + name, lo);
    REQUIRE(bars);
    REQUIRE(bars->size() > 3000);
    for (const auto& path : strategies) {
      auto src = script::read_strategy(path);
      REQUIRE(src);
      // The trace history depends on the heap layout (see the top): a second
      // run on a shifted layout is allowed; a per-bar path that really falls
      // back to the interpreter fails both.
      script::JitTraceLog log;
      EventBars events;
      std::vector<std::unique_ptr<char[]>> layout_shift;
      Result<backtest::BacktestResult> r = make_error(Errc::internal, "not run");
      for (int attempt = 0; attempt < 2; ++attempt) {
        log = script::JitTraceLog{};
        events = EventBars{};
        backtest::BacktestConfig cfg;
        cfg.exchange.commission.rate = 0.001;
        cfg.keep_transitions = false;
        cfg.indicator_files = *files;
        cfg.jit_trace = &log;
        cfg.observer = &events;
        r = backtest::run_backtest(cfg, *bars, *src);
        REQUIRE(r);
        if (judge(log, bars->size() / 2, loop, events.bars).problems.empty()) break;
        layout_shift.emplace_back(std::make_unique<char[]>(80));
      }
      INFO(path << " on " << name << ": " << r->trades.size() << " trades, " << log.events().size()
                << " trace events");
      REQUIRE_FALSE(r->fault);
      CHECK(r->trades.size() > 0);  // the strategy took its trading paths, not only the idle one
      const Verdict v = judge(log, bars->size() / 2, loop, events.bars);
      INFO(v.traces << " traces compiled, " << v.aborts << " aborts in all");
      std::ostringstream problems;
      for (const auto& p : v.problems) problems << "\n  " << p;
      INFO("problems:" << problems.str());
      CHECK(v.loop_compiled);
      CHECK(v.problems.empty());
    }
  }
}

namespace {

// A strategy that creates a closure on every bar: FNEW is not compiled by
// LuaJIT 2.1 ("NYI: bytecode FNEW").
const char* const kClosurePerBar =
    "function detect_opportunity(bar, ctx, ind)\n"
    "  local f = function() return bar.close end\n"
    "  if f() < 0 then return { reason = 'never' } end\n"
    "end\n"
    "function filter_commitment() end\n"
    "function manage_position() end\n";

model::BarSeries nvda() {
  data::LoadOptions lo;
  lo.cache.read = lo.cache.write = false;
  auto bars = data::load_bars(std::string(TE_SHARED_DIR) + "/data/nvda-1999-2014.txt", lo);
  REQUIRE(bars);
  return std::move(*bars);
}

// The trace log of a backtest of `code` over `bars`.
script::JitTraceLog traced_run(const std::string& path, const std::string& code, const model::BarSeries& bars) {
  auto src = script::make_strategy_source(path, code);
  REQUIRE(src);
  script::JitTraceLog log;
  backtest::BacktestConfig cfg;
  cfg.jit_trace = &log;
  REQUIRE(backtest::run_backtest(cfg, bars, *src));
  return log;
}

bool names(const Verdict& v, const std::string& needle) {
  std::ostringstream problems;
  for (const auto& p : v.problems) problems << "\n  " << p;
  INFO("problems:" << problems.str());
  return problems.str().find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("the JIT-health check sees an aborting per-bar path", "[backtest][jit]") {
  // The closure's per-bar trace aborts forever. The check above must be able
  // to fail: here it does.
  const auto bars = nvda();
  const auto log = traced_run("strategies/closure_per_bar.lua", kClosurePerBar, bars);
  const Verdict v = judge(log, bars.size() / 2, loop_location(), {});
  CHECK(names(v, "aborted at strategies/closure_per_bar.lua:2: NYI: bytecode FNEW"));
}

TEST_CASE("the JIT-health check sees LuaJIT blacklist per-bar code", "[backtest][jit]") {
  // The same closure per bar over enough bars for LuaJIT to give up: after
  // about ten aborts at a start it rewrites the bytecode there and leaves it to
  // the interpreter for good. The trace log sees the rewrite on the abort.
  auto bars = data::generate_bars(data::GeneratorOptions{}, 200000, "SIM");
  REQUIRE(bars);
  const auto log = traced_run("strategies/closure_per_bar.lua", kClosurePerBar, *bars);
  std::set<std::string> blacklisted;
  for (const auto& e : log.events())
    if (e.kind == script::TraceEvent::Kind::Abort && e.blacklisted) blacklisted.insert(e.where);
  INFO(log.events().size() << " trace events");
  CHECK(blacklisted.count("strategies/closure_per_bar.lua:2") == 1);
  const Verdict v = judge(log, bars->size() / 2, loop_location(), {});
  CHECK(names(v, "LuaJIT blacklisted the code at strategies/closure_per_bar.lua:1"));
}

TEST_CASE("the JIT-health check sees a per-bar side exit LuaJIT gave up on", "[backtest][jit]") {
  // Every third bar takes a branch that calls a function creating a closure:
  // the loop's trace compiles without it, and the side traces from that exit
  // abort ("NYI: bytecode FNEW") until LuaJIT gives up on the exit during
  // warm-up; from then on the branch runs in the interpreter, which makes the
  // function hot again and its own traces abort after warm-up.
  const auto bars = nvda();
  const auto log = traced_run("strategies/side_exit.lua",
                              "local n = 0\n"
                              "local function closure_of(bar)\n"
                              "  local f = function() return bar.close end\n"
                              "  return f()\n"
                              "end\n"
                              "function detect_opportunity(bar, ctx, ind)\n"
                              "  n = n + 1\n"
                              "  if n % 3 == 0 and closure_of(bar) < 0 then return { reason = 'never' } end\n"
                              "end\n"
                              "function filter_commitment() end\n"
                              "function manage_position() end\n",
                              bars);
  const Verdict v = judge(log, bars.size() / 2, loop_location(), {});
  CHECK(v.loop_compiled);  // the loop itself compiled: only the branch is lost
  CHECK(names(v, "strategies/side_exit.lua:3: NYI: bytecode FNEW"));
}

TEST_CASE("the per-bar loop's root trace is recorded past the warm-up", "[backtest][jit]") {
  // LuaJIT records a loop's root trace on the iteration its hot counter fires,
  // a few dozen bars in: for one loop that was while rsi_mean_reversion's
  // sma(200) was still nil, and every later bar left the trace by a side exit
  // (docs/performance.md, "The per-bar loop"). M.run_batch's main loop is
  // entered only after its warm-up loop has run 1,000 steps, so its root
  // trace starts on a later bar, whatever the heap layout.
  const auto bars = nvda();
  const auto src = script::read_strategy(std::string(TE_SOURCE_DIR) + "/strategies/rsi_mean_reversion.lua");
  REQUIRE(src);
  const std::string loop = loop_location();
  for (int shift = 0; shift < 3; ++shift) {
    const auto layout_shift = std::make_unique<char[]>(static_cast<std::size_t>(48 * shift + 1));
    const auto log = traced_run(src->path, src->code, bars);
    std::uint64_t first_root = 0, last_root = 0;
    bool root = false;
    for (const auto& e : log.events()) {
      if (e.kind == script::TraceEvent::Kind::Start) {
        root = e.parent == 0 && e.function == loop;
      } else {
        if (e.kind == script::TraceEvent::Kind::Stop && root) {
          if (first_root == 0) first_root = e.bar;
          last_root = e.bar;
        }
        root = false;
      }
    }
    INFO("layout shift " << 48 * shift << ": root traces of the loop completed at bars " << first_root << " .. "
                         << last_root);
    CHECK(first_root > 0);   // the warm-up loop compiled
    CHECK(last_root >= 900);  // and the main loop, past the warm-up (1,000 steps)
  }
}

TEST_CASE("Watch and InTrade bars run in loops of their own", "[backtest][jit]") {
  // One loop for every callback kind has one root trace, recorded on one
  // kind's bar: the other kind's bars left it at the callback's identity guard
  // and ran a side trace (ema_cross: 165 instructions per Watch bar). After the
  // warm-up, M.run_batch runs a kind that repeats in a loop of its own, with
  // a root trace recorded on a bar of that kind (docs/performance.md, "The
  // per-bar loop"): past the warm-up there are three roots in M.run_batch, the
  // generic loop's, Watch's and InTrade's, on every heap layout.
  const auto bars = nvda();
  const auto src = script::read_strategy(std::string(TE_SOURCE_DIR) + "/strategies/sma_cross.lua");
  REQUIRE(src);
  const std::string loop = loop_location();
  for (int shift = 0; shift < 3; ++shift) {
    const auto layout_shift = std::make_unique<char[]>(static_cast<std::size_t>(48 * shift + 1));
    const auto log = traced_run(src->path, src->code, bars);
    std::set<std::string> roots;  // start lines of the loop's root traces completed past the warm-up
    std::string where;
    bool root = false;
    for (const auto& e : log.events()) {
      if (e.kind == script::TraceEvent::Kind::Start) {
        root = e.parent == 0 && e.function == loop;
        where = e.where;
      } else {
        if (e.kind == script::TraceEvent::Kind::Stop && root && e.bar >= 900) roots.insert(where);
        root = false;
      }
    }
    std::ostringstream lines;
    for (const auto& w : roots) lines << ' ' << w;
    INFO("layout shift " << 48 * shift << ": roots of the loop past the warm-up at" << lines.str());
    CHECK(roots.size() == 3);
  }
}

// A strategy whose Watch callback leaves at once on most bars (path A), reads
// and tests more on about one day in 23 and on 7-15 November 2002 (path B:
// around bar 956 of NVDA's daily bars, where Watch's loop is first recorded),
// and enters on about one day in 37; each trade lasts three bars, so Watch
// runs end every few weeks.
constexpr const char* kTwoPaths = R"(
params = {}
function detect_opportunity(bar, ctx, ind)
  local fast, slow = ind.sma(5), ind.sma(20)
  if not (fast and slow) then return nil end
  local day = math.floor(bar.time / 86400000)
  if day % 23 == 0 or (day >= 11998 and day <= 12006) then
    local r, e, a = ind.rsi(14), ind.ema(10), ind.atr(14)
    if r and e and a and r > 101 and e > fast * 2 and a < 0 then return { reason = "never" } end
    return nil
  end
  if day % 37 == 0 then return { reason = "enter" } end
  return nil
end
function filter_commitment(bar, ctx, ind) return enter_long { qty = 1, reason = "t" } end
function manage_position(bar, ctx, ind)
  if ctx.position.bars_held >= 3 then return exit_position("t") end
end
)";

// "lua/prelude.lua:<line>" of Watch's own loop in M.run_batch (the `while`
// after `if kind == 1 then`).
std::string watch_loop_location() {
  std::ifstream in(std::string(TE_SOURCE_DIR) + "/lua/prelude.lua");
  std::string line;
  bool next = false;
  for (int n = 1; std::getline(in, line); ++n) {
    if (next) return "lua/prelude.lua:" + std::to_string(n);
    next = line == "  if kind == 1 then";
  }
  return "";
}

TEST_CASE("Watch's root trace keeps the path most Watch bars take", "[backtest][jit]") {
  // A root trace keeps the path of the bar it was recorded on; the other
  // paths' bars, and the bar after each, run its first copy with every
  // invariant guard (docs/performance.md, "Which path Watch's root keeps").
  // Watch's loop is recorded three times apart and then until a recording has
  // the length most samples had: the root kept is the shortest here (path A,
  // ~93 % of Watch bars), though the first recording took path B. Without the
  // sampling that first recording is the only one (fails the count and keeps
  // path B).
  // When the loop is first recorded depends on the layout too (in one
  // ctest run of a fresh clone, at shift 48, on bar 971, past path B's
  // days, so every recording took path A): at least one layout must show
  // the first recording on path B and the one kept on path A.
  const auto bars = nvda();
  const std::string loop = loop_location(), watch = watch_loop_location();
  REQUIRE(!watch.empty());
  int first_on_b = 0;
  for (int shift = 0; shift < 3; ++shift) {
    const auto layout_shift = std::make_unique<char[]>(static_cast<std::size_t>(48 * shift + 1));
    const auto log = traced_run("strategies/two_paths.lua", kTwoPaths, bars);
    std::vector<int> exits;  // per completed recording of Watch's loop, in order
    std::vector<std::uint64_t> seen_bars;  // (for the message)
    bool root = false;
    for (const auto& e : log.events()) {
      if (e.kind == script::TraceEvent::Kind::Start) {
        root = e.parent == 0 && e.function == loop && e.where == watch;
      } else {
        if (e.kind == script::TraceEvent::Kind::Stop && root) { exits.push_back(e.exits); seen_bars.push_back(e.bar); }
        root = false;
      }
    }
    std::ostringstream seen;
    for (int x : exits) seen << ' ' << x;
    seen << " at bars";
    for (auto x : seen_bars) seen << ' ' << x;
    INFO("layout shift " << 48 * shift << ": exits of each recording of Watch's loop:" << seen.str());
    REQUIRE(exits.size() >= 4);  // three samples, then the kept one
    CHECK(exits.size() <= 7);
    if (exits.front() > exits.back()) ++first_on_b;  // the first recording took path B
    CHECK(exits.back() == *std::min_element(exits.begin(), exits.end()));
  }
  CHECK(first_on_b >= 1);
}
