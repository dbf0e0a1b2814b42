// The search space, its enumeration and the results-row format.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "engine/backtest/optimizer.hpp"
#include "engine/config/param_space.hpp"
#include "engine/data/load_bars.hpp"
#include "tests/support/temp_files.hpp"

using namespace te::backtest;
using te::test::TempDir;

namespace {
SearchSpace space(std::initializer_list<const char*> specs) {
  SearchSpace s;
  for (const char* spec : specs) {
    auto a = parse_axis(spec);
    REQUIRE(a);
    s.axes.push_back(*a);
  }
  return s;
}
}  // namespace

TEST_CASE("axis specs: ranges, lists, fixed values, continuous ranges", "[backtest][optimize]") {
  auto r = parse_axis("fast=5:50:5");
  REQUIRE(r);
  CHECK(r->name == "fast");
  CHECK(r->values.size() == 10);
  CHECK(r->values.front() == "5");
  CHECK(r->values.back() == "50");
  auto d = parse_axis("w=0.1:0.5:0.1");
  REQUIRE(d);
  CHECK(d->values == std::vector<std::string>{"0.1", "0.2", "0.3", "0.4", "0.5"});
  auto l = parse_axis(" slow = 20, 30 ,50");
  REQUIRE(l);
  CHECK(l->name == "slow");
  CHECK(l->values == std::vector<std::string>{"20", "30", "50"});
  auto f = parse_axis("mode=fast");
  REQUIRE(f);
  CHECK(f->values == std::vector<std::string>{"fast"});
  auto c = parse_axis("k=1:9");
  REQUIRE(c);
  CHECK(c->continuous);
  CHECK(c->integer);
  auto cr = parse_axis("k=0.5:2");
  REQUIRE(cr);
  CHECK(!cr->integer);
  for (const char* bad : {"fast", "=5", "fast=", "fast=5:1:1", "fast=1:5:0", "fast=a:b:1", "f=1,,2", "1x=3", "f=1:2:3:4"}) {
    INFO(bad);
    auto e = parse_axis(bad);
    REQUIRE(!e);
    CHECK_THAT(e.error().message, Catch::StartsWith("parameter space "));
  }
}

TEST_CASE("grid enumeration: last axis fastest, every combination once", "[backtest][optimize]") {
  SearchPlan p;
  p.space = space({"a=1,2,3", "b=10,20"});
  REQUIRE(*space_size(p) == 6);
  CHECK(combination(p, 0) == std::vector<std::string>{"1", "10"});
  CHECK(combination(p, 1) == std::vector<std::string>{"1", "20"});
  CHECK(combination(p, 5) == std::vector<std::string>{"3", "20"});
  p.space.axes.push_back(*parse_axis("c=0:1"));
  CHECK(!space_size(p));  // continuous axis in a grid
}

TEST_CASE("random search over a lattice samples without replacement, deterministically", "[backtest][optimize]") {
  SearchPlan p;
  p.space = space({"a=1:37:1", "b=1:11:1"});  // 407 combinations: not a power of two
  p.method = SearchMethod::Random;
  p.samples = 407;
  p.seed = 9;
  REQUIRE(*space_size(p) == 407);
  std::set<std::vector<std::string>> seen;
  for (std::uint64_t i = 0; i < 407; ++i) seen.insert(combination(p, i));
  CHECK(seen.size() == 407);  // a permutation: all distinct
  p.samples = 5000;
  CHECK(*space_size(p) == 407);
  SearchPlan q = p;
  q.seed = 10;
  CHECK(combination(p, 0) != combination(q, 0));
  CHECK(combination(p, 3) == combination(p, 3));
  // Continuous axes: draws inside the range.
  SearchPlan c;
  c.method = SearchMethod::Random;
  c.samples = 50;
  c.space = space({"x=0.5:2", "n=3:7"});
  for (std::uint64_t i = 0; i < 50; ++i) {
    const auto v = combination(c, i);
    const double x = std::stod(v[0]);
    const int n = std::stoi(v[1]);
    CHECK((x >= 0.5 && x <= 2));
    CHECK((n >= 3 && n <= 7));
  }
}

