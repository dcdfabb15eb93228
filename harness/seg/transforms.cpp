// mmseg's training transforms on 8-bit images (see transforms.h).
#include "harness/seg/transforms.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "harness/data/resize.h"
#include "harness/seg/sliding_window.h"

namespace locbench::seg {

double Rng::uniform(double low, double high) {
  // 53 random bits, as numpy's random_sample.
  const double u = static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
  return low + (high - low) * u;
}

int64_t Rng::randint(int64_t low, int64_t high) {
  if (high <= low) throw std::invalid_argument("randint: high must exceed low");
  const auto span = static_cast<uint64_t>(high - low);
  return low + static_cast<int64_t>(engine_() % span);
}

namespace {

void check_pair(const SegImage& in, const char* what) {
  if (in.image.channels != 3 || in.label.channels != 1 || in.image.width != in.label.width ||
      in.image.height != in.label.height)
    throw std::invalid_argument(std::string(what) + ": expects a 3-channel image and a 1-channel label of its size");
}

// PhotoMetricDistortion.convert on one 8-bit plane (or a whole image): float32(x) * alpha + beta in float32,
// clipped, truncated.
void convert(uint8_t* data, size_t n, double alpha, double beta) {
  const float a = static_cast<float>(alpha), b = static_cast<float>(beta);
  for (size_t i = 0; i < n; ++i) {
    float v = static_cast<float>(data[i]) * a;
    v = v + b;
    v = std::min(std::max(v, 0.0f), 255.0f);
    data[i] = static_cast<uint8_t>(v);
  }
}

cv::Mat as_mat(data::Image& image) {
  return cv::Mat(image.height, image.width, CV_8UC(image.channels), image.pixels.data());
}

}  // namespace

SegImage resize_by_ratio(const SegImage& in, std::pair<int64_t, int64_t> img_scale, double ratio) {
  check_pair(in, "random_resize");
  const std::pair<int64_t, int64_t> scale{static_cast<int64_t>(static_cast<double>(img_scale.first) * ratio),
                                          static_cast<int64_t>(static_cast<double>(img_scale.second) * ratio)};
  const auto [h, w] = rescale_size(in.image.height, in.image.width, scale);
  return {data::cv_resize(in.image, static_cast<int>(w), static_cast<int>(h), data::CvInterpolation::bilinear),
          data::cv_resize(in.label, static_cast<int>(w), static_cast<int>(h), data::CvInterpolation::nearest)};
}

SegImage random_resize(const SegImage& in, std::pair<int64_t, int64_t> img_scale,
                       std::pair<double, double> ratio_range, RandomSource& random) {
  const double ratio = random.random_sample() * (ratio_range.second - ratio_range.first) + ratio_range.first;
  return resize_by_ratio(in, img_scale, ratio);
}

SegImage crop(const SegImage& in, const CropBox& box) {
  auto cut = [&](const data::Image& x) {
    const int h = box.y2 - box.y1, w = box.x2 - box.x1, c = x.channels;
    data::Image out{w, h, c, std::vector<uint8_t>(static_cast<size_t>(w) * h * c)};
    for (int y = 0; y < h; ++y)
      std::memcpy(&out.pixels[static_cast<size_t>(y) * w * c],
                  &x.pixels[(static_cast<size_t>(y + box.y1) * x.width + box.x1) * c], static_cast<size_t>(w) * c);
    return out;
  };
  return {cut(in.image), cut(in.label)};
}

SegImage random_crop(const SegImage& in, std::array<int, 2> crop_size, double cat_max_ratio, RandomSource& random,
                     uint8_t ignore_index) {
  check_pair(in, "random_crop");
  const int h = in.image.height, w = in.image.width;
  auto draw = [&] {
    const int64_t off_h = random.randint(0, std::max(h - crop_size[0], 0) + 1);
    const int64_t off_w = random.randint(0, std::max(w - crop_size[1], 0) + 1);
    return CropBox{static_cast<int>(off_h), std::min(static_cast<int>(off_h) + crop_size[0], h),
                   static_cast<int>(off_w), std::min(static_cast<int>(off_w) + crop_size[1], w)};
  };
  CropBox box = draw();
  if (cat_max_ratio < 1.0) {
    for (int attempt = 0; attempt < 10; ++attempt) {
      int64_t counts[256] = {0};
      for (int y = box.y1; y < box.y2; ++y)
        for (int x = box.x1; x < box.x2; ++x) ++counts[in.label.pixels[static_cast<size_t>(y) * w + x]];
      counts[ignore_index] = 0;
      int64_t present = 0, top = 0, total = 0;
      for (int64_t c : counts) {
        present += c > 0;
        top = std::max(top, c);
        total += c;
      }
      if (present > 1 && static_cast<double>(top) / static_cast<double>(total) < cat_max_ratio) break;
      box = draw();
    }
  }
  return crop(in, box);
}

SegImage random_flip(const SegImage& in, double prob, RandomSource& random) {
  if (!(random.random_sample() < prob)) return in;
  SegImage out = in;
  cv::flip(as_mat(const_cast<data::Image&>(in.image)), as_mat(out.image), 1);
  cv::flip(as_mat(const_cast<data::Image&>(in.label)), as_mat(out.label), 1);
  return out;
}

data::Image photo_metric_distortion(const data::Image& image, RandomSource& random, const PhotoMetricOptions& o) {
  if (image.channels != 3) throw std::invalid_argument("photo_metric_distortion: expects a 3-channel image");
  data::Image img = image;
  const size_t n = img.pixels.size();
  if (random.randint(0, 2)) convert(img.pixels.data(), n, 1.0, random.uniform(-o.brightness_delta, o.brightness_delta));
  const int64_t mode = random.randint(0, 2);
  auto contrast = [&] {
    if (random.randint(0, 2))
      convert(img.pixels.data(), n, random.uniform(o.contrast_range.first, o.contrast_range.second), 0.0);
  };
  // One HSV channel edited in OpenCV's 8-bit HSV (H in 0-179).
  auto in_hsv = [&](auto&& edit) {
    cv::Mat rgb = as_mat(img), hsv;
    cv::cvtColor(rgb, hsv, cv::COLOR_RGB2HSV);
    edit(hsv);
    cv::cvtColor(hsv, rgb, cv::COLOR_HSV2RGB);
  };
  if (mode == 1) contrast();
  if (random.randint(0, 2)) {
    const double alpha = random.uniform(o.saturation_range.first, o.saturation_range.second);
    in_hsv([&](cv::Mat& hsv) {
      for (int y = 0; y < hsv.rows; ++y) {
        uint8_t* row = hsv.ptr<uint8_t>(y);
        for (int x = 0; x < hsv.cols; ++x) convert(&row[3 * x + 1], 1, alpha, 0.0);
      }
    });
  }
  if (random.randint(0, 2)) {
    const int64_t delta = random.randint(-o.hue_delta, o.hue_delta);
    in_hsv([&](cv::Mat& hsv) {
      for (int y = 0; y < hsv.rows; ++y) {
        uint8_t* row = hsv.ptr<uint8_t>(y);
        for (int x = 0; x < hsv.cols; ++x) row[3 * x] = static_cast<uint8_t>(((row[3 * x] + delta) % 180 + 180) % 180);
      }
    });
  }
  if (mode == 0) contrast();
  return img;
}

}  // namespace locbench::seg
