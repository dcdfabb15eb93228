// mmseg's IoUMetric: intersect_and_union per image, totals summed over the dataset, then
// total_area_to_metrics with np.nanmean (see iou_metric.h).
#include "harness/seg/iou_metric.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace locbench::seg {

namespace {

double nanmean(const std::vector<double>& values) {
  double sum = 0;
  int64_t count = 0;
  for (double v : values) {
    if (std::isnan(v)) continue;
    sum += v;
    ++count;
  }
  return count == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / static_cast<double>(count);
}

double ratio_percent(int64_t numerator, int64_t denominator) {
  if (denominator == 0) return std::numeric_limits<double>::quiet_NaN();
  return 100.0 * static_cast<double>(numerator) / static_cast<double>(denominator);
}

}  // namespace

IoUMetric::IoUMetric(int64_t num_classes, uint8_t ignore_index)
    : num_classes_(num_classes),
      ignore_index_(ignore_index),
      area_intersect_(num_classes, 0),
      area_union_(num_classes, 0),
      area_pred_label_(num_classes, 0),
      area_label_(num_classes, 0) {
  if (num_classes < 1 || num_classes > 255)
    throw std::invalid_argument("IoUMetric: num_classes must be in 1..255, got " + std::to_string(num_classes));
}

void IoUMetric::process(const uint8_t* pred, const uint8_t* label, size_t n) {
  const int64_t k = num_classes_;
  for (size_t i = 0; i < n; ++i) {
    const int64_t l = label[i];
    if (l == ignore_index_) continue;
    const int64_t p = pred[i];
    const bool pred_in = p < k;
    const bool label_in = l < k;
    if (pred_in) ++area_pred_label_[p];
    if (label_in) ++area_label_[l];
    if (p == l && label_in) ++area_intersect_[l];
    // area_union = area_pred + area_label - area_intersect, kept up to date per pixel.
    if (pred_in) ++area_union_[p];
    if (label_in) ++area_union_[l];
    if (p == l && label_in) --area_union_[l];
  }
}

void IoUMetric::merge(const IoUMetric& other) {
  if (other.num_classes_ != num_classes_ || other.ignore_index_ != ignore_index_)
    throw std::invalid_argument("IoUMetric::merge: metrics differ in num_classes or ignore_index");
  for (int64_t c = 0; c < num_classes_; ++c) {
    area_intersect_[c] += other.area_intersect_[c];
    area_union_[c] += other.area_union_[c];
    area_pred_label_[c] += other.area_pred_label_[c];
    area_label_[c] += other.area_label_[c];
  }
}

std::vector<int64_t> IoUMetric::statistics() const {
  std::vector<int64_t> out;
  for (const auto* area : {&area_intersect_, &area_union_, &area_pred_label_, &area_label_})
    out.insert(out.end(), area->begin(), area->end());
  return out;
}

void IoUMetric::set_statistics(const std::vector<int64_t>& s) {
  if (static_cast<int64_t>(s.size()) != 4 * num_classes_)
    throw std::invalid_argument("IoUMetric::set_statistics: " + std::to_string(s.size()) + " values for " +
                                std::to_string(num_classes_) + " classes");
  size_t k = 0;
  for (auto* area : {&area_intersect_, &area_union_, &area_pred_label_, &area_label_})
    for (auto& v : *area) v = s[k++];
}

IoUResult IoUMetric::compute() const {
  IoUResult result;
  int64_t total_intersect = 0, total_label = 0;
  for (int64_t c = 0; c < num_classes_; ++c) {
    result.iou.push_back(ratio_percent(area_intersect_[c], area_union_[c]));
    result.acc.push_back(ratio_percent(area_intersect_[c], area_label_[c]));
    total_intersect += area_intersect_[c];
    total_label += area_label_[c];
  }
  result.aAcc = ratio_percent(total_intersect, total_label);
  result.mIoU = nanmean(result.iou);
  result.mAcc = nanmean(result.acc);
  return result;
}

void reduce_zero_label(std::vector<uint8_t>& label) {
  for (uint8_t& v : label) {
    int value = v == 0 ? 255 : v;
    value -= 1;
    v = static_cast<uint8_t>(value == 254 ? 255 : value);
  }
}

}  // namespace locbench::seg
