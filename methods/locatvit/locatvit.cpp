// LocAtViT (Hajimiri et al., ICLR 2026, arXiv 2603.04892): GAug (Gaussian-augmented attention, additive logit bias
// from per-query variances) in every block, PRR (softmax(x x^T / sqrt(d_h)) x) before the classification head.
#include "methods/locatvit/locatvit.h"

#include <algorithm>
#include <cmath>

namespace locbench::locatvit {

namespace F = torch::nn::functional;

GaussianAugmentConstants gaussian_augment_constants(std::array<int64_t, 2> initial_grid) {
  const double max_grid = static_cast<double>(std::max(initial_grid[0], initial_grid[1]));
  GaussianAugmentConstants c{};
  c.var_ceiling = max_grid * max_grid;
  c.sigmoid_shift = c.var_ceiling > 2 ? std::log(c.var_ceiling - 1) : 0.0;
  // The largest numerator over the smallest denominator must stay below half the fp16 range (two axes are summed).
  const double numerator_max = 0.5 * (max_grid - 1) * (max_grid - 1);
  c.eps = 0.1;
  while (numerator_max / (c.eps * c.eps) > 65000.0 / 2) c.eps *= 2;
  c.clamp = std::max(-numerator_max, -6550.0);
  return c;
}

GaussianAugmentImpl::GaussianAugmentImpl(int64_t head_dim, std::array<int64_t, 2> initial_grid)
    : initial_grid_(initial_grid), constants_(gaussian_augment_constants(initial_grid)) {
  log_var = register_module("log_var", torch::nn::Linear(head_dim, 2));
  log_alpha = register_module("log_alpha", torch::nn::Linear(head_dim, 1));
}

gaussian::GaussianBiasParams GaussianAugmentImpl::params(const torch::Tensor& q, const layers::TokenGrid& grid) {
  // The official model averages q over 2x2 patches when trained at grids >= 32 (fast_addition_2d); in eval it is
  // exact, which is all this implementation provides.
  TORCH_CHECK(!is_training() || initial_grid_[0] < 32,
              "GAug's subsampled training path (models built for grids >= 32) is not implemented");
  auto patches = q.narrow(2, grid.num_prefix, grid.num_patches());
  auto var = constants_.var_ceiling * torch::sigmoid(log_var->forward(patches) - constants_.sigmoid_shift);
  if (grid.rows != initial_grid_[0] || grid.cols != initial_grid_[1]) {
    // Wider grids get proportionally wider Gaussians; K, EPS and the clamp stay those of the initial grid.
    const double ratio = static_cast<double>(std::min(grid.rows, grid.cols)) /
                         static_cast<double>(std::min(initial_grid_[0], initial_grid_[1]));
    var = var * ratio;
  }
  auto alpha = F::softplus(log_alpha->forward(patches).to(torch::kFloat32));
  return gaussian::GaussianBiasParams{var, alpha, constants_.eps, constants_.clamp};
}

torch::Tensor GaussianAugmentImpl::bias(const torch::Tensor& q, const layers::TokenGrid& grid) {
  return gaussian::gaussian_bias(params(q, grid), gaussian::patch_grid(grid));
}

torch::Tensor GaussianAugmentImpl::attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                          double scale, const layers::TokenGrid& grid, bool fused) {
  return gaussian::gaussian_attention(q, k, v, scale, params(q, grid), gaussian::patch_grid(grid), fused);
}

torch::Tensor patch_representation_refinement(const torch::Tensor& x, int64_t num_heads, bool fused) {
  const int64_t B = x.size(0), N = x.size(1), C = x.size(2);
  auto heads = x.reshape({B, N, num_heads, C / num_heads}).permute({0, 2, 1, 3});
  const double scale = 1.0 / std::sqrt(static_cast<double>(C / num_heads));
  auto out = layers::attention(heads, heads, heads, scale, torch::Tensor(), fused);
  return out.permute({0, 2, 1, 3}).reshape({B, N, C});
}

LocAtViT::LocAtViT(const vit::VitConfig& config) : vit::VisionTransformer(config) {
  TORCH_CHECK(config.global_pool == "token" && !config.fc_norm.value_or(false),
              "LocAtViT reads the refined class token after the final norm (global_pool 'token', no fc_norm)");
  const std::array<int64_t, 2> initial_grid{config.img_size[0] / config.patch_size,
                                            config.img_size[1] / config.patch_size};
  const int64_t head_dim = config.embed_dim / config.num_heads;
  for (auto& block : block_list_) {
    auto gaug = std::make_shared<GaussianAugmentImpl>(head_dim, initial_grid);
    layers::init_linear_timm(*gaug);  // trunc-normal(0.02) weights, zero bias: var ~ 1 and alpha ~ ln 2 at init
    block->attn->set_bias("gaug", gaug);
  }
}

torch::Tensor LocAtViT::forward_head(const torch::Tensor& tokens) {
  auto x = patch_representation_refinement(norm->forward(tokens), config_.num_heads, config_.fused_attn);
  x = x.select(1, 0);
  if (config_.drop_rate > 0) x = F::dropout(x, F::DropoutFuncOptions().p(config_.drop_rate).training(is_training()));
  return head ? head->forward(x) : x;
}

}  // namespace locbench::locatvit
