// The one interface every locbench method implements, and the per-variant configuration beside it.
// Methods include this header only; they know nothing else of the harness.
#pragma once

#include "harness/model/model_args.h"

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace locbench {

// A segmentation variant's released recipe (its mmseg config): the keep-ratio Resize of training and test, the
// training crop (= VariantConfig::input_size) and the test mode. Zero sizes are unset.
struct SegRecipe {
  std::array<int64_t, 2> scale{0, 0};   // Resize img_scale (W, H) of the train and test pipelines
  int64_t min_size = 0;                 // test Resize min_size: the short side is at least this
  std::array<int64_t, 2> stride{0, 0};  // slide inference stride (h, w) with the crop as window; 0: whole
  // The optimiser of the released configs (AdamW, poly schedule with linear warm-up, gradient clipping); mmcv
  // paramwise custom_keys: parameters named with "head" get head_lr_mult, then "norm" or "ln" no weight decay.
  double lr = 0, weight_decay = 0;
  double head_lr_mult = 10;
  int64_t warmup_iters = 1500;
  double warmup_ratio = 1e-6, power = 1.0;
  double clip_grad = 35;
};

// What timm calls a pretrained_cfg: how a variant expects its input.
struct VariantConfig {
  std::array<int64_t, 3> input_size{3, 224, 224};  // C, H, W at which the variant was trained
  std::array<double, 3> mean{0.5, 0.5, 0.5};
  std::array<double, 3> std{0.5, 0.5, 0.5};
  double crop_pct = 0.9;
  std::string interpolation = "bicubic";
  int64_t patch_size = 16;  // stride of the dense features
  int64_t num_classes = 1000;
  std::optional<SegRecipe> seg;  // segmentation variants whose recipe is known
};

// A count of one process's shard averaged over the processes of a job (see Model::segmentation_loss).
using CountAverage = std::function<double(double)>;

class Model : public torch::nn::Module {
 public:
  // Classification logits (B, num_classes) for normalised images (B, 3, H, W).
  virtual torch::Tensor forward(const torch::Tensor& images) = 0;
  // Dense features (B, C, H / stride, W / stride) for segmentation heads.
  virtual torch::Tensor forward_dense(const torch::Tensor& images) = 0;
  // Outputs of the given blocks (0-based; negative counts from the end), each (B, C_i, H_i, W_i).
  virtual std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& images,
                                                           const std::vector<int64_t>& indices) = 0;
  virtual int64_t num_blocks() const = 0;
  virtual int64_t num_features() const = 0;  // C of forward_dense
  virtual int64_t feature_stride() const = 0;
  // Why the ops of this model's forward cannot be observed (so MACs cannot be counted), or empty when they can.
  virtual std::string compute_not_observable() const { return {}; }
  // Keys an official checkpoint may carry that the model derives itself (accepted and ignored on load).
  virtual bool ignores_checkpoint_key(const std::string& /*key*/) const { return false; }
  // Segmentation models (registry task "segmentation", forward = class scores (B, K, H, W) at the input size) that
  // carry their own training loss: its weighted terms for normalised images and labels (B, H, W) int64 with 255
  // ignored, in training mode. Empty for a model without one. When one process trains on a shard of the batch,
  // `average_count` turns a normaliser counted on the shard into the mean over the processes (the official
  // criteria's all_reduce / world_size); empty: the count itself.
  virtual std::map<std::string, torch::Tensor> segmentation_loss(const torch::Tensor& /*images*/,
                                                                 const torch::Tensor& /*labels*/,
                                                                 const CountAverage& /*average_count*/ = {}) {
    return {};
  }

  const VariantConfig& variant_config() const { return config_; }
  void set_variant_config(VariantConfig config) { config_ = std::move(config); }

 private:
  VariantConfig config_;
};

using ModelPtr = std::shared_ptr<Model>;

// How a decode head is built (mmseg's BaseDecodeHead arguments).
struct HeadArgs {
  int64_t in_channels = 0;  // C of the backbone's dense features
  int64_t num_classes = 150;
};

// A decode head (mmseg's BaseDecodeHead): dense features (B, C, h, w) -> class logits (B, K, h, w) at the features'
// resolution; the segmentor resizes them to its input (encode_decode). Heads are registered like models.
class DecodeHead : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& features) = 0;
  virtual int64_t num_classes() const = 0;
};

using DecodeHeadPtr = std::shared_ptr<DecodeHead>;

}  // namespace locbench
