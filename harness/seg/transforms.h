// The mmseg training transforms (mmseg/datasets/pipelines/transforms.py of mmseg 0.24, the same steps as mmseg 1.x's
// RandomResize / RandomCrop / RandomFlip / PhotoMetricDistortion) on 8-bit images, each drawing its random numbers
// in mmseg's order from a RandomSource, so that given the same draws it gives mmcv's result exactly. Torch-free.
// Images are RGB; mmseg's are BGR at this stage, which only PhotoMetricDistortion's HSV step would see, and it
// converts with the matching OpenCV code (COLOR_RGB2HSV on RGB = COLOR_BGR2HSV on BGR).
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <utility>

#include "harness/data/image.h"

namespace locbench::seg {

// The numpy.random calls the transforms make (mmseg imports `from numpy import random`).
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual double random_sample() = 0;                      // [0, 1)
  virtual int64_t randint(int64_t low, int64_t high) = 0;  // low <= x < high
  virtual double uniform(double low, double high) = 0;
};

// A seeded engine behind that interface (not numpy's stream: a resumed run redraws what it drew before).
class Rng : public RandomSource {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  double random_sample() override { return uniform(0.0, 1.0); }
  int64_t randint(int64_t low, int64_t high) override;
  double uniform(double low, double high) override;
  double random() { return random_sample(); }

 private:
  std::mt19937_64 engine_;
};

// An image (3 channels) and its label map (1 channel) as the pipeline hands them on.
struct SegImage {
  data::Image image, label;
};

// Resize(img_scale, ratio_range, keep_ratio=True): ratio = random_sample() * (max - min) + min, target scale
// (int(W * ratio), int(H * ratio)), then mmcv.imrescale (rescale_size) with cv::resize: bilinear image, nearest label.
SegImage random_resize(const SegImage& in, std::pair<int64_t, int64_t> img_scale,
                       std::pair<double, double> ratio_range, RandomSource& random);
// The same resize for a given ratio.
SegImage resize_by_ratio(const SegImage& in, std::pair<int64_t, int64_t> img_scale, double ratio);

struct CropBox {
  int y1 = 0, y2 = 0, x1 = 0, x2 = 0;
  bool operator==(const CropBox&) const = default;
};
// RandomCrop(crop_size, cat_max_ratio): offsets randint(0, margin + 1) for h then w; while the largest class of the
// box covers cat_max_ratio or more of its non-ignored pixels (or it holds one class), up to 10 redraws.
SegImage random_crop(const SegImage& in, std::array<int, 2> crop_size, double cat_max_ratio, RandomSource& random,
                     uint8_t ignore_index = 255);
SegImage crop(const SegImage& in, const CropBox& box);

// RandomFlip(prob, 'horizontal'): flips when random_sample() < prob.
SegImage random_flip(const SegImage& in, double prob, RandomSource& random);

// PhotoMetricDistortion(brightness_delta=32, contrast_range=(0.5, 1.5), saturation_range=(0.5, 1.5), hue_delta=18):
// brightness, contrast first or last (randint(2) == 1: first), saturation and hue in OpenCV's 8-bit HSV; each step
// applied when its randint(2) is 1. convert() is float32 x * alpha + beta, clipped to 0-255, truncated to uint8.
struct PhotoMetricOptions {
  double brightness_delta = 32;
  std::pair<double, double> contrast_range{0.5, 1.5};
  std::pair<double, double> saturation_range{0.5, 1.5};
  int hue_delta = 18;
};
data::Image photo_metric_distortion(const data::Image& image, RandomSource& random,
                                    const PhotoMetricOptions& options = {});

}  // namespace locbench::seg
