#pragma once
// A recorded session from start to finish: creates <base>/<session_id>/ with
// meta.json, the strategies' sources (content-addressed) and the journal, writes
// the session_start event, hands out one JournalRecorder per runner, and at the
// end writes session_end, closes the journal and completes meta.json.
//
// Used by `backtest --record`, `rerun` and `run` ([event_sourcing]):
//
//   SessionMeta meta;  meta.mode = "run"; meta.config = ...; meta.strategies = ...;
//   auto rec = SessionRecorder::create(options, std::move(meta), {code_of_strategy_0, ...});
//   JournalRecorder& r0 = (*rec)->add_runner();       // pass as the runner's observer
//   ... run ...
//   (*rec)->finish("end_of_data", summary, result);    // check the Status
//
// Threading: add_runner() and finish() on the thread that owns the session;
// each JournalRecorder on its runner's thread; record() from any thread.
// Nothing here does disk I/O on a runner thread (the journal writer has its
// own thread), except what JournalWriter's queue policy allows.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <atomic>
#include <thread>

#include "engine/core/result.hpp"
#include "engine/journal/journal_writer.hpp"
#include "engine/journal/session_dir.hpp"
#include "engine/journal/session_meta.hpp"
#include "engine/runner/journal_recorder.hpp"

namespace te::runner {

struct SessionRecorderOptions {
  std::string base_dir = "data/sessions";
  std::string session_id;          // empty: "<UTC wall time>-<8 hex>" (journal::make_session_id)
  journal::WriterOptions writer;   // storage mode, indicators, fsync, queue, block cutting
  RecorderOptions recorder;        // state policy and batching of every runner
  std::int64_t wall_start_ns = 0;  // meta.json started_at (0: read the wall clock)
  // What session_start says this journal is: empty means this session's id and
  // meta.mode. A rerun reproducing its parent passes the parent's, so that the
  // two journals can be byte-identical (ids derive from the wall clock).
  std::string journal_session_id;
  std::string journal_mode;

  // What a backtest wants: every event kept (the queue blocks), blocks cut by
  // size only so the same events give the same bytes, no fsync until finish()
  // (the journal, the sources and meta.json are synced once, at the end).
  static SessionRecorderOptions for_backtest();
};

class SessionRecorder {
 public:
  // `meta` says what runs (mode, engine_version, config and config_sha256,
  // strategies with name/path/symbols/params, data, seed, parent_session); the
  // session id, status, wall times, storage fields and each strategy's sha256
  // are filled in here. `strategy_code[i]` is the source of meta.strategies[i],
  // stored as sources/<sha256>.lua.
  // Errors: Errc::invalid_argument (bad options or session id, id exists),
  // Errc::io (directory, meta.json or journal cannot be written).
  static Result<std::unique_ptr<SessionRecorder>> create(SessionRecorderOptions options, journal::SessionMeta meta,
                                                         const std::vector<std::string_view>& strategy_code);

  // Closes the journal if finish() was not called and marks the session failed.
  ~SessionRecorder();
  SessionRecorder(const SessionRecorder&) = delete;
  SessionRecorder& operator=(const SessionRecorder&) = delete;

  const std::string& session_id() const noexcept { return dir_.id(); }
  const journal::SessionDir& dir() const noexcept { return dir_; }
  const journal::SessionMeta& meta() const noexcept { return meta_; }
  journal::EventSink& sink() noexcept { return *writer_; }

  // A recorder for one more runner, owned by the session (valid until the
  // session is destroyed). Pass it to SymbolRunner::create as the observer (or
  // through an ObserverFanout).
  JournalRecorder& add_runner();

  // Records a session-wide event (StormGuard changes, notes) right away;
  // runner == journal::kNoRunner unless it concerns one runner. Thread-safe.
  Status record(journal::Event event);

  // Stores strategy code as sources/<sha256>.lua; returns the sha256.
  Result<std::string> store_source(std::string_view code);

  // Flushes every runner's recorder, appends session_end (reason, summary),
  // closes the journal and rewrites meta.json with `status`, the end time, the
  // data time range and `result`. Idempotent: later calls return the first status.
  Status finish(std::string_view reason, Value summary, Value result, std::string_view status = "completed");

  // Closes the journal and deletes the session directory (a run that never
  // started, e.g. the strategy did not load). Errors: Errc::io.
  Status discard();

  journal::WriterStats writer_stats() const { return writer_->stats(); }
  // The warnings its runners' recorders noted in the journal (a ctx that
  // could not be recorded), for the command to show too: each text once,
  // with the number of runners that noted it.
  std::vector<std::pair<std::string, std::size_t>> warnings() const {
    std::vector<std::pair<std::string, std::size_t>> out;
    for (const auto& r : runners_) {
      const std::string& w = r->ctx_warning();
      if (w.empty()) continue;
      auto same = std::find_if(out.begin(), out.end(), [&](const auto& e) { return e.first == w; });
      if (same != out.end()) {
        ++same->second;
      } else {
        out.emplace_back(w, 1);
      }
    }
    return out;
  }

 private:
  SessionRecorder(journal::SessionDir dir, journal::SessionMeta meta, std::unique_ptr<journal::JournalWriter> writer,
                  RecorderOptions recorder);

  journal::SessionDir dir_;
  journal::SessionMeta meta_;
  std::unique_ptr<journal::JournalWriter> writer_;
  RecorderOptions recorder_options_;
  std::vector<std::unique_ptr<JournalRecorder>> runners_;
  bool finished_ = false;
  Status finish_status_;
  // False under FsyncPolicy::None (a backtest): meta.json and the sources are
  // written without fsync and synced off the trading thread by `opening_sync_`
  // (started by create(), joined by finish(), which also syncs the sources
  // stored after it started).
  bool durable_ = true;
  std::thread opening_sync_;
  Status opening_status_;
  std::atomic<bool> late_sources_{false};  // store_source() may run on several runners' threads
  Status join_opening_sync();
  std::thread cleanup_;  // removes the meta.json finish() replaced (joined by the destructor)
};

// session_start.info of a session: what a rerun must reproduce (the effective
// config, strategies by hash with their parameters and symbols, data by hash).
// Paths and wall times are left out so that a rerun's event stream can be
// identical to the original's.
Value session_start_info(const journal::SessionMeta& meta);

}  // namespace te::runner
