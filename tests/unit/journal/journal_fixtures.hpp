#pragma once
// Shared helpers for the journal tests: a temporary directory, a synthetic but
// realistic session (bars, runner state around each update with a strategy
// context that changes a little per bar, transitions, actions, orders, fills),
// and file helpers.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/journal/event.hpp"
#include "engine/journal/journal_reader.hpp"
#include "engine/journal/journal_writer.hpp"

namespace te::journal::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const noexcept { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct SessionSpec {
  std::size_t bars = 1000;
  std::uint32_t runners = 2;
  std::uint64_t seed = 7;
  bool indicators = true;  // RunnerState::indicators and IndicatorValues events
};

// Events in the order a session would append them, sequence numbers 1..n
// already set (what a writer with no filtering assigns).
std::vector<Event> make_session(const SessionSpec& spec);

// One event of every type (and an odd double or two), sequences 1..n.
std::vector<Event> one_of_each();

// Writes `events` with `options` and closes; returns the writer's stats.
WriterStats write_journal(const std::string& path, const std::vector<Event>& events, WriterOptions options);

// Reads every event (with state reconstruction unless told otherwise).
std::vector<Event> read_all(const std::string& path, Reporter& reporter, ReaderOptions options = {});

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);

}  // namespace te::journal::testing
