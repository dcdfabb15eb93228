// Helpers of the image tests (torch-free): SHA-256 digests as the Python fixture generators write them, the
// integer-only pattern image of tests/fixtures/reference_env.py, and the committed reference JSON files.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/data/image.h"
#include "tests/test_helpers.h"

namespace locbench::testing {

inline std::string sha256_hex(const void* data, size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data, size, digest, &length, EVP_sha256(), nullptr) != 1) throw std::runtime_error("EVP_Digest");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

inline std::string sha256_hex(const data::Image& image) { return sha256_hex(image.pixels.data(), image.pixels.size()); }

inline uint64_t splitmix64_finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// reference_env.pattern_image: a sawtooth gradient plus hashed noise, in integers only.
inline data::Image pattern_image(int height, int width, uint64_t seed, int channels = 3) {
  data::Image img{width, height, channels, std::vector<uint8_t>(static_cast<size_t>(width) * height * channels)};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < channels; ++c) {
        const uint64_t smooth = (3ull * x + 2ull * y + 40ull * c + seed * 17) % 256;
        const uint64_t k = seed * 1000003ull + (static_cast<uint64_t>(y) * width + x) * channels + c;
        const uint64_t noise = splitmix64_finalize(k + 0x9E3779B97F4A7C15ull) >> 58;
        img.pixels[(static_cast<size_t>(y) * width + x) * channels + c] = static_cast<uint8_t>((smooth + noise) % 256);
      }
  return img;
}

// tests/fixtures/make_transform_fixtures.py seg_label: class 1 on the left 80 % of columns, 2-4 from the pattern
// elsewhere, 255 on a sparse diagonal grid.
inline data::Image transform_fixture_label(int h, int w, uint64_t seed) {
  const data::Image p = pattern_image(h, w, seed, 1);
  data::Image label{w, h, 1, std::vector<uint8_t>(static_cast<size_t>(w) * h)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t v = x * 5 < w * 4 ? 1 : static_cast<uint8_t>(p.pixels[static_cast<size_t>(y) * w + x] % 3 + 2);
      if ((x + y) % 17 == 0) v = 255;
      label.pixels[static_cast<size_t>(y) * w + x] = v;
    }
  return label;
}

// A PNG whose IHDR claims width x height (8-bit, `color_type`) followed by a few bytes of image data.
inline std::string png_claiming(uint32_t width, uint32_t height, char color_type) {
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
  };
  auto crc = [](const std::string& s) {
    uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : s) {
      c ^= b;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
  };
  auto chunk = [&](const std::string& type, const std::string& data) {
    return be32(static_cast<uint32_t>(data.size())) + type + data + be32(crc(type + data));
  };
  const std::string ihdr = be32(width) + be32(height) + std::string{'\x08', color_type, '\0', '\0', '\0'};
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) +
         chunk("IDAT", std::string("\x78\x9c\x63\x60\x00\x00\x00\x02\x00\x01", 10)) + chunk("IEND", "");
}

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": missing (generate it with the script named in its test)");
  return nlohmann::json::parse(in);
}

inline std::string fixture(const std::string& relative) { return source_dir() + "/tests/fixtures/" + relative; }

}  // namespace locbench::testing
