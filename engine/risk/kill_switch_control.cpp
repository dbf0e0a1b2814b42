#include "engine/risk/kill_switch_control.hpp"

#include <atomic>
#include <csignal>
#include <system_error>

#include "engine/risk/risk_engine.hpp"

namespace te::risk {
namespace {

// Signals are process-wide, so their count is too; each control compares it
// with the count it started from. Lock-free, hence safe in a handler.
std::atomic<int> g_kill_signals{0};
static_assert(std::atomic<int>::is_always_lock_free);

// Several controls may listen at once (one per live runner): the handler is
// installed by the first and the previous disposition restored by the last.
std::mutex g_install_mutex;
int g_installs = 0;
void (*g_previous_handler)(int) = SIG_DFL;

}  // namespace

extern "C" void on_kill_switch_signal(int) { g_kill_signals.fetch_add(1, std::memory_order_relaxed); }

namespace {

bool install_handler() {
  std::lock_guard<std::mutex> lock(g_install_mutex);
  if (g_installs == 0) {
    auto previous = std::signal(SIGUSR1, on_kill_switch_signal);
    if (previous == SIG_ERR) return false;
    g_previous_handler = previous;
  }
  ++g_installs;
  return true;
}

void uninstall_handler() {
  std::lock_guard<std::mutex> lock(g_install_mutex);
  if (--g_installs == 0) std::signal(SIGUSR1, g_previous_handler);
}

}  // namespace

KillSwitchControl::KillSwitchControl(RiskEngine& engine, KillSwitchTriggers triggers)
    : engine_(engine), triggers_(std::move(triggers)) {
  signals_seen_ = g_kill_signals.load(std::memory_order_relaxed);
  if (triggers_.signal) installed_ = install_handler();
  // A file already there counts from the first bar, deterministically.
  if (poll_once() || !triggers_.any()) return;
  watcher_ = std::thread([this] { watch(); });
}

KillSwitchControl::~KillSwitchControl() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  if (installed_) uninstall_handler();
}

bool KillSwitchControl::poll_once() {
  if (requested_) return true;
  const int n = g_kill_signals.load(std::memory_order_relaxed);
  if (triggers_.signal && n != signals_seen_) {
    signals_seen_ = n;
    engine_.request_kill_switch("SIGUSR1 received");
    requested_ = true;
  } else if (!triggers_.file.empty()) {
    std::error_code ec;
    if (std::filesystem::exists(triggers_.file, ec)) {
      engine_.request_kill_switch("control file present");
      requested_ = true;
    }
  }
  return requested_;
}

void KillSwitchControl::watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    if (wake_.wait_for(lock, triggers_.poll, [this] { return stop_; })) return;
    if (poll_once()) return;  // one request is all it takes; the engine keeps the switch engaged
  }
}

}  // namespace te::risk
