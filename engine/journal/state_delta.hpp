#pragma once
// Delta storage mode at the record level. The writer turns each runner's full
// state into a delta against that runner's previous state event, with a full
// snapshot every `snapshot_interval` state events of the runner; the reader
// applies the deltas to rebuild full state. Each delta names its base (the
// previous state event) and the snapshot its chain starts from, so a reader can
// tell a broken chain from a valid one and can jump straight to the snapshot.
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "engine/core/result.hpp"
#include "engine/journal/event.hpp"

namespace te::journal {

// Writer side. Not thread-safe: owned by the writer thread.
class StateDeltaEncoder {
 public:
  explicit StateDeltaEncoder(std::uint32_t snapshot_interval) noexcept : interval_(snapshot_interval) {}

  // Appends the stored record of `e`, a full RunnerState, to `out`: the state
  // itself at a snapshot, else a delta against the runner's previous state.
  // Copies the state's values (they become the runner's new base). Returns
  // true when the record is a snapshot.
  bool encode(Event& e, std::string& out);
  // The runner's next state starts a new chain (its states are being
  // encoded elsewhere: the writer's StateParts path). Mostly there is
  // nothing to forget (a map erase per state saved).
  void forget(model::RunnerId runner) {
    if (!tracks_.empty()) tracks_.erase(runner);
  }

 private:
  struct Track {
    std::uint64_t last_sequence = 0;
    std::uint64_t snapshot_sequence = 0;
    std::uint32_t since_snapshot = 0;
    Value context;
    Value indicators;
  };
  std::uint32_t interval_;
  std::map<model::RunnerId, Track> tracks_;
};

// Reader side: follows every runner's state through a stream read in order.
// Not thread-safe.
class StateTracker {
 public:
  // Turns a stored state (full or delta) of `runner` at `sequence` into full
  // state. On error (the delta's base is not the state this tracker holds, or the
  // delta does not apply) `state` is left in its stored form and the runner's
  // state is unknown until its next snapshot.
  Status restore(model::RunnerId runner, std::uint64_t sequence, RunnerState& state);

  // The runner's last known full state, or nullptr.
  const RunnerState* current(model::RunnerId runner) const noexcept;

  void clear() noexcept { tracks_.clear(); }

  // Hands back a state restore() gave out earlier (the caller's event is about
  // to be overwritten): its trees become the storage the next rebuilt state is
  // copied into. A runner's states mostly have the same shape from one to the
  // next, so that copy then reuses every vector and string instead of
  // allocating a new tree per state (the reader's largest cost in delta mode).
  // `old` gets the delta documents restore() last applied, for the next delta
  // to be decoded into (deltas, too, look much like the one before).
  void recycle(RunnerState& old) noexcept {
    std::swap(spare_context_, old.context);
    std::swap(spare_indicators_, old.indicators);
  }

 private:
  struct Track {
    std::uint64_t last_sequence = 0;
    RunnerState state;  // full
  };
  std::map<model::RunnerId, Track> tracks_;
  Value spare_context_, spare_indicators_;
};

}  // namespace te::journal
