// The image and label readers on arbitrary bytes: only DataError may come out, and a decoded image has the pixel
// buffer its size says.
#include "harness/data/image.h"
#include "tests/fuzz/fuzz_input.h"

#include <cstdlib>

namespace {

void check(const locbench::data::Image& image, int channels) {
  if (image.width <= 0 || image.height <= 0 || image.channels != channels ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * channels)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = locbench::fuzz::input_file(data, size, ".img");
  using locbench::data::DataError;
  // A 21-byte PGM header can declare 1.4 gigapixels: how many pixels a reader accepts is its decoded-size limit
  // (the data path's), so the decoders are fuzzed on what fits in a few seconds under ASan.
  try {
    const auto [w, h] = locbench::data::image_size(path);
    if (static_cast<int64_t>(w) * h > (int64_t{1} << 22)) return 0;
  } catch (const DataError&) {
  }
  try {
    check(locbench::data::read_image(path, 3), 3);
  } catch (const DataError&) {
  }
  try {
    check(locbench::data::read_label_png(path), 1);
  } catch (const DataError&) {
  }
  try {
    const auto [w, h] = locbench::data::image_size(path);
    if (w <= 0 || h <= 0) std::abort();
  } catch (const DataError&) {
  }
  return 0;
}
