// The two resize semantics of the references, on 8-bit images (before any float copy). Torch-free.
//   mmseg  mmcv.imresize(img, (w, h), interpolation, backend='cv2'): OpenCV's cv::resize itself (INTER_LINEAR for
//          images, INTER_NEAREST for label maps), bit-exact.
//   timm   torchvision's Resize on a PIL image = Pillow's Image.resize (ImagingResample): separable, antialiased
//          (the filter support widens with the down-scaling factor), 22-bit fixed-point coefficients, rounding to
//          8 bits between the two passes (vertical first when only the height shrinks, as Pillow 13 orders them);
//          then torchvision's CenterCrop.
#pragma once

#include <array>
#include <string>

#include "harness/data/image.h"

namespace locbench::data {

enum class CvInterpolation { nearest, bilinear };
Image cv_resize(const Image& image, int width, int height, CvInterpolation interpolation);

enum class PilFilter { box, bilinear, hamming, bicubic, lanczos };
// timm / torchvision interpolation names: "bilinear", "bicubic", "lanczos", "box", "hamming".
PilFilter pil_filter(const std::string& interpolation);
Image pil_resize(const Image& image, int width, int height, PilFilter filter);

// torchvision.transforms.functional.center_crop: zero-pads (left/top gets the smaller half) when the image is
// smaller than the crop, then crops at int(round((size - crop) / 2)) with Python's round-half-to-even.
Image center_crop(const Image& image, int height, int width);

// timm's eval transform on a PIL image, before ToTensor and Normalize (create_transform(**resolve_data_config({},
// model=...)), crop_mode 'center'): scale_size = floor(img_size / crop_pct); a square img_size resizes the shorter
// side to it (torchvision Resize(int): the longer side int(scale * long / short)), a non-square one uses timm's
// ResizeKeepRatio (both sides divided by min(h / th, w / tw), rounded half to even); then CenterCrop(img_size).
struct TimmEvalTransform {
  std::array<int, 2> img_size{224, 224};  // (h, w)
  double crop_pct = 0.875;
  std::string interpolation = "bicubic";
};
Image timm_eval_transform(const Image& image, const TimmEvalTransform& transform);

}  // namespace locbench::data
