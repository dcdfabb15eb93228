// LocAtViT (Hajimiri et al., "Locality-Attending Vision Transformer", ICLR 2026, arXiv 2603.04892): GAug adds
// S = alpha * exp(sum_m -dx_m^2 / 2 / (var_m + EPS)) to every block's attention logits; PRR is softmax(x x^T/sqrt(d)) x.
#pragma once

#include "methods/common/gaussian_bias.h"
#include "methods/vit/vision_transformer.h"

namespace locbench::locatvit {

// LocAtViT's constants, all tied to the grid the model was built for (14 x 14 at 224 / 16).
struct GaussianAugmentConstants {
  double var_ceiling;   // K = max(initial grid)^2: var = K * sigmoid(z - ln(K - 1)), so z = 0 gives var = 1
  double sigmoid_shift;  // ln(K - 1)
  double eps;           // 0.1, doubled until fp16 division is safe for the largest numerator
  double clamp;         // max(-(max(initial grid) - 1)^2 / 2, -6550)
};
GaussianAugmentConstants gaussian_augment_constants(std::array<int64_t, 2> initial_grid);

// GAug, registered in the attention as "gaug". Keys: log_var.{weight,bias} (Linear(d_h, 2)),
// log_alpha.{weight,bias} (Linear(d_h, 1)); both are shared by the heads of a layer and act on unscaled q.
class GaussianAugmentImpl : public layers::AttentionBiasImpl {
 public:
  GaussianAugmentImpl(int64_t head_dim, std::array<int64_t, 2> initial_grid);

  // Per-query variance (B, h, Np, 2) and amplitude (B, h, Np, 1) from the unscaled patch queries.
  gaussian::GaussianBiasParams params(const torch::Tensor& q, const layers::TokenGrid& grid);
  torch::Tensor bias(const torch::Tensor& q, const layers::TokenGrid& grid) override;
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                       const layers::TokenGrid& grid, bool fused) override;

  torch::nn::Linear log_var{nullptr}, log_alpha{nullptr};

 private:
  std::array<int64_t, 2> initial_grid_;
  GaussianAugmentConstants constants_;
};
TORCH_MODULE(GaussianAugment);

// Patch Representation Refinement: parameter-free multi-head attention with q = k = v = x over all tokens,
// no projection and no residual. x (B, N, C) -> (B, N, C).
torch::Tensor patch_representation_refinement(const torch::Tensor& x, int64_t num_heads, bool fused);

// timm's VisionTransformer with GAug in every block and PRR between the final norm and the class-token head.
// Dense features and intermediates are raw block outputs (no final norm, no PRR), as the paper's protocols read them.
class LocAtViT : public vit::VisionTransformer {
 public:
  explicit LocAtViT(const vit::VitConfig& config);
  torch::Tensor forward_head(const torch::Tensor& tokens) override;
};

}  // namespace locbench::locatvit
