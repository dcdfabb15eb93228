// Gaussian attention bias (Kim et al., "Understanding Gaussian Attention Bias of Vision Transformers Using Effective
// Receptive Fields", BMVC 2023, arXiv 2305.04722): logits += A_l^2 * exp(-(dr^2 + dc^2) / (2 sigma_l^2)) per layer.
#pragma once

#include "methods/common/gaussian_bias.h"
#include "methods/vit/vision_transformer.h"

namespace locbench::gab {

// GAB's initial values (official train.py defaults --hp_si 5, --hp_am 1).
constexpr double kInitSigma = 5.0;
constexpr double kInitAmplitude = 1.0;

// timm's RelPosMlp in 'cr' mode: an MLP (2 -> hidden -> ReLU -> dropout 0.125 -> heads) on the log-spaced relative
// coordinates sign(d) * ln(1 + |d|), indexed per (query, key) patch pair. With `gab`, it also carries the official
// GAB parameters and adds their Gaussian beside its own bias. Keys: mlp.fc1.*, mlp.fc2.*, and with GAB
// sigma_param [1], amplitude_param [1].
class RelPosMlpImpl : public layers::AttentionBiasImpl {
 public:
  RelPosMlpImpl(int64_t num_heads, int64_t hidden_dim, bool gab);

  // (1, h, N, N): the MLP bias on the actual grid, zero for prefix tokens.
  torch::Tensor mlp_bias(const layers::TokenGrid& grid);
  torch::Tensor bias(const torch::Tensor& q, const layers::TokenGrid& grid) override;
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                       const layers::TokenGrid& grid, bool fused) override;

  torch::nn::Sequential mlp{nullptr};  // children named fc1, act, drop, fc2 as in timm's Mlp
  torch::Tensor sigma_param, amplitude_param;

 private:
  int64_t num_heads_;
};
TORCH_MODULE(RelPosMlp);

// GAB alone, for backbones without a relative position bias (locbench's ViT-Ti/S/B + GAB, not in the paper).
// Registered as "gab"; keys sigma_param [1], amplitude_param [1]. Prefix tokens get no bias; any grid.
class GaussianAttentionBiasImpl : public layers::AttentionBiasImpl {
 public:
  GaussianAttentionBiasImpl();
  torch::Tensor bias(const torch::Tensor& q, const layers::TokenGrid& grid) override;
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                       const layers::TokenGrid& grid, bool fused) override;

  torch::Tensor sigma_param, amplitude_param;
};
TORCH_MODULE(GaussianAttentionBias);

// timm's VisionTransformerRelPos as the vit_relpos_*_patch16_224 variants build it: no position embedding, no
// class token, qkv without bias, LayerScale (init 1e-6), a RelPosMlp per block, average pooling with fc_norm.
struct RelPosConfig {
  vit::VitConfig vit;          // class_token false, global_pool "avg", fc_norm, qkv_bias false, init_values 1e-6
  int64_t rel_pos_hidden = 128;
  bool gab = false;
};

class VisionTransformerRelPos : public Model {
 public:
  explicit VisionTransformerRelPos(const RelPosConfig& config);

  torch::Tensor forward(const torch::Tensor& images) override;
  torch::Tensor forward_dense(const torch::Tensor& images) override;
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& images,
                                                   const std::vector<int64_t>& indices) override;
  int64_t num_blocks() const override { return config_.vit.depth; }
  int64_t num_features() const override { return config_.vit.embed_dim; }
  int64_t feature_stride() const override { return config_.vit.patch_size; }
  // The official GAB code keeps its coordinate ranges as persistent buffers; they are derived here.
  bool ignores_checkpoint_key(const std::string& key) const override;

  layers::PatchEmbed patch_embed{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm fc_norm{nullptr};
  torch::nn::Linear head{nullptr};

 private:
  std::pair<torch::Tensor, layers::TokenGrid> embed(const torch::Tensor& images);
  torch::Tensor tokens_to_map(const torch::Tensor& tokens, const layers::TokenGrid& grid) const;

  RelPosConfig config_;
  std::vector<vit::Block> block_list_;
};

// ViT with GAB added to every block's attention (class token unbiased).
class VisionTransformerGab : public vit::VisionTransformer {
 public:
  explicit VisionTransformerGab(const vit::VitConfig& config);
};

}  // namespace locbench::gab
