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
  virtual Status close() = 0;
  virtual const std::string& path() const noexcept = 0;
};

// Creates `path` for writing. Unless `overwrite`, an existing file is an error
// (a session journal is never silently replaced).
// Errors: Errc::io (with strerror) when it cannot be created.
Result<std::unique_ptr<WritableFile>> create_writable_file(const std::string& path, bool overwrite);

// Writes `data` to `path` atomically: a temporary file in the same directory,
// fsync, rename over `path`, fsync of the directory.
Status write_file_atomically(const std::string& path, std::string_view data);

// Reads a whole file. Errors: Errc::not_found or Errc::io.
Result<std::string> read_whole_file(const std::string& path);

}  // namespace te::journal