TEST_CASE("shards partition the space", "[backtest][optimize]") {
  SearchPlan p;
  p.shards = 3;
  std::uint64_t sum = 0;
  for (std::uint32_t i = 0; i < 3; ++i) {
    p.shard = i;
    sum += shard_size(10, p);
  }
  CHECK(sum == 10);
  p.shard = 0;
  CHECK(shard_size(10, p) == 4);
  p.shard = 2;
  CHECK(shard_size(10, p) == 3);
}

TEST_CASE("constraints compare parameters and numbers", "[backtest][optimize]") {
  SearchSpace s = space({"fast=5,10", "slow=8,20"});
  auto c = parse_constraint("fast < slow", s);
  REQUIRE(c);
  s.constraints.push_back(*c);
  CHECK(satisfies(s, {"5", "8"}));
  CHECK(!satisfies(s, {"10", "8"}));
  s.constraints.push_back(*parse_constraint("slow<=10", s));
  CHECK(!satisfies(s, {"5", "20"}));
  CHECK(!parse_constraint("fast ~ slow", s));
  CHECK(!parse_constraint("fast < nope", s));
}

TEST_CASE("results rows round-trip", "[backtest][optimize]") {
  ComboResult r;
  r.index = 42;
  r.values = {"10", "0.25"};
  r.status = "faulted";
  r.error = "x.lua:3: boom, \"quoted\"";
  r.metrics.trades = 7;
  r.metrics.sharpe = 1.25;
  r.metrics.sortino = std::nan("");
  r.metrics.bars = 1000;
  r.objective = 1.25;
  r.blocks.sum = {0.1, -0.2};
  r.blocks.sum_sq = {0.01, 0.04};
  r.blocks.count = {500, 500};
  const std::string row = format_row(r);
  auto p = parse_row(row, 2);
  REQUIRE(p);
  CHECK(format_row(*p) == row);
  CHECK(p->error == r.error);
  CHECK(std::isnan(p->metrics.sortino));
  CHECK(p->blocks.count[1] == 500);
  CHECK(results_header(SearchSpace{{{"fast", {}}, {"w", {}}}, {}}).rfind("combo,fast,w,status,objective,valid,trades,", 0) == 0);
  CHECK(!parse_row("1,2,3\n", 2));
}

TEST_CASE("objectives by name", "[backtest][optimize]") {
  for (const char* n : {"sharpe", "sortino", "calmar", "total_return", "annualized_return", "profit_factor", "expectancy", "psr"}) {
    auto o = parse_objective(n);
    REQUIRE(o);
    CHECK(to_string(*o) == n);
  }
  CHECK(!parse_objective("alpha"));
}

TEST_CASE("parameter space TOML: every problem reported with its line", "[backtest][optimize][config]") {
  auto ok = te::config::parse_param_space(
      "[params]\nfast = { min = 5, max = 50, step = 5 }\nslow = [20, 30, 50]\nstake = 1000\nw = { min = 0.5, max = 2.0 }\n"
      "[search]\nmethod = \"random\"\nsamples = 40\nseed = 3\nobjective = \"sortino\"\nmin_trades = 5\nconstraints = [\"fast < slow\"]\n",
      "space.toml");
  REQUIRE(ok);
  REQUIRE(ok->axes.size() == 4);
  CHECK(ok->axes[0].range);
  CHECK(ok->axes[0].step == "5");
  CHECK(ok->axes[1].values == std::vector<std::string>{"20", "30", "50"});
  CHECK(ok->axes[2].values == std::vector<std::string>{"1000"});
  CHECK(ok->axes[3].step.empty());
  CHECK(ok->method == "random");
  CHECK(*ok->samples == 40);
  CHECK(ok->constraints == std::vector<std::string>{"fast < slow"});
  auto bad = te::config::parse_param_space("[params]\nfast = { min = 5, stepp = 1 }\nslow = []\n[search]\nmethod = \"annealing\"\nfoo = 1\n[other]\n",
                                           "bad.toml");
  REQUIRE(!bad);
  const std::string& m = bad.error().message;
  CHECK_THAT(m, Catch::Contains("bad.toml:2") && Catch::Contains("params.fast.stepp"));
  CHECK_THAT(m, Catch::Contains("params.fast: a range needs min and max"));
  CHECK_THAT(m, Catch::Contains("bad.toml:3") && Catch::Contains("empty"));
  CHECK_THAT(m, Catch::Contains("search.method"));
  CHECK_THAT(m, Catch::Contains("search.foo"));
  CHECK_THAT(m, Catch::Contains("other"));
}

