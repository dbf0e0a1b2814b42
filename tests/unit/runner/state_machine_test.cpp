#include <catch2/catch.hpp>

#include <map>
#include <utility>

#include "engine/runner/state_machine.hpp"

using namespace te::runner;

TEST_CASE("runner transition table matches the specification for every pair", "[unit][runner]") {
  using S = RunnerState;
  using E = RunnerEvent;
  // The specification, written independently of next_state(): pairs not listed are invalid.
  const std::map<std::pair<S, E>, S> spec = {
      {{S::Watch, E::SetupFound}, S::CloseWatch},
      {{S::Watch, E::Fault}, S::Faulted},
      {{S::CloseWatch, E::EntrySubmitted}, S::InTrade},
      {{S::CloseWatch, E::Abandoned}, S::Watch},
      {{S::CloseWatch, E::CloseWatchTimeout}, S::Watch},
      {{S::CloseWatch, E::Fault}, S::Faulted},
      {{S::InTrade, E::EntryFailed}, S::Watch},
      {{S::InTrade, E::PositionClosed}, S::Watch},
      {{S::InTrade, E::Fault}, S::Faulted},
  };
  std::size_t valid = 0;
  for (std::size_t s = 0; s < kRunnerStates; ++s) {
    for (std::size_t e = 0; e < kRunnerEvents; ++e) {
      const auto st = static_cast<S>(s);
      const auto ev = static_cast<E>(e);
      const auto got = next_state(st, ev);
      const auto it = spec.find({st, ev});
      INFO(to_string(st) << " + " << to_string(ev));
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

TEST_CASE("Faulted is terminal", "[unit][runner]") {
  for (std::size_t e = 0; e < kRunnerEvents; ++e)
    CHECK_FALSE(next_state(RunnerState::Faulted, static_cast<RunnerEvent>(e)).has_value());
}
