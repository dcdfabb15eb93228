// Gaussian attention bias (Kim et al., BMVC 2023, arXiv 2305.04722), logits = q k^T / sqrt(d) + RPE_MLP + A_l^2 *
// exp(-(dr^2 + dc^2) / (2 sigma_l^2)), on timm's vit_relpos_* models (RelPosMlp 'cr') and, as locbench's own, on ViT.
#include "methods/gab/gab.h"
#include "methods/common/block_indices.h"

namespace locbench::gab {

namespace F = torch::nn::functional;

namespace {

// sign(d) * ln(1 + |d|) for integer offsets -(n - 1) .. (n - 1): timm's 'cr' log coordinates.
torch::Tensor log_offsets(int64_t n) {
  auto d = torch::arange(-(n - 1), n, torch::kFloat32);
  return d.sign() * (1.0 + d.abs()).log();
}

// For each (query, key) patch pair, the flat index of the offset (query - key) in a (2H-1) x (2W-1) table.
torch::Tensor relative_position_index(int64_t rows, int64_t cols) {
  auto r = torch::arange(rows).repeat_interleave(cols), c = torch::arange(cols).repeat(rows);
  auto dr = r.unsqueeze(1) - r.unsqueeze(0) + (rows - 1);
  auto dc = c.unsqueeze(1) - c.unsqueeze(0) + (cols - 1);
  return dr * (2 * cols - 1) + dc;
}

torch::Tensor scalar_param(torch::nn::Module& module, const std::string& name, double value) {
  return module.register_parameter(name, torch::full({1}, value));
}

}  // namespace

RelPosMlpImpl::RelPosMlpImpl(int64_t num_heads, int64_t hidden_dim, bool gab) : num_heads_(num_heads) {
  mlp = register_module("mlp", torch::nn::Sequential({{"fc1", torch::nn::Linear(2, hidden_dim)},
                                                      {"act", torch::nn::ReLU()},
                                                      {"drop", torch::nn::Dropout(0.125)},
                                                      {"fc2", torch::nn::Linear(hidden_dim, num_heads)}}));
  if (gab) {
    sigma_param = scalar_param(*this, "sigma_param", kInitSigma);
    amplitude_param = scalar_param(*this, "amplitude_param", kInitAmplitude);
  }
}

torch::Tensor RelPosMlpImpl::mlp_bias(const layers::TokenGrid& grid) {
  auto dr = log_offsets(grid.rows), dc = log_offsets(grid.cols);
  auto coords = torch::stack(torch::meshgrid({dr, dc}, "ij"), -1);  // (2H-1, 2W-1, 2)
  const auto& weight = mlp->named_parameters()["fc1.weight"];
  auto table = mlp->forward(coords.to(weight.options())).reshape({-1, num_heads_});
  auto index = relative_position_index(grid.rows, grid.cols).to(weight.device());
  auto bias = table.index_select(0, index.reshape(-1)).reshape({grid.num_patches(), grid.num_patches(), num_heads_});
  bias = bias.permute({2, 0, 1});
  if (grid.num_prefix > 0) bias = F::pad(bias, F::PadFuncOptions({grid.num_prefix, 0, grid.num_prefix, 0}));
  return bias.unsqueeze(0);
}

torch::Tensor RelPosMlpImpl::bias(const torch::Tensor& /*q*/, const layers::TokenGrid& grid) {
  auto b = mlp_bias(grid);
  if (sigma_param.defined())
    b = b + gaussian::gaussian_bias(gaussian::isotropic(sigma_param, amplitude_param), gaussian::patch_grid(grid));
  return b;
}

torch::Tensor RelPosMlpImpl::attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                    double scale, const layers::TokenGrid& grid, bool fused) {
  // The official code adds GAB by patching rel_pos.forward, which timm >= 0.9 bypasses when attention is fused;
  // here it is added explicitly on both paths.
  if (!sigma_param.defined()) return layers::attention(q, k, v, scale, mlp_bias(grid).to(q.dtype()), fused);
  return gaussian::gaussian_attention(q, k, v, scale, gaussian::isotropic(sigma_param, amplitude_param),
                                      gaussian::patch_grid(grid), fused, mlp_bias(grid));
}

GaussianAttentionBiasImpl::GaussianAttentionBiasImpl() {
  sigma_param = scalar_param(*this, "sigma_param", kInitSigma);
  amplitude_param = scalar_param(*this, "amplitude_param", kInitAmplitude);
}

