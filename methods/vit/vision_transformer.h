// Vision Transformer (Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021, arXiv 2010.11929),
// built exactly as timm's VisionTransformer: pre-norm blocks, class token, learned absolute position embedding.
#pragma once

#include "harness/model/model.h"
#include "methods/common/layers.h"

#include <optional>

namespace locbench::vit {

struct VitConfig {
  std::array<int64_t, 2> img_size{224, 224};
  int64_t patch_size = 16;
  int64_t in_chans = 3;
  int64_t num_classes = 1000;
  int64_t embed_dim = 768;
  int64_t depth = 12;
  int64_t num_heads = 12;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  bool class_token = true;
  std::string global_pool = "token";  // "token" or "avg"
  std::optional<bool> fc_norm;        // default: true for "avg" (then the final norm is Identity)
  double ln_eps = 1e-6;
  std::optional<double> init_values;  // LayerScale
  double drop_rate = 0.0;
  double drop_path_rate = 0.0;
  bool dynamic_img_pad = false;
  bool fused_attn = layers::fused_attn_default();
};

// Applies the overrides every ViT-shaped variant accepts.
VitConfig apply_args(VitConfig config, const ModelArgs& args);

// Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)).
class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const VitConfig& config, double drop_path);
  torch::Tensor forward(const torch::Tensor& x, const layers::TokenGrid& grid);

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  layers::Attention attn{nullptr};
  layers::Mlp mlp{nullptr};
  layers::LayerScale ls1{nullptr}, ls2{nullptr};

 private:
  double drop_path_;
};
TORCH_MODULE(Block);

class VisionTransformer : public Model {
 public:
  explicit VisionTransformer(const VitConfig& config);

  torch::Tensor forward(const torch::Tensor& images) override;
  torch::Tensor forward_dense(const torch::Tensor& images) override;
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& images,
                                                   const std::vector<int64_t>& indices) override;
  int64_t num_blocks() const override { return config_.depth; }
  int64_t num_features() const override { return config_.embed_dim; }
  int64_t feature_stride() const override { return config_.patch_size; }

  const VitConfig& config() const { return config_; }
  int64_t num_prefix_tokens() const { return config_.class_token ? 1 : 0; }

  // Patch embedding + position embedding: tokens (B, prefix + rows * cols, C) and their grid.
  std::pair<torch::Tensor, layers::TokenGrid> embed(const torch::Tensor& images);
  // Final norm, pooling, fc_norm and head on the block output.
  virtual torch::Tensor forward_head(const torch::Tensor& tokens);
  // Tokens (B, prefix + rows * cols, C) -> patch map (B, C, rows, cols).
  torch::Tensor tokens_to_map(const torch::Tensor& tokens, const layers::TokenGrid& grid) const;

  torch::Tensor cls_token, pos_embed;
  layers::PatchEmbed patch_embed{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr}, fc_norm{nullptr};
  torch::nn::Linear head{nullptr};

 protected:
  VitConfig config_;
  std::vector<Block> block_list_;
};

}  // namespace locbench::vit
