#include "engine/data/csv_stream.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <system_error>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TE_CSV_STREAM_AVX2 1
#endif

#include "engine/core/cpu_features.hpp"
#include "engine/core/sha256.hpp"
#include "engine/data/column_store.hpp"
#include "engine/data/csv_parser.hpp"

namespace te::data {
namespace {

using namespace csv_detail;

#ifdef TE_CSV_STREAM_AVX2
__attribute__((target("avx2,popcnt"))) std::size_t count_avx2(const char* p, std::size_t n) noexcept {
  const __m256i nl = _mm256_set1_epi8('\n');
  std::size_t count = 0, i = 0;
  for (; i + 64 <= n; i += 64) {
    const auto a = static_cast<std::uint32_t>(_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)), nl)));
    const auto b = static_cast<std::uint32_t>(_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32)), nl)));
    count += static_cast<std::size_t>(_mm_popcnt_u64((std::uint64_t{b} << 32) | a));
  }
  for (; i < n; ++i) count += p[i] == '\n';
  return count;
}
#endif

std::size_t count_portable(const char* p, std::size_t n) noexcept {
  std::size_t count = 0;
  const char* const end = p + n;
  while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)))) != nullptr) {
    ++count;
    ++p;
  }
  return count;
}

bool blank_char(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

constexpr std::int64_t kNsPerDay = 86'400LL * 1'000'000'000LL;

}  // namespace

std::size_t count_newlines(const char* p, std::size_t n) noexcept {
#ifdef TE_CSV_STREAM_AVX2
  static const bool avx2 = cpu_avx2() && __builtin_cpu_supports("popcnt");
  if (avx2) return count_avx2(p, n);
#endif
  return count_portable(p, n);
}

std::shared_ptr<CsvStream> CsvStream::start(std::shared_ptr<const MappedFile> file, const std::string& name,
                                            const LoadOptions& options, bool sha256) {
  if (options.start_ns || options.end_ns) return nullptr;  // the row count would not be the line count
  std::string_view text = file->view();
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // as parse_csv
  const std::size_t header_end = text.find('\n');
  if (header_end == std::string_view::npos) return nullptr;
  std::string_view header = text.substr(0, header_end);
  if (header.ends_with('\r')) header.remove_suffix(1);
  std::optional<CsvLayout> layout = detect_csv_layout(header);
  if (!layout) return nullptr;  // parse_csv names the problem
  const std::string_view body = text.substr(header_end + 1);
  if (body.size() < std::max<std::size_t>(options.stream_min_bytes, 4 * kReadAhead)) return nullptr;

  // Trailing empty lines are allowed (parse_csv stops at them): the rows end
  // with the last line that has anything on it.
  std::size_t last = body.size();
  while (last > 0 && blank_char(body[last - 1])) --last;
  if (last == 0) return nullptr;
  const std::size_t nl = body.find('\n', last);
  const std::size_t rows_end = nl == std::string_view::npos ? body.size() : nl + 1;
  // As parse_csv: the lines within kReadAhead bytes of the end are parsed from
  // a padded copy, every other line in place.
  const std::size_t before_end = body.rfind('\n', body.size() - kReadAhead - 1);
  const std::size_t bulk = before_end == std::string_view::npos ? 0 : before_end + 1;

  auto s = std::shared_ptr<CsvStream>(new CsvStream());
  s->file_ = std::move(file);
  s->name_ = name;
  s->body_ = body;
  s->bulk_ = bulk;
  s->layout_ = std::move(*layout);
  if (sha256) s->sha_ = std::make_unique<Sha256>();
  s->rows_end_ = rows_end;
  // Chunks end after a '\n', inside the part parsed in place; the last one
  // takes the rest.
  const std::size_t step = std::max<std::size_t>(options.stream_chunk_bytes, 1);
  for (std::size_t b = 0; b < rows_end;) {
    std::size_t e = rows_end;
    if (b + step < bulk) {
      const std::size_t at = body.find('\n', b + step - 1);
      if (at != std::string_view::npos && at + 1 < bulk && at + 1 < rows_end) e = at + 1;
    }
    s->chunks_.push_back({b, e, 0, 0});
    b = e;
  }
  // Lines per chunk: each line is a row in a file that parses cleanly
  // (anything else fails the stream). The worker helps count, then waits for
  // the row offsets; this thread never waits for it to be scheduled.
  try {
    s->thread_ = std::thread([raw = s.get()] { raw->work(); });
  } catch (const std::system_error&) {
    return nullptr;
  }
  s->count_chunks();
  s->counted_.wait_for_all(s->chunks_.size());
  std::size_t n = 0;
  for (Chunk& c : s->chunks_) {
    c.first_row = n;
    n += c.rows;
  }
  s->store_ = std::make_shared<ColumnStore>();
  s->store_->allocate(n, s->layout_.quotes, s->layout_.quote_sizes);  // touched as it is filled
  s->store_->size = n;
  s->series_ = ColumnStore::freeze(s->store_, options.symbol, options.instrument);
  s->parsed_ = std::make_unique<Parsed[]>(s->chunks_.size());
  // Both threads take chunks in order from here; the first one is this
  // thread's (no wait for the worker to be scheduled).
  s->go_.store(1, std::memory_order_release);
  s->go_.notify_all();
  s->help();
  const std::size_t first = s->chunks_.front().rows;
  if (s->wait_rows(first) < first) return nullptr;  // parse_csv reports the first chunk's problem
  // Daily data: reports print dates only when every timestamp is a midnight
  // (BarSeries::date_only reads them all), so the caller may not start before
  // the whole file is known. Intraday data shows a time of day at once.
  const std::int64_t* ts = s->series_.columns().ts_ns;
  const bool intraday = std::any_of(ts, ts + first, [](std::int64_t t) { return t % kNsPerDay != 0; });
  if (!intraday && !s->result()) return nullptr;
  return s;
}

