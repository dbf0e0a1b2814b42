#include "engine/runner/reload_watcher.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <limits>

#include <fmt/core.h>

#include "engine/core/clock.hpp"
#include "engine/runner/symbol_runner.hpp"

namespace te::runner {
namespace {

constexpr std::uint32_t kFileEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_ATTRIB;

std::string file_key(const std::string& path) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  return (ec ? std::filesystem::path(path) : abs).lexically_normal().string();
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

struct ReloadWatcher::File {
  std::string key;   // absolute, normalised
  std::string dir;   // its directory
  std::string name;  // file name within dir
  std::string read_path;  // the path to read (as first registered)
  std::string sha256;     // of the version last dispatched (or running at registration)
  std::vector<std::pair<SymbolRunner*, std::string>> runners;  // runner, path it was given
  std::int64_t due_ns = 0;  // debounce deadline; 0 = nothing pending
  bool indicator = false;   // a Lua indicator file, not a strategy
};

ReloadWatcher::ReloadWatcher(ReloadWatcherOptions options, Log log) : options_(options), log_(std::move(log)) {}

ReloadWatcher::~ReloadWatcher() {
  stop();
  for (int fd : {inotify_fd_, event_fd_, signal_fd_})
    if (fd >= 0) ::close(fd);
}

ReloadWatcher::File* ReloadWatcher::find(const std::string& key) {
  for (auto& f : files_)
    if (f->key == key) return f.get();
  return nullptr;
}

Status ReloadWatcher::watch(SymbolRunner& runner, const std::string& path, const std::string& sha256) {
  return add(runner, path, sha256, false);
}

Status ReloadWatcher::watch_indicator(SymbolRunner& runner, const std::string& path, const std::string& sha256) {
  return add(runner, path, sha256, true);
}

Status ReloadWatcher::add(SymbolRunner& runner, const std::string& path, const std::string& sha256, bool indicator) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string key = file_key(path);
  File* f = find(key);
  if (f == nullptr) {
    auto nf = std::make_unique<File>();
    nf->key = key;
    const std::filesystem::path p(key);
    nf->dir = p.parent_path().string();
    nf->name = p.filename().string();
    nf->read_path = path;
    nf->sha256 = sha256;
    nf->indicator = indicator;
    f = nf.get();
    files_.push_back(std::move(nf));
  }
  f->runners.emplace_back(&runner, path);
  if (inotify_fd_ >= 0 && options_.watch_files && !dir_watches_.count(f->dir)) {
    const int wd = inotify_add_watch(inotify_fd_, f->dir.c_str(), kFileEvents);
    if (wd < 0) return make_error(Errc::io, errno_text(("watch directory " + f->dir).c_str()));
    dir_watches_[f->dir] = wd;
  }
  return {};
}

void ReloadWatcher::unwatch(SymbolRunner& runner) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& f : files_)
    f->runners.erase(std::remove_if(f->runners.begin(), f->runners.end(),
                                    [&](const auto& r) { return r.first == &runner; }),
                     f->runners.end());
}

Status ReloadWatcher::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable()) return {};
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) return make_error(Errc::io, errno_text("eventfd"));
  if (options_.watch_files) {
    inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_fd_ < 0) return make_error(Errc::io, errno_text("inotify_init1"));
    for (auto& f : files_) {
      if (dir_watches_.count(f->dir)) continue;
      const int wd = inotify_add_watch(inotify_fd_, f->dir.c_str(), kFileEvents);
      if (wd < 0) return make_error(Errc::io, errno_text(("watch directory " + f->dir).c_str()));
      dir_watches_[f->dir] = wd;
    }
  }
  stop_ = false;
  thread_ = std::thread([this] { run(); });
  return {};
}

void ReloadWatcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!thread_.joinable()) return;
    stop_ = true;
  }
  wake();
  thread_.join();
}

Status ReloadWatcher::handle_sighup() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return make_error(Errc::io, "block SIGHUP failed");
  std::lock_guard<std::mutex> lock(mutex_);
  if (signal_fd_ < 0) {
    signal_fd_ = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd_ < 0) return make_error(Errc::io, errno_text("signalfd"));
  }
  return {};
}

