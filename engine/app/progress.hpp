#pragma once
// A terminal progress bar on stderr with rate and ETA. Prints nothing unless
// stderr is a terminal and the work has run for a moment (short runs stay quiet).
#include <cstdint>
#include <string>

namespace te::app {

class ProgressBar {
 public:
  ProgressBar(std::string label, std::uint64_t total, std::string unit = "bars");
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(std::uint64_t done, const std::string& note = {});
  void finish();

 private:
  std::string label_, unit_;
  std::uint64_t total_;
  std::int64_t start_ns_;
  std::int64_t last_draw_ns_ = 0;
  bool enabled_;
  bool drawn_ = false;
};

}  // namespace te::app
