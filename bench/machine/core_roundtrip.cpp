// te_core_roundtrip: the time for one cache line to go from CPU 0 to CPU 1 and
// back (two threads, one pinned to each, taking turns to write it), median of
// five runs of 100,000 round trips, printed in ns. `bench/run.sh` records it
// before every benchmark binary: on the 2-vCPU VMs we measure on, the host
// places the two vCPUs near each other (~90 ns) or far apart (~400 ns) and
// moves them every few minutes, and figures of two threads that share data
// (a recorded backtest and its journal writer) follow it (docs/performance.md,
// session 18). Prints "-" where CPUs 0 and 1 are not both available.
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

namespace {

bool pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

constexpr int kTrips = 100'000;
alignas(64) std::atomic<int> g_line{0};

double one_run() {
  g_line.store(0);
  std::thread other([] {
    pin(1);
    for (int i = 0; i < kTrips; ++i) {
      while (g_line.load(std::memory_order_acquire) != 2 * i + 1) {
      }
      g_line.store(2 * i + 2, std::memory_order_release);
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kTrips; ++i) {
    g_line.store(2 * i + 1, std::memory_order_release);
    while (g_line.load(std::memory_order_acquire) != 2 * i + 2) {
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  other.join();
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / kTrips;
}

}  // namespace

// Both threads must be able to run where they are pinned (a cpuset may leave
// out CPU 1: then the two would share a CPU and the figure would mean nothing).
bool cpus_0_and_1_allowed() {
  cpu_set_t set;
  CPU_ZERO(&set);
  return sched_getaffinity(0, sizeof set, &set) == 0 && CPU_ISSET(0, &set) && CPU_ISSET(1, &set);
}

int main() {
  if (!cpus_0_and_1_allowed() || !pin(0)) {
    std::puts("-");
    return 0;
  }
  std::array<double, 5> runs{};
  for (double& r : runs) r = one_run();
  std::sort(runs.begin(), runs.end());
  std::printf("%.0f\n", runs[runs.size() / 2]);
  return 0;
}
