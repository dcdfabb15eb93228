// cv::resize for the mmseg protocol and Pillow's resampling for the timm protocol (see resize.h). The Pillow pass
// follows src/libImaging/Resample.c (precompute_coeffs, normalize_coeffs_8bpc, ImagingResample{Horizontal,Vertical}
// _8bpc): the same double-precision coefficients, the same fixed-point rounding.
#include "harness/data/resize.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace locbench::data {

namespace {

void check_size(const Image& image, int width, int height, const char* what) {
  if (width < 1 || height < 1)
    throw std::invalid_argument(std::string(what) + ": target size " + std::to_string(width) + "x" +
                                std::to_string(height) + " must be positive");
  if (image.width < 1 || image.height < 1 || image.channels < 1 || image.channels > 4 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
    throw std::invalid_argument(std::string(what) + ": image buffer does not match its size");
}

// ---- Pillow's filters (Resample.c) ----
double box_filter(double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; }
double bilinear_filter(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}
double hamming_filter(double x) {
  x = std::fabs(x);
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x *= M_PI;
  return std::sin(x) / x * (0.54f + 0.46f * std::cos(x));  // float constants, as Resample.c writes them
}
double bicubic_filter(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}
double sinc_filter(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}
double lanczos_filter(double x) { return -3.0 <= x && x < 3.0 ? sinc_filter(x) * sinc_filter(x / 3) : 0.0; }

struct Filter {
  double (*fn)(double);
  double support;
};

Filter filter_of(PilFilter f) {
  switch (f) {
    case PilFilter::box: return {box_filter, 0.5};
    case PilFilter::bilinear: return {bilinear_filter, 1.0};
    case PilFilter::hamming: return {hamming_filter, 1.0};
    case PilFilter::bicubic: return {bicubic_filter, 2.0};
    case PilFilter::lanczos: return {lanczos_filter, 3.0};
  }
  return {bicubic_filter, 2.0};
}

constexpr int kPrecisionBits = 32 - 8 - 2;

// For each output index: the first input index, the tap count, and ksize fixed-point taps.
struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;  // (xmin, count) per output
  std::vector<int32_t> taps;
};

Coeffs precompute_coeffs(int in_size, int out_size, const Filter& filter) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = filter.support * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(2 * static_cast<size_t>(out_size));
  c.taps.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = filter.fn((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double w = ww != 0.0 ? k[x] / ww : k[x];
      // normalize_coeffs_8bpc
      c.taps[static_cast<size_t>(xx) * c.ksize + x] =
          w < 0 ? static_cast<int32_t>(-0.5 + w * (1 << kPrecisionBits))
                : static_cast<int32_t>(0.5 + w * (1 << kPrecisionBits));
    }
    c.bounds[2 * xx] = xmin;
    c.bounds[2 * xx + 1] = xmax;
  }
  return c;
}

inline uint8_t clip8(int32_t v) { return static_cast<uint8_t>(std::clamp(v >> kPrecisionBits, 0, 255)); }

// One pass along the rows (horizontal) or the columns (vertical).
Image resample_horizontal(const Image& in, int out_width, const Coeffs& c) {
  const int ch = in.channels;
  Image out{out_width, in.height, ch, std::vector<uint8_t>(static_cast<size_t>(out_width) * in.height * ch)};
  for (int y = 0; y < in.height; ++y) {
    const uint8_t* row = &in.pixels[static_cast<size_t>(y) * in.width * ch];
    uint8_t* dst = &out.pixels[static_cast<size_t>(y) * out_width * ch];
    for (int xx = 0; xx < out_width; ++xx) {
      const int xmin = c.bounds[2 * xx], n = c.bounds[2 * xx + 1];
      const int32_t* k = &c.taps[static_cast<size_t>(xx) * c.ksize];
      for (int b = 0; b < ch; ++b) {
        int32_t ss = 1 << (kPrecisionBits - 1);
        for (int x = 0; x < n; ++x) ss += row[(x + xmin) * ch + b] * k[x];
        dst[xx * ch + b] = clip8(ss);
      }
    }
  }
  return out;
}

Image resample_vertical(const Image& in, int out_height, const Coeffs& c) {
  const int ch = in.channels;
  const size_t stride = static_cast<size_t>(in.width) * ch;
  Image out{in.width, out_height, ch, std::vector<uint8_t>(static_cast<size_t>(out_height) * stride)};
  for (int yy = 0; yy < out_height; ++yy) {
    const int ymin = c.bounds[2 * yy], n = c.bounds[2 * yy + 1];
    const int32_t* k = &c.taps[static_cast<size_t>(yy) * c.ksize];
    uint8_t* dst = &out.pixels[yy * stride];
    for (size_t i = 0; i < stride; ++i) {
      int32_t ss = 1 << (kPrecisionBits - 1);
      for (int y = 0; y < n; ++y) ss += in.pixels[(ymin + y) * stride + i] * k[y];
      dst[i] = clip8(ss);
    }
  }
  return out;
}

int round_half_even(double v) { return static_cast<int>(std::nearbyint(v)); }

}  // namespace

