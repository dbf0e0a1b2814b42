#pragma once
// Read-only view of a whole file. Regular files are memory-mapped (the page cache
// is the buffer, nothing is copied); pipes and other special files are read into
// memory instead, so callers never care which.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/core/result.hpp"

namespace te::data {

// Identity of a file's contents as the file system reports it; used to decide
// whether a cache built from the file is still current.
struct FileStamp {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

// Errors: Errc::not_found when the file does not exist, Errc::io otherwise.
Result<FileStamp> stat_file(const std::string& path);

// The most read from something that is not a regular file (a pipe, a device)
// before giving up on it.
inline constexpr std::size_t kMaxStreamBytes = std::size_t{1} << 30;

class MappedFile {
 public:
  // Errors: Errc::not_found when the file does not exist, Errc::io when it cannot
  // be opened, mapped or read. Messages start with the path.
  // What is not a regular file is read into memory, at most `max_stream_bytes`.
  // `populate`: the page tables of a mapped file are built by the call
  // (MAP_POPULATE); false leaves that to populate() or to page faults.
  static Result<std::shared_ptr<const MappedFile>> open(const std::string& path,
                                                        std::size_t max_stream_bytes = kMaxStreamBytes,
                                                        bool populate = true);

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::string_view view() const noexcept { return {data_, size_}; }
  const std::string& path() const noexcept { return path_; }
  // Builds the page tables of bytes [offset, offset + size) of a mapped file
  // (advice: nothing happens where the kernel cannot). Several threads may
  // populate parts at once, which for a file opened without `populate` moves
  // that work (2-5 ms for a 53 MB CSV) off the thread that opened it.
  void populate(std::size_t offset, std::size_t size) const noexcept;
  // Stamp taken from the open descriptor, so it describes exactly these bytes
  // unless the file is rewritten in place while mapped.
  const FileStamp& stamp() const noexcept { return stamp_; }

 private:
  MappedFile() = default;

  std::string path_;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false;          // else data_ points into heap_
  std::unique_ptr<char[]> heap_;
  FileStamp stamp_;
};

}  // namespace te::data
