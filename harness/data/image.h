// Image files in and out (JPEG, PNG, ...) through stb_image: 8-bit, HWC, row-major. Torch-free.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace locbench::data {

// A problem with a data file; the message starts with the file's path.
// Bad input, hence an std::invalid_argument (harness/common/exit_codes.h).
class DataError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  // height * width * channels
  uint8_t at(int y, int x, int c = 0) const { return pixels[(static_cast<size_t>(y) * width + x) * channels + c]; }
};

// Decodes any image stb reads to `channels` channels (3: RGB). Corrupt or unreadable files throw DataError.
Image read_image(const std::string& path, int channels = 3);

// A label map: must be stored with one channel (8-bit grey), as segmentation datasets store class ids.
Image read_label_png(const std::string& path);

// Width and height without decoding the pixels.
std::pair<int, int> image_size(const std::string& path);

// Written atomically (temporary file renamed into place); a failed write (full disk, ulimit -f) is a WriteError
// (harness/common/files.h) and leaves nothing.
void write_png(const std::string& path, const Image& image);
void write_jpeg(const std::string& path, const Image& image, int quality = 95);

}  // namespace locbench::data
