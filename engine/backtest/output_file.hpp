#pragma once
// A report file written through one small reused buffer. The reports of a long
// backtest are tens of megabytes (equity.csv has a row per bar); building each
// as one string first cost a page fault per fresh 4 KiB page and copies while
// the string grew, which on virtual machines took longer than formatting the
// text. Here text is formatted straight into the buffer and written out
// whenever it fills, so memory stays at the buffer's size.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/result.hpp"

namespace te::backtest {

class OutputFile {
 public:
  static constexpr std::size_t kBufferSize = std::size_t{1} << 18;

  // Creates or truncates `path`. Errors: Errc::io naming the path.
  static Result<OutputFile> create(const std::string& path);
  // With `storage`: the earlier file that `path` replaces, already moved aside
  // under that (hidden) name by its owner (engine/app/old_outputs.hpp). The new
  // text is written over its blocks and close() cuts it to length and renames
  // it to `path`. Why: on ext4 a new 78 MB file cost 12-14 ms of kernel CPU to
  // write and the old one 4 ms more to unlink (freeing its cached pages),
  // against 5-7 ms to write over the old one, hot or cold in the page cache.
  // The storage is used only when it is a regular file with no other link
  // (writing over a hard-linked file would change the other name's content);
  // otherwise `path` is created as usual. Either way the storage file is this
  // object's: renamed into place by close(), or removed.
  static Result<OutputFile> create(const std::string& path, const std::string& storage);
  // `path` written over its current file when there is one that may be
  // (a regular file of this process's user with no other link and no
  // set-id/sticky bits): that file is first renamed to a hidden name beside it
  // (".<name>.replaced-<pid>") and becomes the storage above. Another regular
  // file there is unlinked and `path` created anew; anything else: create(path).
  // The old file stays under its name until the report is written (a run that
  // fails or is killed before leaves it as it was); a reader holding it open
  // sees the new text, as with any file written in place.
  static Result<OutputFile> create_over(const std::string& path);
  // The file at `path`, renamed to `name` (replacing whatever is there) and
  // opened to be written over from its start, when it is a file create_over
  // would write over (a regular file of this process's user, one link, no
  // set-id/sticky bits); close() cuts it to what was written and leaves it
  // under `name`. Nothing, with the file untouched under its own name, for
  // anything else or when it cannot be opened or renamed. (equity.csv:
  // engine/backtest/equity_stream.hpp.)
  static std::optional<OutputFile> take_over(const std::string& path, const std::string& name);
  // Whether take_over(path, ...) would take the file there now.
  static bool may_take_over(const std::string& path) noexcept;
  // The hidden name an old output file is moved to before it is written over
  // or deleted: ".<name>.replaced-<pid>" beside it.
  static std::string aside_name(const std::string& path);

  OutputFile(OutputFile&& o) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  ~OutputFile();  // closes without reporting errors (call close() for them)

  void append(std::string_view s);
  // At least `n` (<= kBufferSize) writable bytes; commit() says how many were used.
  // Drains whole pages when it must (drain(true)), all of the buffer when their
  // tail would leave too little room.
  char* room(std::size_t n) {
    if (kBufferSize - used_ < n) {
      drain(true);
      if (kBufferSize - used_ < n) drain();  // the tail kept by a whole-page drain is in the way
    }
    return buf_.get() + used_;
  }
  void commit(const char* end) noexcept { used_ = static_cast<std::size_t>(end - buf_.get()); }
  // Bytes appended so far (written or buffered).
  std::uint64_t bytes() const noexcept { return written_ + used_; }

  // Asks the file system for `bytes` of the file up front (fallocate): on ext4
  // a long file written through the page cache then skips the per-page block
  // reservation of delayed allocation (equity.csv, 78 MB for 1M bars: 17 -> 12
  // ms of kernel CPU). The blocks lie past the file's end (its size is always
  // what was written); close() gives back the unused ones. Advice
  // only: nothing happens where the file system does not support it. Past its
  // first 4 MiB a new file is preallocated 16 MiB ahead of its writes anyway
  // (one written over an old file is not: it grows past the old one's end
  // by delayed allocation, see drain()).
  void preallocate(std::uint64_t bytes) noexcept;
  // Writes what is buffered and closes. Errors: Errc::io naming the path (the
  // first failure of any write, or of close).
  Status close();

 private:
  OutputFile(std::string path, int fd, std::string storage = {});
  // Writes the buffer out; `whole_pages`: only its whole 4 KiB pages, the rest
  // moved to the front (so every write but the last starts and ends on a page
  // boundary: writing over an old file's page that is not cached then never
  // reads it first).
  void drain(bool whole_pages = false);

  std::string path_;
  std::string storage_;  // the file written over, renamed to path_ by close(); empty: path_ itself
  int fd_ = -1;
  int error_ = 0;  // errno of the first failed write
  std::unique_ptr<char[]> buf_;
  std::size_t used_ = 0;
  std::uint64_t written_ = 0;    // bytes written to the file so far
  std::uint64_t allocated_ = 0;  // preallocated size (the file's size until close)
  bool over_ = false;            // written over an old file's storage (create(path, storage), take_over)
};

}  // namespace te::backtest
