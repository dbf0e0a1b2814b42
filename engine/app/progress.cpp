#include "engine/app/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/core.h>

#include "engine/core/clock.hpp"

namespace te::app {
namespace {
constexpr std::int64_t kQuietNs = 500'000'000;   // stay silent for short work
constexpr std::int64_t kRedrawNs = 100'000'000;  // at most 10 redraws a second

std::string human(double v) {
  if (v >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}
}  // namespace

ProgressBar::ProgressBar(std::string label, std::uint64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), start_ns_(monotonic_ns()),
      enabled_(isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(std::uint64_t done, const std::string& note) {
  if (!enabled_) return;
  const std::int64_t now = monotonic_ns();
  if (now - start_ns_ < kQuietNs || (drawn_ && now - last_draw_ns_ < kRedrawNs && done < total_)) return;
  last_draw_ns_ = now;
  drawn_ = true;
  const double elapsed = static_cast<double>(now - start_ns_) / 1e9;
  const double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 0.0;
  const int width = 30;
  const int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(width - filled), '.');
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double eta = rate > 0 && total_ >= done ? static_cast<double>(total_ - done) / rate : 0.0;
  std::fprintf(stderr, "\r%s [%s] %3.0f%%  %s %s/s  ETA %.0fs %s\x1b[K", label_.c_str(), bar.c_str(), frac * 100,
               human(rate).c_str(), unit_.c_str(), eta, note.c_str());
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (drawn_) {
    std::fputs("\r\x1b[K", stderr);
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace te::app
