// PNG through libpng. PIL decodes PNG with its own code and OpenCV with libpng; for the sample values they agree with
// these transformations (palette expansion without tRNS, greyscale replication, alpha dropped, gamma ignored), except
// for 16-bit greyscale, which the caller resolves per reference (rgb_keep16). Errors longjmp out of libpng into a
// DataError naming the file.
#include "harness/common/files.h"
#include "harness/data/codecs.h"

#include <cerrno>
#include <png.h>

#include <cstring>

namespace locbench::data::codec {

namespace {

struct ErrorState {
  char message[256];
  bool refused;  // the pixel limit refused the file
};

[[noreturn]] void on_error(png_structp png, png_const_charp msg) {
  auto* state = static_cast<ErrorState*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof(state->message), "%s", msg);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}  // ancillary-chunk problems; PIL and OpenCV read through them

// Only trivially destructible locals live between setjmp and the last libpng call.
bool decode(FILE* f, const DecodeLimits* limits, PngOutput output, ErrorState& err, PngImage& out) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, on_error, on_warning);
  if (!png) {
    std::snprintf(err.message, sizeof(err.message), "out of memory");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    std::snprintf(err.message, sizeof(err.message), "out of memory");
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_init_io(png, f);
  png_set_chunk_malloc_max(png, 8u << 20);  // one ancillary chunk (iCCP, zTXt, ...) decompresses to at most 8 MiB
  png_set_chunk_cache_max(png, 1000);
  png_read_info(png, info);
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
  png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, nullptr, nullptr, nullptr);
  ImageHeader& h = out.header;
  h.format = "png";
  h.width = static_cast<int>(width);
  h.height = static_cast<int>(height);
  h.channels = png_get_channels(png, info);
  h.bit_depth = bit_depth;
  h.palette = color_type == PNG_COLOR_TYPE_PALETTE;
  if (!limits) {
    png_destroy_read_struct(&png, &info, nullptr);
    return true;
  }
  if (static_cast<int64_t>(width) * height > limits->max_pixels) {
    std::snprintf(err.message, sizeof(err.message),
                  "image is %ux%u = %lld pixels, above the limit of %lld (max_pixels)", static_cast<unsigned>(width),
                  static_cast<unsigned>(height), static_cast<long long>(static_cast<int64_t>(width) * height),
                  static_cast<long long>(limits->max_pixels));
    err.refused = true;
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_bytep exif = nullptr;
  png_uint_32 exif_size = 0;
  if (png_get_eXIf_1(png, info, &exif_size, &exif) && exif && exif_size > 0) out.exif.assign(exif, exif + exif_size);

  const bool gray16 = color_type == PNG_COLOR_TYPE_GRAY && bit_depth == 16;
  const bool keep16 = gray16 && output != PngOutput::rgb;
  int channels = 3;
  if (output == PngOutput::indices) {
    if (color_type != PNG_COLOR_TYPE_GRAY && color_type != PNG_COLOR_TYPE_PALETTE) {
      std::snprintf(err.message, sizeof(err.message), "label map has %d channels (%s); expected one channel of "
                    "class ids (greyscale or palette)", h.channels,
                    color_type == PNG_COLOR_TYPE_RGB ? "RGB" : color_type == PNG_COLOR_TYPE_RGB_ALPHA ? "RGBA"
                                                                                                     : "grey+alpha");
      png_destroy_read_struct(&png, &info, nullptr);
      return false;
    }
    png_set_packing(png);  // 1, 2, 4-bit samples one per byte, unscaled
    channels = 1;
  } else if (keep16) {
    channels = 1;
  } else {
    png_set_palette_to_rgb(png);
    png_set_expand_gray_1_2_4_to_8(png);
    png_set_strip_16(png);  // the high byte, as OpenCV's decoder and PIL's 16-bit unpackers take
    png_set_strip_alpha(png);
    png_set_gray_to_rgb(png);
  }
  if (keep16) png_set_swap(png);  // host-order uint16 (little-endian hosts)
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (static_cast<int>(png_get_channels(png, info)) != channels) {
    std::snprintf(err.message, sizeof(err.message), "unexpected channel count after conversion");
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  const size_t row_bytes = png_get_rowbytes(png, info);
  const size_t expected = static_cast<size_t>(width) * channels * (keep16 ? 2 : 1);
  if (row_bytes != expected) {
    std::snprintf(err.message, sizeof(err.message), "unexpected row size after conversion");
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  Image& img = out.image;
  img.width = static_cast<int>(width);
  img.height = static_cast<int>(height);
  img.channels = channels;
  png_bytep base;
  if (keep16) {
    out.gray16.resize(static_cast<size_t>(width) * height);
    base = reinterpret_cast<png_bytep>(out.gray16.data());
  } else {
    img.pixels.resize(static_cast<size_t>(width) * height * channels);
    base = img.pixels.data();
  }
  for (int pass = 0; pass < passes; ++pass)
    for (png_uint_32 y = 0; y < height; ++y) png_read_row(png, base + y * row_bytes, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

bool encode(FILE* f, const Image& image, ErrorState& err) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, on_error, on_warning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  static constexpr int kColorType[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                       PNG_COLOR_TYPE_RGB_ALPHA};
  png_init_io(png, f);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
               kColorType[image.channels - 1], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const size_t stride = static_cast<size_t>(image.width) * image.channels;
  for (int y = 0; y < image.height; ++y)
    png_write_row(png, const_cast<png_bytep>(image.pixels.data()) + y * stride);
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

ImageHeader png_header(FILE* f, const std::string& path) {
  ErrorState err{};
  PngImage out;
  if (!decode(f, nullptr, PngOutput::rgb, err, out)) throw DataError(path + ": cannot read PNG header (" +
                                                                     err.message + ")");
  return out.header;
}

PngImage decode_png(FILE* f, const std::string& path, const DecodeLimits& limits, PngOutput output) {
  ErrorState err{};
  PngImage out;
  if (!decode(f, &limits, output, err, out)) {
    if (err.refused) throw DataError(path + ": " + err.message);
    throw DataError(path + ": cannot decode PNG (" + err.message + ")");
  }
  return out;
}

void encode_png(FILE* f, const std::string& path, const Image& image) {
  ErrorState err{};
  std::snprintf(err.message, sizeof(err.message), "out of memory");
  if (!encode(f, image, err)) {
    // A failed fwrite (a full disk, ulimit -f) says why in errno; an encoder error in its own message.
    if (std::ferror(f)) throw WriteError(path + ": cannot write: " + std::strerror(errno));
    throw WriteError(path + ": cannot write PNG (" + err.message + ")");
  }
}

}  // namespace locbench::data::codec
