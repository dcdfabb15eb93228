// The `accuracy` kind: top-k of a classifier on an image folder, with timm's eval preprocessing.
#pragma once

#include "harness/model/model.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace locbench::measure {

// Top-k accuracy accumulated as correct counts (reduce counts, not percentages).
class TopKAccuracy {
 public:
  explicit TopKAccuracy(std::vector<int64_t> ks = {1, 5}) : ks_(std::move(ks)), correct_(ks_.size(), 0) {}
  void process(const torch::Tensor& logits, const torch::Tensor& targets);
  std::vector<double> compute() const;  // percent, one per k
  const std::vector<int64_t>& ks() const { return ks_; }
  int64_t count() const { return count_; }

 private:
  std::vector<int64_t> ks_;
  std::vector<int64_t> correct_;
  int64_t count_ = 0;
};

// Eval preprocessing of a model (timm): resize the short side to img / crop_pct with the model's interpolation
// and antialias, center-crop img, scale to [0, 1], normalise with mean/std. Returns (3, H, W) float32.
torch::Tensor preprocess_eval(const std::string& path, const VariantConfig& config, std::array<int64_t, 2> img_size);

}  // namespace locbench::measure