void CsvStream::count_chunks() noexcept {
  constexpr std::size_t kBatch = 8;  // chunks claimed at a time
  const std::size_t total = chunks_.size();
  for (;;) {
    const std::size_t from = next_count_.fetch_add(kBatch, std::memory_order_relaxed);
    if (from >= total) return;
    const std::size_t to = std::min(total, from + kBatch);
    const auto body_at = static_cast<std::size_t>(body_.data() - file_->data());
    file_->populate(body_at + chunks_[from].begin, chunks_[to - 1].end - chunks_[from].begin);
    for (std::size_t k = from; k < to; ++k) {
      Chunk& c = chunks_[k];
      c.rows = count_newlines(body_.data() + c.begin, c.end - c.begin);
      if (c.end == rows_end_ && body_[rows_end_ - 1] != '\n') ++c.rows;  // a last line without a newline
    }
    counted_.add(to - from);
  }
}

CsvStream::~CsvStream() {
  stop_.store(true, std::memory_order_relaxed);
  int unset = 0;  // start() left before the worker could be told to go
  if (go_.compare_exchange_strong(unset, 2, std::memory_order_release)) go_.notify_all();
  // A worker waiting for chunks nobody will parse now stops waiting.
  if (!(rows_.load(std::memory_order_acquire) & kEnded)) end(false);
  if (thread_.joinable()) thread_.join();
}

void CsvStream::work() noexcept {
  count_chunks();
  int go = 0;
  while ((go = go_.load(std::memory_order_acquire)) == 0) go_.wait(0, std::memory_order_acquire);
  if (go != 1) return;
  while (!stop_.load(std::memory_order_relaxed) && help()) {
  }
  // The last chunks may still be in the other thread's hands.
  std::uint64_t now;
  while (!((now = rows_.load(std::memory_order_acquire)) & kEnded)) rows_.wait(now, std::memory_order_acquire);
  if (ok_.load(std::memory_order_acquire)) hash_rest();
}

void CsvStream::hash_rest() noexcept {
  if (!sha_ || !file_) return;  // no file: released once hashed (release_file)
  constexpr std::size_t kPiece = std::size_t{1} << 20;
  const std::string_view all = file_->view();
  for (;;) {
    const std::lock_guard lock(sha_mu_);
    if (sha_done_ || stop_.load(std::memory_order_relaxed)) return;
    const std::size_t n = std::min(kPiece, all.size() - sha_at_);
    sha_->update(all.data() + sha_at_, n);
    sha_at_ += n;
    if (sha_at_ == all.size()) {
      sha_done_ = true;
      try {
        sha256_ = sha_->hex_digest();
      } catch (...) {
        // Out of memory for the digest's text: the stream fails, and the
        // command loads the file whole, where it is an ordinary error.
        ok_.store(false, std::memory_order_release);
      }
      return;
    }
  }
}

bool CsvStream::help() noexcept {
  if (failed_.load(std::memory_order_relaxed)) return false;
  const std::size_t k = next_chunk_.fetch_add(1, std::memory_order_relaxed);
  if (k >= chunks_.size()) return false;
  parse_chunk(k);
  publish();
  return true;
}

