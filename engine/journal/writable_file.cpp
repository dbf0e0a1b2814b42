#include "engine/journal/writable_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace te::journal {

namespace {

Error io_error(std::string_view what, const std::string& path, int err) {
  std::string message = std::string(what) + " " + path + ": " + std::strerror(err);
  // The journal keeps every record written so far (readers recover up to the
  // last whole block); say what the user can do about it.
  if (err == ENOSPC || err == EDQUOT)
    message += " (the journal is complete up to the last block written; free space on that disk or record to "
               "another directory: --sessions-dir, or [event_sourcing] base_dir in the config)";
  return make_error(err == ENOENT ? Errc::not_found : Errc::io, message);
}

Status write_all(int fd, const std::string& path, std::string_view data) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("write", path, errno);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return {};
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status append(std::string_view data) override {
    if (fd_ < 0) return make_error(Errc::io, "write " + path_ + ": file is closed");
    TE_TRY(write_all(fd_, path_, data));
    written_ += static_cast<off_t>(data.size());
    return {};
  }

  void start_writeback() override {
    if (fd_ < 0 || written_ == started_) return;
    (void)::sync_file_range(fd_, started_, written_ - started_, SYNC_FILE_RANGE_WRITE);
    started_ = written_;
  }

  Status sync() override {
    if (fd_ < 0) return make_error(Errc::io, "sync " + path_ + ": file is closed");
    if (::fdatasync(fd_) != 0) return io_error("sync", path_, errno);
    return {};
  }

  Status close() override {
    if (fd_ < 0) return {};
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return io_error("close", path_, errno);
    return {};
  }

  const std::string& path() const noexcept override { return path_; }

 private:
  int fd_;
  std::string path_;
  off_t written_ = 0;  // appended by this object (the file is created empty)
  off_t started_ = 0;  // handed to start_writeback() up to here
};

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<std::unique_ptr<WritableFile>> create_writable_file(const std::string& path, bool overwrite) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL);
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return io_error("create", path, errno);
  return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(fd, path));
}

std::string replacement_path(const std::string& path) { return path + ".tmp"; }

Status write_replacement(const std::string& path, std::string_view data, bool durable) {
  const std::string tmp = replacement_path(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("create", tmp, errno);
  Status s = write_all(fd, tmp, data);
  if (s && durable && ::fsync(fd) != 0) s = io_error("sync", tmp, errno);
  if (::close(fd) != 0 && s) s = io_error("close", tmp, errno);
  if (!s) ::unlink(tmp.c_str());
  return s;
}

Result<bool> commit_replacement(const std::string& path, bool durable, const std::string& set_aside) {
  const std::string tmp = replacement_path(path);
  bool aside = false;
  if (!set_aside.empty()) {
    ::unlink(set_aside.c_str());  // a leftover of an earlier replacement
    aside = ::link(path.c_str(), set_aside.c_str()) == 0;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = io_error("rename to " + path, tmp, errno);
    ::unlink(tmp.c_str());
    if (aside) ::unlink(set_aside.c_str());
    return std::move(s).error();
  }
  if (!durable) return aside;
  // The rename is durable only once the directory entry is.
  const std::string dir = parent_dir(path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return aside;
}

Result<bool> replace_file_atomically(const std::string& path, std::string_view data, bool durable,
                                     const std::string& set_aside) {
  TE_TRY(write_replacement(path, data, durable));
  return commit_replacement(path, durable, set_aside);
}

Status write_file_atomically(const std::string& path, std::string_view data, bool durable) {
  auto r = replace_file_atomically(path, data, durable, {});
  if (!r) return std::move(r).error();
  return {};
}

Status sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open", path, errno);
  Status s;
  if (::fsync(fd) != 0) s = io_error("sync", path, errno);
  ::close(fd);
  return s;
}

Result<std::string> read_whole_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open", path, errno);
  std::string out;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return io_error("read", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace te::journal
