// Test-time geometry of mmseg, torch-free: the 'slide' window grid of EncoderDecoder.slide_inference
// (mmseg/models/segmentors/encoder_decoder.py) and the keep-ratio scale of Resize (mmcv.imrescale / rescale_size).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace locbench::seg {

// One window [y1, y2) x [x1, x2) of an H x W image.
struct SlideWindow {
  int64_t y1 = 0, y2 = 0, x1 = 0, x2 = 0;
  int64_t height() const { return y2 - y1; }
  int64_t width() const { return x2 - x1; }
  bool operator==(const SlideWindow&) const = default;
};

struct SlideGrid {
  int64_t h_grids = 0, w_grids = 0;
  std::vector<SlideWindow> windows;  // row-major: h_idx outer, w_idx inner (mmseg's loop order)
};

// h_grids = max(H - h_crop + h_stride - 1, 0) // h_stride + 1 (same for w); y1 = i * h_stride,
// y2 = min(y1 + h_crop, H), y1 = max(y2 - h_crop, 0): the last window is shifted inward, never padded.
// A stride larger than the crop throws std::invalid_argument (it would leave gaps; mmseg asserts).
SlideGrid slide_grid(int64_t height, int64_t width, int64_t h_crop, int64_t w_crop, int64_t h_stride,
                     int64_t w_stride);

// mmcv.rescale_size for Resize(scale=(long, short), keep_ratio=True): the factor
// min(max(scale) / max(h, w), min(scale) / min(h, w)), sizes int(x * factor + 0.5). Returns (new_h, new_w).
// With min_size > 0 (mmseg 0.x Resize min_size, used by SegViT's COCO-Stuff-10K and PASCAL-Context test configs)
// the short side becomes max(min(scale), min_size) and the long side follows the aspect ratio, unbounded.
std::pair<int64_t, int64_t> rescale_size(int64_t height, int64_t width, std::pair<int64_t, int64_t> scale,
                                         int64_t min_size = 0);

}  // namespace locbench::seg