Image cv_resize(const Image& image, int width, int height, CvInterpolation interpolation) {
  check_size(image, width, height, "cv_resize");
  if (image.width == width && image.height == height) return image;  // mmcv.imresize: cv2.resize copies
  const int type = CV_8UC(image.channels);
  const cv::Mat src(image.height, image.width, type, const_cast<uint8_t*>(image.pixels.data()));
  Image out{width, height, image.channels, std::vector<uint8_t>(static_cast<size_t>(width) * height * image.channels)};
  cv::Mat dst(height, width, type, out.pixels.data());
  cv::resize(src, dst, dst.size(), 0, 0,
             interpolation == CvInterpolation::bilinear ? cv::INTER_LINEAR : cv::INTER_NEAREST);
  return out;
}

PilFilter pil_filter(const std::string& interpolation) {
  if (interpolation == "bicubic") return PilFilter::bicubic;
  if (interpolation == "bilinear") return PilFilter::bilinear;
  if (interpolation == "lanczos") return PilFilter::lanczos;
  if (interpolation == "box") return PilFilter::box;
  if (interpolation == "hamming") return PilFilter::hamming;
  throw std::invalid_argument("unknown interpolation '" + interpolation +
                              "' (bicubic, bilinear, lanczos, box or hamming)");
}

Image pil_resize(const Image& image, int width, int height, PilFilter filter) {
  check_size(image, width, height, "pil_resize");
  if (image.width == width && image.height == height) return image;
  const Filter f = filter_of(filter);
  // Each pass only when its side changes (ImagingResampleInner). Pillow 13 runs the vertical pass first when the
  // height shrinks and the width does not; Pillow <= 12.1 always ran the horizontal pass first. The two orders round
  // differently only when one side grows (or stays) while the other shrinks, never for aspect-preserving resizes.
  const bool vertical_first = width >= image.width && height < image.height;
  Image out = image;
  auto horizontal = [&] {
    if (width != image.width) out = resample_horizontal(out, width, precompute_coeffs(image.width, width, f));
  };
  auto vertical = [&] {
    if (height != image.height) out = resample_vertical(out, height, precompute_coeffs(image.height, height, f));
  };
  if (vertical_first) {
    vertical();
    horizontal();
  } else {
    horizontal();
    vertical();
  }
  return out;
}

Image center_crop(const Image& image, int height, int width) {
  check_size(image, width, height, "center_crop");
  Image src = image;
  if (width > image.width || height > image.height) {
    const int left = width > image.width ? (width - image.width) / 2 : 0;
    const int top = height > image.height ? (height - image.height) / 2 : 0;
    const int right = width > image.width ? (width - image.width + 1) / 2 : 0;
    const int bottom = height > image.height ? (height - image.height + 1) / 2 : 0;
    src = Image{image.width + left + right, image.height + top + bottom, image.channels, {}};
    src.pixels.assign(static_cast<size_t>(src.width) * src.height * src.channels, 0);
    for (int y = 0; y < image.height; ++y)
      std::memcpy(&src.pixels[(static_cast<size_t>(y + top) * src.width + left) * src.channels],
                  &image.pixels[static_cast<size_t>(y) * image.width * image.channels],
                  static_cast<size_t>(image.width) * image.channels);
    if (src.width == width && src.height == height) return src;
  }
  const int top = round_half_even((src.height - height) / 2.0);
  const int left = round_half_even((src.width - width) / 2.0);
  Image out{width, height, src.channels, std::vector<uint8_t>(static_cast<size_t>(width) * height * src.channels)};
  for (int y = 0; y < height; ++y)
    std::memcpy(&out.pixels[static_cast<size_t>(y) * width * src.channels],
                &src.pixels[(static_cast<size_t>(y + top) * src.width + left) * src.channels],
                static_cast<size_t>(width) * src.channels);
  return out;
}

Image timm_eval_transform(const Image& image, const TimmEvalTransform& t) {
  if (t.crop_pct <= 0) throw std::invalid_argument("crop_pct must be positive");
  const int th = t.img_size[0], tw = t.img_size[1];
  const int scale_h = static_cast<int>(std::floor(th / t.crop_pct));
  const int scale_w = static_cast<int>(std::floor(tw / t.crop_pct));
  const int h = image.height, w = image.width;
  int new_h, new_w;
  if (scale_h == scale_w) {
    // torchvision _compute_resized_output_size for an int size: the shorter side becomes the size.
    const int64_t s = scale_h;
    const int shorter = std::min(h, w), longer = std::max(h, w);
    const int new_long = static_cast<int>(static_cast<double>(s * longer) / shorter);
    if (w <= h) {
      new_w = scale_h;
      new_h = new_long;
    } else {
      new_h = scale_h;
      new_w = new_long;
    }
  } else {
    // timm ResizeKeepRatio(scale_size, longest=0): ratio = min(h / sh, w / sw), size = round(side / ratio).
    const double ratio = std::min(static_cast<double>(h) / scale_h, static_cast<double>(w) / scale_w);
    new_h = round_half_even(h / ratio);
    new_w = round_half_even(w / ratio);
  }
  const Image resized = pil_resize(image, new_w, new_h, pil_filter(t.interpolation));
  return center_crop(resized, th, tw);
}

}  // namespace locbench::data
