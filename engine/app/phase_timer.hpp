#pragma once
// Time per phase of a command (`backtest --timings`): wall time, and CPU time of
// the calling thread and of the whole process (all threads), so a phase that
// runs work on a second core shows it. Measurement only: nothing here feeds a
// result.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace te::app {

class PhaseTimer {
 public:
  // The first phase, "start", covers the process from exec to this constructor
  // (CPU only: the wall time before main is not known to the process).
  PhaseTimer();

  // Ends the current phase under `name` and starts the next one.
  void mark(std::string_view name);

  // A table of the phases and the total, for stderr.
  std::string table() const;

 private:
  struct Point {
    std::string name;
    std::int64_t wall_ns, thread_cpu_ns, process_cpu_ns;
  };
  std::int64_t start_wall_ns_;
  std::int64_t start_thread_cpu_ns_;
  std::int64_t start_process_cpu_ns_;
  std::vector<Point> points_;
};

}  // namespace te::app