// A worker runs many combinations one after the other (SearchWorker): nothing a
// strategy did in one may reach the next. The strategy below keeps a global
// counter, a value stashed in ctx and one in a shared library table (refused
// by the sandbox, so tried under pcall): if any of them survived into the next
// combination, that combination's trades (and so its row) would change.
TEST_CASE("a combination's row is the same run first, after others, alone, on 1 or 2 threads",
          "[backtest][optimize]") {
  auto src = te::script::make_strategy_source("leaky.lua",
                                              "params = { every = 7, stake = 1 }\n"
                                              "local ok, prev = pcall(function() return calls end)\n"
                                              "calls = ok and prev or 0  -- a global left by an earlier run?\n"
                                              "pcall(function() math.leak = (math.leak or 0) + 1 end)\n"
                                              "local function tick(ctx)\n"
                                              "  calls = calls + 1 + (math.leak or 1) - 1\n"
                                              "  ctx.seen = (ctx.seen or 0) + 1\n"
                                              "  return (calls + ctx.seen) % params.every == 0\n"
                                              "end\n"
                                              "function detect_opportunity(bar, ctx, ind)\n"
                                              "  if tick(ctx) and ind.sma(params.every) < bar.close then\n"
                                              "    return { reason = 'tick' } end\n"
                                              "end\n"
                                              "function filter_commitment(bar, ctx, ind)\n"
                                              "  return enter_long { qty = params.stake }\n"
                                              "end\n"
                                              "function manage_position(bar, ctx, ind)\n"
                                              "  if tick(ctx) then return exit_position('tock') end\n"
                                              "end\n");
  REQUIRE(src);
  te::data::LoadOptions lo;
  lo.cache.read = lo.cache.write = false;
  auto bars = te::data::load_bars(std::string(TE_SHARED_DIR) + "/data/orcl-1995-2014.txt", lo);
  REQUIRE(bars);
  TempDir dir;
  SearchJob job;
  job.plan.space = space({"every=3:11:2", "stake=1,5"});
  job.base.exchange.commission.rate = 0.001;
  job.data = &*bars;
  job.strategy = &*src;
  job.min_trades = 1;

  auto run = [&](unsigned threads, const std::string& name) {
    SearchJob j = job;
    j.threads = threads;
    j.results_path = dir.file(name);
    auto out = run_search(j);
    if (!out) FAIL(out.error().message);
    REQUIRE(out->complete);
    std::ifstream in(j.results_path);
    std::vector<std::string> rows;
    for (std::string l; std::getline(in, l);) rows.push_back(l + "\n");
    REQUIRE(rows.size() == 11);  // header + 10
    rows.erase(rows.begin());
    return rows;
  };
  const auto one = run(1, "one.csv");
  CHECK(run(2, "two.csv") == one);

  std::set<std::string> distinct;
  for (std::uint64_t i = 0; i < 10; ++i) {
    // Alone, on a worker of its own.
    const ComboResult alone = evaluate_combination(job, i);
    CHECK(alone.status == "ok");
    CHECK(alone.metrics.trades > 0);
    CHECK(format_row(alone) == one[i]);
    distinct.insert(format_row(alone).substr(format_row(alone).find(",ok,")));
  }
  CHECK(distinct.size() == 10);  // the parameters matter: the rows differ
  // One worker, in reverse order and with repeats: each row as in the search.
  SearchWorker worker(job);
  for (std::uint64_t i : {9, 3, 3, 0, 7, 9, 1}) {
    INFO("combination " << i);
    CHECK(format_row(worker.evaluate(i)) == one[i]);
  }
}
