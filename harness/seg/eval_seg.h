// `bench eval-seg`: scores a folder of prediction PNGs against a folder of label PNGs with mmseg's IoUMetric.
// Predictions are train ids (0..K-1, 255 = none); labels are in the dataset's own encoding (reduce_zero_label
// is applied to them when asked). Files are matched by stem. Torch-free.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "harness/data/image.h"
#include "harness/seg/iou_metric.h"

namespace locbench::seg {

struct EvalSegOptions {
  std::string pred_dir;
  std::string gt_dir;
  int64_t num_classes = 150;
  bool reduce_zero_label = false;
  bool json = false;
  data::DecodeLimits limits;
};

// Scores every <stem>.png of gt_dir against pred_dir/<stem>.png. Writes the result (JSON with keys aAcc, mIoU,
// mAcc, per_class = [{class, IoU, Acc}] with NaN as null, or a text table) to `out` and returns 0; on an error
// (missing or corrupt prediction, size mismatch, missing folder) writes one line naming the file to `err`
// and returns 1.
int eval_seg(const EvalSegOptions& options, std::ostream& out, std::ostream& err);

// The same scoring, returning the accumulated metric; throws data::DataError naming the file.
IoUMetric score_folders(const EvalSegOptions& options);

}  // namespace locbench::seg
