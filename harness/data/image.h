// Image files in and out: JPEG through libjpeg-turbo and PNG through libpng, the libraries PIL and OpenCV decode
// with. 8-bit, HWC, row-major. Torch-free.
//
// Every read names the reference it reproduces (ReadProtocol):
//   mmseg  mmcv.imread(flag='color') with the cv2 backend (cv2.imdecode(IMREAD_COLOR)): EXIF orientation applied,
//          16-bit samples reduced to their high byte, CMYK as OpenCV converts it. Returned in RGB order, the order
//          mmseg's Normalize(to_rgb=True) hands the model.
//   timm   PIL.Image.open(f).convert('RGB'): no EXIF transpose, 16-bit greyscale clipped to 255 and other 16-bit
//          samples reduced to their high byte, CMYK as Pillow converts it.
// Label maps read as mmseg's LoadAnnotations (pillow backend, 'unchanged'): see read_label.
// The pixel count is checked against DecodeLimits from the header, before anything is decoded.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace locbench::data {

// An unusable data file (missing, malformed, truncated, over the limits): bad input, hence an std::invalid_argument
// (exit 2, harness/common/exit_codes.h). The message starts with the file's path. Failed writes are WriteErrors
// (harness/common/files.h).
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

enum class ReadProtocol { mmseg, timm };
const char* to_string(ReadProtocol protocol);

// PIL.Image.MAX_IMAGE_PIXELS (1024 * 1024 * 1024 // 4 // 3): larger images are refused, as PIL refuses images above
// twice this (DecompressionBombError) and warns above it.
inline constexpr int64_t kDefaultMaxPixels = 89478485;

struct DecodeLimits {
  int64_t max_pixels = kDefaultMaxPixels;  // width * height of the file's header
  int max_jpeg_scans = 1000;               // progressive JPEGs with more scans are refused (CPU-time bombs)
};

// What a file's header says, read without decoding any pixel.
struct ImageHeader {
  std::string format;  // "jpeg" or "png"
  int width = 0, height = 0;
  int channels = 0;    // components as stored (JPEG: 1, 3 or 4; PNG: 1 to 4, palette 1)
  int bit_depth = 8;
  bool palette = false;
};
ImageHeader read_header(const std::string& path);

// A 3-channel RGB image decoded as `protocol`'s reference decodes it. Formats other than JPEG and PNG, corrupt or
// truncated files and images above the limit throw DataError naming the file and the reason.
Image read_image(const std::string& path, ReadProtocol protocol, const DecodeLimits& limits = {});

// A label map as mmseg's LoadAnnotations reads it (PIL 'unchanged', then astype(uint8)): palette PNGs give their
// indices, greyscale its values (1-bit maps 0/1, 2- and 4-bit maps scaled to 0-255 as PIL unpacks them), 16-bit
// greyscale its values when all are at most 255. Larger 16-bit values throw DataError (mmseg would wrap them modulo
// 256), as do colour, alpha and JPEG label maps.
Image read_label(const std::string& path, const DecodeLimits& limits = {});

// Written atomically (temporary file renamed into place); any failure throws DataError and leaves no file.
void write_png(const std::string& path, const Image& image);
void write_jpeg(const std::string& path, const Image& image, int quality = 95);

}  // namespace locbench::data
