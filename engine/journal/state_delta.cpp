#include "engine/journal/state_delta.hpp"

#include "engine/journal/value_diff.hpp"

namespace te::journal {

namespace {

bool is_replacement(const Value& delta) {
  return delta.is_array() && !delta.as_array().empty() && delta.as_array()[0].is_int() &&
         delta.as_array()[0].as_int() == 0;
}

}  // namespace

void StateDeltaEncoder::to_stored_form(model::RunnerId runner, std::uint64_t sequence, RunnerState& state) {
  TE_ASSERT(state.encoding == StateEncoding::Full, "journal: runner state handed to the writer must be full");
  auto [it, fresh] = tracks_.try_emplace(runner);
  Track& t = it->second;
  bool snapshot = fresh || interval_ <= 1 || t.since_snapshot + 1 >= interval_;
  if (!snapshot) {
    Value dc = diff(t.context, state.context);
    Value di = diff(t.indicators, state.indicators);
    // Everything changed: a snapshot costs the same and restarts the chain.
    if (is_replacement(dc)) {
      snapshot = true;
    } else {
      t.context = std::move(state.context);
      t.indicators = std::move(state.indicators);
      state.context = std::move(dc);
      state.indicators = std::move(di);
      state.encoding = StateEncoding::Delta;
      state.base_sequence = t.last_sequence;
      state.snapshot_sequence = t.snapshot_sequence;
      ++t.since_snapshot;
    }
  }
  if (snapshot) {
    t.context = state.context;
    t.indicators = state.indicators;
    t.snapshot_sequence = sequence;
    t.since_snapshot = 0;
  }
  t.last_sequence = sequence;
}

Status StateTracker::restore(model::RunnerId runner, std::uint64_t sequence, RunnerState& state) {
  if (state.encoding == StateEncoding::Full) {
    Track& t = tracks_[runner];
    t.last_sequence = sequence;
    t.state = state;
    return {};
  }
  auto it = tracks_.find(runner);
  if (it == tracks_.end() || it->second.last_sequence != state.base_sequence) {
    return make_error(Errc::not_found, "state delta at sequence " + std::to_string(sequence) + " of runner " +
                                           std::to_string(runner) + ": its base (sequence " +
                                           std::to_string(state.base_sequence) + ") is not available");
  }
  Track& t = it->second;
  Status s = apply_in_place(t.state.context, state.context);
  if (s) s = apply_in_place(t.state.indicators, state.indicators);
  if (!s) {
    tracks_.erase(it);
    return make_error(Errc::parse, "state delta at sequence " + std::to_string(sequence) + " of runner " +
                                       std::to_string(runner) + ": " + s.error().message);
  }
  t.last_sequence = sequence;
  t.state.phase = state.phase;
  t.state.state = state.state;
  state.context = t.state.context;
  state.indicators = t.state.indicators;
  state.encoding = StateEncoding::Full;
  state.base_sequence = 0;
  state.snapshot_sequence = 0;
  return {};
}

const RunnerState* StateTracker::current(model::RunnerId runner) const noexcept {
  auto it = tracks_.find(runner);
  return it == tracks_.end() ? nullptr : &it->second.state;
}

}  // namespace te::journal
