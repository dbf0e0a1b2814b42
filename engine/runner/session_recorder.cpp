#include "engine/runner/session_recorder.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "engine/core/clock.hpp"
#include "engine/core/sha256.hpp"

namespace te::runner {
namespace {

std::string default_session_id(std::int64_t wall_ns, const journal::SessionMeta& meta) {
  // Two sessions started in the same second differ by pid, a process-wide
  // counter and the monotonic clock in the salt.
  static std::atomic<std::uint64_t> counter{0};
  std::string salt = meta.mode + "|" + std::to_string(::getpid()) + "|" + std::to_string(counter++) + "|" +
                     std::to_string(monotonic_ns());
  for (const auto& s : meta.strategies) salt += "|" + s.sha256;
  return journal::make_session_id(wall_ns, salt);
}

}  // namespace

SessionRecorderOptions SessionRecorderOptions::for_backtest() {
  SessionRecorderOptions o;
  o.writer.block_timeout_ms = 0;
  o.writer.fsync = journal::FsyncPolicy::None;
  o.writer.write_stretch = journal::WriterOptions::kBacktestWriteStretch;  // (needs the two above)
  o.writer.queue_full = journal::QueueFullPolicy::Block;
  return o;
}

Value session_start_info(const journal::SessionMeta& meta) {
  Value::Array strategies;
  for (const auto& s : meta.strategies) {
    Value::Array symbols;
    for (const auto& sym : s.symbols) symbols.emplace_back(sym);
    strategies.push_back(Value::map(
        {{"name", s.name}, {"params", s.params}, {"sha256", s.sha256}, {"symbols", Value(std::move(symbols))}}));
  }
  Value::Array data;
  for (const auto& d : meta.data)
    data.push_back(Value::map({{"bars", Value(static_cast<std::int64_t>(d.bars))},
                               {"bars_sha256", d.bars_sha256},
                               {"sha256", d.sha256},
                               {"symbol", d.symbol}}));
  return Value::map({{"config", meta.config},
                     {"data", Value(std::move(data))},
                     {"strategies", Value(std::move(strategies))}});
}

SessionRecorder::SessionRecorder(journal::SessionDir dir, journal::SessionMeta meta,
                                 std::unique_ptr<journal::JournalWriter> writer, RecorderOptions recorder)
    : dir_(std::move(dir)), meta_(std::move(meta)), writer_(std::move(writer)), recorder_options_(std::move(recorder)) {}

Result<std::unique_ptr<SessionRecorder>> SessionRecorder::create(SessionRecorderOptions options,
                                                                 journal::SessionMeta meta,
                                                                 const std::vector<std::string_view>& strategy_code) {
  if (strategy_code.size() != meta.strategies.size())
    return make_error(Errc::invalid_argument, "session recorder: " + std::to_string(meta.strategies.size()) +
                                                  " strategies but " + std::to_string(strategy_code.size()) +
                                                  " sources");
  if (std::string bad = options.writer.validate(); !bad.empty())
    return make_error(Errc::invalid_argument, "session recorder: " + bad);
  options.recorder.include_indicators = options.writer.include_indicators;

  const std::int64_t wall = options.wall_start_ns != 0 ? options.wall_start_ns : LiveClock().now_ns();
  for (std::size_t i = 0; i < meta.strategies.size(); ++i)
    meta.strategies[i].sha256 = sha256_hex(strategy_code[i]);
  const std::string id = options.session_id.empty() ? default_session_id(wall, meta) : options.session_id;
  auto dir = journal::SessionDir::create(options.base_dir, id);
  if (!dir) return std::move(dir).error();
  // FsyncPolicy::None (a backtest): the sources and meta.json are written
  // without fsync and synced by a thread of their own while the backtest
  // runs (opening_sync_). Each fsync cost 1-7 ms on the test VM (an ext4
  // journal commit), four of them before the first bar: a fifth of a
  // 200,000-bar recorded backtest's wall time.
  const bool durable = options.writer.fsync != journal::FsyncPolicy::None;
  for (std::string_view code : strategy_code) TE_TRY(dir->store_source(code, durable));

  meta.session_id = id;
  meta.status = "running";
  meta.started_at_ns = wall;
  meta.ended_at_ns = 0;
  meta.storage_mode = options.writer.storage_mode;
  meta.snapshot_interval =
      options.writer.storage_mode == journal::StorageMode::Delta ? options.writer.snapshot_interval : 0;
  meta.include_indicators = options.writer.include_indicators;
  meta.compressed = options.writer.compress;
  meta.compression_acceleration =
      options.writer.compress && options.writer.acceleration != journal::kDefaultAcceleration
          ? static_cast<std::uint32_t>(options.writer.acceleration)
          : 0;
  TE_TRY(dir->write_meta(meta, durable));  // what a crash leaves: status "running"

  auto writer = journal::JournalWriter::create(dir->journal_path(), options.writer);
  if (!writer) return std::move(writer).error();

  journal::SessionStart start;
  start.session_id = options.journal_session_id.empty() ? id : options.journal_session_id;
  start.mode = options.journal_mode.empty() ? meta.mode : options.journal_mode;
  start.engine_version = meta.engine_version;
  start.seed = meta.seed;
  start.config_sha256 = meta.config_sha256;
  start.info = session_start_info(meta);
  auto seq = (*writer)->append(journal::make_event(meta.data_start_ns, journal::kNoRunner, std::move(start)));
  if (!seq) return std::move(seq).error();

  auto rec = std::unique_ptr<SessionRecorder>(
      new SessionRecorder(std::move(*dir), std::move(meta), std::move(*writer), std::move(options.recorder)));
  rec->durable_ = durable;
  if (!durable) {
    SessionRecorder* r = rec.get();
    auto sync = [r] {
      Status s = r->dir_.sync_sources();
      if (s) s = r->dir_.sync_entries();
      r->opening_status_ = std::move(s);
    };
    try {
      r->opening_sync_ = std::thread(sync);
    } catch (const std::system_error&) {
      sync();  // no thread to spare: sync here, as a durable session does
    }
  }
  return rec;
}

Status SessionRecorder::join_opening_sync() {
  if (opening_sync_.joinable()) opening_sync_.join();
  return opening_status_;
}

Result<std::string> SessionRecorder::store_source(std::string_view code) {
  if (!durable_) late_sources_ = true;
  return dir_.store_source(code, durable_);
}

SessionRecorder::~SessionRecorder() {
  if (!finished_) (void)finish("abandoned", Value(), Value(), "failed");
  if (cleanup_.joinable()) cleanup_.join();
}

JournalRecorder& SessionRecorder::add_runner() {
  runners_.push_back(std::make_unique<JournalRecorder>(
      *writer_, recorder_options_, [this](std::string_view code) { return store_source(code); }));
  return *runners_.back();
}

Status SessionRecorder::record(journal::Event event) {
  auto r = writer_->append(std::move(event));
  if (!r) return std::move(r).error();
  return {};
}

Status SessionRecorder::finish(std::string_view reason, Value summary, Value result, std::string_view status) {
  if (finished_) return finish_status_;
  finished_ = true;
  Status first;
  auto keep = [&first](Status s) {
    if (first && !s) first = std::move(s);
  };
  std::int64_t start = 0, end = 0, last_ts = meta_.data_start_ns;
  bool any = false;
  for (auto& r : runners_) {
    keep(r->flush());
    if (r->bars() == 0) continue;
    start = any ? std::min(start, r->first_bar_ns()) : r->first_bar_ns();
    end = any ? std::max(end, r->last_bar_ns()) : r->last_bar_ns();
    any = true;
  }
  if (any) last_ts = end;
  journal::SessionEnd e;
  e.reason = std::string(reason);
  e.summary = std::move(summary);
  if (first) {
    auto seq = writer_->append(journal::make_event(last_ts, journal::kNoRunner, std::move(e)));
    if (!seq) keep(std::move(seq).error());
  }
  // The journal's last blocks and its fdatasync run on the writer thread while
  // this thread prepares the final meta.json (written and synced beside the old
  // one); it is renamed in only once close() says the journal is durable, so a
  // crash still leaves "running" or a complete journal. The meta.json fsync
  // and the sources' overlap the journal's sync instead of following it.
  writer_->begin_close();
  const bool open_ok = static_cast<bool>(first);
  meta_.status = open_ok ? std::string(status) : "failed";
  meta_.ended_at_ns = LiveClock().now_ns();
  if (any) {
    meta_.data_start_ns = start;
    meta_.data_end_ns = end;
  }
  meta_.result = std::move(result);
  Status opening = join_opening_sync();
  Status sources = late_sources_ ? dir_.sync_sources() : Status{};  // made durable by commit_meta's directory sync
  Status prepared = dir_.prepare_meta(meta_);  // as if the close succeeds
  Status closed = writer_->close();
  if (open_ok && !closed) {  // the journal did not close: the session failed
    meta_.status = "failed";
    prepared = dir_.prepare_meta(meta_);
  }
  keep(std::move(closed));
  keep(std::move(opening));
  keep(std::move(sources));
  // The meta.json written at creation is replaced; freeing its inode costs
  // ~4 ms here (ext4 with `discard`), so it is set aside and removed by a
  // thread of its own (joined by the destructor) instead of in the rename.
  Result<bool> replaced = prepared ? dir_.commit_meta() : Result<bool>(std::move(prepared).error());
  if (!replaced) {
    keep(std::move(replaced).error());
  } else if (*replaced) {
    std::string old = dir_.old_meta_path();
    try {
      cleanup_ = std::thread([old] { ::unlink(old.c_str()); });
    } catch (const std::system_error&) {
      ::unlink(old.c_str());
    }
  }
  finish_status_ = first;
  return first;
}

Status SessionRecorder::discard() {
  (void)join_opening_sync();
  if (cleanup_.joinable()) cleanup_.join();
  finished_ = true;
  (void)writer_->close();
  std::error_code ec;
  std::filesystem::remove_all(dir_.path(), ec);
  if (ec) return make_error(Errc::io, "remove session directory " + dir_.path() + ": " + ec.message());
  finish_status_ = {};
  return {};
}

}  // namespace te::runner
