// Segmentation decode heads for frozen-backbone evaluation. LinearSegHead is LocAtViT's
// evaluations/segmentation/linear_seg.py (an mmseg BaseDecodeHead with one ConvModule, config simple.py):
// 1x1 conv C->512 (no bias, as ConvModule with a norm), GroupNorm(1 group), GELU, dropout 0, 1x1 conv 512->K,
// bilinear resize of the logits (align_corners=False).
// State-dict keys follow mmseg's (under `decode_head.` in an EncoderDecoder):
//   conv.conv.weight [512, C, 1, 1], conv.gn.weight [512], conv.gn.bias [512] (ConvModule's names; GELU has none),
//   conv_seg.weight [K, 512, 1, 1], conv_seg.bias [K] (BaseDecodeHead.cls_seg).
#pragma once

#include <torch/torch.h>

#include <array>

#include "harness/model/model.h"

namespace locbench::layers {

struct LinearSegHeadOptions {
  int64_t in_channels = 768;
  int64_t channels = 512;
  int64_t num_classes = 150;
  double gn_eps = 1e-5;  // mmcv build_norm_layer('GN') default
  bool align_corners = false;
};

// mmcv's ConvModule(conv -> norm -> act) with a GroupNorm(1) norm and GELU; keys conv.*, gn.*.
class ConvModuleImpl : public torch::nn::Module {
 public:
  ConvModuleImpl(int64_t in_channels, int64_t out_channels, double gn_eps);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv{nullptr};
  torch::nn::GroupNorm gn{nullptr};
};
TORCH_MODULE(ConvModule);

// Registered as decode head "linear".
class LinearSegHeadImpl : public DecodeHead {
 public:
  explicit LinearSegHeadImpl(const LinearSegHeadOptions& options);
  // Logits (B, K, h, w) at the resolution of the features (B, C, h, w).
  torch::Tensor forward(const torch::Tensor& features) override;
  int64_t num_classes() const override { return options_.num_classes; }
  // Logits bilinearly resized to `size` (H, W), as BaseDecodeHead.predict_by_feat does.
  torch::Tensor forward(const torch::Tensor& features, std::array<int64_t, 2> size);
  const LinearSegHeadOptions& options() const { return options_; }

  ConvModule conv{nullptr};
  torch::nn::Conv2d conv_seg{nullptr};

 private:
  LinearSegHeadOptions options_;
};
TORCH_MODULE(LinearSegHead);

}  // namespace locbench::layers
