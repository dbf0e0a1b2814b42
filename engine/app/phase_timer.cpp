#include "engine/app/phase_timer.hpp"

#include <time.h>

#include <fmt/core.h>

#include "engine/core/clock.hpp"

namespace te::app {
namespace {

std::int64_t cpu_ns(clockid_t clock) noexcept {
  timespec t{};
  ::clock_gettime(clock, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

}  // namespace

PhaseTimer::PhaseTimer()
    : start_wall_ns_(monotonic_ns()),
      start_thread_cpu_ns_(cpu_ns(CLOCK_THREAD_CPUTIME_ID)),
      start_process_cpu_ns_(cpu_ns(CLOCK_PROCESS_CPUTIME_ID)) {}

void PhaseTimer::mark(std::string_view name) {
  points_.push_back({std::string(name), monotonic_ns(), cpu_ns(CLOCK_THREAD_CPUTIME_ID),
                     cpu_ns(CLOCK_PROCESS_CPUTIME_ID)});
}

std::string PhaseTimer::table() const {
  auto ms = [](std::int64_t ns) { return static_cast<double>(ns) / 1e6; };
  std::string s = fmt::format("{:<24}{:>12}{:>16}{:>18}\n", "phase", "wall ms", "main CPU ms", "all threads ms");
  s += fmt::format("{:<24}{:>12}{:>16.1f}{:>18.1f}\n", "start (exec to command)", "-", ms(start_thread_cpu_ns_),
                   ms(start_process_cpu_ns_));
  std::int64_t wall = start_wall_ns_, thread = start_thread_cpu_ns_, process = start_process_cpu_ns_;
  for (const Point& p : points_) {
    s += fmt::format("{:<24}{:>12.1f}{:>16.1f}{:>18.1f}\n", p.name, ms(p.wall_ns - wall), ms(p.thread_cpu_ns - thread),
                     ms(p.process_cpu_ns - process));
    wall = p.wall_ns;
    thread = p.thread_cpu_ns;
    process = p.process_cpu_ns;
  }
  s += fmt::format("{:<24}{:>12.1f}{:>16.1f}{:>18.1f}\n", "total", ms(wall - start_wall_ns_), ms(thread),
                   ms(process));
  return s;
}

}  // namespace te::app
