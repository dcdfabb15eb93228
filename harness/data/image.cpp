// Reading images as mmcv's cv2 backend or as PIL does, label maps as mmseg's LoadAnnotations, and writing PNG/JPEG
// (see image.h). The codecs are in jpeg_codec.cpp and png_codec.cpp.
#include "harness/data/image.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <unistd.h>

#include "harness/common/files.h"
#include "harness/data/codecs.h"

namespace locbench::data {

namespace codec {

File::File(const std::string& path, const char* mode) : f_(std::fopen(path.c_str(), mode)) {
  if (!f_) throw DataError(path + ": cannot open (" + std::strerror(errno) + ")");
}

File::~File() {
  if (f_) std::fclose(f_);
}

int File::close() {
  FILE* f = f_;
  f_ = nullptr;
  return std::fclose(f);
}

Format sniff(FILE* f, std::string& name) {
  unsigned char b[12] = {0};
  const size_t n = std::fread(b, 1, sizeof(b), f);
  std::rewind(f);
  if (n >= 8 && std::memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) return Format::png;
  if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return Format::jpeg;
  if (n == 0) name = "an empty file";
  else if (n >= 6 && (std::memcmp(b, "GIF87a", 6) == 0 || std::memcmp(b, "GIF89a", 6) == 0)) name = "GIF";
  else if (n >= 2 && b[0] == 'B' && b[1] == 'M') name = "BMP";
  else if (n >= 12 && std::memcmp(b, "RIFF", 4) == 0 && std::memcmp(b + 8, "WEBP", 4) == 0) name = "WebP";
  else if (n >= 4 && (std::memcmp(b, "II*\0", 4) == 0 || std::memcmp(b, "MM\0*", 4) == 0)) name = "TIFF";
  else name = "a file that is not a JPEG or PNG";
  return Format::other;
}

int exif_orientation(const std::vector<uint8_t>& exif) {
  const size_t n = exif.size();
  if (n < 8) return 1;
  const bool le = exif[0] == 'I' && exif[1] == 'I';
  if (!le && !(exif[0] == 'M' && exif[1] == 'M')) return 1;
  auto u16 = [&](size_t at) -> uint32_t {
    return le ? exif[at] | (exif[at + 1] << 8) : (exif[at] << 8) | exif[at + 1];
  };
  auto u32 = [&](size_t at) -> uint32_t { return le ? u16(at) | (u16(at + 2) << 16) : (u16(at) << 16) | u16(at + 2); };
  if (u16(2) != 42) return 1;
  const size_t ifd = u32(4);
  if (ifd + 2 > n) return 1;
  const uint32_t count = u16(ifd);
  for (uint32_t i = 0; i < count; ++i) {
    const size_t entry = ifd + 2 + 12 * static_cast<size_t>(i);
    if (entry + 12 > n) break;
    if (u16(entry) == 0x0112) {
      const uint32_t value = u16(entry + 8);
      return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
    }
  }
  return 1;
}

namespace {

Image transpose(const Image& in) {
  Image out{in.height, in.width, in.channels, std::vector<uint8_t>(in.pixels.size())};
  const int c = in.channels;
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      std::memcpy(&out.pixels[(static_cast<size_t>(y) * out.width + x) * c],
                  &in.pixels[(static_cast<size_t>(x) * in.width + y) * c], c);
  return out;
}

// cv::flip codes: 1 horizontal, 0 vertical, -1 both.
Image flip(const Image& in, int code) {
  Image out{in.width, in.height, in.channels, std::vector<uint8_t>(in.pixels.size())};
  const int c = in.channels;
  for (int y = 0; y < in.height; ++y) {
    const int sy = code <= 0 ? in.height - 1 - y : y;
    for (int x = 0; x < in.width; ++x) {
      const int sx = code != 0 ? in.width - 1 - x : x;
      std::memcpy(&out.pixels[(static_cast<size_t>(y) * in.width + x) * c],
                  &in.pixels[(static_cast<size_t>(sy) * in.width + sx) * c], c);
    }
  }
  return out;
}

}  // namespace

Image apply_orientation(const Image& image, int orientation) {
  switch (orientation) {
    case 2: return flip(image, 1);
    case 3: return flip(image, -1);
    case 4: return flip(image, 0);
    case 5: return transpose(image);
    case 6: return flip(transpose(image), 1);
    case 7: return flip(transpose(image), -1);
    case 8: return flip(transpose(image), 0);
    default: return image;
  }
}

}  // namespace codec

namespace {

using codec::File;
using codec::Format;

void check_limits(const std::string& path, const DecodeLimits& limits) {
  if (limits.max_pixels < 1) throw DataError(path + ": max_pixels must be positive");
}

Image gray_to_rgb(const Image& gray) {
  Image rgb{gray.width, gray.height, 3, std::vector<uint8_t>(gray.pixels.size() * 3)};
  for (size_t i = 0; i < gray.pixels.size(); ++i)
    rgb.pixels[3 * i] = rgb.pixels[3 * i + 1] = rgb.pixels[3 * i + 2] = gray.pixels[i];
  return rgb;
}

// CMYK as libjpeg returns it (Adobe files store inverted ink values) to RGB, as each reference converts.
Image cmyk_to_rgb(const codec::JpegImage& jpeg, ReadProtocol protocol) {
  const Image& in = jpeg.image;
  Image rgb{in.width, in.height, 3, std::vector<uint8_t>(static_cast<size_t>(in.width) * in.height * 3)};
  const size_t n = static_cast<size_t>(in.width) * in.height;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &in.pixels[4 * i];
    uint8_t* q = &rgb.pixels[3 * i];
    if (protocol == ReadProtocol::mmseg) {
      // OpenCV icvCvt_CMYK2BGR_8u_C4C3R on the samples as stored.
      const int k = p[3];
      for (int c = 0; c < 3; ++c) q[c] = static_cast<uint8_t>(k - ((255 - p[c]) * k >> 8));
    } else {
      // PIL: rawmode "CMYK;I" (inverted) for Adobe files, then cmyk2rgb: nk - MULDIV255(c, nk), nk = 255 - k.
      auto ink = [&](int c) { return jpeg.adobe ? 255 - p[c] : p[c]; };
      const int nk = 255 - ink(3);
      for (int c = 0; c < 3; ++c) {
        const int t = ink(c) * nk + 128;
        const int v = nk - (((t >> 8) + t) >> 8);
        q[c] = static_cast<uint8_t>(std::clamp(v, 0, 255));
      }
    }
  }
  return rgb;
}

Image read_jpeg(FILE* f, const std::string& path, ReadProtocol protocol, const DecodeLimits& limits) {
  codec::JpegImage jpeg = codec::decode_jpeg(f, path, limits);
  Image rgb;
  switch (jpeg.image.channels) {
    case 1: rgb = gray_to_rgb(jpeg.image); break;
    case 3: rgb = std::move(jpeg.image); break;
    default: rgb = cmyk_to_rgb(jpeg, protocol); break;
  }
  if (protocol == ReadProtocol::mmseg) rgb = codec::apply_orientation(rgb, codec::exif_orientation(jpeg.exif));
  return rgb;
}

Image read_png(FILE* f, const std::string& path, ReadProtocol protocol, const DecodeLimits& limits) {
  const auto output = protocol == ReadProtocol::timm ? codec::PngOutput::rgb_keep16 : codec::PngOutput::rgb;
  codec::PngImage png = codec::decode_png(f, path, limits, output);
  Image rgb;
  if (!png.gray16.empty()) {
    // PIL opens 16-bit greyscale as mode I;16, whose conversion to RGB clips at 255.
    Image gray{png.image.width, png.image.height, 1, std::vector<uint8_t>(png.gray16.size())};
    for (size_t i = 0; i < png.gray16.size(); ++i)
      gray.pixels[i] = static_cast<uint8_t>(std::min<int>(png.gray16[i], 255));
    png.gray16 = {};
    rgb = gray_to_rgb(gray);
  } else {
    rgb = std::move(png.image);
  }
  if (protocol == ReadProtocol::mmseg) rgb = codec::apply_orientation(rgb, codec::exif_orientation(png.exif));
  return rgb;
}

template <typename Write>
void write_atomic(const std::string& path, const Image& image, Write&& write) {
  if (image.width <= 0 || image.height <= 0 || image.channels < 1 || image.channels > 4 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
    throw DataError(path + ": image buffer does not match its size");
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::unique_ptr<File> opened;
  try {
    opened = std::make_unique<File>(tmp, "wb");
  } catch (const DataError&) {
    throw WriteError(path + ": cannot write (" + std::strerror(errno) + ")");
  }
  try {
    File& file = *opened;
    write(file.get());
    if (std::fflush(file.get()) != 0 || std::ferror(file.get()))
      throw WriteError(path + ": cannot write: " + std::strerror(errno));
    if (file.close() != 0) throw WriteError(path + ": cannot write: " + std::strerror(errno));
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw WriteError(path + ": cannot rename into place (" + why + ")");
  }
}

}  // namespace

const char* to_string(ReadProtocol protocol) { return protocol == ReadProtocol::mmseg ? "mmseg" : "timm"; }

ImageHeader read_header(const std::string& path) {
  File file(path, "rb");
  std::string name;
  switch (codec::sniff(file.get(), name)) {
    case Format::jpeg: return codec::jpeg_header(file.get(), path);
    case Format::png: return codec::png_header(file.get(), path);
    default: throw DataError(path + ": cannot read " + name + " (JPEG and PNG are read)");
  }
}

Image read_image(const std::string& path, ReadProtocol protocol, const DecodeLimits& limits) {
  check_limits(path, limits);
  File file(path, "rb");
  std::string name;
  switch (codec::sniff(file.get(), name)) {
    case Format::jpeg: return read_jpeg(file.get(), path, protocol, limits);
    case Format::png: return read_png(file.get(), path, protocol, limits);
    default: throw DataError(path + ": cannot read " + name + " (JPEG and PNG are read)");
  }
}

Image read_label(const std::string& path, const DecodeLimits& limits) {
  check_limits(path, limits);
  File file(path, "rb");
  std::string name;
  const Format format = codec::sniff(file.get(), name);
  if (format == Format::jpeg)
    throw DataError(path + ": label map is a JPEG; label maps must be PNG (lossless class ids)");
  if (format != Format::png) throw DataError(path + ": cannot read " + name + " as a label map (PNG expected)");
  codec::PngImage png = codec::decode_png(file.get(), path, limits, codec::PngOutput::indices);
  Image label = std::move(png.image);
  if (!png.gray16.empty()) {
    const uint16_t top = *std::max_element(png.gray16.begin(), png.gray16.end());
    if (top > 255)
      throw DataError(path + ": 16-bit label map has values up to " + std::to_string(top) +
                      "; class ids must fit 0-255 (mmseg would wrap them modulo 256)");
    label.pixels.assign(png.gray16.begin(), png.gray16.end());
  } else if (!png.header.palette && (png.header.bit_depth == 2 || png.header.bit_depth == 4)) {
    // PIL unpacks 2- and 4-bit greyscale scaled to 0-255 (L;2, L;4); 1-bit maps are mode '1', read as 0/1.
    const int scale = png.header.bit_depth == 2 ? 85 : 17;
    for (auto& v : label.pixels) v = static_cast<uint8_t>(v * scale);
  }
  return label;
}

void write_png(const std::string& path, const Image& image) {
  write_atomic(path, image, [&](FILE* f) { codec::encode_png(f, path, image); });
}

void write_jpeg(const std::string& path, const Image& image, int quality) {
  write_atomic(path, image, [&](FILE* f) { codec::encode_jpeg(f, path, image, quality); });
}

}  // namespace locbench::data
