#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "engine/core/sha256.hpp"
#include "engine/runner/bar_history.hpp"
#include "engine/runner/runner_indicators.hpp"
#include "engine/script/context_codec.hpp"
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

namespace {

// A loop export by hand (layout in context_codec.hpp):
// {a = 1.5, b = "xy", c = {true, false, 2}, d = {}, e = {f = {3}}}
std::vector<std::uint8_t> sample_loop_export() {
  std::vector<std::uint8_t> out;
  auto u32 = [&](std::uint32_t v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    out.insert(out.end(), p, p + 4);
  };
  auto num = [&](double d) {
    out.push_back(3);
    const auto* p = reinterpret_cast<const std::uint8_t*>(&d);
    out.insert(out.end(), p, p + 8);
  };
  auto key = [&](const char* k) {
    u32(static_cast<std::uint32_t>(std::strlen(k)));
    out.insert(out.end(), k, k + std::strlen(k));
  };
  out.push_back(5), u32(5);
  key("a"), num(1.5);
  key("b"), out.push_back(4), u32(2), out.push_back('x'), out.push_back('y');
  key("c"), out.push_back(7), u32(3), out.push_back(2), out.push_back(1), num(2);
  key("d"), out.push_back(6), u32(0);
  key("e"), out.push_back(5), u32(1), key("f"), out.push_back(7), u32(1), num(3);
  return out;
}

}  // namespace

TEST_CASE("a loop export is judged well formed exactly when it decodes", "[unit][script]") {
  const auto good = sample_loop_export();
  auto v = script::decode_loop_export(good.data(), good.size());
  REQUIRE(v.ok());
  CHECK(v->find("b")->as_string() == "xy");
  CHECK(v->find("e")->find("f")->as_array().size() == 1);
  CHECK(script::loop_export_well_formed(good.data(), good.size()));
  // Every truncation, and every byte replaced by every other value.
  std::size_t refused = 0;
  for (std::size_t n = 0; n < good.size(); ++n) {
    CHECK_FALSE(script::loop_export_well_formed(good.data(), n));
    CHECK_FALSE(script::decode_loop_export(good.data(), n).ok());
  }
  for (std::size_t i = 0; i < good.size(); ++i) {
    auto bad = good;
    for (int b = 0; b < 256; ++b) {
      bad[i] = static_cast<std::uint8_t>(b);
      const bool decodes = script::decode_loop_export(bad.data(), bad.size()).ok();
      const bool judged = script::loop_export_well_formed(bad.data(), bad.size());
      if (decodes != judged) FAIL_CHECK("byte " << i << " = " << b << ": decodes " << decodes << ", judged " << judged);
      refused += decodes ? 0 : 1;
    }
  }
  CHECK(refused > good.size() * 50);  // many corruptions are refused (not only accepted ones compared)
}

TEST_CASE("export_size is the loop export's length", "[unit][script]") {
  // sample_loop_export's bytes decode to a value whose export_size is their count.
  const auto bytes = sample_loop_export();
  auto v = script::decode_loop_export(bytes.data(), bytes.size());
  REQUIRE(v.ok());
  CHECK(script::export_size(*v) == bytes.size());
  CHECK(script::export_size(Value::empty_map()) == 5);
  CHECK(script::export_size(Value(std::string(1000, 'x'))) == 1005);
}

TEST_CASE("a ctx of many references to one string stops at the export's byte limit", "[unit][script][sandbox]") {
  // 1 KB of string, referred to 400 times: one string in Lua, 400 KB as data.
  runner::GrowingHistory history;
  runner::RunnerIndicators ind(history);
  auto h = host(std::string("params = {}\nfunction on_start(ctx) local s = string.rep('y', 1000) ctx.n = 1 "
                            "ctx.refs = {} for i = 1, 400 do ctx.refs[i] = s end end") +
                    kCallbacks,
                ind);
  REQUIRE(h->on_start().ok());
  const std::size_t full = 5 + (4 + 1 + 9) + (4 + 4 + 5 + 400 * 1005);  // {n = 1, refs = {...}}
  auto whole = h->export_context();  // a reload's export: ContextLimits' default
  REQUIRE(whole.ok());
  CHECK(script::export_size(*whole) == full);

  h->set_ctx_export_limit(full);  // exactly its size: exported
  auto at = h->export_context_shared();
  REQUIRE(at.ok());
  CHECK(**at == *whole);

  h->set_ctx_export_limit(full - 1);
  auto over = h->export_context_shared();
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().code == Errc::limit);
  // (Named at the value that crossed the limit: the last one, in pairs order.)
  CHECK_THAT(over.error().message, Catch::StartsWith("ctx.") &&
                                       Catch::Contains("more than " + std::to_string(full - 1) + " bytes as data"));

  h->set_ctx_export_limit(100'000);  // stopped about a tenth of the way in
  auto early = h->export_context_shared();
  REQUIRE_FALSE(early.ok());
  CHECK_THAT(early.error().message, Catch::Contains("ctx.refs[100]:"));
  CHECK(h->export_context().ok());  // the reload's export is not the recorder's limit
}
