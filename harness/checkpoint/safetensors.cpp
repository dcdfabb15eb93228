#include "harness/checkpoint/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "harness/common/files.h"
#include "harness/common/json_input.h"
#include "harness/common/text.h"

namespace locbench::safetensors {

namespace {

constexpr uint64_t kMaxHeader = 100u << 20;  // the format's own limit on the JSON header

const std::map<std::string, Dtype>& dtype_table() {
  static const std::map<std::string, Dtype> table{
      {"F64", Dtype::F64}, {"F32", Dtype::F32}, {"F16", Dtype::F16}, {"BF16", Dtype::BF16},
      {"I64", Dtype::I64}, {"I32", Dtype::I32}, {"I16", Dtype::I16}, {"I8", Dtype::I8},
      {"U8", Dtype::U8},   {"BOOL", Dtype::BOOL}};
  return table;
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw FormatError(path + ": " + what);
}

}  // namespace

size_t dtype_size(Dtype dtype) {
  switch (dtype) {
    case Dtype::F64: case Dtype::I64: return 8;
    case Dtype::F32: case Dtype::I32: return 4;
    case Dtype::F16: case Dtype::BF16: case Dtype::I16: return 2;
    case Dtype::I8: case Dtype::U8: case Dtype::BOOL: return 1;
  }
  return 0;
}

const char* dtype_name(Dtype dtype) {
  for (const auto& [name, d] : dtype_table())
    if (d == dtype) return name.c_str();
  return "?";
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

File::File(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ < 8) {
    ::close(fd);
    fail(path, "truncated: " + std::to_string(size_) + " bytes, shorter than the 8-byte header length");
  }
  map_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    fail(path, std::string("cannot map: ") + std::strerror(errno));
  }
  try {
    const auto* bytes = static_cast<const uint8_t*>(map_);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
    if (header_len > kMaxHeader) fail(path, "header length " + std::to_string(header_len) + " exceeds 100 MiB");
    if (header_len > size_ - 8)
      fail(path, "truncated: header length " + std::to_string(header_len) + " runs past the end of the file (" +
                     std::to_string(size_) + " bytes)");
    nlohmann::json header;
    try {
      // Bounded nesting, no duplicate tensor names (nlohmann would keep the last one silently).
      header = parse_untrusted_json({reinterpret_cast<const char*>(bytes) + 8, header_len}, "header");
    } catch (const JsonInputError& e) {
      fail(path, std::string("malformed ") + e.what());  // "malformed header: duplicate key ..."
    }
    if (!header.is_object()) fail(path, "malformed header: not a JSON object");
    const uint8_t* data = bytes + 8 + header_len;
    const uint64_t data_size = size_ - 8 - header_len;
    std::vector<std::pair<uint64_t, uint64_t>> spans;
    for (auto it = header.begin(); it != header.end(); ++it) {
      const std::string& name = it.key();
      const auto& entry = it.value();
      if (name == "__metadata__") {
        if (!entry.is_object()) fail(path, "__metadata__ is not an object");
        for (auto m = entry.begin(); m != entry.end(); ++m)
          metadata_[m.key()] = m.value().is_string() ? m.value().get<std::string>() : m.value().dump();
        continue;
      }
      const std::string where = "tensor '" + one_line(name) + "': ";
      if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
          !entry.contains("data_offsets"))
        fail(path, where + "needs dtype, shape and data_offsets");
      const auto& jd = entry["dtype"];
      if (!jd.is_string() || !dtype_table().count(jd.get<std::string>()))
        fail(path, where + "unsupported dtype " + json_excerpt(jd));
      TensorView view;
      view.dtype = dtype_table().at(jd.get<std::string>());
      const auto& js = entry["shape"];
      if (!js.is_array()) fail(path, where + "shape is not an array");
      // Sizes land in int64_t (torch's), and so must the product of the non-zero ones (strides are made of it).
      constexpr uint64_t kMaxSize = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
      uint64_t numel = 1, extent = 1;
      for (size_t k = 0; k < js.size(); ++k) {
        const auto& d = js[k];
        if (!d.is_number_unsigned())
          fail(path, where + "shape[" + std::to_string(k) + "] is " + json_excerpt(d) + ", not a non-negative integer");
        const uint64_t s = d.get<uint64_t>();
        if (s > kMaxSize || (s != 0 && extent > kMaxSize / s))
          fail(path, where + "shape " + json_excerpt(js) + " exceeds 2^63 - 1 elements");
        numel *= s;
        if (s != 0) extent *= s;
        view.shape.push_back(static_cast<int64_t>(s));
      }
      const auto& jo = entry["data_offsets"];
      if (!jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() || !jo[1].is_number_unsigned())
        fail(path, where + "data_offsets must be two non-negative integers");
      const uint64_t begin = jo[0].get<uint64_t>(), end = jo[1].get<uint64_t>();
      if (begin > end) fail(path, where + "data_offsets begin > end");
      if (end > data_size)
        fail(path, where + "truncated: data ends at byte " + std::to_string(end) + " of a " +
                       std::to_string(data_size) + "-byte data section");
      const uint64_t elem = dtype_size(view.dtype);
      if (numel > std::numeric_limits<uint64_t>::max() / elem || end - begin != numel * elem)
        fail(path, where + "data_offsets span " + std::to_string(end - begin) + " bytes, shape " + json_excerpt(js) +
                       " needs " + std::to_string(numel * elem));
      view.data = data + begin;
      view.nbytes = static_cast<size_t>(end - begin);
      spans.emplace_back(begin, end);
      tensors_.emplace(name, std::move(view));
    }
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i)
      if (spans[i].first < spans[i - 1].second) fail(path, "tensors overlap in the data section");
  } catch (...) {
    ::munmap(map_, size_);
    map_ = nullptr;
    throw;
  }
}

File::~File() {
  if (map_) ::munmap(map_, size_);
}

const TensorView& File::at(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw FormatError(path_ + ": no tensor '" + name + "'");
  return it->second;
}

void write(const std::string& path, const std::map<std::string, TensorBytes>& tensors,
           const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    uint64_t numel = 1;
    for (int64_t s : t.shape) numel *= static_cast<uint64_t>(s);
    if (numel * dtype_size(t.dtype) != t.bytes.size())
      throw std::invalid_argument("tensor '" + name + "': byte size does not match its shape");
    header[name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape},
                    {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data section 8-byte aligned
  AtomicFile out(path);  // every write checked; renamed into place only when complete
  uint8_t len[8];
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  out.write(len, 8);
  out.write(text);
  for (const auto& [name, t] : tensors) out.write(t.bytes.data(), t.bytes.size());
  out.commit();
}

}  // namespace locbench::safetensors