void ReloadWatcher::wake() {
  if (event_fd_ < 0) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(event_fd_, &one, sizeof one);
}

void ReloadWatcher::reload_all() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.emplace_back();
    ++requested_;
  }
  wake();
}

void ReloadWatcher::reload_file(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(file_key(path));
    ++requested_;
  }
  wake();
}

void ReloadWatcher::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!thread_.joinable()) return;
  const std::uint64_t target = ++requested_;
  lock.unlock();
  wake();
  lock.lock();
  flushed_.wait(lock, [&] {
    if (stop_ || processed_ < target) return stop_;
    return std::none_of(files_.begin(), files_.end(), [](const auto& f) { return f->due_ns != 0; });
  });
}

ReloadWatcherStats ReloadWatcher::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void ReloadWatcher::process(File& f, const char* why) {
  ++stats_.checks;
  auto src = script::read_strategy(f.read_path);
  if (!src) {
    ++stats_.read_errors;
    if (log_) log_(2, "reload (" + std::string(why) + "): " + src.error().message);
    return;
  }
  if (src->sha256 == f.sha256) {
    ++stats_.unchanged;
    return;
  }
  f.sha256 = src->sha256;
  for (auto& [runner, path] : f.runners) {
    script::StrategySource copy = *src;
    copy.path = path;
    if (f.indicator)
      runner->request_indicator_reload(std::move(copy));
    else
      runner->request_reload(std::move(copy));
    ++stats_.dispatched;
  }
  if (log_)
    log_(1, fmt::format("{} changed ({}, sha256 {}): {} runner(s) reload at their next bar", f.read_path, why,
                        f.sha256.substr(0, 12), f.runners.size()));
}

void ReloadWatcher::run() {
  const std::int64_t debounce = static_cast<std::int64_t>(options_.debounce_ms) * 1'000'000;
  alignas(inotify_event) char buf[16 * 1024];
  for (;;) {
    int timeout_ms = -1;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stop_) break;
      std::int64_t next = std::numeric_limits<std::int64_t>::max();
      for (auto& f : files_)
        if (f->due_ns) next = std::min(next, f->due_ns);
      if (next != std::numeric_limits<std::int64_t>::max())
        timeout_ms = static_cast<int>(std::max<std::int64_t>(0, (next - monotonic_ns() + 999'999) / 1'000'000));
    }
    pollfd fds[3] = {{event_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}, {signal_fd_, POLLIN, 0}};
    const int rc = ::poll(fds, 3, timeout_ms);
    if (rc < 0 && errno != EINTR) break;

    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_) break;
    const std::uint64_t requested = requested_;
    const std::int64_t now = monotonic_ns();
    if (event_fd_ >= 0) {
      std::uint64_t v = 0;
      [[maybe_unused]] const auto n = ::read(event_fd_, &v, sizeof v);
    }
    if (inotify_fd_ >= 0) {
      for (;;) {
        const ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
        if (n <= 0) break;
        for (char* p = buf; p < buf + n;) {
          const auto* ev = reinterpret_cast<const inotify_event*>(p);
          p += sizeof(inotify_event) + ev->len;
          if (ev->len == 0) continue;
          for (auto& [dir, wd] : dir_watches_) {
            if (wd != ev->wd) continue;
            for (auto& f : files_) {
              if (f->dir == dir && f->name == ev->name) {
                ++stats_.file_events;
                f->due_ns = now + debounce;
              }
            }
          }
        }
      }
    }
    bool sighup = false;
    if (signal_fd_ >= 0) {
      signalfd_siginfo si;
      while (::read(signal_fd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        ++stats_.signals;
        sighup = true;
      }
    }
    std::vector<std::string> requests;
    requests.swap(requests_);
    for (auto& f : files_) {
      const bool asked = sighup || std::any_of(requests.begin(), requests.end(),
                                               [&](const std::string& k) { return k.empty() || k == f->key; });
      if (asked) {
        f->due_ns = 0;
        process(*f, sighup ? "SIGHUP" : "reload request");
      } else if (f->due_ns && f->due_ns <= now) {
        f->due_ns = 0;
        process(*f, "file saved");
      }
    }
    processed_ = requested;
    flushed_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  stop_ = true;
  flushed_.notify_all();
}

}  // namespace te::runner
