#include "engine/journal/journal_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <set>
#include <utility>

#include "engine/journal/block_codec.hpp"
#include "engine/journal/block_prefetcher.hpp"
#include "engine/journal/event_codec.hpp"
#include "engine/journal/state_delta.hpp"

namespace te::journal {

namespace {

class RandomAccessFile {
 public:
  RandomAccessFile(int fd, std::string path, std::uint64_t size) : fd_(fd), path_(std::move(path)), size_(size) {}
  ~RandomAccessFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  RandomAccessFile(const RandomAccessFile&) = delete;
  RandomAccessFile& operator=(const RandomAccessFile&) = delete;

  static Result<std::unique_ptr<RandomAccessFile>> open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      return make_error(err == ENOENT ? Errc::not_found : Errc::io, "open journal " + path + ": " + std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return make_error(Errc::io, "stat journal " + path + ": " + std::strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
      ::close(fd);
      return make_error(Errc::io, "open journal " + path + ": is a directory");
    }
    return std::make_unique<RandomAccessFile>(fd, path, static_cast<std::uint64_t>(st.st_size));
  }

  // Reads exactly n bytes at offset (the caller keeps offset + n <= size()).
  Status read(std::uint64_t offset, std::size_t n, char* dst) const {
    std::size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd_, dst + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return make_error(Errc::io, "read journal " + path_ + " at offset " + std::to_string(offset + done) + ": " +
                                        std::strerror(errno));
      }
      if (r == 0) {
        return make_error(Errc::io, "read journal " + path_ + ": file shrank below offset " +
                                        std::to_string(offset + done) + " while being read");
      }
      done += static_cast<std::size_t>(r);
    }
    return {};
  }

  std::uint64_t size() const noexcept { return size_; }
  const std::string& path() const noexcept { return path_; }

 private:
  int fd_;
  std::string path_;
  std::uint64_t size_;
};

// A position in the record stream: which block, its decompressed bytes, and how
// far into them.
struct Cursor {
  std::size_t block = 0;  // the loaded block, or the next one to load
  bool loaded = false;
  std::string raw;
  RecordSplitter split{std::string_view()};
  MarketStreams streams;  // of the loaded block (compact market_data)

  void move_to(std::size_t b) {
    block = b;
    loaded = false;
  }
};

Corruption block_loss(const BlockInfo& b, std::string reason) {
  Corruption c;
  c.offset = b.offset;
  c.bytes = kBlockHeaderSize + b.header.stored_size;
  c.records = b.header.record_count;
  c.records_known = true;
  c.first_sequence = b.header.first_sequence;
  c.last_sequence = b.header.last_sequence;
  c.reason = std::move(reason);
  return c;
}

}  // namespace

// ---- CountingReporter -------------------------------------------------------

void CountingReporter::corruption(const Corruption& c) {
  ++corruptions;
  bytes_dropped += c.bytes;
  if (c.records_known) {
    records_dropped += c.records;
  } else {
    ++unknown_record_losses;
  }
  std::string m = "offset " + std::to_string(c.offset) + ": dropped " + std::to_string(c.bytes) + " bytes";
  if (c.records_known) {
    m += " (" + std::to_string(c.records) + " records";
    if (c.records > 0) m += ", sequences " + std::to_string(c.first_sequence) + "-" + std::to_string(c.last_sequence);
    m += ")";
  } else {
    m += " (record count unknown)";
  }
  messages.push_back(m + ": " + c.reason);
}

void CountingReporter::missing_sequences(std::uint64_t first, std::uint64_t last, std::uint64_t count) {
  missing += count;
  messages.push_back(std::to_string(count) + " sequence numbers missing in " + std::to_string(first) + "-" +
                     std::to_string(last) + " (dropped by the writer)");
}

void CountingReporter::state_unavailable(std::uint64_t sequence, model::RunnerId runner, std::string_view reason) {
  ++unavailable_states;
  messages.push_back("state of runner " + std::to_string(runner) + " at sequence " + std::to_string(sequence) +
                     " unavailable: " + std::string(reason));
}

void CountingReporter::damaged_record(std::uint64_t sequence, std::uint16_t type, std::string_view reason) {
  ++damaged_records;
  messages.push_back("record at sequence " + std::to_string(sequence) + " (type " + std::to_string(type) +
                     ") does not decode: " + std::string(reason));
}

