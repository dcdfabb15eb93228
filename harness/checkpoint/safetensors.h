// Reading and writing the safetensors format (8-byte header length, JSON header, raw little-endian data).
// Every offset in the header is checked against the file size before any byte is read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace locbench::safetensors {

enum class Dtype { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(Dtype dtype);
const char* dtype_name(Dtype dtype);

struct TensorView {
  Dtype dtype;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // into the mapped file
  size_t nbytes = 0;
  int64_t numel() const;
};

// An unusable file: bad input, hence an std::invalid_argument (harness/common/exit_codes.h).
class FormatError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A safetensors file mapped read-only. Throws FormatError (message starts with the path) on any defect.
class File {
 public:
  explicit File(const std::string& path);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const TensorView& at(const std::string& name) const;
  bool contains(const std::string& name) const { return tensors_.count(name) > 0; }

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t size_ = 0;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A tensor to write: raw little-endian bytes with dtype and shape.
struct TensorBytes {
  Dtype dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

// Writes atomically: a temporary file beside `path`, renamed into place only when complete.
void write(const std::string& path, const std::map<std::string, TensorBytes>& tensors,
           const std::map<std::string, std::string>& metadata = {});

}  // namespace locbench::safetensors
