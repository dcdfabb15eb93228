#include "harness/checkpoint/format.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace locbench {

namespace {

uint64_t le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The entry names of a zip archive's central directory (zip64 aware); empty when it cannot be read.
std::vector<std::string> zip_names(std::ifstream& in, uint64_t size) {
  const uint64_t tail = std::min<uint64_t>(size, 65536 + 22);
  std::vector<unsigned char> buf(tail);
  in.seekg(static_cast<std::streamoff>(size - tail));
  if (!in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(tail))) return {};
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tail) - 22; i >= 0; --i)
    if (le(&buf[i], 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) return {};
  uint64_t entries = le(&buf[eocd + 10], 2), cd_size = le(&buf[eocd + 12], 4), cd_offset = le(&buf[eocd + 16], 4);
  if (cd_offset == 0xFFFFFFFFu || entries == 0xFFFF) {  // zip64: the locator sits just before the EOCD record
    if (eocd < 20 || le(&buf[eocd - 20], 4) != 0x07064b50) return {};
    const uint64_t z64 = le(&buf[eocd - 20 + 8], 8);
    unsigned char rec[56];
    in.clear();
    in.seekg(static_cast<std::streamoff>(z64));
    if (z64 + 56 > size || !in.read(reinterpret_cast<char*>(rec), 56) || le(rec, 4) != 0x06064b50) return {};
    entries = le(rec + 32, 8);
    cd_size = le(rec + 40, 8);
    cd_offset = le(rec + 48, 8);
  }
  if (cd_offset + cd_size > size || cd_size > (64u << 20)) return {};
  std::vector<unsigned char> cd(cd_size);
  in.clear();
  in.seekg(static_cast<std::streamoff>(cd_offset));
  if (!in.read(reinterpret_cast<char*>(cd.data()), static_cast<std::streamsize>(cd_size))) return {};
  std::vector<std::string> names;
  size_t p = 0;
  for (uint64_t e = 0; e < entries && p + 46 <= cd.size() && le(&cd[p], 4) == 0x02014b50; ++e) {
    const size_t name_len = le(&cd[p + 28], 2), extra = le(&cd[p + 30], 2), comment = le(&cd[p + 32], 2);
    if (p + 46 + name_len > cd.size()) break;
    names.emplace_back(reinterpret_cast<const char*>(&cd[p + 46]), name_len);
    p += 46 + name_len + extra + comment;
  }
  return names;
}

FileFormat classify_zip(const std::vector<std::string>& names) {
  bool data_pkl = false, npy = !names.empty();
  for (const auto& n : names) {
    if (n.find("/data/aotinductor/") != std::string::npos) return FileFormat::aoti_package;
    if (ends_with(n, "/constants.pkl") || n.find("/code/") != std::string::npos) return FileFormat::torchscript;
    if (ends_with(n, "data.pkl")) data_pkl = true;
    if (!ends_with(n, ".npy")) npy = false;
  }
  for (const auto& n : names)
    if (ends_with(n, "archive_format") || n.find("/models/") != std::string::npos) return FileFormat::export_program;
  if (data_pkl) return FileFormat::torch_zip;
  if (npy) return FileFormat::numpy;
  return FileFormat::unknown;
}

std::string converter_command(const std::string& path, const std::string& model) {
  std::string out = path;
  for (const char* ext : {".pth.tar", ".pth", ".pt", ".bin", ".ckpt", ".tar"})
    if (ends_with(out, ext)) {
      out = out.substr(0, out.size() - std::strlen(ext));
      break;
    }
  return "python3 scripts/convert_checkpoint.py " + path + " " + out + ".safetensors" +
         (model.empty() ? "" : " --model " + model);
}

}  // namespace

SniffedFile sniff_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw std::runtime_error(path + ": not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  unsigned char head[512] = {0};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const size_t got = static_cast<size_t>(in.gcount());
  in.clear();
  SniffedFile out;
  if (got >= 9 && head[8] == '{') {  // the JSON header; the reader checks its length
    out.format = FileFormat::safetensors;
  } else if (got >= 4 && le(head, 4) == 0x04034b50) {
    out.zip_entries = zip_names(in, size);
    out.format = classify_zip(out.zip_entries);
  } else if (got >= 14 && std::memcmp(head, "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 14) == 0) {
    out.format = FileFormat::torch_legacy;
  } else if (got >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5) {
    out.format = FileFormat::python_pickle;
  } else if (got >= 6 && std::memcmp(head, "\x93NUMPY", 6) == 0) {
    out.format = FileFormat::numpy;
  }
  return out;
}

std::string describe(FileFormat format) {
  switch (format) {
    case FileFormat::safetensors: return "safetensors";
    case FileFormat::torch_zip: return "a PyTorch pickle (torch.save zip archive)";
    case FileFormat::torch_legacy: return "a PyTorch pickle (torch.save legacy format)";
    case FileFormat::python_pickle: return "a Python pickle";
    case FileFormat::torchscript: return "a TorchScript archive (torch.jit.save)";
    case FileFormat::aoti_package: return "an AOTInductor package (.pt2)";
    case FileFormat::export_program: return "a torch.export program (.pt2 without compiled code)";
    case FileFormat::numpy: return "NumPy arrays (.npy/.npz)";
    case FileFormat::unknown: break;
  }
  return "not a format locbench reads";
}

void require_safetensors(const std::string& path, const std::string& model) {
  const SniffedFile file = sniff_file(path);
  const std::string what = path + ": this is " + describe(file.format) + ", not safetensors; ";
  switch (file.format) {
    case FileFormat::safetensors: return;
    case FileFormat::torch_zip:
    case FileFormat::torch_legacy:
    case FileFormat::python_pickle:
      throw std::runtime_error(what + "convert it with " + converter_command(path, model));
    case FileFormat::torchscript:
    case FileFormat::aoti_package:
      throw std::runtime_error(what + "it is a whole model, not weights: run it as --model file:" + path);
    case FileFormat::export_program:
      throw std::runtime_error(what + "LibTorch cannot run an ExportedProgram; export the model with "
                               "locbench.export(model, name) (TorchScript or an AOTInductor package)");
    case FileFormat::numpy:
      throw std::runtime_error(what + "these are JAX/big_vision arrays, which timm converts when it loads them: use "
                               "the Hub release of the same weights (bench list models --pretrained)");
    case FileFormat::unknown: return;  // the safetensors reader says what is wrong with it
  }
}

}  // namespace locbench
