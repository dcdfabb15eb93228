// What a weights file is, read from its first bytes (and a zip archive's central directory): safetensors, a
// PyTorch pickle (torch.save's zip archive or the legacy format), a TorchScript archive, an AOTInductor package,
// a torch.export program, NumPy arrays. Torch-free; used to turn "not safetensors" into what to do about it.
#pragma once

#include <string>
#include <vector>

namespace locbench {

enum class FileFormat {
  safetensors,
  torch_zip,       // torch.save (zip archive with data.pkl)
  torch_legacy,    // torch.save(..., _use_new_zipfile_serialization=False), torch < 1.6
  python_pickle,   // some other pickle
  torchscript,     // torch.jit.save
  aoti_package,    // torch._inductor.aoti_compile_and_package (.pt2)
  export_program,  // torch.export.save (.pt2 without compiled code)
  numpy,           // .npy or .npz (e.g. big_vision / JAX ViT weights)
  unknown,
};

struct SniffedFile {
  FileFormat format = FileFormat::unknown;
  std::vector<std::string> zip_entries;  // names in a zip archive (empty otherwise)
};

// Throws std::runtime_error naming the file when it cannot be opened or is not a regular file.
SniffedFile sniff_file(const std::string& path);
// "safetensors", "a PyTorch pickle (torch.save zip archive)", ...
std::string describe(FileFormat format);

// Throws std::runtime_error when `path` is a format locbench recognises other than safetensors: the message (it
// starts with the path) says what the file is and the command that converts or runs it; `model` (a registered
// name) picks the converter's defaults. Files it does not recognise are left to the safetensors reader's checks.
void require_safetensors(const std::string& path, const std::string& model = "");

}  // namespace locbench
