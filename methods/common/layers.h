// Building blocks shared by every method: patch embedding, attention with an additive-bias hook, MLP,
// drop path, LayerScale and position-embedding resampling. Modules and parameter names follow timm.
#pragma once

#include <torch/torch.h>

#include <array>
#include <memory>
#include <string>

namespace locbench::layers {

// The patch grid a token sequence lives on: prefix tokens (class token, registers) first, then rows x cols.
struct TokenGrid {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t num_prefix = 0;
  int64_t num_patches() const { return rows * cols; }
};

// Global switch of the attention path, as timm's use_fused_attn(): SDPA or the explicit softmax.
bool fused_attn_default();
void set_fused_attn_default(bool fused);

// softmax(q k^T * scale + bias) v over (B, h, N, d) tensors; bias broadcastable to (B, h, N, N) or undefined.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                        const torch::Tensor& bias, bool fused);

// An additive logit bias computed from the queries and the grid (LocAtViT's GAug, GAB, relative position).
// `attend` is the one place attention with this bias is computed, so a fused kernel can replace it.
class AttentionBiasImpl : public torch::nn::Module {
 public:
  // q is unscaled (B, h, N, d); returns a tensor broadcastable to (B, h, N, N).
  virtual torch::Tensor bias(const torch::Tensor& q, const TokenGrid& grid) = 0;
  virtual torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               double scale, const TokenGrid& grid, bool fused) {
    return attention(q, k, v, scale, bias(q, grid), fused);
  }
};

// Zeros right/bottom up to multiples of `multiple` (timm's dynamic_img_pad, mmseg's AdaptivePadding 'corner');
// a multiple below 2 (an exported model whose stride is unknown says 0) pads nothing.
torch::Tensor pad_to_multiple(const torch::Tensor& images, int64_t multiple);

struct PatchEmbedOptions {
  int64_t patch_size = 16;
  int64_t in_chans = 3;
  int64_t embed_dim = 768;
  bool bias = true;
  bool dynamic_img_pad = false;  // zero-pad right/bottom to a multiple of the patch size
};

// Conv patchify; returns NHWC tokens (B, rows, cols, C). Keys: proj.weight, proj.bias.
class PatchEmbedImpl : public torch::nn::Module {
 public:
  explicit PatchEmbedImpl(const PatchEmbedOptions& options);
  torch::Tensor forward(const torch::Tensor& images);
  int64_t patch_size() const { return options_.patch_size; }

  torch::nn::Conv2d proj{nullptr};

 private:
  PatchEmbedOptions options_;
};
TORCH_MODULE(PatchEmbed);

struct AttentionOptions {
  int64_t dim = 768;
  int64_t num_heads = 12;
  bool qkv_bias = true;
  bool proj_bias = true;
};

// Multi-head self-attention. Keys: qkv.*, proj.*, and the bias module under the name it was given.
class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const AttentionOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const TokenGrid& grid);
  // Adds an additive-logit-bias module, registered under `name` (e.g. "gaug", "rel_pos").
  void set_bias(const std::string& name, std::shared_ptr<AttentionBiasImpl> bias);
  void set_fused(bool fused) { fused_ = fused; }
  int64_t num_heads() const { return num_heads_; }
  int64_t head_dim() const { return head_dim_; }

  torch::nn::Linear qkv{nullptr}, proj{nullptr};

 private:
  int64_t num_heads_, head_dim_;
  double scale_;
  bool fused_;
  std::shared_ptr<AttentionBiasImpl> bias_;
};
TORCH_MODULE(Attention);

// fc1 -> GELU (exact) -> fc2. Keys: fc1.*, fc2.*.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t in_features, int64_t hidden_features, int64_t out_features, bool bias = true,
          double drop = 0.0);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear fc1{nullptr}, fc2{nullptr};

 private:
  double drop_;
};
TORCH_MODULE(Mlp);

// Per-channel scale (timm LayerScale). Key: gamma.
class LayerScaleImpl : public torch::nn::Module {
 public:
  LayerScaleImpl(int64_t dim, double init_value);
  torch::Tensor forward(const torch::Tensor& x) { return x * gamma; }
  torch::Tensor gamma;
};
TORCH_MODULE(LayerScale);

// Stochastic depth on the residual branch, per sample; identity in eval.
torch::Tensor drop_path(const torch::Tensor& x, double p, bool training);

torch::nn::LayerNorm layer_norm(int64_t dim, double eps = 1e-6);

// timm's resample_abs_pos_embed: bicubic with antialias on the patch part, prefix entries untouched.
// pos_embed (1, num_prefix + old_rows * old_cols, C) -> (1, num_prefix + rows * cols, C).
torch::Tensor resample_abs_pos_embed(const torch::Tensor& pos_embed, std::array<int64_t, 2> new_grid,
                                     std::array<int64_t, 2> old_grid, int64_t num_prefix);

// timm's init for Linear layers: truncated normal (std 0.02, cut at +-2) weights, zero bias.
void trunc_normal_(torch::Tensor& t, double std);
void init_linear_timm(torch::nn::Module& module);

}  // namespace locbench::layers