// ---- JournalReader ----------------------------------------------------------

struct JournalReader::Impl {
  Impl(Reporter& r, ReaderOptions o, std::unique_ptr<RandomAccessFile> f)
      : reporter(r), opts(o), file(std::move(f)) {}

  Reporter& reporter;
  ReaderOptions opts;
  std::unique_ptr<RandomAccessFile> file;
  FileHeader header;
  std::vector<BlockInfo> blocks;
  std::uint64_t records = 0;

  Cursor main;
  bool has_pending = false;     // a seek found the next record already
  std::string_view pending;     // points into main.raw
  StateTracker tracker;
  BodySpares spares;          // of the caller's event (decode_event)
  bool state_out = false;     // a rebuilt state was handed out and not yet recycled
  std::set<std::pair<model::RunnerId, std::uint64_t>> broken_chains;  // (runner, snapshot)
  std::set<std::size_t> reported_blocks;  // damage found after open, reported once
  std::set<std::uint64_t> reported_records;  // undecodable records, reported once
  std::string stored;                     // scratch for payload reads
  std::size_t main_last = BlockPrefetcher::npos;  // the block `main` loaded last
  // Last: stopped before the file and the index it reads go.
  bool no_thread = false;  // the prefetcher's thread could not be started
  std::unique_ptr<BlockPrefetcher> prefetch;

  // ---- index ----

