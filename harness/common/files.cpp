#include "harness/common/files.h"

#include "harness/common/text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace locbench {

namespace {

std::string errno_text(int err) {
  if (err == ENAMETOOLONG) return "the path or one of its names is too long";
  return std::strerror(err);
}

}  // namespace

std::string read_input_file(const std::string& path, const std::string& what, size_t max_bytes) {
  const std::string name = one_line(path, 200);
  if (path.empty()) throw InputFileError("empty path given for the " + what);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) throw InputFileError(name + ": no such " + what);
    throw InputFileError(name + ": cannot read the " + what + ": " + errno_text(err));
  }
  if (S_ISDIR(st.st_mode)) throw InputFileError(name + ": is a directory, expected a " + what);
  if (!S_ISREG(st.st_mode)) throw InputFileError(name + ": not a regular file, expected a " + what);
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    throw InputFileError(name + ": " + std::to_string(st.st_size) + " bytes, larger than the " +
                         std::to_string(max_bytes >> 20) + " MiB a " + what + " may have");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputFileError(name + ": cannot read the " + what + ": " + errno_text(errno));
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw InputFileError(name + ": cannot read the " + what + ": " + errno_text(err));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > max_bytes) {  // grew while we read
      ::close(fd);
      throw InputFileError(name + ": larger than the " + std::to_string(max_bytes >> 20) + " MiB a " + what +
                           " may have");
    }
  }
  ::close(fd);
  return text;
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  static std::atomic<uint64_t> counter{0};
  tmp_ = path_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const int err = errno;
    throw WriteError(one_line(path_, 200) + ": cannot write: " + errno_text(err));
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

void AtomicFile::fail(const std::string& what) {
  const int err = errno;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  tmp_.clear();
  throw WriteError(one_line(path_, 200) + ": " + what + ": " + errno_text(err));
}

void AtomicFile::write(std::string_view bytes) { write(bytes.data(), bytes.size()); }

void AtomicFile::write(const void* data, size_t size) {
  if (fd_ < 0) throw WriteError(one_line(path_, 200) + ": write after a failed or finished write");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      fail("cannot write");
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) throw WriteError(one_line(path_, 200) + ": commit after a failed or finished write");
  // Delayed allocation and network file systems report a full disk at close, not at write.
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    tmp_.clear();
    throw WriteError(one_line(path_, 200) + ": cannot write: " + errno_text(err));
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) fail("cannot rename into place");
  tmp_.clear();
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

void create_parent_directories(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) throw WriteError(one_line(parent.string(), 200) + ": cannot create the folder: " + ec.message());
}

}  // namespace locbench
