#pragma once
// The kill switch's operator triggers while a run is going (docs/risk.md,
// "Kill switch"): the signal SIGUSR1, or a control file appearing at a
// configured path. Either one requests the kill switch of a RiskEngine, which
// engages it at its next bar or order check (the event then carries the data
// time of that bar). A control file already present when the control starts
// is seen at once, so `touch` before a run engages the switch from its first bar.
//
// A watcher thread looks every `poll` for the file and for signals counted by
// the handler. Construction installs the SIGUSR1 handler (when asked) and
// destruction joins the thread; the last control listening to SIGUSR1 restores
// the signal's previous disposition.
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

namespace te::risk {

class RiskEngine;

struct KillSwitchTriggers {
  std::filesystem::path file;  // empty: no control file
  bool signal = false;         // SIGUSR1
  std::chrono::milliseconds poll{100};
  bool any() const noexcept { return signal || !file.empty(); }
};

class KillSwitchControl {
 public:
  // `engine` must outlive the control.
  KillSwitchControl(RiskEngine& engine, KillSwitchTriggers triggers);
  ~KillSwitchControl();
  KillSwitchControl(const KillSwitchControl&) = delete;
  KillSwitchControl& operator=(const KillSwitchControl&) = delete;

 private:
  void watch();
  bool poll_once();  // true once it has requested the switch

  RiskEngine& engine_;
  KillSwitchTriggers triggers_;
  int signals_seen_ = 0;
  bool requested_ = false;
  bool installed_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread watcher_;
};

}  // namespace te::risk
