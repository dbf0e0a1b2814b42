// `trading-engine replay`: a recorded session's events as a readable timeline,
// paced by their data time (--speed) or as fast as possible. On a terminal,
// space pauses and resumes, + and - change the speed, q stops.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>

#include <fmt/core.h>

#include "engine/app/command.hpp"
#include "engine/app/key_reader.hpp"
#include "engine/app/options.hpp"
#include "engine/app/session_common.hpp"
#include "engine/core/clock.hpp"
#include "engine/core/labels.hpp"
#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"
#include "engine/journal/event_filter.hpp"
#include "engine/journal/replay_cursor.hpp"

namespace te::app {
namespace {

struct ReplayArgs {
  std::string dir = kDefaultSessionsDir;
  std::string session;
  std::string speed = "max";
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  std::string filter;
  std::int64_t runner = -1;
  std::string from_time;
};

// Longest wall-clock wait between two events: data gaps (nights, weekends,
// daily bars at speed 1) would otherwise stall the timeline.
constexpr std::int64_t kMaxWaitNs = 1'000'000'000;

// Interrupted by SIGINT/SIGTERM while the terminal is in raw mode: the flag
// makes the loop restore the terminal and stop. (A signal handler may only
// touch a lock-free atomic.)
std::atomic<bool>* g_stop = nullptr;
extern "C" void on_replay_stop_signal(int) {
  if (g_stop) g_stop->store(true);
}

Result<double> parse_speed(const std::string& s) {
  if (s == "max") return 0.0;
  double v = 0;
  std::string t = s;
  if (!t.empty() && (t.back() == 'x' || t.back() == 'X')) t.pop_back();
  if (!parse_double(t, v) || !(v > 0))
    return make_error(Errc::invalid_argument, "--speed must be a positive number (data time per wall time, e.g. 60 or "
                                              "3600x) or max, was \"" + s + "\"");
  return v;
}

int run_replay(const ReplayArgs& a) {
  auto speed = parse_speed(a.speed);
  if (!speed) return print_error(speed.error().message), 1;
  auto filter = journal::EventFilter::parse(a.filter);
  if (!filter) return print_error(filter.error().message), 1;
  if (a.runner >= 0) filter->only_runner(static_cast<model::RunnerId>(a.runner));
  if (a.to != 0 && a.to < a.from)
    return print_error(fmt::format("--to {} is before --from {}", a.to, a.from)), 1;
  auto s = open_session(a.dir, a.session);
  if (!s) return print_error(s.error().message), 1;
  StderrReporter rep(a.session);
  auto cursor = journal::ReplayCursor::open(s->journal_path, rep);
  if (!cursor) return print_error(cursor.error().message), 1;
  const bool days = date_only_session(s->meta);
  const journal::EventNames names = event_names();

  Result<bool> positioned = false;
  if (!a.from_time.empty()) {
    auto t = parse_iso8601_ns(a.from_time);
    if (!t) return print_error("--from-time " + a.from_time + ": expected a date or ISO date-time"), 1;
    positioned = (*cursor)->seek_time(*t);
  } else {
    positioned = (*cursor)->seek(a.from);
  }
  if (!positioned) return print_error(positioned.error().message), 1;

  if (s->meta) {
    const auto& m = *s->meta;
    std::printf("session %s: %s, %s, %s .. %s\n", printable(m.session_id).c_str(), printable(m.mode).c_str(),
                printable(m.status).c_str(),
                time_text(m.data_start_ns, days).c_str(), time_text(m.data_end_ns, days).c_str());
  }
  KeyReader keys;
  std::atomic<bool> stop{false};
  struct sigaction sa {}, old_int{}, old_term{};
  if (keys.active()) {
    g_stop = &stop;
    sa.sa_handler = on_replay_stop_signal;
    ::sigaction(SIGINT, &sa, &old_int);
    ::sigaction(SIGTERM, &sa, &old_term);
    if (*speed > 0) std::fprintf(stderr, "(space: pause/resume, +/-: faster/slower, q: quit)\n");
  }
  double pace = *speed;
  std::uint64_t shown = 0, read = 0;
  std::int64_t last_ts = 0;
  bool have_last = false;
  int rc = 0;
  bool more = *positioned;
  while (more && !stop.load()) {
    const journal::Event& e = (*cursor)->current();
    if (a.to != 0 && e.sequence > a.to) break;
    ++read;
    if (filter->matches(e)) {
      if (pace > 0 && have_last && e.ts_event_ns > last_ts) {
        // Sleep in slices so keys (and signals) are handled while waiting.
        std::int64_t wait = std::min<std::int64_t>(
            static_cast<std::int64_t>(static_cast<double>(e.ts_event_ns - last_ts) / pace), kMaxWaitNs);
        const std::int64_t until = monotonic_ns() + wait;
        bool paused = false;
        while ((paused || monotonic_ns() < until) && !stop.load()) {
          const std::int64_t left = paused ? 100'000'000 : until - monotonic_ns();
          const char k = keys.wait(static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(left, 100'000'000) / 1'000'000)));
          if (k == 'q' || k == 'Q') stop.store(true);
          if (k == ' ' || k == 'p') {
            paused = !paused;
            std::fprintf(stderr, paused ? "[paused: space to resume, q to quit]\n" : "[resumed]\n");
          }
          if (k == '+') pace *= 2, std::fprintf(stderr, "[speed %sx]\n", format_double(pace).c_str());
          if (k == '-') pace /= 2, std::fprintf(stderr, "[speed %sx]\n", format_double(pace).c_str());
        }
        if (stop.load()) break;
      }
      const std::string runner = e.runner == journal::kNoRunner ? "-" : std::to_string(e.runner);
      const std::string type = e.is_unknown() ? "unknown" : std::string(journal::to_string(e.type()));
      std::printf("%8llu  %-20s %3s  %-16s %s\n", static_cast<unsigned long long>(e.sequence),
                  time_text(e.ts_event_ns, days).c_str(), runner.c_str(), type.c_str(),
                  journal::describe_event(e, names, days).c_str());
      if (pace > 0) std::fflush(stdout);
      ++shown;
      last_ts = e.ts_event_ns;
      have_last = true;
    } else if (keys.active() && pace > 0) {
      const char k = keys.wait(0);
      if (k == 'q' || k == 'Q') stop.store(true);
    }
    auto next = (*cursor)->step_forward();
    if (!next) {
      print_error(next.error().message);
      rc = 1;
      break;
    }
    more = *next;
  }
  if (keys.active()) {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    g_stop = nullptr;
  }
  std::fflush(stdout);
  std::fprintf(stderr, "%llu events shown of %llu read%s\n", static_cast<unsigned long long>(shown),
               static_cast<unsigned long long>(read), stop.load() ? " (stopped)" : "");
  if (std::string loss = loss_summary(rep.counts); !loss.empty()) std::fprintf(stderr, "warning: %s\n", loss.c_str());
  return rc;
}

}  // namespace

