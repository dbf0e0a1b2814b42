// What `ind.<name>(...)` gives for the values a native indicator's slots hold
// (lua/indicators.lua, reader_source): nil for NaN (either sign), every other
// double as it is (±inf and −0 included), for the first output and the
// others. The readers test "no value" as `v >= -inf` (one compare and one
// branch in a trace) instead of `v ~= v`; both are false for NaN only, and
// these cases run each value often enough for the callback to be compiled.
#include <catch2/catch.hpp>

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "engine/core/sha256.hpp"
#include "engine/script/strategy_host.hpp"
#include "engine/script/te_ffi.h"
#include "engine/ta/ind_view.h"

using namespace te;

namespace {

// One three-output indicator "probe" whose current values the test sets.
class ProbeIndicators final : public script::IndicatorProvider {
 public:
  // (ind_view.h: the current values are the ring's entries at head, here 0
  // in a ring of two.)
  ProbeIndicators() {
    view_.current = ring_;
    view_.history = ring_;
    view_.updates = 1;
    view_.history_mask = 1;
    view_.head = 0;
    view_.slot_count = 3;
    view_.slot_capacity = 4;
    view_.history_max = 0;
  }
  std::vector<script::IndicatorDesc> catalogue() const override {
    return {script::IndicatorDesc{"probe", 1, {1.0}, 3, false}};
  }
  const void* view() const noexcept override { return &view_; }
  Result<int> add(std::string_view, std::span<const double>, std::string_view, std::string_view) override {
    return 0;
  }
  Result<int> crossover(int, int) override { return make_error(Errc::invalid_argument, "no crossovers here"); }
  std::size_t history_size() const noexcept override { return 0; }
  model::Bar history_bar(std::size_t) const noexcept override { return {}; }
  Result<int> timeframe_feed(std::string_view) override { return make_error(Errc::invalid_argument, "no feeds here"); }
  std::size_t feed_closed(int, std::size_t) const noexcept override { return 0; }
  bool feed_bar(int, std::size_t, model::Bar&) const noexcept override { return false; }

  void set(double a, double b, double c) {
    ring_[0] = a;
    ring_[2] = b;
    ring_[4] = c;
  }

 private:
  double ring_[8] = {};  // slot s's ring at [2s, 2s + 1]
  te_ind_view view_{};
};

// The reason names each output: "nil", "nan" (never expected), or the value
// (−0 and the infinities told apart from 0 and from each other).
const char* kStrategy = R"LUA(
params = {}
local function show(v)
  if v == nil then return "nil" end
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  if v == 0 and 1 / v < 0 then return "-0" end
  return tostring(v)
end
function detect_opportunity(bar, ctx, ind)
  local a, b, c = ind.probe(1)
  return { reason = show(a) .. " " .. show(b) .. " " .. show(c) }
end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
)LUA";

double nan_with_sign(bool negative) {
  std::uint64_t bits = std::bit_cast<std::uint64_t>(std::numeric_limits<double>::quiet_NaN());
  if (negative) bits |= std::uint64_t{1} << 63;
  return std::bit_cast<double>(bits);
}

}  // namespace

TEST_CASE("ind readers give nil for NaN and every other value as it is", "[unit][script][jit]") {
  ProbeIndicators probe;
  script::StrategySource s{"strategies/probe.lua", kStrategy, sha256_hex(kStrategy)};
  auto h = script::StrategyHost::create(s, {}, probe, nullptr);
  INFO((h ? "" : h.error().message));
  REQUIRE(h.ok());
  REQUIRE((*h)->on_start().ok());
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = nan_with_sign(false), neg_nan = nan_with_sign(true);
  struct Case {
    double a, b, c;
    const char* reason;
  };
  const Case cases[] = {
      {1.5, 2.5, -3.5, "1.5 2.5 -3.5"},
      {nan, 2.5, -3.5, "nil nil nil"},  // a first output with no value: nil for all
      {neg_nan, 2.5, -3.5, "nil nil nil"},
      {1.5, nan, neg_nan, "1.5 nil nil"},
      {-inf, inf, -0.0, "-inf inf -0"},
      {inf, -inf, 0.0, "inf -inf 0"},
      {-0.0, nan, inf, "-0 nil inf"},
      {-1e308, 4.9e-324, -4.9e-324, "-1e+308 4.9406564584125e-324 -4.9406564584125e-324"},
  };
  // Each case in turn, 400 rounds: the callback is compiled on the first
  // rounds (on whichever case was then current) and every case then runs
  // through the compiled readers, most of them leaving the recorded path.
  int checked = 0;
  for (int round = 0; round < 400; ++round) {
    for (const Case& c : cases) {
      probe.set(c.a, c.b, c.c);
      te_frame& f = (*h)->frame();
      f.bar.open = f.bar.high = f.bar.low = f.bar.close = 100;
      f.bar.volume = 1;
      f.bar_index = checked;
      f.bar.time_ms = checked * 60000.0;
      REQUIRE((*h)->call(script::Callback::DetectOpportunity) == script::kActSetup);
      INFO("round " << round << ", expected " << c.reason);
      REQUIRE(std::string((*h)->action_reason()) == c.reason);
      ++checked;
    }
  }
  CHECK(checked == 3200);
}
