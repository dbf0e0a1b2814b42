// lua/actions.lua's fast paths for entries, checked against the general ones:
// a spec without a metatable is read by value (its fields by name when they
// are all its keys, counted by table.nkeys, else one next() walk, up to four
// keys) while one with a metatable, or with five keys or more, is read field
// by field between the checks; and an action whose fields equal the last
// one's is written into the frame by copying a kept encoding instead of from
// its fields. Each pair must give the same errors (text and line) and the same
// bytes in the frame's action block.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "engine/core/sha256.hpp"
#include "engine/runner/bar_history.hpp"
#include "engine/runner/runner_indicators.hpp"
#include "engine/script/strategy_host.hpp"
#include "engine/script/te_ffi.h"

using namespace te;

namespace {

// filter_commitment returns the entry built from case bar.close; with
// bar.volume 2 the same table is given a (plain) metatable first, which sends
// it down the field-by-field path. manage_position does the same for exits.
// With bar.volume 3 either returns the first action it built for that case
// again (an action kept by the strategy; on the callbacks' first lines, so the
// lines the error texts name stay where they were).
const char* kStrategy = R"LUA(
params = {}
local long = string.rep("r", 150)
local CASES = {
  { qty = 5 },
  { fraction = 0.5, reason = "half" },
  { qty = -1 },
  { qty = 1, fraction = 0.5 },
  {},
  { risk = 0.01 },
  { risk = 0.01, stop = 9, reason = "risk" },
  { risk = 2, stop = 9 },
  { qty = 1, foo = 2 },
  { foo = 1, bar = 2, qty = 1 },
  { qty = 1, tif = "zzz" },
  { qty = 1, tif = "day", bars = 3 },
  { qty = 1, bars = 2.5 },
  { qty = 1, bars = 4, reason = "four bars" },
  { qty = 1, tif = "ioc" },
  { qty = 1, trail = 1, trail_pct = 0.1 },
  { qty = 1, trail_pct = 0.1, reason = long },
  { qty = 1, limit = 10, stop_entry = 11, stop = 9, target = 12, reason = "six" },
  { qty = 1, limit = 10, stop = 9, reason = 5 },
  { qty = 1, [1] = 2 },
  { qty = false },
  { qty = 1, max_bars = 3.5 },
  { fraction = 0.1, breakeven = 2, max_bars = 10, reason = "be" },
  { qty = 0 / 0 },
  { qty = 1, limit = 10 },
  { qty = 1, stop_entry = 11, reason = "stop entry" },
  { qty = 1, limit = 10, stop_entry = 11 },
  { qty = 2, limit = 10, stop_entry = 11, tif = "gtc", reason = "five keys" },
  { risk = 0.02, trail = 3, target = 20, reason = "trail" },
  { qty = 3, stop = -1 },
  { qty = 1, unknown_a = 1, unknown_b = 2, unknown_c = 3, unknown_d = 4 },
  { qty = 1, limit = -1, stop = -2, target = -3 },
  { fraction = -1, risk = 5 },
  { stop = 1, trail = 2, trail_pct = 3, breakeven = -1 }, { qty = 1, tif = "ioc" }, { qty = 1, tif = "day" }, { qty = 1 }, { qty = 2 }, { fraction = 0.5 }, { fraction = 0.25 }, { risk = 0.01, stop = 9 }, { risk = 0.02, stop = 9 }, { risk = 0.01, stop = 8 }, { qty = 1, target = 12 }, { qty = 1, target = 13 }, { qty = 1, limit = 10 }, { qty = 1, limit = 11 }, { qty = 1, stop_entry = 11 }, { qty = 1, stop_entry = 12 }, { qty = 1, trail = 1 }, { qty = 1, trail = 2 }, { qty = 1, trail_pct = 0.1 }, { qty = 1, trail_pct = 0.2 }, { qty = 1, breakeven = 2 }, { qty = 1, breakeven = 3 }, { qty = 1, max_bars = 10 }, { qty = 1, max_bars = 11 }, { qty = 1, bars = 3 }, { qty = 1, bars = 4 }, { qty = 1, reason = "a" }, { qty = 1, reason = "b" }, { qty = 7 },
}
local EXITS = {
  { reason = "all" },
  { fraction = 0.5 },
  { fraction = 2 },
  { qty = 1, fraction = 0.5 },
  { qty = 3, limit = 10, bars = 2, reason = "partial" },
  { zzz = 1 }, { reason = "a", tif = "ioc" }, { reason = "a", tif = "day" }, { reason = "a" }, { reason = "b" }, { fraction = 0.5 }, { fraction = 0.25 }, { qty = 1 }, { qty = 2 }, { qty = 3, limit = 10 }, { qty = 3, limit = 11 }, { qty = 3, limit = 10, bars = 2 }, { qty = 3, limit = 10, bars = 3 }, { reason = "other" },
}
local function pick(list, bar)
  local spec = list[bar.close]
  if type(spec) == "table" then setmetatable(spec, bar.volume == 2 and {} or nil) end
  return spec
end
function detect_opportunity(bar, ctx, ind) end local KEPT, KEPT_EXITS = {}, {}
function filter_commitment(bar, ctx, ind) if bar.volume == 3 then return KEPT[bar.close] end
  local a = enter_long(pick(CASES, bar))
  if KEPT[bar.close] == nil then KEPT[bar.close] = a end
  return a
end
function manage_position(bar, ctx, ind) if bar.volume == 3 then return KEPT_EXITS[bar.close] end
  local a = exit_position(pick(EXITS, bar))
  if KEPT_EXITS[bar.close] == nil then KEPT_EXITS[bar.close] = a end
  return a
end
)LUA";
constexpr int kCases = 62;  // (35..62: one field apart in pairs, see the last test)
constexpr int kExits = 19;  // (7..19: the same for exits)

