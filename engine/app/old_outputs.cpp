#include "engine/app/old_outputs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace te::app {

void OldOutputs::discard() noexcept {
  if (discarded_) return;
  discarded_ = true;
  for (const std::string& path : paths_) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const std::filesystem::path p(path);
    std::string name = ".";  // built step by step: GCC 12 warns falsely (-Wrestrict) on "." + a + b
    name += p.filename().string();
    name += ".replaced-";
    name += std::to_string(::getpid());
    std::string aside = (p.parent_path() / name).string();
    if (std::rename(path.c_str(), aside.c_str()) != 0) continue;
    if (std::find(reusable_.begin(), reusable_.end(), path) != reusable_.end())
      kept_[path] = std::move(aside);
    else
      moved_.push_back(std::move(aside));
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

std::string OldOutputs::take(const std::string& path) {
  auto it = kept_.find(path);
  if (it == kept_.end()) return {};
  std::string aside = std::move(it->second);
  kept_.erase(it);
  return aside;
}

OldOutputs::~OldOutputs() {
  wait();
  for (const auto& [path, aside] : kept_) ::unlink(aside.c_str());
}

}  // namespace te::app
