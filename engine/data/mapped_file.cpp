#include "engine/data/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

namespace te::data {
namespace {

Error errno_error(const std::string& path, const char* what, int err) {
  const Errc code = err == ENOENT || err == ENOTDIR ? Errc::not_found : Errc::io;
  return make_error(code, path + ": " + what + ": " + std::strerror(err));
}

FileStamp stamp_of(const struct stat& st) {
  FileStamp s;
  s.size = static_cast<std::uint64_t>(st.st_size);
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return s;
}

// Closes the descriptor on every path out of open().
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<FileStamp> stat_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_error(path, "cannot open", errno);
  return stamp_of(st);
}

Result<std::shared_ptr<const MappedFile>> MappedFile::open(const std::string& path, std::size_t max_stream_bytes,
                                                           bool populate) {
  Fd fd;
  fd.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd.fd < 0) return errno_error(path, "cannot open", errno);
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) return errno_error(path, "cannot read file status", errno);
  if (S_ISDIR(st.st_mode)) return make_error(Errc::io, path + ": is a directory, expected a file");
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
    return make_error(Errc::io, path + ": is a device, expected a file (or a pipe)");

  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->stamp_ = stamp_of(st);
  if (S_ISREG(st.st_mode)) {
    f->size_ = static_cast<std::size_t>(st.st_size);
    if (f->size_ == 0) return std::shared_ptr<const MappedFile>(std::move(f));
    // MAP_POPULATE builds the page tables up front: on a warm file this is much
    // cheaper than taking one fault per 4 KiB page while parsing.
    void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd.fd, 0);
    if (p != MAP_FAILED) {
      ::madvise(p, f->size_, MADV_SEQUENTIAL);
      f->data_ = static_cast<const char*>(p);
      f->mapped_ = true;
      return std::shared_ptr<const MappedFile>(std::move(f));
    }
  }
  // Not mappable (pipe, character device, odd file system): read it all, up
  // to a limit for what is not a regular file: /dev/zero or a pipe that never
  // ends used to read until std::bad_alloc aborted the process (audit).
  const std::size_t limit = S_ISREG(st.st_mode) ? f->size_ : std::max<std::size_t>(max_stream_bytes, 1);
  const auto out_of_memory = [&](std::size_t got) {
    return make_error(Errc::io, path + ": out of memory after reading " + std::to_string(got) + " bytes");
  };
  std::size_t cap = f->size_ > 0 ? f->size_ : 1 << 16, len = 0;
  std::unique_ptr<char[]> buf(new (std::nothrow) char[cap]);
  if (!buf) return out_of_memory(0);
  for (;;) {
    if (len == cap) {
      if (cap >= limit && !S_ISREG(st.st_mode))
        return make_error(Errc::io, path + ": not a regular file, and it gave more than " +
                                        std::to_string(limit) +
                                        " bytes without ending (a device, or a pipe that does not end?); give a file");
      const std::size_t next = S_ISREG(st.st_mode) ? cap * 2 : std::min(cap * 2, limit);
      std::unique_ptr<char[]> bigger(new (std::nothrow) char[next]);
      if (!bigger) return out_of_memory(len);
      std::memcpy(bigger.get(), buf.get(), len);
      buf = std::move(bigger);
      cap = next;
    }
    const ssize_t n = ::read(fd.fd, buf.get() + len, cap - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(path, "read failed", errno);
    }
    if (n == 0) break;
    len += static_cast<std::size_t>(n);
  }
  f->heap_ = std::move(buf);
  f->data_ = f->heap_.get();
  f->size_ = len;
  f->stamp_.size = len;
  return std::shared_ptr<const MappedFile>(std::move(f));
}

void MappedFile::populate(std::size_t offset, std::size_t size) const noexcept {
  if (!mapped_ || offset >= size_) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto from = reinterpret_cast<std::uintptr_t>(data_ + offset) & ~(page - 1);
  const auto to = reinterpret_cast<std::uintptr_t>(data_ + std::min(size_, offset + size));
#ifdef MADV_POPULATE_READ
  (void)::madvise(reinterpret_cast<void*>(from), to - from, MADV_POPULATE_READ);
#endif
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<char*>(data_), size_);
}

}  // namespace te::data
