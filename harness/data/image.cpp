#include "harness/data/image.h"

#include "harness/common/files.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <cctype>
#include <cstdio>
#include <memory>
#include <unistd.h>

namespace locbench::data {

namespace {

std::string reason() {
  const char* why = stbi_failure_reason();
  return why ? why : "unknown reason";
}

// stb's file writers ignore fwrite and fclose failures (a full disk leaves an empty file and reports success): it
// encodes into memory, and the file is written through AtomicFile, which checks every write and the close.
template <typename Encode>
void write_encoded(const std::string& path, Encode&& encode) {
  std::string bytes;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
  };
  if (!encode(+append, &bytes)) throw DataError(path + ": cannot encode image");
  write_file_atomic(path, bytes);
}

// stb_image 2.27 (Debian 12's) reads past its buffer converting 16-bit PNM (maxval > 255) to 8 bits, on 19 bytes of
// input (found by tests/fuzz/fuzz_image): such files are refused before stb sees them.
void refuse_16_bit_pnm(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return;  // stb reports it
  char head[256];
  const size_t n = std::fread(head, 1, sizeof head, f);
  std::fclose(f);
  if (n < 2 || head[0] != 'P' || (head[1] != '5' && head[1] != '6')) return;
  size_t i = 2;
  long fields[3] = {0, 0, 0};
  for (long& field : fields) {
    while (i < n && (std::isspace(static_cast<unsigned char>(head[i])) || head[i] == '#')) {
      if (head[i] == '#')
        while (i < n && head[i] != '\n' && head[i] != '\r') ++i;
      else
        ++i;
    }
    if (i >= n || !std::isdigit(static_cast<unsigned char>(head[i]))) return;  // malformed: stb refuses it
    while (i < n && std::isdigit(static_cast<unsigned char>(head[i])) && field < 1000000) field = field * 10 + (head[i++] - '0');
  }
  if (fields[2] > 255)
    throw DataError(path + ": cannot decode image (16-bit PNM, maxval " + std::to_string(fields[2]) +
                    ", is not supported)");
}

void check(const std::string& path, const Image& image) {
  if (image.width <= 0 || image.height <= 0 || image.channels < 1 || image.channels > 4 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
    throw DataError(path + ": image buffer does not match its size");
}

}  // namespace

Image read_image(const std::string& path, int channels) {
  refuse_16_bit_pnm(path);
  int w = 0, h = 0, n = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> data(stbi_load(path.c_str(), &w, &h, &n, channels), stbi_image_free);
  if (!data) throw DataError(path + ": cannot decode image (" + reason() + ")");
  if (w <= 0 || h <= 0)  // stb accepts a PNM header of height 0
    throw DataError(path + ": cannot decode image (size " + std::to_string(w) + "x" + std::to_string(h) + ")");
  Image image{w, h, channels, {}};
  image.pixels.assign(data.get(), data.get() + static_cast<size_t>(w) * h * channels);
  return image;
}

Image read_label_png(const std::string& path) {
  int w = 0, h = 0, n = 0;
  if (!stbi_info(path.c_str(), &w, &h, &n)) throw DataError(path + ": cannot decode label image (" + reason() + ")");
  if (n != 1)
    throw DataError(path + ": label image has " + std::to_string(n) + " channels; expected one channel of class ids");
  return read_image(path, 1);
}

std::pair<int, int> image_size(const std::string& path) {
  int w = 0, h = 0, n = 0;
  if (!stbi_info(path.c_str(), &w, &h, &n)) throw DataError(path + ": cannot read image header (" + reason() + ")");
  if (w <= 0 || h <= 0)
    throw DataError(path + ": cannot read image header (size " + std::to_string(w) + "x" + std::to_string(h) + ")");
  return {w, h};
}

void write_png(const std::string& path, const Image& image) {
  check(path, image);
  write_encoded(path, [&](stbi_write_func* func, void* context) {
    return stbi_write_png_to_func(func, context, image.width, image.height, image.channels, image.pixels.data(),
                                  image.width * image.channels) != 0;
  });
}

void write_jpeg(const std::string& path, const Image& image, int quality) {
  check(path, image);
  write_encoded(path, [&](stbi_write_func* func, void* context) {
    return stbi_write_jpg_to_func(func, context, image.width, image.height, image.channels, image.pixels.data(),
                                  quality) != 0;
  });
}

}  // namespace locbench::data
