// The quote fields of the strategy's `bar` (lua/views.lua, copy_bar): a field
// is there when the frame's value is not NaN and absent (nil, not a key of
// `bar`) otherwise, on every callback, whatever the bars before had. copy_bar
// skips the four fields when none has a value and none had one (one flag for
// the four); these cases run the transitions often enough for the callback
// to be compiled, in both directions and one field at a time.
#include <catch2/catch.hpp>

#include <limits>
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
local function show(v) if v == nil then return "-" end return tostring(v) end
function detect_opportunity(bar, ctx, ind)
  local keys = 0
  for _ in pairs(bar) do keys = keys + 1 end
  return { reason = show(bar.bid) .. " " .. show(bar.ask) .. " " .. show(bar.bid_size) .. " " ..
                    show(bar.ask_size) .. " " .. keys }
end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
)LUA";

}  // namespace

TEST_CASE("bar has the quote fields the frame's bar has, and no others", "[unit][script][jit]") {
  runner::GrowingHistory history;
  runner::RunnerIndicators ind(history);
  script::StrategySource s{"strategies/quotes.lua", kStrategy, sha256_hex(kStrategy)};
  auto h = script::StrategyHost::create(s, {}, ind, nullptr);
  INFO((h ? "" : h.error().message));
  REQUIRE(h.ok());
  REQUIRE((*h)->on_start().ok());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Case {
    double bid, ask, bid_size, ask_size;
    const char* reason;  // the four fields ("-" when absent) and bar's key count
  };
  // bar's other keys: symbol, time, open, high, low, close, volume.
  const Case cases[] = {
      {nan, nan, nan, nan, "- - - - 7"},
      {nan, nan, nan, nan, "- - - - 7"},
      {1.5, nan, nan, nan, "1.5 - - - 8"},
      {1.5, 1.75, 10, 0, "1.5 1.75 10 0 11"},
      {1.25, nan, 10, 0, "1.25 - 10 0 10"},
      {nan, nan, nan, nan, "- - - - 7"},
      {nan, nan, nan, 0, "- - - 0 8"},
      {nan, 2, nan, nan, "- 2 - - 8"},
      {nan, nan, nan, nan, "- - - - 7"},
      {nan, nan, nan, nan, "- - - - 7"},
  };
  int n = 0;
  for (int round = 0; round < 300; ++round) {
    for (const Case& c : cases) {
      te_frame& f = (*h)->frame();
      f.bar.open = f.bar.high = f.bar.low = f.bar.close = 100;
      f.bar.volume = 1;
      f.bar.bid = c.bid;
      f.bar.ask = c.ask;
      f.bar.bid_size = c.bid_size;
      f.bar.ask_size = c.ask_size;
      f.bar_index = n;
      f.bar.time_ms = n * 60000.0;
      REQUIRE((*h)->call(script::Callback::DetectOpportunity) == script::kActSetup);
      INFO("round " << round << ", expected " << c.reason);
      REQUIRE(std::string((*h)->action_reason()) == c.reason);
      ++n;
    }
  }
  CHECK(n == 3000);
}
