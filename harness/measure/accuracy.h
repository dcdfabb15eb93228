// The `accuracy` kind: top-k of a classifier on an image folder, with timm's eval preprocessing.
#pragma once

#include "harness/data/image.h"
#include "harness/model/model.h"
#include "harness/suite/suite.h"

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
  // The sufficient statistics (correct counts per k, then the count) and back: what ranks sum before compute().
  std::vector<int64_t> statistics() const;
  void set_statistics(const std::vector<int64_t>& statistics);

 private:
  std::vector<int64_t> ks_;
  std::vector<int64_t> correct_;
  int64_t count_ = 0;
};

// Eval preprocessing of a model as timm's loader and create_transform(**resolve_data_config({}, model)) do: the file
// read as PIL.Image.open(f).convert('RGB') (data::ReadProtocol::timm), Resize + CenterCrop on the 8-bit image with
// Pillow's resampling (data::timm_eval_transform), then ToTensor and Normalize. Returns (3, H, W) float32.
torch::Tensor preprocess_eval(const std::string& path, const VariantConfig& config, std::array<int64_t, 2> img_size,
                              const data::DecodeLimits& limits = {});

// The decoded-pixel limit a suite's dataset entry sets (its max_pixels; the data path's default otherwise).
data::DecodeLimits decode_limits(const suite::DatasetEntry& dataset);

}  // namespace locbench::measure
