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
  using namespace locbench::data;
  // A few header bytes can claim gigapixels: the decoded-size limit refuses those from the header (that refusal is
  // itself fuzzed), and a smaller limit keeps each input to what decodes in a few milliseconds under ASan.
  DecodeLimits limits;
  limits.max_pixels = int64_t{1} << 22;
  limits.max_jpeg_scans = 100;
  try {
    const ImageHeader h = read_header(path);
    if (h.width <= 0 || h.height <= 0) std::abort();
  } catch (const DataError&) {
  }
  for (ReadProtocol protocol : {ReadProtocol::mmseg, ReadProtocol::timm}) {
    try {
      check(read_image(path, protocol, limits), 3);
    } catch (const DataError&) {
    }
  }
  try {
    check(read_label(path, limits), 1);
  } catch (const DataError&) {
  }
  return 0;
}
