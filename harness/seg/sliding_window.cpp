// mmseg's slide grid and mmcv's keep-ratio rescale (see sliding_window.h).
#include "harness/seg/sliding_window.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace locbench::seg {

SlideGrid slide_grid(int64_t height, int64_t width, int64_t h_crop, int64_t w_crop, int64_t h_stride,
                     int64_t w_stride) {
  if (height < 1 || width < 1 || h_crop < 1 || w_crop < 1 || h_stride < 1 || w_stride < 1)
    throw std::invalid_argument("slide_grid: image size, crop_size and stride must be positive");
  if (h_stride > h_crop || w_stride > w_crop)
    throw std::invalid_argument("slide stride " + std::to_string(h_stride) + "x" + std::to_string(w_stride) +
                                " is larger than the crop " + std::to_string(h_crop) + "x" + std::to_string(w_crop) +
                                ": windows would leave pixels uncovered (mmseg asserts every pixel is covered)");
  SlideGrid grid;
  grid.h_grids = std::max<int64_t>(height - h_crop + h_stride - 1, 0) / h_stride + 1;
  grid.w_grids = std::max<int64_t>(width - w_crop + w_stride - 1, 0) / w_stride + 1;
  for (int64_t h_idx = 0; h_idx < grid.h_grids; ++h_idx) {
    for (int64_t w_idx = 0; w_idx < grid.w_grids; ++w_idx) {
      SlideWindow w;
      w.y1 = h_idx * h_stride;
      w.x1 = w_idx * w_stride;
      w.y2 = std::min(w.y1 + h_crop, height);
      w.x2 = std::min(w.x1 + w_crop, width);
      w.y1 = std::max<int64_t>(w.y2 - h_crop, 0);
      w.x1 = std::max<int64_t>(w.x2 - w_crop, 0);
      grid.windows.push_back(w);
    }
  }
  return grid;
}

std::pair<int64_t, int64_t> rescale_size(int64_t height, int64_t width, std::pair<int64_t, int64_t> scale,
                                         int64_t min_size) {
  if (height < 1 || width < 1) throw std::invalid_argument("rescale_size: image size must be positive");
  double max_long_edge = static_cast<double>(std::max(scale.first, scale.second));
  double max_short_edge = static_cast<double>(std::min(scale.first, scale.second));
  if (min_size > 0) {
    // Resize._resize_img: scale = (new_short * long / short, new_short) in image order, then imrescale.
    const double new_short = std::max(max_short_edge, static_cast<double>(min_size));
    max_short_edge = new_short;
    max_long_edge = new_short * std::max(height, width) / std::min(height, width);
  }
  const double factor = std::min(max_long_edge / static_cast<double>(std::max(height, width)),
                                 max_short_edge / static_cast<double>(std::min(height, width)));
  return {static_cast<int64_t>(static_cast<double>(height) * factor + 0.5),
          static_cast<int64_t>(static_cast<double>(width) * factor + 0.5)};
}

}  // namespace locbench::seg
