#include <catch2/catch.hpp>

#include "engine/core/sha256.hpp"
#include "engine/runner/bar_history.hpp"
#include "engine/runner/runner_indicators.hpp"
#include "engine/script/strategy_host.hpp"

using namespace te;

namespace {

std::unique_ptr<script::StrategyHost> host(const std::string& code, runner::RunnerIndicators& ind) {
  script::StrategySource s{"strategies/ctx.lua", code, sha256_hex(code)};
  auto h = script::StrategyHost::create(s, {}, ind, nullptr);
  INFO((h ? "" : h.error().message));
  REQUIRE(h.ok());
  return std::move(*h);
}

const char* kCallbacks = "\nfunction detect_opportunity() end\nfunction filter_commitment() end\nfunction manage_position() end\n";

}  // namespace

TEST_CASE("ctx exports as plain data and imports into another VM", "[unit][script]") {
  runner::GrowingHistory history;
  runner::RunnerIndicators ind(history);
  auto a = host(std::string("params = {}\nfunction on_start(ctx) ctx.n = 3; ctx.name = 'x'; ctx.levels = {1.5, 2.5};"
                            " ctx.nested = {ok = true, deep = {v = -1}} end") + kCallbacks,
                ind);
  REQUIRE(a->on_start().ok());
  auto v = a->export_context();
  REQUIRE(v.ok());
  CHECK(v->find("position") == nullptr);
  CHECK(v->find("account") == nullptr);
  REQUIRE(v->find("n"));
  CHECK(v->find("n")->as_double() == 3);
  CHECK(v->find("levels")->as_array().size() == 2);
  CHECK(v->find("nested")->find("deep")->find("v")->as_double() == -1);

  auto b = host(std::string("params = {}\nfunction on_start(ctx) assert(ctx.n == 3 and ctx.levels[2] == 2.5 and "
                            "ctx.nested.deep.v == -1 and ctx.position.qty == 0) end") + kCallbacks,
                ind);
  REQUIRE(b->import_context(*v).ok());
  CHECK(b->on_start().ok());
  auto again = b->export_context();
  REQUIRE(again.ok());
  CHECK(*again == *v);
}

TEST_CASE("ctx export refuses what is not plain data, naming the path", "[unit][script]") {
  runner::GrowingHistory history;
  runner::RunnerIndicators ind(history);
  struct Case {
    const char* setup;
    const char* message;
  } cases[] = {
      {"ctx.f = function() end", "ctx.f is a function"},
      {"ctx.t = {}; ctx.t.self = ctx.t", "ctx.t.self refers back to itself"},
      {"ctx.m = {1, 2, x = 3}", "ctx.m mixes keys"},
      {"ctx.a = {{}, {coroutine.create(function() end)}}", "ctx.a[2][1] is a thread"},
  };
  for (const auto& c : cases) {
    auto h = host(std::string("params = {}\nfunction on_start(ctx) ") + c.setup + " end" + kCallbacks, ind);
    REQUIRE(h->on_start().ok());
    auto v = h->export_context();
    INFO(c.setup);
    REQUIRE_FALSE(v.ok());
    CHECK_THAT(v.error().message, Catch::Contains(c.message));
  }
}