  // Finds the next offset >= from holding a block header that checks out, or
  // the file size.
  Result<std::uint64_t> resync(std::uint64_t from) {
    const std::uint64_t size = file->size();
    std::string buf;
    constexpr std::size_t kChunk = 1 << 16;
    for (std::uint64_t at = from; at + kBlockHeaderSize <= size;) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size - at));
      buf.resize(n);
      TE_TRY(file->read(at, n, buf.data()));
      for (std::size_t i = 0; i + kBlockMagic.size() <= n; ++i) {
        if (!has_block_magic(buf.data() + i)) continue;
        const std::uint64_t cand = at + i;
        if (cand + kBlockHeaderSize > size) return size;
        char h[kBlockHeaderSize];
        TE_TRY(file->read(cand, kBlockHeaderSize, h));
        BlockHeader bh;
        if (decode_block_header(h, bh) == nullptr) return cand;
      }
      if (n < kChunk) break;
      at += n - (kBlockMagic.size() - 1);  // a magic may straddle chunks
    }
    return size;
  }

  Status build_index() {
    const std::uint64_t size = file->size();
    std::uint64_t off = header.header_size;
    std::uint64_t prev_last = 0;  // last sequence of the previous intact (or reported) block
    std::int64_t prefix_max = INT64_MIN;
    // Damage whose record count is learnt from the next intact block's sequence.
    bool damage_open = false;
    Corruption damage;

    auto close_damage = [&](std::uint64_t end, std::optional<std::uint64_t> next_first) {
      damage.bytes = end - damage.offset;
      if (next_first) {
        damage.records_known = true;
        damage.records = *next_first > prev_last + 1 ? *next_first - prev_last - 1 : 0;
        damage.first_sequence = damage.records > 0 ? prev_last + 1 : 0;
        damage.last_sequence = damage.records > 0 ? *next_first - 1 : 0;
      }
      reporter.corruption(damage);
      damage_open = false;
    };
    auto open_damage = [&](std::uint64_t at, std::string reason) {
      if (damage_open) return;
      damage = Corruption{};
      damage.offset = at;
      damage.reason = std::move(reason);
      damage_open = true;
    };
    auto stop_here = [&](std::uint64_t at, std::string reason) {
      open_damage(at, std::move(reason));
      close_damage(size, std::nullopt);
    };

    while (off < size) {
      if (size - off < kBlockHeaderSize) {
        open_damage(off, "truncated block header (the writer stopped mid-block)");
        close_damage(size, std::nullopt);
        break;
      }
      char h[kBlockHeaderSize];
      TE_TRY(file->read(off, kBlockHeaderSize, h));
      BlockHeader bh;
      if (const char* why = decode_block_header(h, bh); why != nullptr) {
        if (opts.on_corruption == OnCorruption::Stop) {
          stop_here(off, why);
          break;
        }
        open_damage(off, why);
        auto next = resync(off + 1);
        if (!next) return std::move(next).error();
        off = *next;
        continue;
      }
      const std::uint64_t end = off + kBlockHeaderSize + bh.stored_size;
      if (end > size) {
        if (damage_open) close_damage(off, bh.first_sequence);
        Corruption c;
        c.offset = off;
        c.bytes = size - off;
        c.records = bh.record_count;
        c.records_known = true;
        c.first_sequence = bh.first_sequence;
        c.last_sequence = bh.last_sequence;
        c.reason = "truncated block (the writer stopped mid-block)";
        reporter.corruption(c);
        break;
      }
      BlockInfo info;
      info.offset = off;
      info.header = bh;
      const char* bad = nullptr;
      if (bh.first_sequence <= prev_last) bad = "block sequence numbers go backwards";
      if (bad == nullptr && opts.verify_on_open) {
        stored.resize(bh.stored_size);
        TE_TRY(file->read(off + kBlockHeaderSize, bh.stored_size, stored.data()));
        if (checksum64(stored.data(), stored.size()) != bh.payload_checksum) bad = "block payload checksum mismatch";
      }
      if (bad != nullptr) {
        if (damage_open) close_damage(off, bh.first_sequence);
        if (opts.on_corruption == OnCorruption::Stop) {
          stop_here(off, bad);
          break;
        }
        reporter.corruption(block_loss(info, bad));
        prev_last = std::max(prev_last, bh.last_sequence);
        off = end;
        continue;
      }
      if (damage_open) {
        close_damage(off, bh.first_sequence);
      } else if (bh.first_sequence > prev_last + 1) {
        reporter.missing_sequences(prev_last + 1, bh.first_sequence - 1, bh.first_sequence - prev_last - 1);
      }
      const std::uint64_t span = bh.last_sequence - bh.first_sequence + 1;
      if (span > bh.record_count) reporter.missing_sequences(bh.first_sequence, bh.last_sequence, span - bh.record_count);
      prefix_max = std::max(prefix_max, bh.max_ts_ns);
      info.prefix_max_ts_ns = prefix_max;
      info.first_record = records;
      records += bh.record_count;
      blocks.push_back(info);
      prev_last = bh.last_sequence;
      off = end;
    }
    if (damage_open) close_damage(size, std::nullopt);
    return {};
  }

  // ---- blocks and records ----

  // Loads c.block into c. Returns false when the block turns out to be damaged
  // (reported once when `report`).
  Result<bool> load(Cursor& c, bool report) {
    const BlockInfo& b = blocks[c.block];
    Status s;
    if (&c == &main) {
      TE_TRY(load_main(s));
    } else {
      stored.resize(b.header.stored_size);
      TE_TRY(file->read(b.offset + kBlockHeaderSize, b.header.stored_size, stored.data()));
      s = open_block(b.header, stored, c.raw);
    }
    if (!s) {
      if (report && reported_blocks.insert(c.block).second) reporter.corruption(block_loss(b, s.error().message));
      return false;
    }
    c.split = RecordSplitter(c.raw);
    c.streams.clear();
    c.loaded = true;
    return true;
  }

  // Loads main.block into main.raw; `opened` is open_block's verdict. The
  // prefetcher has it loaded when the reader goes on in order: it is started
  // (or restarted) when main loads the block after the one it loaded last, and
  // paused by any other load (a seek), which is done here.
  Status load_main(Status& opened) {
    static constexpr std::size_t kAhead = 4;  // blocks loaded ahead (≈ 64 KB each)
    const std::size_t want = main.block;
    const bool in_order = main_last != BlockPrefetcher::npos && want == main_last + 1;
    main_last = want;
    if (prefetch && prefetch->next_block() == want) {
      BlockPrefetcher::Loaded got = prefetch->take(main.raw);
      opened = std::move(got.opened);
      return std::move(got.read);
    }
    if (opts.prefetch && !no_thread && in_order && want + 1 < blocks.size()) {
      if (!prefetch) {
        const RandomAccessFile* f = file.get();
        try {
          prefetch = std::make_unique<BlockPrefetcher>(
              blocks, [f](std::uint64_t offset, std::size_t n, char* dst) { return f->read(offset, n, dst); },
              kAhead);
        } catch (const std::exception&) {
          no_thread = true;  // (no thread to be had: this one reads every block, as without prefetch)
        }
      }
      if (prefetch) prefetch->restart(want + 1);
    } else if (prefetch) {
      prefetch->pause();
    }
    const BlockInfo& b = blocks[want];
    stored.resize(b.header.stored_size);
    TE_TRY(file->read(b.offset + kBlockHeaderSize, b.header.stored_size, stored.data()));
    opened = open_block(b.header, stored, main.raw);
    return {};
  }

  // The next record at c, across blocks. False at the end.
  Result<bool> next_record(Cursor& c, std::string_view& rec, bool report) {
    while (true) {
      if (!c.loaded) {
        if (c.block >= blocks.size()) return false;
        auto ok = load(c, report);
        if (!ok) return std::move(ok).error();
        if (!*ok) {
          ++c.block;
          continue;
        }
      }
      if (c.split.next(rec)) return true;
      if (c.split.error() != nullptr && report && reported_blocks.insert(c.block).second) {
        // The checksum matched, so this is a writer bug, not disk damage; the
        // records before the break were already handed out.
        reporter.corruption(block_loss(blocks[c.block], std::string("record framing: ") + c.split.error()));
      }
      c.loaded = false;
      ++c.block;
    }
  }

  // Advances c to the first record satisfying pred (by envelope); leaves it in
  // `rec`. False when none.
  template <class Pred>
  Result<bool> find_first(Cursor& c, std::string_view& rec, bool report, Pred pred) {
    EventEnvelope env;
    while (true) {
      auto ok = next_record(c, rec, report);
      if (!ok || !*ok) return ok;
      // A record without a readable envelope still counts as a record here; it
      // comes out as an UnknownEvent.
      if (!decode_envelope(rec, env) || pred(env)) return true;
    }
  }

  std::size_t block_for_sequence(std::uint64_t seq) const {
    auto it = std::upper_bound(blocks.begin(), blocks.end(), seq,
                               [](std::uint64_t s, const BlockInfo& b) { return s < b.header.first_sequence; });
    if (it == blocks.begin()) return 0;
    const auto b = static_cast<std::size_t>(it - blocks.begin() - 1);
    return seq > blocks[b].header.last_sequence ? b + 1 : b;
  }

  std::size_t block_for_time(std::int64_t ts) const {
    auto it = std::partition_point(blocks.begin(), blocks.end(),
                                   [ts](const BlockInfo& b) { return b.prefix_max_ts_ns < ts; });
    return static_cast<std::size_t>(it - blocks.begin());
  }

  // ---- state reconstruction ----

  // Replays the state events of `runner` from its snapshot at `snapshot_seq`
  // through `base_seq` into `t`.
  Result<bool> rebuild(StateTracker& t, model::RunnerId runner, std::uint64_t snapshot_seq, std::uint64_t base_seq) {
    Cursor c;
    c.move_to(block_for_sequence(snapshot_seq));
    std::string_view rec;
    EventEnvelope env;
    Event e;
    const auto state_type = static_cast<std::uint16_t>(EventType::RunnerState);
    while (true) {
      auto ok = next_record(c, rec, false);
      if (!ok) return std::move(ok).error();
      if (!*ok) return false;
      if (!decode_envelope(rec, env) || env.sequence < snapshot_seq) continue;
      if (env.sequence > base_seq) return false;
      if (env.runner != runner || env.type != state_type) continue;
      decode_event(rec, e);
      auto* s = e.get<RunnerState>();
      if (s == nullptr) return false;
      if (!t.restore(runner, env.sequence, *s)) return false;
      if (env.sequence == base_seq) return true;
    }
  }

  Status restore_state(Event& e, RunnerState& s) {
    Status st = tracker.restore(e.runner, e.sequence, s);
    if (st || s.encoding == StateEncoding::Full) return st;
    const auto chain = std::make_pair(e.runner, s.snapshot_sequence);
    if (broken_chains.count(chain) == 0) {
      auto rebuilt = rebuild(tracker, e.runner, s.snapshot_sequence, s.base_sequence);
      if (!rebuilt) return std::move(rebuilt).error();
      if (*rebuilt) {
        st = tracker.restore(e.runner, e.sequence, s);
        if (st) return {};
      }
      broken_chains.insert(chain);
      reporter.state_unavailable(e.sequence, e.runner,
                                 st.error().message + "; handed out as a delta until the next snapshot");
    }
    return {};
  }

  Result<bool> next(Event& out) {
    std::string_view rec;
    if (has_pending) {
      rec = pending;
      has_pending = false;
    } else {
      auto ok = next_record(main, rec, true);
      if (!ok || !*ok) return ok;
    }
    const bool rebuild_states = opts.reconstruct_state && header.storage_mode == StorageMode::Delta;
    if (rebuild_states && state_out) {
      // The state handed out last is overwritten below (or was parked among
      // the spares when a record of another type came since): its trees take
      // the next rebuilt state.
      RunnerState* old = out.get<RunnerState>();
      if (old == nullptr) old = spares.spare<RunnerState>();
      if (old != nullptr) tracker.recycle(*old);
      state_out = false;
    }
    decode_event(rec, out, main.streams, spares);
    if (std::holds_alternative<UnknownEvent>(out.body) && is_compact_market_data(rec)) {
      // After a seek the block's earlier records were skipped, not decoded:
      // find the runner's stream among them, then decode again.
      note_streams_before(main, rec);
      decode_event(rec, out, main.streams, spares);
    }
    if (const auto* u = out.get<UnknownEvent>(); u && !u->error.empty() && reported_records.insert(out.sequence).second)
      reporter.damaged_record(out.sequence, u->type, u->error);
    // A full-mode journal holds only full states: nothing to rebuild or copy.
    if (rebuild_states) {
      if (auto* s = out.get<RunnerState>()) {
        TE_TRY(restore_state(out, *s));
        state_out = true;
      }
    }
    return true;
  }

  // Notes the streams of the full market_data records of c's block before `rec`.
  static void note_streams_before(Cursor& c, std::string_view rec) {
    RecordSplitter split(c.raw);
    std::string_view r;
    Event e;
    while (split.next(r) && r.data() < rec.data()) {
      EventEnvelope env;
      if (!is_compact_market_data(r) && decode_envelope(r, env) &&
          env.type == static_cast<std::uint16_t>(EventType::MarketData)) {
        decode_event(r, e, c.streams);
      }
    }
  }

  template <class Pred>
  Result<bool> seek(std::size_t block, Pred pred) {
    tracker.clear();
    has_pending = false;
    main.move_to(block);
    std::string_view rec;
    auto ok = find_first(main, rec, true, pred);
    if (!ok || !*ok) return ok;
    pending = rec;
    has_pending = true;
    return true;
  }
};