std::unique_ptr<script::StrategyHost> make_host(runner::RunnerIndicators& ind, const char* code = kStrategy) {
  script::StrategySource s{"strategies/spec.lua", code, sha256_hex(code)};
  auto h = script::StrategyHost::create(s, {}, ind, nullptr);
  INFO((h ? "" : h.error().message));
  REQUIRE(h.ok());
  REQUIRE((*h)->on_start().ok());
  return std::move(*h);
}

// What a call left: its result, the error text, and the action block's bytes
// that encode() writes (order_type to the end of the reason).
struct CallResult {
  int kind = 0;
  std::string error;
  std::string bytes;
  bool operator==(const CallResult& o) const { return kind == o.kind && error == o.error && bytes == o.bytes; }
};

CallResult call_case(script::StrategyHost& h, script::Callback cb, int index, double form) {
  te_frame& f = h.frame();
  // Garbage first: every byte compared must be written by the call.
  std::memset(&f.action, 0xAB, sizeof f.action);
  f.bar.open = f.bar.high = f.bar.low = f.bar.close = index;
  f.bar.volume = form;
  f.bar_index = f.bar_index + 1;
  f.bar.time_ms = f.bar_index * 60000;
  CallResult r;
  r.kind = h.call(cb);
  if (r.kind == -1) {
    r.error = h.last_error().message;
  } else {
    const auto from = offsetof(te_action, order_type);
    const auto to = offsetof(te_action, reason) + static_cast<std::size_t>(f.action.reason_len);
    r.bytes.assign(reinterpret_cast<const char*>(&f.action) + from, to - from);
  }
  return r;
}

}  // namespace

