// Pyramid Vision Transformer (Wang et al., ICCV 2021, arXiv 2102.12122), PVT-Tiny as ofsoundof/LocalViT's copy:
// spatial-reduction attention softmax(Q (LN(SR(X)) W_K)^T / sqrt(d)) LN(SR(X)) W_V; LocalViT-PVT swaps the MLP.
#pragma once

#include "harness/model/model.h"
#include "methods/common/layers.h"
#include "methods/localvit/localvit.h"

#include <array>

namespace locbench::localvit {

struct PvtConfig {
  int64_t img_size = 224;  // square: the official position embeddings are built for one grid
  int64_t patch_size = 4;
  int64_t in_chans = 3;
  int64_t num_classes = 1000;
  std::array<int64_t, 4> embed_dims{64, 128, 320, 512};
  std::array<int64_t, 4> num_heads{1, 2, 5, 8};
  std::array<double, 4> mlp_ratios{8, 8, 4, 4};
  std::array<int64_t, 4> depths{2, 2, 2, 2};
  std::array<int64_t, 4> sr_ratios{8, 4, 2, 1};
  bool locality = false;  // LocalViT-PVT: the locality feed-forward (SE reduction = dim) replaces norm2 + MLP
  double ln_eps = 1e-6;   // block and final norms; patch-embed and SR norms keep nn.LayerNorm's 1e-5
  double drop_rate = 0.0;
  double drop_path_rate = 0.0;
  bool fused_attn = layers::fused_attn_default();
};

PvtConfig apply_args(PvtConfig config, const ModelArgs& args);

// Conv patchify then LayerNorm (eps 1e-5). Keys: proj.*, norm.*. Returns tokens (B, H*W, C).
class PvtPatchEmbedImpl : public torch::nn::Module {
 public:
  PvtPatchEmbedImpl(int64_t patch_size, int64_t in_chans, int64_t embed_dim);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d proj{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(PvtPatchEmbed);

// Keys: q, kv, proj, and sr + norm when sr_ratio > 1 (keys and values from the reduced map).
class SpatialReductionAttentionImpl : public torch::nn::Module {
 public:
  SpatialReductionAttentionImpl(int64_t dim, int64_t num_heads, int64_t sr_ratio, bool fused);
  // x (B, prefix + H*W, C); the reduction sees only the H*W patch tokens, as in PVT (where sr>1 has no prefix).
  torch::Tensor forward(const torch::Tensor& x, int64_t H, int64_t W);
  torch::nn::Linear q{nullptr}, kv{nullptr}, proj{nullptr};
  torch::nn::Conv2d sr{nullptr};
  torch::nn::LayerNorm norm{nullptr};

 private:
  int64_t num_heads_, sr_ratio_;
  bool fused_;
};
TORCH_MODULE(SpatialReductionAttention);

class PvtBlockImpl : public torch::nn::Module {
 public:
  PvtBlockImpl(const PvtConfig& config, int64_t stage, double drop_path);
  torch::Tensor forward(const torch::Tensor& x, int64_t H, int64_t W, bool has_cls);

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  SpatialReductionAttention attn{nullptr};
  layers::Mlp mlp{nullptr};
  LocalityFeedForward conv{nullptr};

 private:
  double drop_path_;
};
TORCH_MODULE(PvtBlock);

// Four stages at strides 4/8/16/32; a class token joins in stage 4 and classifies after the final norm.
// forward_intermediates indexes the 4 stage outputs; forward_dense is the stride-16 stage (index 2).
class PyramidVisionTransformer : public Model {
 public:
  explicit PyramidVisionTransformer(const PvtConfig& config);

  torch::Tensor forward(const torch::Tensor& images) override;
  torch::Tensor forward_dense(const torch::Tensor& images) override;
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& images,
                                                   const std::vector<int64_t>& indices) override;
  int64_t num_blocks() const override { return 4; }
  int64_t num_features() const override { return config_.embed_dims[2]; }
  int64_t feature_stride() const override { return 16; }

 private:
  // Runs stages 0..last; returns every stage output as NCHW and the final class-token state (if stage 4 ran).
  std::pair<std::vector<torch::Tensor>, torch::Tensor> run_stages(const torch::Tensor& images, int64_t last);
  torch::Tensor position(int64_t stage, int64_t H, int64_t W) const;

  PvtConfig config_;
  std::array<PvtPatchEmbed, 4> patch_embeds_{nullptr, nullptr, nullptr, nullptr};
  std::array<torch::Tensor, 4> pos_embeds_;
  std::array<std::vector<PvtBlock>, 4> stage_blocks_;
  torch::Tensor cls_token;
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear head{nullptr};
};

}  // namespace locbench::localvit
