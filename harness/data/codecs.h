// The JPEG (libjpeg-turbo) and PNG (libpng) codecs under image.h: decoding to the samples the file stores, with
// the conversions both references share; image.cpp applies what differs between them. Internal to harness/data.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "harness/data/image.h"

namespace locbench::data::codec {

// Closes on destruction.
class File {
 public:
  File(const std::string& path, const char* mode);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  FILE* get() const { return f_; }
  int close();  // fclose's result; the destructor then does nothing

 private:
  FILE* f_ = nullptr;
};

enum class Format { jpeg, png, other };
// From the file's first bytes; `name` gets the format's name ("GIF", "BMP", ...) when it is not JPEG or PNG.
Format sniff(FILE* f, std::string& name);

// ---- JPEG ----
struct JpegImage {
  Image image;           // 1 (greyscale), 3 (RGB) or 4 (CMYK as libjpeg returns it: Adobe files inverted) channels
  bool adobe = false;    // an Adobe APP14 marker was present (PIL then reads CMYK inverted)
  std::vector<uint8_t> exif;  // the first APP1 "Exif\0\0" payload (without that prefix), if any
};
ImageHeader jpeg_header(FILE* f, const std::string& path);
JpegImage decode_jpeg(FILE* f, const std::string& path, const DecodeLimits& limits);
void encode_jpeg(FILE* f, const std::string& path, const Image& image, int quality);

// ---- PNG ----
// What to make of the stored samples.
enum class PngOutput {
  rgb,         // palette expanded, greyscale replicated, alpha and tRNS dropped, 16-bit reduced to the high byte
  rgb_keep16,  // as rgb, but 16-bit greyscale (colour type 0) is kept: `gray16` holds its samples, 1 channel
  indices,     // palette indices or greyscale values unpacked without scaling; 16-bit greyscale into `gray16`
};
struct PngImage {
  Image image;                  // 3 channels for rgb; 1 for indices (and rgb_keep16 on 16-bit greyscale)
  std::vector<uint16_t> gray16;  // 16-bit greyscale samples when kept (image.pixels is then empty)
  ImageHeader header;
  std::vector<uint8_t> exif;    // the eXIf chunk, if any
};
ImageHeader png_header(FILE* f, const std::string& path);
PngImage decode_png(FILE* f, const std::string& path, const DecodeLimits& limits, PngOutput output);
void encode_png(FILE* f, const std::string& path, const Image& image);

// ---- EXIF ----
// The Orientation tag (0x0112) of IFD0 of a TIFF-structured EXIF payload; 1 (top-left) when absent or invalid.
int exif_orientation(const std::vector<uint8_t>& exif);
// Applies an EXIF orientation as OpenCV's imread does (flip / transpose combinations for values 2-8).
Image apply_orientation(const Image& image, int orientation);

}  // namespace locbench::data::codec