TEST_CASE("entry and exit specs read by value or field by field give the same errors and actions", "[unit][script]") {
  runner::GrowingHistory history;
  runner::RunnerIndicators ind(history);
  auto h = make_host(ind);
  using script::Callback;
  int errors = 0;
  for (int i = 1; i <= kCases; ++i) {
    INFO("entry case " << i);
    const CallResult plain = call_case(*h, Callback::FilterCommitment, i, 1);
    const CallResult with_mt = call_case(*h, Callback::FilterCommitment, i, 2);
    CHECK(plain == with_mt);
    if (plain.kind == -1) ++errors;
    else CHECK(plain.kind == script::kActEnterLong);
  }
  CHECK(errors == 21);
  for (int i = 1; i <= kExits; ++i) {
    INFO("exit case " << i);
    const CallResult plain = call_case(*h, Callback::ManagePosition, i, 1);
    const CallResult with_mt = call_case(*h, Callback::ManagePosition, i, 2);
    CHECK(plain == with_mt);
  }
  // The texts themselves (as before the by-value path).
  CHECK(call_case(*h, Callback::FilterCommitment, 3, 1).error ==
        "strategies/spec.lua:55: enter_long: qty must be a positive number, was -1");
  CHECK(call_case(*h, Callback::FilterCommitment, 10, 1).error.find("enter_long: unknown field \"") !=
        std::string::npos);
  CHECK(call_case(*h, Callback::FilterCommitment, 20, 1).error ==
        "strategies/spec.lua:55: enter_long: unknown field 1 (qty, fraction, risk, limit, stop_entry, stop, target, "
        "trail, trail_pct, breakeven, max_bars, tif, bars, reason)");
  CHECK(call_case(*h, Callback::FilterCommitment, 32, 1).error ==
        "strategies/spec.lua:55: enter_long: limit must be a positive number, was -1");
  CHECK(call_case(*h, Callback::FilterCommitment, 33, 1).error ==
        "strategies/spec.lua:55: enter_long: fraction must be a positive number, was -1");
  CHECK(call_case(*h, Callback::FilterCommitment, 34, 1).error ==
        "strategies/spec.lua:55: enter_long: give exactly one of qty, fraction or risk");
  CHECK(call_case(*h, Callback::FilterCommitment, 5, 1).error ==
        "strategies/spec.lua:55: enter_long: give exactly one of qty, fraction or risk");
  const CallResult be = call_case(*h, Callback::FilterCommitment, 23, 1);
  CHECK(h->action().fraction == 0.1);
  CHECK(h->action().breakeven == 2);
  CHECK(h->action().max_bars == 10);
  CHECK(h->action_reason() == "be");
  CHECK(be.kind == script::kActEnterLong);
}

TEST_CASE("an action equal to the last one is written into the frame as its fields would be", "[unit][script]") {
  // Three equal actions in a row: the first is written from its fields, the
  // second shares the first's fields and keeps their encoding, the third
  // copies it. Another action in between starts again from fields.
  runner::GrowingHistory history;
  runner::RunnerIndicators ind(history);
  auto h = make_host(ind);
  using script::Callback;
  for (int i : {1, 2, 7, 14, 15, 17, 18, 23, 25, 26, 27, 28, 29}) {
    INFO("entry case " << i);
    const CallResult first = call_case(*h, Callback::FilterCommitment, i, 1);
    REQUIRE(first.kind == script::kActEnterLong);
    CHECK(call_case(*h, Callback::FilterCommitment, i, 1) == first);
    CHECK(call_case(*h, Callback::FilterCommitment, i, 1) == first);
    CHECK(call_case(*h, Callback::FilterCommitment, i, 2) == first);  // field by field, equal fields
    CHECK(call_case(*h, Callback::FilterCommitment, i, 1) == first);
  }
  for (int i : {1, 2, 5}) {
    INFO("exit case " << i);
    const CallResult first = call_case(*h, Callback::ManagePosition, i, 1);
    REQUIRE(first.kind == script::kActExit);
    CHECK(call_case(*h, Callback::ManagePosition, i, 1) == first);
    CHECK(call_case(*h, Callback::ManagePosition, i, 1) == first);
  }
  // The long reason is cut at 119 bytes either way.
  call_case(*h, Callback::FilterCommitment, 17, 1);
  CHECK(h->action_reason() == std::string(119, 'r'));
  CHECK(h->action().trail_pct == 0.1);
}

