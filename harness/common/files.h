// Reading files a user names and writing files so that a failed write never looks like a finished one.
// Every failure names the file and says why (strerror). Torch-free.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace locbench {

// A file a user named cannot be used as input (missing, a directory, unreadable, too large, name too long).
class InputFileError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A write failed (full disk, file size limit, permissions); nothing was left at the destination.
class WriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The whole of a regular file of at most `max_bytes`; `what` names it in messages ("suite file").
std::string read_input_file(const std::string& path, const std::string& what, size_t max_bytes);

// Writes to a temporary file beside `path` (unique to this process and call) and renames it into place in
// commit(), after every write and the close succeeded. Destroyed without commit(), it removes the temporary.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::string_view bytes);
  void write(const void* data, size_t size);
  void commit();
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(const std::string& what);
  std::string path_, tmp_;
  int fd_ = -1;
};

// `bytes` to `path` through an AtomicFile.
void write_file_atomic(const std::string& path, std::string_view bytes);

// "mkdir -p" for the folder a file goes into; fails with a WriteError naming it.
void create_parent_directories(const std::string& path);

}  // namespace locbench
