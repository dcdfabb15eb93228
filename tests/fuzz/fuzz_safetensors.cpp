// The safetensors reader on arbitrary bytes: only FormatError may come out, and every view it accepts lies inside
// the file with a byte size that matches its dtype and shape.
#include "harness/checkpoint/safetensors.h"
#include "tests/fuzz/fuzz_input.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = locbench::fuzz::input_file(data, size, ".safetensors");
  try {
    locbench::safetensors::File file(path);
    for (const auto& [name, view] : file.tensors()) {
      if (view.numel() < 0 || static_cast<uint64_t>(view.numel()) * locbench::safetensors::dtype_size(view.dtype) !=
                                  view.nbytes)
        std::abort();
      volatile uint8_t sum = 0;  // touch every byte: ASan checks each view stays inside the mapping
      for (size_t i = 0; i < view.nbytes; ++i) sum = sum + view.data[i];
    }
  } catch (const locbench::safetensors::FormatError&) {
  }
  return 0;
}
