#include "engine/live/status_table.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/core.h>

#include "engine/core/time.hpp"

namespace te::live {
namespace {

std::string mode_of(const UnitStatus& s) {
  std::string m(to_string(s.source));
  m += s.paper ? "/paper" : "/sim";
  return m;
}

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto t = static_cast<std::int64_t>(s + 0.5);
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
  return fmt::format("{}:{:02}", t / 60, t % 60);
}

std::string progress(const UnitStatus& s, double elapsed_s) {
  if (s.total_bars == 0) return fmt::format("{} bars", s.bars);
  const double f = std::min(1.0, static_cast<double>(s.bars) / static_cast<double>(s.total_bars));
  std::string bar(10, ' ');
  for (std::size_t i = 0; i < static_cast<std::size_t>(f * 10); ++i) bar[i] = '#';
  std::string eta;
  if (s.state == UnitState::Running && f > 0 && f < 1) eta = " ETA " + duration(elapsed_s * (1 - f) / f);
  return fmt::format("[{}] {:3.0f}%{}", bar, f * 100, eta);
}

std::string fit(std::string s, std::size_t w) {
  if (s.size() > w) s = s.substr(0, w - 1) + "~";
  return s;
}

}  // namespace

std::string format_status_table(const std::vector<UnitStatus>& rows, const FeedStatus& feed, double elapsed_s) {
  std::string out = fmt::format("{:<24} {:<10} {:<16} {:<10} {:<10} {:>12} {:>12} {:<20} {:>8}  {}\n", "runner",
                                "symbol", "mode", "state", "strategy", "position", "pnl", "last bar", "lag",
                                "progress");
  for (const auto& s : rows) {
    const std::string state = s.state == UnitState::Halted ? "HALTED" : std::string(to_string(s.state));
    const std::string last = s.last_bar_ns ? format_iso8601(s.last_bar_ns).substr(0, 19) : "-";
    const std::string lag = s.source == SourceKind::Live && s.feed_lag_ns >= 0
                                ? fmt::format("{:.2f}s", static_cast<double>(s.feed_lag_ns) / 1e9)
                                : "-";
    out += fmt::format("{:<24} {:<10} {:<16} {:<10} {:<10} {:>12.6g} {:>+12.2f} {:<20} {:>8}  {}\n", fit(s.name, 24),
                       fit(s.symbol, 10), mode_of(s), state, fit(s.runner_state, 10), s.position,
                       s.equity - s.initial_cash, last, lag, progress(s, elapsed_s));
    if (s.state == UnitState::Halted) out += "    halted: " + s.halt_reason + "\n";
    if (s.duplicates) out += fmt::format("    {} duplicate bar(s) dropped\n", s.duplicates);
  }
  if (feed.active)
    out += fmt::format(
        "binance: {} connection(s) open, {} connects, {} disconnects, {} messages, {} bars ({} backfilled{}), {} "
        "quotes, {} malformed\n",
        feed.connections, feed.connects, feed.disconnects, feed.messages, feed.bars, feed.backfilled_bars,
        feed.missing_bars ? fmt::format(", {} missing", feed.missing_bars) : std::string(), feed.quotes,
        feed.malformed);
  return out;
}

}  // namespace te::live
