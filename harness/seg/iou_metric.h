// mmseg's IoUMetric (mmseg/evaluation/metrics/iou_metric.py): `process` accumulates per-class intersection,
// union, prediction and label areas over the whole dataset; `compute` turns the totals into aAcc, mIoU, mAcc.
// Torch-free: label maps are 8-bit train ids (0..K-1, 255 = ignore).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace locbench::seg {

inline constexpr uint8_t kIgnoreIndex = 255;

// Dataset-level results in percent, unrounded (mmseg rounds to 2 decimals when it reports).
struct IoUResult {
  double aAcc = 0;  // sum of intersections / sum of label areas
  double mIoU = 0;  // nanmean over classes of IoU
  double mAcc = 0;  // nanmean over classes of Acc
  std::vector<double> iou;  // per class, NaN where the union is 0
  std::vector<double> acc;  // per class, NaN where the label area is 0
};

class IoUMetric {
 public:
  explicit IoUMetric(int64_t num_classes, uint8_t ignore_index = kIgnoreIndex);

  // One image (or any batch of pixels): `pred` and `label` hold `n` train ids each. Pixels whose label is
  // ignore_index are dropped; values outside 0..K-1 are not counted, as torch.histc drops them.
  void process(const uint8_t* pred, const uint8_t* label, size_t n);
  // Adds another metric's statistics (multi-threaded accumulation reduces statistics, not results).
  void merge(const IoUMetric& other);
  // The four areas as one vector (intersect, union, pred, label; K each) and back: what the ranks of a
  // multi-process evaluation sum before compute().
  std::vector<int64_t> statistics() const;
  void set_statistics(const std::vector<int64_t>& statistics);
  IoUResult compute() const;

  int64_t num_classes() const { return num_classes_; }
  const std::vector<int64_t>& area_intersect() const { return area_intersect_; }
  const std::vector<int64_t>& area_union() const { return area_union_; }
  const std::vector<int64_t>& area_pred_label() const { return area_pred_label_; }
  const std::vector<int64_t>& area_label() const { return area_label_; }

 private:
  int64_t num_classes_;
  uint8_t ignore_index_;
  std::vector<int64_t> area_intersect_, area_union_, area_pred_label_, area_label_;
};

// mmseg's LoadAnnotations(reduce_zero_label=True): 0 -> 255, others -1, then 254 -> 255 (in place).
void reduce_zero_label(std::vector<uint8_t>& label);

}  // namespace locbench::seg