TEST_CASE("actions alternating between two or three field sets are written as their fields would be",
          "[unit][script]") {
  // lua/actions.lua keeps the last two field sets of a kind (LAST_*, PREV_*):
  // an action equal to the one before the last swaps the two, and its
  // encoding must then be its own, never the other's. Each case's first
  // action is written from its fields (another case in between); after that
  // the cases alternate (two) or rotate (three), plain, field by field, and as
  // an action the strategy kept from its first call.
  runner::GrowingHistory history;
  runner::RunnerIndicators ind(history);
  auto h = make_host(ind);
  using script::Callback;
  struct Set {
    Callback cb;
    std::vector<int> cases;
  };
  const Set sets[] = {
      {Callback::FilterCommitment, {2, 14}},      {Callback::FilterCommitment, {1, 23, 29}},
      {Callback::FilterCommitment, {17, 18}},     {Callback::FilterCommitment, {7, 26, 2}},
      {Callback::ManagePosition, {1, 2}},         {Callback::ManagePosition, {1, 5, 2}},
  };
  for (const Set& set : sets) {
    std::vector<CallResult> first;
    for (int i : set.cases) {
      INFO("first of case " << i);
      call_case(*h, set.cb, set.cb == Callback::ManagePosition ? 1 : 25, 1);  // another action in between
      first.push_back(call_case(*h, set.cb, i, 1));
      REQUIRE(first.back().kind == (set.cb == Callback::ManagePosition ? script::kActExit : script::kActEnterLong));
    }
    for (int round = 0; round < 4; ++round) {
      for (std::size_t k = 0; k < set.cases.size(); ++k) {
        INFO("round " << round << ", case " << set.cases[k]);
        CHECK(call_case(*h, set.cb, set.cases[k], round == 2 ? 2 : 1) == first[k]);
        if (round == 3) CHECK(call_case(*h, set.cb, set.cases[k], 3) == first[k]);
      }
    }
  }
}

TEST_CASE("an action one field apart from the one before the last is written from its own fields",
          "[unit][script]") {
  // An action equal to the one before the last reuses that one's encoding:
  // every field must be compared for it. For each field of an entry and of an
  // exit, A, another action B, then A' (A with that one field changed) must
  // write A''s bytes, as A' written fresh does; and the same the other way.
  runner::GrowingHistory history;
  runner::RunnerIndicators ind(history);
  auto h = make_host(ind);
  using script::Callback;
  struct Pairs {
    Callback cb;
    int other;  // B
    int fresh;  // written before each fresh call (so it is not a repeat)
    std::vector<std::pair<int, int>> pairs;
  };
  const Pairs sets[] = {
      {Callback::FilterCommitment, 62, 25,
       // tif, qty, fraction, risk, stop, target, limit, stop_entry, trail, trail_pct, breakeven, max_bars, bars, reason
       {{35, 36}, {37, 38}, {39, 40}, {41, 42}, {41, 43}, {44, 45}, {46, 47}, {48, 49}, {50, 51}, {52, 53},
        {54, 55}, {56, 57}, {58, 59}, {60, 61}}},
      // tif, reason, fraction, qty, limit, bars
      {Callback::ManagePosition, 19, 1, {{7, 8}, {9, 10}, {11, 12}, {13, 14}, {15, 16}, {17, 18}}},
  };
  const int want_kind[] = {script::kActEnterLong, script::kActExit};
  for (int s = 0; s < 2; ++s) {
    const Pairs& set = sets[s];
    // B is checked too: between A and A' it is the call that meets A as the
    // one before the last (a compare that misses B's differing field hands
    // out A there, and A' then finds itself as the last).
    call_case(*h, set.cb, set.fresh, 1);
    const CallResult other = call_case(*h, set.cb, set.other, 1);
    REQUIRE(other.kind == want_kind[s]);
    for (const auto& [a, b] : set.pairs) {
      for (const auto& [x, y] : {std::pair{a, b}, std::pair{b, a}}) {
        INFO("case " << y << " after " << x << " and " << set.other);
        call_case(*h, set.cb, set.fresh, 1);
        const CallResult fresh = call_case(*h, set.cb, y, 1);
        INFO(fresh.error);
        REQUIRE(fresh.kind == want_kind[s]);
        for (const double form : {1.0, 2.0}) {
          REQUIRE(call_case(*h, set.cb, x, 1).kind == want_kind[s]);
          CHECK(call_case(*h, set.cb, set.other, 1) == other);
          CHECK(call_case(*h, set.cb, y, form) == fresh);
        }
      }
    }
  }
}

