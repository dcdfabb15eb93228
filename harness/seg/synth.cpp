// Synthetic texture-segmentation data in the ADE20K layout (see synth.h).
#include "harness/seg/synth.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numbers>
#include <stdexcept>
#include <vector>

namespace fs = std::filesystem;

namespace locbench::seg {

namespace {

// splitmix64: the same stream on every platform and standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  int64_t integer(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(uniform() * (hi - lo + 1)); }

 private:
  uint64_t state_;
};

struct Texture {
  bool checker = false;
  double angle = 0;   // radians
  double period = 8;  // pixels
};

// Class k in 1..K: stripes for odd k, checkers for even k, with orientations spread over 180 degrees and
// periods cycling 6, 9, 12 pixels, so neighbouring classes differ in orientation, kind or scale.
Texture class_texture(int64_t k, int64_t num_classes) {
  Texture t;
  t.checker = k % 2 == 0;
  t.angle = std::numbers::pi * static_cast<double>(k - 1) / static_cast<double>(num_classes);
  t.period = 6.0 + 3.0 * static_cast<double>((k - 1) % 3);
  return t;
}

bool texture_on(const Texture& t, double x, double y, double phase) {
  const double u = x * std::cos(t.angle) + y * std::sin(t.angle);
  const double v = -x * std::sin(t.angle) + y * std::cos(t.angle);
  const double w = 2 * std::numbers::pi / t.period;
  if (!t.checker) return std::sin(w * u + phase) > 0;
  return std::sin(w * u + phase) * std::sin(w * v + phase) > 0;
}

using Colour = std::array<double, 3>;

// Every class draws both of its colours from this one distribution.
Colour random_colour(Rng& rng) { return {rng.uniform() * 255, rng.uniform() * 255, rng.uniform() * 255}; }

struct Region {
  double cx = 0, cy = 0;
  int64_t label = 0;
  Colour fg{}, bg{};
  double phase = 0;
  Texture texture;  // the class's texture; "period" draws the orientation per region
};

// Class k in 1..K of the "period" pattern: stripes of period period * ratio^(k-1) at a random orientation.
Texture period_texture(int64_t k, const SynthOptions& o, Rng& rng) {
  Texture t;
  t.checker = false;
  t.angle = rng.uniform() * std::numbers::pi;
  t.period = o.period * std::pow(o.period_ratio, static_cast<double>(k - 1));
  return t;
}

uint8_t to_byte(double v) { return static_cast<uint8_t>(std::lround(std::fmin(255.0, std::fmax(0.0, v)))); }

}  // namespace

SynthSample synth_sample(const SynthOptions& o, int64_t index) {
  if (o.num_classes < 1 || o.num_classes > 254 || o.min_size < 1 || o.max_size < o.min_size || o.regions < 1)
    throw std::invalid_argument("synth_sample: need 1 <= num_classes <= 254, 1 <= min_size <= max_size, regions >= 1");
  if (o.pattern != "texture" && o.pattern != "period")
    throw std::invalid_argument("synth_sample: pattern must be \"texture\" or \"period\", not \"" + o.pattern + "\"");
  if (o.pattern == "period" && !(o.period >= 2 && o.period_ratio > 1))
    throw std::invalid_argument("synth_sample: the period pattern needs period >= 2 and period_ratio > 1");
  Rng rng(o.seed * 0x100000001B3ull + static_cast<uint64_t>(index) * 0x9E3779B97F4A7C15ull + 1);
  const int width = static_cast<int>(rng.integer(o.min_size, o.max_size));
  const int height = static_cast<int>(rng.integer(o.min_size, o.max_size));
  std::vector<Region> regions(o.regions);
  for (Region& r : regions) {
    r.cx = rng.uniform() * width;
    r.cy = rng.uniform() * height;
    r.label = rng.uniform() < o.other_fraction ? 0 : rng.integer(1, o.num_classes);
    r.fg = random_colour(rng);
    r.bg = random_colour(rng);
    r.phase = rng.uniform() * 2 * std::numbers::pi;
    // Drawn after the fields above, so the "texture" pattern's stream (and its data) is what it always was.
    if (r.label > 0)
      r.texture = o.pattern == "period" ? period_texture(r.label, o, rng) : class_texture(r.label, o.num_classes);
  }
  SynthSample s;
  s.image = {width, height, 3, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  s.label = {width, height, 1, std::vector<uint8_t>(static_cast<size_t>(width) * height)};
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const Region* nearest = &regions[0];
      double best = 1e300;
      for (const Region& r : regions) {
        const double d = (r.cx - x) * (r.cx - x) + (r.cy - y) * (r.cy - y);
        if (d < best) best = d, nearest = &r;
      }
      // "other" regions are per-pixel noise between the two colours: no structure to learn.
      const bool on = nearest->label == 0 ? rng.uniform() < 0.5 : texture_on(nearest->texture, x, y, nearest->phase);
      const Colour& c = on ? nearest->fg : nearest->bg;
      const size_t p = static_cast<size_t>(y) * width + x;
      for (int ch = 0; ch < 3; ++ch) s.image.pixels[p * 3 + ch] = to_byte(c[ch] + (rng.uniform() - 0.5) * 16);
      s.label.pixels[p] = static_cast<uint8_t>(nearest->label);
    }
  }
  return s;
}

int64_t write_synthetic_ade20k(const std::string& root, const std::string& split, const SynthOptions& options) {
  const bool training = split == "training";
  const fs::path img_dir = fs::path(root) / "images" / split;
  const fs::path ann_dir = fs::path(root) / "annotations" / split;
  fs::create_directories(img_dir);
  fs::create_directories(ann_dir);
  // The training split draws from indices offset far from the validation ones, so the splits never repeat.
  const int64_t offset = training ? (int64_t{1} << 40) : 0;
  for (int64_t i = 0; i < options.count; ++i) {
    const SynthSample s = synth_sample(options, offset + i);
    char stem[64];
    std::snprintf(stem, sizeof stem, "ADE_%s_%08lld", training ? "train" : "val", static_cast<long long>(i + 1));
    data::write_jpeg((img_dir / (std::string(stem) + ".jpg")).string(), s.image, 95);
    data::write_png((ann_dir / (std::string(stem) + ".png")).string(), s.label);
  }
  return options.count;
}

}  // namespace locbench::seg
