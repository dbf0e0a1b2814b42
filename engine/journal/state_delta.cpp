#include "engine/journal/state_delta.hpp"

#include <utility>

#include "engine/journal/event_codec.hpp"
#include "engine/core/value_diff.hpp"

namespace te::journal {

bool StateDeltaEncoder::encode(Event& e, std::string& out) {
  auto* s = std::get_if<RunnerState>(&e.body);
  TE_ASSERT(s != nullptr && s->encoding == StateEncoding::Full,
            "journal: runner state handed to the writer must be full");
  auto [it, fresh] = tracks_.try_emplace(e.runner);
  Track& t = it->second;
  // A delta that replaces the whole context costs as much as a snapshot, and a
  // snapshot restarts the chain.
  bool snapshot = fresh || interval_ <= 1 || t.since_snapshot + 1 >= interval_;
  if (!snapshot) {
    snapshot = !encode_state_delta_if_patch(e, t.context, t.indicators, t.last_sequence, t.snapshot_sequence, out);
  }
  if (snapshot) {
    encode_event(e, out);
    t.snapshot_sequence = e.sequence;
    t.since_snapshot = 0;
  } else {
    ++t.since_snapshot;
  }
  // Copied, not moved: the caller (RecorderBatch) keeps the tree and updates
  // it in place for the next state, and a copy into the previous state's tree
  // of the same shape allocates nothing.
  t.context = s->context;
  t.indicators = s->indicators;
  t.last_sequence = e.sequence;
  return snapshot;
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
  // Copied into recycled trees (see recycle()); the delta documents end up in
  // the spares, which the next recycle() hands back to be decoded into.
  spare_context_ = t.state.context;
  spare_indicators_ = t.state.indicators;
  std::swap(state.context, spare_context_);
  std::swap(state.indicators, spare_indicators_);
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
