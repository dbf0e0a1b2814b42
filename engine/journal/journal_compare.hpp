#pragma once
// Compares two recorded sessions event by event (`trading-engine compare`,
// the determinism proof): where they first diverge, which field differed, and
// summary statistics of both sides.
//
// Events are compared in their canonical encoding after the reader has
// rebuilt delta states, so a full-mode and a delta-mode recording of the same
// run compare equal. session_start is compared apart: its identity fields
// (session_id, mode) always differ between a session and its rerun and are
// ignored unless told otherwise; any other difference there (parameters,
// config, code hashes) is a setup difference.
#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/journal/event.hpp"
#include "engine/journal/event_value.hpp"
#include "engine/journal/journal_reader.hpp"

namespace te::journal {

struct CompareOptions {
  bool ignore_identity = true;  // session_start.session_id and .mode
  // Compare each runner's events (and the session-wide ones) as separate
  // streams, ignoring sequence numbers: for sessions whose runners ran on
  // several threads, where only the interleaving may differ.
  bool by_runner = false;
};

struct StreamSummary {
  std::uint64_t events = 0;
  std::array<std::uint64_t, kMaxKnownEventType + 1> counts{};  // by type code; [0] unknown types
  std::uint64_t first_sequence = 0;
  std::uint64_t last_sequence = 0;
  std::int64_t first_ts_ns = 0;
  std::int64_t last_ts_ns = 0;
  std::uint64_t orders = 0;        // distinct order ids
  std::set<model::OrderId> order_ids;
  std::uint64_t rejected_orders = 0;
  double fill_qty = 0;
  double commission = 0;
  bool ended = false;              // has a session_end
  std::string end_reason;
  Value end_summary;
};

struct Divergence {
  std::uint64_t sequence_a = 0;  // 0: stream A had ended
  std::uint64_t sequence_b = 0;  // 0: stream B had ended
  std::optional<model::RunnerId> runner;  // by_runner: the runner whose streams differ
  std::string field;             // "type", "runner", "ts_event_ns", or the body path ("price", "context.ctx.n")
  std::string a;                 // that field's value on each side (JSON)
  std::string b;
  std::optional<Event> event_a;
  std::optional<Event> event_b;
};

struct Comparison {
  bool identical = false;
  std::vector<ValueDifference> setup;  // session_start differences beyond the ignored identity fields
  std::optional<Divergence> first;     // first difference after session_start
  StreamSummary a;
  StreamSummary b;
};

// Reads both journals from the start (rewinding them first).
// Errors: Errc::io when a file cannot be read (damage is reported to each
// reader's Reporter and compared as whatever was readable).
Result<Comparison> compare_journals(JournalReader& a, JournalReader& b, const CompareOptions& options = {},
                                    const EventNames& names = {});

// Accumulates one event into a summary.
void summarize(StreamSummary& s, const Event& e);

}  // namespace te::journal
