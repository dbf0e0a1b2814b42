#include <catch2/catch.hpp>

#include <map>
#include <utility>

#include "engine/core/time.hpp"
#include "engine/risk/storm_guard.hpp"

using namespace te;
using risk::StormEvent;
using risk::StormGuard;
using risk::StormGuardConfig;
using risk::StormState;

TEST_CASE("StormGuard transition table matches the specification for every pair", "[unit][risk]") {
  using S = StormState;
  using E = StormEvent;
  // Written independently of next_storm_state(): pairs not listed are invalid.
  const std::map<std::pair<S, E>, S> spec = {
      {{S::Normal, E::EscalateWarm}, S::Warm},   {{S::Normal, E::EscalateStorm}, S::Storm},
      {{S::Normal, E::EscalateHalt}, S::Halt},   {{S::Normal, E::Reset}, S::Normal},
      {{S::Warm, E::EscalateStorm}, S::Storm},   {{S::Warm, E::EscalateHalt}, S::Halt},
      {{S::Warm, E::Recover}, S::Normal},        {{S::Warm, E::Reset}, S::Normal},
      {{S::Storm, E::EscalateHalt}, S::Halt},    {{S::Storm, E::Recover}, S::Warm},
      {{S::Storm, E::Reset}, S::Normal},         {{S::Halt, E::Recover}, S::Storm},
      {{S::Halt, E::Reset}, S::Normal},
  };
  std::size_t valid = 0;
  for (std::size_t s = 0; s < risk::kStormStates; ++s) {
    for (std::size_t e = 0; e < risk::kStormEvents; ++e) {
      const auto st = static_cast<S>(s);
      const auto ev = static_cast<E>(e);
      const auto got = risk::next_storm_state(st, ev);
      const auto it = spec.find({st, ev});
      INFO(risk::to_string(st) << " + " << risk::to_string(ev));
      if (it == spec.end()) {
        CHECK_FALSE(got.has_value());
      } else {
        REQUIRE(got.has_value());
        CHECK(*got == it->second);
        ++valid;
      }
    }
  }
  CHECK(valid == spec.size());
}

namespace {
StormGuardConfig guard_config() {
  StormGuardConfig c;
  c.enabled = true;
  c.warm = 0.005;
  c.storm = 0.01;
  c.halt = 0.015;
  return c;
}
constexpr std::int64_t kDay = kNsPerDay;
}  // namespace

TEST_CASE("StormGuard escalates on drawdown thresholds, possibly several levels at once", "[unit][risk]") {
  StormGuard g(guard_config());
  CHECK_FALSE(g.evaluate(100000, 0, 1));
  CHECK_FALSE(g.evaluate(101000, 0, 2));   // new peak
  CHECK_FALSE(g.evaluate(100600, 0, 3));   // -0.40 %
  auto t = g.evaluate(100400, 0, 4);       // -0.59 %
  REQUIRE(t);
  CHECK(t->from == StormState::Normal);
  CHECK(t->to == StormState::Warm);
  CHECK(t->event == StormEvent::EscalateWarm);
  t = g.evaluate(99000, 0, 5);             // -1.98 %: straight to HALT
  REQUIRE(t);
  CHECK(t->to == StormState::Halt);
  CHECK(t->loss == Approx(2000.0 / 101000));
  // HALT stays: no cooldown configured, and recovering value does not help
  for (int i = 6; i < 50; ++i) CHECK_FALSE(g.evaluate(101000, 0, i));
  CHECK(g.state() == StormState::Halt);
  auto r = g.reset(101000);
  REQUIRE(r);
  CHECK(r->event == StormEvent::Reset);
  CHECK(g.state() == StormState::Normal);
}

TEST_CASE("StormGuard steps back one level after a quiet cooldown", "[unit][risk]") {
  auto c = guard_config();
  c.cooldown_bars = 3;
  StormGuard g(c);
  g.evaluate(1000, 0, 1);
  REQUIRE(g.evaluate(988, 0, 2)->to == StormState::Storm);  // -1.2 %
  CHECK_FALSE(g.evaluate(988, 0, 3));
  CHECK_FALSE(g.evaluate(988, 0, 3));  // same bar: not counted
  CHECK_FALSE(g.evaluate(988, 0, 4));
  auto t = g.evaluate(988, 0, 5);
  REQUIRE(t);
  CHECK(t->event == StormEvent::Recover);
  CHECK(t->to == StormState::Warm);
  // losses are measured afresh from the recovery point
  CHECK_FALSE(g.evaluate(986, 0, 6));  // -0.2 % from 988: no escalation
  CHECK_FALSE(g.evaluate(986, 0, 7));
  t = g.evaluate(986, 0, 8);           // three quiet bars in WARM
  REQUIRE(t);
  CHECK(t->to == StormState::Normal);
}

TEST_CASE("StormGuard on the daily basis resets on a new UTC day", "[unit][risk]") {
  auto c = guard_config();
  c.basis = StormGuardConfig::Basis::Daily;
  StormGuard g(c);
  g.evaluate(1000, 0, 10 * kDay + 1);
  CHECK_FALSE(g.evaluate(1200, 0, 10 * kDay + 2));  // daily basis: the start of day is the reference, not the peak
  REQUIRE(g.evaluate(994, 0, 10 * kDay + 3)->to == StormState::Warm);  // -0.6 % of the day's start
  auto t = g.evaluate(994, 0, 11 * kDay + 1);
  REQUIRE(t);
  CHECK(t->event == StormEvent::Reset);
  CHECK(g.state() == StormState::Normal);
}

TEST_CASE("StormGuard fractions can be of a fixed capital, operators can force a state", "[unit][risk]") {
  StormGuard g(guard_config());
  g.evaluate(10000, 1000, 1);
  REQUIRE(g.evaluate(9990, 1000, 2));
  CHECK(g.state() == StormState::Storm);  // 10 of 1000 = 1 %
  auto t = g.force(StormState::Halt, 9990);
  REQUIRE(t);
  CHECK(g.state() == StormState::Halt);
  t = g.force(StormState::Warm, 9990);
  REQUIRE(t);
  CHECK(t->from == StormState::Halt);
  CHECK(g.state() == StormState::Warm);
  StormGuard off;
  CHECK_FALSE(off.evaluate(1, 0, 1));
}
