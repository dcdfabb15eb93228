// GLMix / GLNet (Zhu et al., "Revisiting the Integration of Convolution and Attention for Vision Backbone",
// NeurIPS 2024, arXiv 2411.14429): global MHSA on soft-clustered slots + local convolution on the grid, summed.
#pragma once

#include "harness/model/model.h"
#include "methods/common/layers.h"

#include <array>
#include <optional>
#include <string>

namespace locbench::glmix {

struct GlnetConfig {
  int64_t in_chans = 3;
  int64_t num_classes = 1000;
  std::array<int64_t, 4> depths{4, 4, 18, 4};
  std::array<int64_t, 4> embed_dims{64, 128, 256, 512};
  std::array<double, 4> mlp_ratios{3, 3, 3, 3};
  int64_t head_dim = 32;
  // Per stage: "glmix", "glmix.mha_nchw" (even blocks GLMix, odd full MHSA), "mha_nchw" or "mha" (token MHSA).
  std::array<std::string, 4> mixing_modes{"glmix", "glmix", "glmix.mha_nchw", "mha_nchw"};
  int64_t local_dw_ks = 5;
  int64_t num_slots = 64;  // a square: slots are the 8x8 adaptive average pool of the block input
  int64_t cpe_ks = 3;      // 0: no convolutional position encoding
  bool overlapped_stem = true;                   // deep 3x3 stem and 3x3 transitions, else 4x4 / 2x2 patchify
  std::string transition_layout = "proj.norm";  // or "norm.proj"
  bool mlp_dw = true;                            // residual depth-wise 3x3 inside the MLP
  std::optional<double> layerscale;
  double drop_path_rate = 0.0;
  bool fused_attn = layers::fused_attn_default();
};

GlnetConfig apply_args(GlnetConfig config, const ModelArgs& args);

// timm's LayerNorm2d: LayerNorm over channels of an NCHW map. Keys: weight, bias.
class LayerNorm2dImpl : public torch::nn::Module {
 public:
  LayerNorm2dImpl(int64_t channels, double eps = 1e-6);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;

 private:
  double eps_;
};
TORCH_MODULE(LayerNorm2d);

// nn.MultiheadAttention (batch_first, self-attention only). Keys: in_proj_weight, in_proj_bias, out_proj.*.
class MultiheadAttentionImpl : public torch::nn::Module {
 public:
  MultiheadAttentionImpl(int64_t dim, int64_t num_heads, bool fused);
  torch::Tensor forward(const torch::Tensor& x);  // (B, N, C)
  torch::Tensor in_proj_weight, in_proj_bias;
  torch::nn::Linear out_proj{nullptr};

 private:
  int64_t num_heads_;
  bool fused_;
};
TORCH_MODULE(MultiheadAttention);

// GLNet's LayerScale: gamma of a given shape, (C) on tokens or (1, C, 1, 1) on maps. Key: gamma.
class LayerScaleImpl : public torch::nn::Module {
 public:
  LayerScaleImpl(std::vector<int64_t> shape, double init_value);
  torch::Tensor forward(const torch::Tensor& x) const { return gamma * x; }
  torch::Tensor gamma;
};
TORCH_MODULE(LayerScale);

// Depth-wise 3x3 conv with its own residual, x + DW(x) (the MLP's `mlp.1`). Keys: weight, bias.
class ResDWConvImpl : public torch::nn::Module {
 public:
  ResDWConvImpl(int64_t channels, int64_t kernel_size);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
};
TORCH_MODULE(ResDWConv);

// Every GLNet block maps an NCHW map to one of the same shape.
class GlnetBlock : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

struct BlockOptions {
  int64_t dim;
  double mlp_ratio;
  double drop_path;
  const GlnetConfig* config;
};

class GLMixBlock : public GlnetBlock {
 public:
  explicit GLMixBlock(const BlockOptions& options);
  torch::Tensor forward(const torch::Tensor& x) override;
  // The clustering/dispatching (global) branch on the normalised map u, slots initialised from `init_slots`.
  torch::Tensor global_mix(const torch::Tensor& u, const torch::Tensor& init_slots);

  torch::Tensor slot_scale;
  torch::nn::Conv2d pos_conv{nullptr};
  LayerNorm2d norm1{nullptr}, norm2{nullptr};
  MultiheadAttention relation_mha{nullptr};
  torch::nn::Sequential feature_conv{nullptr}, mlp{nullptr};
  LayerScale ls1{nullptr}, ls2{nullptr};  // gammas (1, C, 1, 1), only with layerscale

 private:
  int64_t pool_size_;
  double drop_path_;
};

// Full MHSA on an NCHW map (CPE, token LayerNorm, attention, then the conv MLP).
class MhsaNchwBlock : public GlnetBlock {
 public:
  explicit MhsaNchwBlock(const BlockOptions& options);
  torch::Tensor forward(const torch::Tensor& x) override;

  torch::nn::Conv2d pos_conv{nullptr};
  torch::nn::LayerNorm norm1{nullptr};
  MultiheadAttention mha_op{nullptr};
  LayerNorm2d norm2{nullptr};
  torch::nn::Sequential mlp{nullptr};
  LayerScale ls1{nullptr}, ls2{nullptr};  // gammas (C) and (1, C, 1, 1)

 private:
  double drop_path_;
};

// Pre-norm ViT block on tokens (GLNet-STL stage 4); takes and returns NCHW.
class MhsaBlock : public GlnetBlock {
 public:
  explicit MhsaBlock(const BlockOptions& options);
  torch::Tensor forward(const torch::Tensor& x) override;

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  MultiheadAttention mha_op{nullptr};
  torch::nn::Sequential mlp{nullptr};
  LayerScale ls1{nullptr}, ls2{nullptr};  // gammas (C)

 private:
  double drop_path_;
};

// Keys: downsample_layers.{i}.*, stages.{i}.blocks.{j}.*, norm.* (BatchNorm2d), head.*.
// forward_intermediates indexes the 4 stage outputs (strides 4/8/16/32); forward_dense is stage index 2.
class GLNet : public Model {
 public:
  explicit GLNet(const GlnetConfig& config);

  torch::Tensor forward(const torch::Tensor& images) override;
  torch::Tensor forward_dense(const torch::Tensor& images) override;
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& images,
                                                   const std::vector<int64_t>& indices) override;
  int64_t num_blocks() const override { return 4; }
  int64_t num_features() const override { return config_.embed_dims[2]; }
  int64_t feature_stride() const override { return 16; }

 private:
  std::vector<torch::Tensor> run_stages(const torch::Tensor& images, int64_t last);

  GlnetConfig config_;
  torch::nn::ModuleList downsample_layers{nullptr}, stages{nullptr};
  std::array<torch::nn::Sequential, 4> downsample_{nullptr, nullptr, nullptr, nullptr};
  std::array<std::vector<std::shared_ptr<GlnetBlock>>, 4> stage_blocks_;
  torch::nn::BatchNorm2d norm{nullptr};
  torch::nn::Linear head{nullptr};
};

}  // namespace locbench::glmix