JournalReader::JournalReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JournalReader::~JournalReader() = default;

Result<std::unique_ptr<JournalReader>> JournalReader::open(const std::string& path, Reporter& reporter,
                                                           ReaderOptions options) {
  auto file = RandomAccessFile::open(path);
  if (!file) return std::move(file).error();
  std::string head(static_cast<std::size_t>(std::min<std::uint64_t>((*file)->size(), kMaxFileHeaderSize)), '\0');
  if (Status s = (*file)->read(0, head.size(), head.data()); !s) return std::move(s).error();
  auto header = decode_file_header(head);
  if (!header) return make_error(header.error().code, "open journal " + path + ": " + header.error().message);

  auto impl = std::make_unique<Impl>(reporter, options, std::move(*file));
  impl->header = std::move(*header);
  if (Status s = impl->build_index(); !s) return std::move(s).error();
  return std::unique_ptr<JournalReader>(new JournalReader(std::move(impl)));
}

const FileHeader& JournalReader::header() const noexcept { return impl_->header; }
const std::string& JournalReader::path() const noexcept { return impl_->file->path(); }
const std::vector<BlockInfo>& JournalReader::blocks() const noexcept { return impl_->blocks; }
std::uint64_t JournalReader::record_count() const noexcept { return impl_->records; }
std::uint64_t JournalReader::file_size() const noexcept { return impl_->file->size(); }

