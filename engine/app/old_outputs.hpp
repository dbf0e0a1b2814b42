#pragma once
// The output files of an earlier run in the same directory, deleted on a
// second thread while this run goes on instead of being replaced in place.
//
// Why: on ext4 (with `discard`, as on this machine) writing report.json over an
// old one (O_TRUNC) or renaming equity.csv over an old one makes the kernel
// free and trim the old blocks and, for the replacement pattern, allocate and
// start writing the new file at once (`auto_da_alloc`). A 1M-bar run rerun into
// the same --out directory spent 36–46 ms of wall time in the rename of
// equity.csv and ~20 ms more writing the reports; unlinking the old 58 MB
// equity.csv alone takes 30–114 ms. Moved aside first, the new files are new
// inodes and the old ones go away off the critical path.
//
// discard() is called once the strategy has run for a while (the command's
// progress callback) or after the run: a run that fails before its strategy
// starts leaves the earlier outputs as they were.
#include <string>
#include <thread>
#include <vector>

namespace te::app {

class OldOutputs {
 public:
  explicit OldOutputs(std::vector<std::string> paths) : paths_(std::move(paths)) {}
  ~OldOutputs() { wait(); }
  OldOutputs(const OldOutputs&) = delete;
  OldOutputs& operator=(const OldOutputs&) = delete;

  // The first call renames each path that is a regular file to a hidden name
  // beside it (".<name>.replaced-<pid>") and unlinks those on a thread; later
  // calls do nothing. Anything else (a missing file, a symlink, a device, a
  // failed rename) is left alone: the writer opens the path as before.
  void discard() noexcept;
  // Waits until the old files are gone.
  void wait() noexcept;

 private:
  std::vector<std::string> paths_;
  std::vector<std::string> moved_;  // read by worker_ until it is joined
  std::thread worker_;
  bool discarded_ = false;
};

}  // namespace te::app
