// StrategyHost::call, the per-call path (live trading, bars a batch hands
// back): the host keeps its error handler and one entry point per callback
// kind on the VM's stack and reads the action kind from the frame. These pin
// what that must keep: the kind of every callback's result, and every
// callback still reachable after strategy errors and after the host's other
// entries ran in between.
#include <catch2/catch.hpp>

#include <string>

#include "engine/core/sha256.hpp"
#include "engine/runner/bar_history.hpp"
#include "engine/runner/runner_indicators.hpp"
#include "engine/script/strategy_host.hpp"
#include "engine/script/te_ffi.h"

using namespace te;

namespace {

const char* kStrategy = R"LUA(
params = {}
function on_start(ctx) ctx.calls = 0 end
function detect_opportunity(bar, ctx, ind)
  ctx.calls = ctx.calls + 1
  if bar.close < 0 then error("bad bar " .. bar.close) end
  if bar.close > 100 then return { reason = "high" } end
end
function filter_commitment(bar, ctx, ind) return enter_long { qty = 2 } end
function manage_position(bar, ctx, ind)
  if bar.close > 100 then return exit_position("done") end
end
)LUA";

std::unique_ptr<script::StrategyHost> make_host(runner::RunnerIndicators& ind) {
  script::StrategySource s{"strategies/call.lua", kStrategy, sha256_hex(kStrategy)};
  auto h = script::StrategyHost::create(s, {}, ind, nullptr);
  INFO((h ? "" : h.error().message));
  REQUIRE(h.ok());
  REQUIRE((*h)->on_start().ok());
  return std::move(*h);
}

int call_at(script::StrategyHost& h, script::Callback cb, double close, double index) {
  te_frame& f = h.frame();
  f.bar.open = f.bar.high = f.bar.low = f.bar.close = close;
  f.bar.volume = 1;
  f.bar.time_ms = index * 60000;
  f.bar_index = index;
  return h.call(cb);
}

}  // namespace

TEST_CASE("StrategyHost::call returns each callback's action kind, nil as none", "[unit][script]") {
  runner::GrowingHistory history;
  runner::RunnerIndicators ind(history);
  auto h = make_host(ind);
  using script::Callback;
  CHECK(call_at(*h, Callback::DetectOpportunity, 150, 0) == script::kActSetup);
  CHECK(h->action_reason() == "high");
  // A nil result after an action is none, not the previous action's kind.
  CHECK(call_at(*h, Callback::DetectOpportunity, 50, 1) == script::kActNone);
  CHECK(call_at(*h, Callback::FilterCommitment, 50, 2) == script::kActEnterLong);
  CHECK(h->action().qty == 2);
  CHECK(call_at(*h, Callback::ManagePosition, 50, 3) == script::kActNone);
  CHECK(call_at(*h, Callback::ManagePosition, 150, 4) == script::kActExit);
  CHECK(h->action_reason() == "done");
  CHECK(call_at(*h, Callback::DetectOpportunity, 50, 5) == script::kActNone);
}

TEST_CASE("StrategyHost::call: after strategy errors and other host entries every callback still runs", "[unit][script]") {
  runner::GrowingHistory history;
  runner::RunnerIndicators ind(history);
  auto h = make_host(ind);
  using script::Callback;
  constexpr int kRounds = 20'000;
  int errors = 0, entries = 0, exits = 0;
  for (int i = 0; i < kRounds; ++i) {
    // A failed call unwinds to the host's handler; the entry points of all
    // three kinds must still be where call() finds them.
    if (call_at(*h, Callback::DetectOpportunity, -1, 3.0 * i) == -1) ++errors;
    if (i == 0) {
      CHECK(h->last_error().kind == script::ErrorKind::Error);
      CHECK(h->last_error().message == "strategies/call.lua:6: bad bar -1");
      CHECK(h->last_error().callback == "detect_opportunity");
    }
    if (call_at(*h, Callback::FilterCommitment, 50, 3.0 * i + 1) == script::kActEnterLong) ++entries;
    if (call_at(*h, Callback::ManagePosition, 150, 3.0 * i + 2) == script::kActExit) ++exits;
    if (i % 1000 == 0) {
      // The host's other entries run between calls and leave the stack as they found it.
      auto ctx = h->export_context();
      REQUIRE(ctx.ok());
      CHECK(h->defines("on_start"));
    }
  }
  CHECK(errors == kRounds);
  CHECK(entries == kRounds);
  CHECK(exits == kRounds);
  CHECK_FALSE(h->poisoned());
  auto ctx = h->export_context();
  REQUIRE(ctx.ok());
  REQUIRE(ctx->find("calls"));
  CHECK(ctx->find("calls")->as_double() == kRounds);
}