// Parses chunk k into its rows of the store. Any thread may parse any chunk
// it claimed; publish() puts them in order.
void CsvStream::parse_chunk(std::size_t k) noexcept {
  try {
    parse_chunk_rows(k);
  } catch (...) {
    // Out of memory (a bad row's message, a padded tail): the chunk fails, and
    // the command loads the file whole, where the failure is an ordinary error.
    parsed_[k].state.store(2, std::memory_order_seq_cst);
  }
}

void CsvStream::parse_chunk_rows(std::size_t k) {
  const Chunk& c = chunks_[k];
  const char* const base = body_.data();
  ColumnStore w = store_->window(c.first_row, c.rows);
  const std::int64_t* const place = w.ts;
  CsvParser p(name_, layout_, w, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max());
  const std::size_t in_place = std::clamp(bulk_, c.begin, c.end);
  bool done = in_place == c.begin || p.run(base + c.begin, base + in_place, body_.substr(in_place));
  if (done && in_place < c.end) {
    std::string padded(base + in_place, c.end - in_place);
    if (padded.back() != '\n') padded += '\n';
    const std::size_t len = padded.size();
    padded.append(kReadAhead, '\0');
    done = p.run(padded.data(), padded.data() + len, body_.substr(c.end));
  }
  // Exactly the counted rows (at least one: every chunk has a line), in the
  // window (never grown); anything else is left to parse_csv to explain.
  const bool ok = done && !p.finished() && c.rows != 0 && p.rows() == c.rows && w.size == c.rows && w.ts == place;
  Parsed& r = parsed_[k];
  r.first_ts = p.first_ts();
  r.last_ts = p.last_ts();
  // seq_cst, with publish()'s loads and exchange: the thread that finishes
  // chunk k and the one that publishes k - 1 must not both miss the other (a
  // store then a load of another variable; acquire/release allow both loads
  // to see the old values, and chunk k would never be published).
  r.state.store(ok ? 1 : 2, std::memory_order_seq_cst);
}

void CsvStream::publish() noexcept {
  const std::size_t total = chunks_.size();
  for (;;) {
    std::size_t k = published_.load(std::memory_order_seq_cst);
    if (k == total) return;
    const int state = parsed_[k].state.load(std::memory_order_seq_cst);
    if (state == 0) return;  // its thread publishes it (and what follows) when done
    // In time order with the chunk before, across the boundary.
    if (state == 2 || (k > 0 && parsed_[k].first_ts <= parsed_[k - 1].last_ts)) {
      end(false);
      return;
    }
    if (!published_.compare_exchange_strong(k, k + 1, std::memory_order_seq_cst)) continue;
    const std::uint64_t rows = chunks_[k].first_row + chunks_[k].rows;
    std::uint64_t now = rows_.load(std::memory_order_relaxed);
    while (now < rows && !rows_.compare_exchange_weak(now, rows, std::memory_order_release)) {
    }
    rows_.notify_all();
    if (k + 1 == total) end(true);
  }
}

void CsvStream::end(bool ok) noexcept {
  if (!ok) failed_.store(true, std::memory_order_relaxed);
  ok_.store(ok, std::memory_order_relaxed);
  rows_.fetch_or(kEnded, std::memory_order_release);  // a reader waiting past a bad chunk wakes up too
  rows_.notify_all();
}

std::size_t CsvStream::wait_rows(std::size_t rows) noexcept {
  for (;;) {
    const std::uint64_t now = rows_.load(std::memory_order_acquire);
    if ((now & ~kEnded) >= rows || (now & kEnded)) return static_cast<std::size_t>(now & ~kEnded);
    if (help()) continue;  // a chunk nobody had taken yet, parsed here
    rows_.wait(now, std::memory_order_acquire);
  }
}

bool CsvStream::passed() const noexcept {
  return (rows_.load(std::memory_order_acquire) & kEnded) && ok_.load(std::memory_order_relaxed);
}

void CsvStream::release_file() noexcept {
  // Only once the worker is joined (by result()) and the hash is done: nobody
  // reads the bytes any more.
  if (thread_.joinable() || !ok_.load(std::memory_order_acquire)) return;
  {
    const std::lock_guard lock(sha_mu_);
    if (sha_ && !sha_done_) return;
  }
  body_ = {};
  file_.reset();
}

Status CsvStream::result() {
  // Helps with what is left: chunks nobody took, then the hash.
  wait_rows(chunks_.empty() ? 0 : chunks_.back().first_row + chunks_.back().rows);
  if (ok_.load(std::memory_order_acquire)) hash_rest();
  if (thread_.joinable()) thread_.join();
  if (ok_.load(std::memory_order_acquire)) return {};
  return make_error(Errc::parse, name_ + ": the streamed parse stopped (load it whole for the reason)");
}

}  // namespace te::data