void register_replay(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<ReplayArgs>();
  auto* cmd = app.add_subcommand("replay", "Print a recorded session's events as a timeline");
  cmd->footer(
      "Each line: sequence, data time, runner, event type, what happened. --speed paces the lines by the data\n"
      "time between events (60 = a minute of data per second; waits are capped at one second); max prints at\n"
      "once. On a terminal: space pauses and resumes, + and - double and halve the speed, q quits.\n"
      "Filters: " +
      std::string(journal::EventFilter::groups_help()) +
      " (comma-separated).\n\n"
      "Example:\n"
      "  trading-engine replay --session 20250301T101010Z-1a2b3c4d --filter transitions,orders,fills");
  add_sessions_dir_option(cmd, args->dir);
  cmd->add_option("--session", args->session, "Session id (see `trading-engine sessions`)")->required();
  cmd->add_option("--speed", args->speed, "Data time per wall time (e.g. 60, 3600x), or max")->capture_default_str();
  cmd->add_option("--from", args->from, "First sequence number to show");
  cmd->add_option("--to", args->to, "Last sequence number to show");
  cmd->add_option("--from-time", args->from_time, "Start at the first event at or after this data time");
  cmd->add_option("--filter", args->filter, "Event groups to show, e.g. transitions,orders,fills");
  cmd->add_option("--runner", args->runner, "Only this runner's events");
  cmd->callback([args, &ctx] { ctx.exit_code = run_replay(*args); });
}

}  // namespace te::app
