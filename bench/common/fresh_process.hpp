// Runs a memory benchmark in a process of its own.
//
// An RSS figure taken after other cases ran in the same process is not
// repeatable: freed pages the allocator kept are reused without showing up in
// the delta, and pages other cases left resident show up in a total. The case
// therefore re-runs this binary with only itself selected and
// TE_BENCH_CHILD_OUT naming a file; that child measures from a fresh start and
// writes "counter value" lines to the file, which the parent turns into its
// counters.
//
//   void BM_Memory(benchmark::State& state) {
//     if (!bench::in_child()) return bench::run_in_fresh_process(state, "^memory/x/1000/");
//     ... measure ...
//     bench::report_to_parent(state);  // after setting state.counters
//   }
#pragma once

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

extern char** environ;

namespace te::bench {

inline constexpr const char* kChildOut = "TE_BENCH_CHILD_OUT";

inline bool in_child() { return std::getenv(kChildOut) != nullptr; }

// Parent side: runs the cases matching `filter` (one case) in a fresh process
// and copies the counters it reports. A failed child fails the case.
inline void run_in_fresh_process(benchmark::State& state, const std::string& filter) {
  char tmpl[] = "/tmp/te-bench-child-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  if (fd < 0) return state.SkipWithError("fresh process: cannot create a result file in /tmp");
  ::close(fd);
  const std::string out_file = tmpl;

  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e) env_text.emplace_back(*e);
  env_text.push_back(std::string(kChildOut) + "=" + out_file);
  std::vector<char*> envp;
  for (auto& s : env_text) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::string self = "/proc/self/exe";
  std::string filter_arg = "--benchmark_filter=" + filter;
  std::string quiet = "--benchmark_format=console";
  std::vector<char*> argv{self.data(), filter_arg.data(), quiet.data(), nullptr};

  // The child's console output is not wanted in the parent's report.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  int status = 0;
  pid_t pid = 0;
  bool ok = false;
  for (auto _ : state) {
    ok = ::posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), envp.data()) == 0 &&
         ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  posix_spawn_file_actions_destroy(&actions);

  std::ifstream in(out_file);
  std::string key;
  double value = 0;
  int read = 0;
  while (in >> key >> value) {
    state.counters[key] = value;
    ++read;
  }
  std::remove(out_file.c_str());
  if (!ok || read == 0) state.SkipWithError(("fresh process: the child run of " + filter + " failed").c_str());
}

// Child side: writes the case's counters for the parent.
inline void report_to_parent(benchmark::State& state) {
  const char* path = std::getenv(kChildOut);
  if (!path) return;
  std::ofstream out(path, std::ios::trunc);
  for (const auto& [name, counter] : state.counters) out << name << ' ' << counter.value << '\n';
}

}  // namespace te::bench