torch::Tensor GaussianAttentionBiasImpl::bias(const torch::Tensor& /*q*/, const layers::TokenGrid& grid) {
  return gaussian::gaussian_bias(gaussian::isotropic(sigma_param, amplitude_param), gaussian::patch_grid(grid));
}

torch::Tensor GaussianAttentionBiasImpl::attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                                double scale, const layers::TokenGrid& grid, bool fused) {
  return gaussian::gaussian_attention(q, k, v, scale, gaussian::isotropic(sigma_param, amplitude_param),
                                      gaussian::patch_grid(grid), fused);
}

VisionTransformerRelPos::VisionTransformerRelPos(const RelPosConfig& config) : config_(config) {
  const auto& c = config.vit;
  TORCH_CHECK(!c.class_token && c.global_pool == "avg", "vit_relpos variants have no class token and average-pool");
  torch::NoGradGuard no_grad;
  patch_embed = register_module(
      "patch_embed", layers::PatchEmbed(layers::PatchEmbedOptions{c.patch_size, c.in_chans, c.embed_dim, true,
                                                                  c.dynamic_img_pad}));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) {
    const double dpr = c.depth > 1 ? c.drop_path_rate * static_cast<double>(i) / (c.depth - 1) : 0.0;
    block_list_.push_back(vit::Block(c, dpr));
    block_list_.back()->attn->set_bias("rel_pos", std::make_shared<RelPosMlpImpl>(c.num_heads, config.rel_pos_hidden,
                                                                                 config.gab));
    blocks->push_back(block_list_.back());
  }
  fc_norm = register_module("fc_norm", layers::layer_norm(c.embed_dim, c.ln_eps));
  if (c.num_classes > 0) head = register_module("head", torch::nn::Linear(c.embed_dim, c.num_classes));
  layers::init_linear_timm(*this);  // timm's 'reset' init: trunc-normal(0.02) Linear weights (RelPosMlp's too)
}

bool VisionTransformerRelPos::ignores_checkpoint_key(const std::string& key) const {
  for (const char* suffix : {".attn.rel_pos.relative_coords_H", ".attn.rel_pos.relative_coords_W"}) {
    const std::string s(suffix);
    if (key.size() > s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0) return true;
  }
  return false;
}

std::pair<torch::Tensor, layers::TokenGrid> VisionTransformerRelPos::embed(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == config_.vit.in_chans, "expected images (B, ",
              config_.vit.in_chans, ", H, W), got ", images.sizes());
  auto x = patch_embed->forward(images);  // (B, rows, cols, C)
  layers::TokenGrid grid{x.size(1), x.size(2), 0};
  return {x.reshape({x.size(0), grid.num_patches(), x.size(3)}), grid};
}

torch::Tensor VisionTransformerRelPos::forward(const torch::Tensor& images) {
  auto [x, grid] = embed(images);
  for (auto& block : block_list_) x = block->forward(x, grid);
  x = fc_norm->forward(x.mean(1));
  const double drop = config_.vit.drop_rate;
  if (drop > 0) x = F::dropout(x, F::DropoutFuncOptions().p(drop).training(is_training()));
  return head ? head->forward(x) : x;
}

torch::Tensor VisionTransformerRelPos::tokens_to_map(const torch::Tensor& tokens,
                                                     const layers::TokenGrid& grid) const {
  return tokens.reshape({tokens.size(0), grid.rows, grid.cols, tokens.size(2)}).permute({0, 3, 1, 2}).contiguous();
}

torch::Tensor VisionTransformerRelPos::forward_dense(const torch::Tensor& images) {
  return forward_intermediates(images, {-1}).front();
}

std::vector<torch::Tensor> VisionTransformerRelPos::forward_intermediates(const torch::Tensor& images,
                                                                          const std::vector<int64_t>& indices) {
  const int64_t depth = config_.vit.depth;
  const std::vector<int64_t> wanted = layers::resolve_block_indices(indices, depth);
  const int64_t last = layers::last_block(wanted);
  auto [x, grid] = embed(images);
  std::vector<torch::Tensor> by_block(depth);
  for (int64_t i = 0; i <= last; ++i) by_block[i] = x = block_list_[i]->forward(x, grid);
  std::vector<torch::Tensor> out;
  for (int64_t j : wanted) out.push_back(tokens_to_map(by_block[j], grid));
  return out;
}

VisionTransformerGab::VisionTransformerGab(const vit::VitConfig& config) : vit::VisionTransformer(config) {
  for (auto& block : block_list_) block->attn->set_bias("gab", std::make_shared<GaussianAttentionBiasImpl>());
}

}  // namespace locbench::gab
