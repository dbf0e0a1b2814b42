#pragma once
// Turns "the strategy file changed" into hot reloads of the runners that use
// it. Three triggers, one path:
//   - saving the file (inotify on its directory, so editors that write a temp
//     file and rename it are seen too), debounced;
//   - SIGHUP (handle_sighup(): a signalfd read by the watcher's thread), and
//   - an explicit request (reload_all() / reload_file(): the `run` command's
//     control interface, or its own signal handler).
// Each trigger reads the file and hashes it; an unchanged hash is a no-op.
// A changed file is handed to every runner using it (request_reload): each
// swaps at its next bar boundary, on its own thread, or keeps its old version
// if the new one fails (the runner's observer hears of both).
//
// Linux only (inotify, eventfd, signalfd). Thread-safe. Runners must outlive
// their registration (unwatch() or the watcher's destruction).
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/result.hpp"

namespace te::runner {

class SymbolRunner;

struct ReloadWatcherOptions {
  // Quiet time after the last change before the file is read: an editor's
  // save is several writes (or a write and a rename).
  int debounce_ms = 25;
  // Watch files for changes; false leaves only SIGHUP and explicit requests.
  bool watch_files = true;
};

struct ReloadWatcherStats {
  std::uint64_t file_events = 0;       // inotify events about watched files
  std::uint64_t checks = 0;            // files read and hashed
  std::uint64_t unchanged = 0;         // ... whose hash had not changed (no-op)
  std::uint64_t dispatched = 0;        // reload requests handed to runners
  std::uint64_t read_errors = 0;       // unreadable, empty or bytecode files
  std::uint64_t signals = 0;           // SIGHUPs received
};

class ReloadWatcher {
 public:
  // level: 1 info, 2 warning. Called on the watcher's thread.
  using Log = std::function<void(int level, const std::string& message)>;

  explicit ReloadWatcher(ReloadWatcherOptions options = {}, Log log = {});
  ~ReloadWatcher();
  ReloadWatcher(const ReloadWatcher&) = delete;
  ReloadWatcher& operator=(const ReloadWatcher&) = delete;

  // Registers `runner` as a user of the file at `path`, whose running version
  // has `sha256`. Errors: Errc::io when the directory cannot be watched.
  Status watch(SymbolRunner& runner, const std::string& path, const std::string& sha256);
  // The same for a Lua indicator file the runner loads (HostOptions::
  // indicator_files, by the same path): a change reaches the runner through
  // request_indicator_reload (its strategy is rebuilt with the new file).
  Status watch_indicator(SymbolRunner& runner, const std::string& path, const std::string& sha256);
  void unwatch(SymbolRunner& runner);

  // Starts the watcher's thread. Errors: Errc::io (inotify/eventfd).
  Status start();
  void stop();

  // Re-reads every watched file (or one) now, without debounce; changed ones
  // are dispatched. Returns at once: the watcher's thread does the work.
  void reload_all();
  void reload_file(const std::string& path);

  // Makes SIGHUP a reload_all(). Blocks SIGHUP in the calling thread: call it
  // from main() before any other thread exists (threads inherit the mask; a
  // thread that does not block SIGHUP would let it terminate the process).
  // Errors: Errc::io.
  Status handle_sighup();

  // Waits until every trigger so far has been processed (tests, benchmarks).
  void flush();

  ReloadWatcherStats stats() const;

 private:
  struct File;
  void run();
  Status add(SymbolRunner& runner, const std::string& path, const std::string& sha256, bool indicator);
  void process(File& f, const char* why);
  void wake();
  File* find(const std::string& key);

  ReloadWatcherOptions options_;
  Log log_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<File>> files_;
  std::map<std::string, int> dir_watches_;  // directory -> inotify watch descriptor
  std::vector<std::string> requests_;       // file keys; "" = all
  std::uint64_t requested_ = 0, processed_ = 0;
  std::condition_variable flushed_;
  int inotify_fd_ = -1;
  int event_fd_ = -1;
  int signal_fd_ = -1;
  bool stop_ = false;
  std::thread thread_;
  ReloadWatcherStats stats_;
};

}  // namespace te::runner
