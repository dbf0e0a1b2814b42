#pragma once
// Shared helpers for the journal tests: a temporary directory, a synthetic but
// realistic session (bars, runner state around each update with a strategy
// context that changes a little per bar, transitions, actions, orders, fills),
// and file helpers.
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
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

// A random value tree (depth: how deep it starts; it stays small), and a small
// random edit of one (so the diff of the two is a patch, not a replacement).
Value random_value(std::mt19937_64& rng, int depth);
Value mutate_value(std::mt19937_64& rng, Value v, int depth = 0);

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);

// Keeps what is written in memory; append() can be held at a gate so the
// writer thread stalls like it would on a slow disk.
class GatedFile final : public WritableFile {
 public:
  Status append(std::string_view d) override {
    std::unique_lock lk(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lk, [this] { return open_; });
    --waiting_;
    data_.append(d);
    return {};
  }
  Status sync() override { return {}; }
  Status close() override { return {}; }
  const std::string& path() const noexcept override { return path_; }

  void close_gate() {
    std::lock_guard lk(mu_);
    open_ = false;
  }
  void open_gate() {
    std::lock_guard lk(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void wait_until_stalled() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [this] { return waiting_ > 0; });
  }
  std::string data() {
    std::lock_guard lk(mu_);
    return data_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int waiting_ = 0;
  std::string data_;
  std::string path_ = "gated.journal";
};

// `count` market_data events of two runners whose quiet bars alternate, with
// nothing else between them (each bar cuts the other runner's bar run),
// numbered 1..count.
std::vector<Event> alternating_bars(std::size_t count);

}  // namespace te::journal::testing
