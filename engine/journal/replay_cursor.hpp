#pragma once
// The replay state machine: moves over a recorded session event by event —
// seek by sequence, seek by time (binary search over the block index), step
// forward and backward — and reconstructs any runner's state as of the current
// event without running its strategy: the last recorded runner_state (rebuilt
// from deltas when needed), the runner FSM state after the transitions since,
// the last bar it saw, and the runner's events since that state.
//
// What "state as of an event" means when states are recorded only on activity
// is explained in docs/replay.md; RunnerView says which record it came from.
//
// Not thread-safe. Owns two readers over the file: one that steps, one for
// random access (so stepping never loses its place).
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/journal/event.hpp"
#include "engine/journal/journal_reader.hpp"

namespace te::journal {

// Per runner: the sequences of its market_data and runner_state events.
struct RunnerIndex {
  model::RunnerId runner = 0;
  std::vector<std::uint64_t> bars;
  std::vector<std::uint64_t> states;
};

// One pass over the record envelopes (no bodies decoded).
struct SessionIndex {
  std::vector<RunnerIndex> runners;  // sorted by id
  std::array<std::uint64_t, kMaxKnownEventType + 1> counts{};  // by type code; [0] = unknown types
  std::uint64_t events = 0;
  std::uint64_t first_sequence = 0;
  std::uint64_t last_sequence = 0;
  std::int64_t min_ts_ns = 0;
  std::int64_t max_ts_ns = 0;

  const RunnerIndex* runner(model::RunnerId id) const noexcept;
};

// One runner reconstructed as of a sequence.
struct RunnerView {
  model::RunnerId runner = 0;
  std::uint64_t as_of = 0;              // the sequence this view is for
  std::optional<Event> state;           // its last runner_state at or before as_of (full form)
  std::string state_error;              // set when that state exists but was lost to damage
  std::uint8_t fsm_state = 0;           // after the transitions since `state`
  bool fsm_known = false;               // false: no state and no transition yet
  std::optional<Event> bar;             // the last market_data at or before as_of
  std::int64_t bar_number = -1;         // 0-based count of this runner's bars up to `bar`
  std::vector<Event> since_state;       // its other events after `state`, up to as_of (market data left out)
  bool since_truncated = false;         // more than kMaxSince of them; the oldest were left out
  static constexpr std::size_t kMaxSince = 10000;
};

// The update (one bar of one runner) an event belongs to: from the runner's
// market_data event through the event before its next one.
struct UpdateSpan {
  model::RunnerId runner = 0;
  std::uint64_t first = 0;        // sequence of the bar's market_data (0: before the first bar)
  std::uint64_t last = 0;         // last sequence of the update (inclusive)
  std::int64_t bar_number = -1;   // 0-based, -1 before the first bar
};

class ReplayCursor {
 public:
  // `reporter` hears about damage (once) and must outlive the cursor.
  // Errors: as JournalReader::open.
  static Result<std::unique_ptr<ReplayCursor>> open(const std::string& path, Reporter& reporter);
  ~ReplayCursor();

  JournalReader& reader() noexcept { return *main_; }
  // Built on first use: one pass over the envelopes.
  Result<const SessionIndex*> index();

  // On the first event with sequence >= `sequence`; false (and !valid()) when none.
  Result<bool> seek(std::uint64_t sequence);
  // On the first event, in file order, with ts_event_ns >= ts_ns.
  Result<bool> seek_time(std::int64_t ts_ns);
  // To the next / previous event; false at either end (the position stays).
  Result<bool> step_forward();
  Result<bool> step_backward();

  bool valid() const noexcept { return valid_; }
  const Event& current() const noexcept { return current_; }

  // `runner` reconstructed as of the current event (inclusive).
  // Errors: Errc::not_found when the session has no such runner; Errc::io.
  Result<RunnerView> runner_view(model::RunnerId runner);
  Result<RunnerView> runner_view(model::RunnerId runner, std::uint64_t as_of);

  // The update of `runner` holding `sequence`.
  Result<UpdateSpan> update_of(model::RunnerId runner, std::uint64_t sequence);

  // The events with sequence in [first, last] (optionally one runner's), in order.
  Result<std::vector<Event>> events_between(std::uint64_t first, std::uint64_t last,
                                            std::optional<model::RunnerId> runner = std::nullopt);

 private:
  ReplayCursor(std::unique_ptr<Reporter> quiet, std::unique_ptr<JournalReader> main,
               std::unique_ptr<JournalReader> probe);
  Result<std::optional<std::uint64_t>> previous_sequence(std::uint64_t sequence);

  std::unique_ptr<Reporter> quiet_;  // the probe's reporter: damage is reported once, by main_
  std::unique_ptr<JournalReader> main_;
  std::unique_ptr<JournalReader> probe_;
  std::optional<SessionIndex> index_;
  Event current_;
  bool valid_ = false;
};

}  // namespace te::journal
