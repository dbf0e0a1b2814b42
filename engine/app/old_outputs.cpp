#include "engine/app/old_outputs.hpp"

#include "engine/backtest/output_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace te::app {

void OldOutputs::discard() noexcept {
  if (discarded_) return;
  discarded_ = true;
  for (const std::string& path : paths_) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    std::string aside = backtest::OutputFile::aside_name(path);
    if (std::rename(path.c_str(), aside.c_str()) == 0) moved_.push_back(std::move(aside));
  }
  if (moved_.empty()) return;
  try {
    worker_ = std::thread([this] {
      for (const std::string& m : moved_) ::unlink(m.c_str());
    });
  } catch (...) {
    // No thread: unlink here (what replacing the files would have cost).
    for (const std::string& m : moved_) ::unlink(m.c_str());
  }
}

void OldOutputs::wait() noexcept {
  if (worker_.joinable()) worker_.join();
}

}  // namespace te::app