std::uint64_t JournalReader::first_sequence() const noexcept {
  return impl_->blocks.empty() ? 0 : impl_->blocks.front().header.first_sequence;
}

std::uint64_t JournalReader::last_sequence() const noexcept {
  return impl_->blocks.empty() ? 0 : impl_->blocks.back().header.last_sequence;
}

Result<bool> JournalReader::next(Event& out) { return impl_->next(out); }

Result<bool> JournalReader::seek_sequence(std::uint64_t sequence) {
  return impl_->seek(impl_->block_for_sequence(sequence),
                     [sequence](const EventEnvelope& e) { return e.sequence >= sequence; });
}

Result<bool> JournalReader::seek_time(std::int64_t ts_ns) {
  return impl_->seek(impl_->block_for_time(ts_ns), [ts_ns](const EventEnvelope& e) { return e.ts_event_ns >= ts_ns; });
}

Status JournalReader::rewind() {
  impl_->tracker.clear();
  impl_->has_pending = false;
  impl_->main.move_to(0);
  return {};
}

Result<std::optional<Event>> JournalReader::event_at(std::uint64_t sequence) {
  auto found = seek_sequence(sequence);
  if (!found) return std::move(found).error();
  if (!*found) return std::optional<Event>();
  Event e;
  auto ok = next(e);
  if (!ok) return std::move(ok).error();
  if (!*ok || e.sequence != sequence) return std::optional<Event>();
  return std::optional<Event>(std::move(e));
}

