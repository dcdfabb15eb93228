// LocalViT (Li et al., "LocalViT: Analyzing Locality in Vision Transformers", arXiv 2104.05707, IROS 2023):
// the block's MLP becomes the locality feed-forward x + BN(W2 SE(hs(BN(DW3x3(hs(BN(W1 x))))))) on the patch map.
#pragma once

#include "harness/model/model.h"
#include "methods/common/layers.h"

#include <array>
#include <string>

namespace locbench::localvit {

// h-swish(x) = x * ReLU6(x + 3) / 6 and h-sigmoid(x) = ReLU6(x + 3) / 6 (MobileNetV3, as the official code).
torch::Tensor h_sigmoid(const torch::Tensor& x);
torch::Tensor h_swish(const torch::Tensor& x);

// Squeeze-and-excitation ending in h-sigmoid. Keys: fc.0.*, fc.2.* (fc.1 ReLU, fc.3 h-sigmoid).
class SELayerImpl : public torch::nn::Module {
 public:
  SELayerImpl(int64_t channels, int64_t reduction);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Sequential fc{nullptr};
};
TORCH_MODULE(SELayer);

struct LocalityOptions {
  int64_t dim = 192;
  double expand_ratio = 4.0;
  int64_t reduction = 4;      // SE hidden = hidden / reduction
  std::string act = "hs+se";  // "relu6", "hs" or "hs+se" (the registered models all use "hs+se")
};

// The locality feed-forward on a map (B, C, H, W), with its own identity residual (no norm in front of it).
// Keys as the official nn.Sequential: conv.{0,1,3,4,6.fc.0,6.fc.2,7,8}.* (without SE the projection is 6, 7).
class LocalityFeedForwardImpl : public torch::nn::Module {
 public:
  explicit LocalityFeedForwardImpl(const LocalityOptions& options);
  torch::Tensor forward(const torch::Tensor& x) { return x + conv->forward(x); }
  torch::nn::Sequential conv{nullptr};
};
TORCH_MODULE(LocalityFeedForward);

struct LocalVitConfig {
  std::array<int64_t, 2> img_size{224, 224};
  int64_t patch_size = 16;
  int64_t in_chans = 3;
  int64_t num_classes = 1000;
  int64_t embed_dim = 192;
  int64_t depth = 12;
  int64_t num_heads = 4;
  double mlp_ratio = 4.0;
  int64_t reduction = 4;
  std::string act = "hs+se";
  double ln_eps = 1e-6;
  double drop_rate = 0.0;
  double drop_path_rate = 0.0;
  bool fused_attn = layers::fused_attn_default();
};

LocalVitConfig apply_args(LocalVitConfig config, const ModelArgs& args);

// x + attn(norm1(x)); then the patch tokens (not the class token) go through the locality feed-forward.
class LocalBlockImpl : public torch::nn::Module {
 public:
  LocalBlockImpl(const LocalVitConfig& config, double drop_path);
  torch::Tensor forward(const torch::Tensor& x, const layers::TokenGrid& grid);

  torch::nn::LayerNorm norm1{nullptr};
  layers::Attention attn{nullptr};
  LocalityFeedForward conv{nullptr};

 private:
  double drop_path_;
};
TORCH_MODULE(LocalBlock);

// DeiT-shaped LocalViT (timm 0.3.2 VisionTransformer with LocalBlocks): class token, learned position embedding.
class LocalVisionTransformer : public Model {
 public:
  explicit LocalVisionTransformer(const LocalVitConfig& config);

  torch::Tensor forward(const torch::Tensor& images) override;
  torch::Tensor forward_dense(const torch::Tensor& images) override;
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& images,
                                                   const std::vector<int64_t>& indices) override;
  int64_t num_blocks() const override { return config_.depth; }
  int64_t num_features() const override { return config_.embed_dim; }
  int64_t feature_stride() const override { return config_.patch_size; }

  torch::Tensor cls_token, pos_embed;
  layers::PatchEmbed patch_embed{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear head{nullptr};

 private:
  std::pair<torch::Tensor, layers::TokenGrid> embed(const torch::Tensor& images);
  LocalVitConfig config_;
  std::vector<LocalBlock> block_list_;
};

}  // namespace locbench::localvit
