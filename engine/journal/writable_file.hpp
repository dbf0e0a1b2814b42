#pragma once
// The one seam between the journal writer and the disk (LevelDB's WritableFile):
// tests substitute files that fail or stall to exercise error surfacing and the
// queue-full policies.
#include <memory>
#include <string>
#include <string_view>

#include "engine/core/result.hpp"

namespace te::journal {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends all of `data` or fails. Errors: Errc::io with the path and the OS reason.
  virtual Status append(std::string_view data) = 0;
  // Makes everything appended durable (fdatasync).
  virtual Status sync() = 0;
  // Starts writing what was appended since the last call back to disk without
  // waiting for it (sync_file_range), so that a later sync() has less to wait
  // for. Advisory: errors show up at sync().
  virtual void start_writeback() {}
  virtual Status close() = 0;
  virtual const std::string& path() const noexcept = 0;
};

// Creates `path` for writing. Unless `overwrite`, an existing file is an error
// (a session journal is never silently replaced).
// Errors: Errc::io (with strerror) when it cannot be created.
Result<std::unique_ptr<WritableFile>> create_writable_file(const std::string& path, bool overwrite);

// Writes `data` to `path` atomically: a temporary file in the same directory,
// fsync, rename over `path`, fsync of the directory. Not `durable`: the same
// without the two fsyncs (readers still see the old or the whole new file; a
// machine crash may lose it until sync_path() of the file and its directory).
//
// `set_aside` (not empty): the file being replaced is not freed by the rename
// but stays linked under that name (same directory), for the caller to remove
// later, off its critical path. Freeing an inode is what a rename over an
// existing file costs most here (ext4 mounted with `discard`: 4 ms, against
// 0.03 ms for link + rename); readers still see the old or the new file.
// Nothing to set aside (no old file, or the link fails): a plain rename.
// Returns whether the old file was set aside.
Status write_file_atomically(const std::string& path, std::string_view data, bool durable = true);
Result<bool> replace_file_atomically(const std::string& path, std::string_view data, bool durable,
                                     const std::string& set_aside);

// replace_file_atomically in two halves, for a caller with other work to
// overlap with the first half's fsync (a session's final meta.json is written
// while the journal's writer thread syncs the journal, and renamed in only
// once the journal is durable). write_replacement writes `data` to
// `replacement_path(path)` (fsync when `durable`; the temporary file is removed
// on error); commit_replacement renames it over `path` as replace_file_atomically
// does (set_aside, the directory's fsync when `durable`). Writing again before
// the commit replaces the temporary file.
std::string replacement_path(const std::string& path);
Status write_replacement(const std::string& path, std::string_view data, bool durable);
Result<bool> commit_replacement(const std::string& path, bool durable, const std::string& set_aside);

// fsync of an existing file or directory. Errors: Errc::io.
Status sync_path(const std::string& path);

// Reads a whole file. Errors: Errc::not_found or Errc::io.
Result<std::string> read_whole_file(const std::string& path);

}  // namespace te::journal
