#include "engine/app/options.hpp"

#include <cstdio>

#include "engine/core/labels.hpp"
#include "engine/core/time.hpp"

namespace te::app {

Result<std::vector<std::pair<std::string, std::string>>> parse_params(const std::vector<std::string>& args) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& a : args) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0)
      return make_error(Errc::invalid_argument, "--param " + a + ": expected name=value, e.g. --param fast=10");
    std::string name = a.substr(0, eq);
    for (const auto& [n, v] : out)
      if (n == name) return make_error(Errc::invalid_argument, "--param " + name + " is given twice");
    out.emplace_back(std::move(name), a.substr(eq + 1));
  }
  return out;
}

Result<TimeRange> parse_time_range(const std::string& start, const std::string& end) {
  TimeRange r;
  if (!start.empty()) {
    auto t = parse_iso8601_ns(start);
    if (!t) return make_error(Errc::invalid_argument, "--start " + start + ": expected a date like 2020-01-31 or 2020-01-31T09:30:00Z");
    r.start_ns = *t;
  }
  if (!end.empty()) {
    auto t = parse_iso8601_ns(end);
    if (!t) return make_error(Errc::invalid_argument, "--end " + end + ": expected a date like 2020-12-31 or 2020-12-31T16:00:00Z");
    r.end_ns = end.size() == 10 ? *t + kNsPerDay : *t + 1;
  }
  if (r.start_ns && r.end_ns && *r.end_ns <= *r.start_ns)
    return make_error(Errc::invalid_argument, "--end " + end + " is before --start " + start);
  return r;
}

void print_error(const std::string& message) {
  // Messages quote files, strategies and arguments: nothing in them reaches the terminal as a control.
  std::fprintf(stderr, "error: %s\n", terminal_text(message).c_str());
  std::fflush(stderr);
}

}  // namespace te::app
