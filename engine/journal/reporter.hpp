#pragma once
// How a JournalReader tells its caller what it could not read (LevelDB's
// log::Reader::Reporter). Damage is never fatal to reading: the reader reports
// it here and keeps every intact record.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model/ids.hpp"

namespace te::journal {

struct Corruption {
  std::uint64_t offset = 0;     // file offset where the unreadable bytes start
  std::uint64_t bytes = 0;      // how many bytes were skipped
  std::uint64_t records = 0;    // records lost, when records_known
  bool records_known = false;   // false: a damaged header at the end hides how many
  std::uint64_t first_sequence = 0;  // lost sequence range, when records_known (0 if not)
  std::uint64_t last_sequence = 0;
  std::string reason;           // "truncated block (the writer stopped mid-block)", ...
};

class Reporter {
 public:
  virtual ~Reporter() = default;
  // Bytes that could not be read: a truncated tail after a crash, a block whose
  // checksum does not match, bytes skipped while resynchronising.
  virtual void corruption(const Corruption& c) = 0;
  // `count` sequence numbers between first and last (inclusive) have no record
  // although the surrounding blocks are intact: events the writer dropped under
  // QueueFullPolicy::DropOldest.
  virtual void missing_sequences(std::uint64_t first, std::uint64_t last, std::uint64_t count) {
    (void)first, (void)last, (void)count;
  }
  // A delta-encoded state could not be rebuilt (its base was lost to damage); the
  // event is handed out in its stored (delta) form.
  virtual void state_unavailable(std::uint64_t sequence, model::RunnerId runner, std::string_view reason) {
    (void)sequence, (void)runner, (void)reason;
  }
  // A record inside an intact block that does not decode as its type says
  // (written by something else, or altered with its checksums recomputed). It is
  // handed out as an UnknownEvent carrying `reason`; reported once per record.
  virtual void damaged_record(std::uint64_t sequence, std::uint16_t type, std::string_view reason) {
    (void)sequence, (void)type, (void)reason;
  }
};

// Counts everything and keeps one line per report (tests, `sessions`, CLI output).
class CountingReporter final : public Reporter {
 public:
  void corruption(const Corruption& c) override;
  void missing_sequences(std::uint64_t first, std::uint64_t last, std::uint64_t count) override;
  void state_unavailable(std::uint64_t sequence, model::RunnerId runner, std::string_view reason) override;
  void damaged_record(std::uint64_t sequence, std::uint16_t type, std::string_view reason) override;

  std::uint64_t corruptions = 0;
  std::uint64_t bytes_dropped = 0;
  std::uint64_t records_dropped = 0;  // those known; see unknown_record_losses
  std::uint64_t unknown_record_losses = 0;
  std::uint64_t missing = 0;
  std::uint64_t unavailable_states = 0;
  std::uint64_t damaged_records = 0;
  std::vector<std::string> messages;
};

// Drops every report (when the caller only wants the intact records).
class NullReporter final : public Reporter {
 public:
  void corruption(const Corruption&) override {}
};

}  // namespace te::journal