TEST_CASE("a kept action returned from another callback is checked and written as its kind's fields",
          "[unit][script]") {
  // encode()'s first test: an action whose metatable is the kept one of its
  // kind (the last entry long or short, the last exit) is copied into the
  // frame by its encoding without looking its fields up. That must hold for
  // whichever callback returns it: manage_position takes any of the three
  // (an added entry, an exit), filter_commitment only the entries, and
  // detect_opportunity none. bar.volume 1-3 builds (long, short, exit), 4-6
  // returns the last one built of that kind.
  const char* code = R"LUA(
params = {}
local K = {}
local function act(bar)
  local v = bar.volume
  if v == 1 then K[1] = enter_long { qty = 2, reason = "long" } return K[1] end
  if v == 2 then K[2] = enter_short { fraction = 0.5, reason = "short" } return K[2] end
  if v == 3 then K[3] = exit_position("out") return K[3] end
  return K[v - 3]
end
function detect_opportunity(bar, ctx, ind) if bar.volume >= 4 then return act(bar) end end
function filter_commitment(bar, ctx, ind) return act(bar) end
function manage_position(bar, ctx, ind) return act(bar) end
)LUA";
  runner::GrowingHistory history;
  runner::RunnerIndicators ind(history);
  auto h = make_host(ind, code);
  using script::Callback;
  // Each built twice: the first from its fields, the second equal one keeps
  // the encoding (the fast path's condition). The bytes of the first are the
  // reference.
  const CallResult long_a = call_case(*h, Callback::FilterCommitment, 1, 1);
  REQUIRE(long_a.kind == script::kActEnterLong);
  CHECK(call_case(*h, Callback::FilterCommitment, 1, 1) == long_a);
  const CallResult short_a = call_case(*h, Callback::FilterCommitment, 1, 2);
  REQUIRE(short_a.kind == script::kActEnterShort);
  CHECK(call_case(*h, Callback::FilterCommitment, 1, 2) == short_a);
  const CallResult exit_a = call_case(*h, Callback::ManagePosition, 1, 3);
  REQUIRE(exit_a.kind == script::kActExit);
  CHECK(call_case(*h, Callback::ManagePosition, 1, 3) == exit_a);
  CHECK(long_a.bytes != short_a.bytes);
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    // manage_position: an added entry of either side, or the exit.
    CHECK(call_case(*h, Callback::ManagePosition, 1, 4) == long_a);
    CHECK(call_case(*h, Callback::ManagePosition, 1, 5) == short_a);
    CHECK(call_case(*h, Callback::ManagePosition, 1, 6) == exit_a);
    // filter_commitment: the entries, and the exit refused with its message.
    CHECK(call_case(*h, Callback::FilterCommitment, 1, 5) == short_a);
    CHECK(call_case(*h, Callback::FilterCommitment, 1, 4) == long_a);
    const CallResult bad_exit = call_case(*h, Callback::FilterCommitment, 1, 6);
    CHECK(bad_exit.kind == -1);
    CHECK_THAT(bad_exit.error, Catch::Contains("filter_commitment must return an entry action"));
    // detect_opportunity: no order action at all.
    for (const double v : {4.0, 5.0, 6.0}) {
      const CallResult bad = call_case(*h, Callback::DetectOpportunity, 1, v);
      CHECK(bad.kind == -1);
      CHECK_THAT(bad.error, Catch::Contains("detect_opportunity returned an order action"));
    }
  }
}