Result<std::optional<std::uint64_t>> JournalReader::sequence_at_time(std::int64_t ts_ns) {
  Cursor c;
  c.move_to(impl_->block_for_time(ts_ns));
  std::string_view rec;
  auto ok = impl_->find_first(c, rec, false, [ts_ns](const EventEnvelope& e) { return e.ts_event_ns >= ts_ns; });
  if (!ok) return std::move(ok).error();
  if (!*ok) return std::optional<std::uint64_t>();
  EventEnvelope env;
  if (!decode_envelope(rec, env)) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(env.sequence);
}

Status JournalReader::scan_envelopes(const std::function<void(const EventEnvelope&)>& fn) {
  Cursor c;
  c.move_to(0);
  std::string_view rec;
  EventEnvelope env;
  while (true) {
    auto ok = impl_->next_record(c, rec, true);
    if (!ok) return std::move(ok).error();
    if (!*ok) return {};
    if (!decode_envelope(rec, env)) env = EventEnvelope{};
    fn(env);
  }
}

Result<std::optional<Event>> JournalReader::state_at(model::RunnerId runner, std::uint64_t sequence) {
  Impl& im = *impl_;
  const auto state_type = static_cast<std::uint16_t>(EventType::RunnerState);
  // Walk back from the block holding `sequence` to the runner's last state event.
  if (im.blocks.empty()) return std::optional<Event>();
  std::size_t b = std::min(im.block_for_sequence(sequence), im.blocks.size() - 1) + 1;
  std::string_view rec;
  EventEnvelope env;
  std::optional<std::string> found;
  while (!found && b > 0) {
    --b;
    Cursor c;
    c.move_to(b);
    auto loaded = im.load(c, false);
    if (!loaded) return std::move(loaded).error();
    if (!*loaded) continue;
    while (c.split.next(rec)) {
      if (!decode_envelope(rec, env) || env.sequence > sequence) continue;
      if (env.runner == runner && env.type == state_type) found = std::string(rec);
    }
  }
  if (!found) return std::optional<Event>();
  Event e = decode_event(*found);
  auto* s = e.get<RunnerState>();
  if (s == nullptr) {
    return make_error(Errc::parse, "state of runner " + std::to_string(runner) + " at sequence " +
                                       std::to_string(e.sequence) + " does not decode");
  }
  if (s->encoding == StateEncoding::Delta) {
    StateTracker t;
    auto rebuilt = im.rebuild(t, runner, s->snapshot_sequence, s->base_sequence);
    if (!rebuilt) return std::move(rebuilt).error();
    Status st = *rebuilt ? t.restore(runner, e.sequence, *s)
                         : Status(make_error(Errc::not_found, "its snapshot at sequence " +
                                                                  std::to_string(s->snapshot_sequence) +
                                                                  " or a delta after it was lost"));
    if (!st) {
      return make_error(Errc::not_found, "state of runner " + std::to_string(runner) + " at sequence " +
                                             std::to_string(e.sequence) + " cannot be rebuilt: " + st.error().message);
    }
  }
  return std::optional<Event>(std::move(e));
}

}  // namespace te::journal
