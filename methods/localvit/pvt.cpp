// PVT (Wang et al., arXiv 2102.12122), Eq. of Sec. 3.3: SRA(Q, K, V) with K, V from LN(Conv_{R x R}(X)); and
// LocalViT-PVT (Li et al., arXiv 2104.05707): the locality feed-forward in place of every block's MLP.
#include "methods/localvit/pvt.h"

#include <cmath>

namespace locbench::localvit {

namespace F = torch::nn::functional;
namespace nn = torch::nn;

PvtConfig apply_args(PvtConfig config, const ModelArgs& args) {
  if (args.num_classes) config.num_classes = *args.num_classes;
  if (args.img_size) {
    TORCH_CHECK((*args.img_size)[0] == (*args.img_size)[1], "PVT is built for square images");
    config.img_size = (*args.img_size)[0];
  }
  if (args.drop_rate) config.drop_rate = *args.drop_rate;
  if (args.drop_path_rate) config.drop_path_rate = *args.drop_path_rate;
  if (args.fused_attn) config.fused_attn = *args.fused_attn;
  return config;
}

PvtPatchEmbedImpl::PvtPatchEmbedImpl(int64_t patch_size, int64_t in_chans, int64_t embed_dim) {
  proj = register_module("proj", nn::Conv2d(nn::Conv2dOptions(in_chans, embed_dim, patch_size).stride(patch_size)));
  norm = register_module("norm", layers::layer_norm(embed_dim, 1e-5));
}

torch::Tensor PvtPatchEmbedImpl::forward(const torch::Tensor& x) {
  return norm->forward(proj->forward(x).flatten(2).transpose(1, 2));
}

SpatialReductionAttentionImpl::SpatialReductionAttentionImpl(int64_t dim, int64_t num_heads, int64_t sr_ratio,
                                                             bool fused)
    : num_heads_(num_heads), sr_ratio_(sr_ratio), fused_(fused) {
  TORCH_CHECK(dim % num_heads == 0, "dim ", dim, " not divisible by heads ", num_heads);
  q = register_module("q", nn::Linear(dim, dim));
  kv = register_module("kv", nn::Linear(dim, 2 * dim));
  proj = register_module("proj", nn::Linear(dim, dim));
  if (sr_ratio > 1) {
    sr = register_module("sr", nn::Conv2d(nn::Conv2dOptions(dim, dim, sr_ratio).stride(sr_ratio)));
    norm = register_module("norm", layers::layer_norm(dim, 1e-5));
  }
}

torch::Tensor SpatialReductionAttentionImpl::forward(const torch::Tensor& x, int64_t H, int64_t W) {
  const int64_t B = x.size(0), N = x.size(1), C = x.size(2), d = C / num_heads_;
  auto queries = q->forward(x).reshape({B, N, num_heads_, d}).permute({0, 2, 1, 3});
  torch::Tensor source = x;
  if (sr_ratio_ > 1) {
    TORCH_CHECK(N == H * W, "spatial reduction expects H*W tokens without a prefix");
    auto map = x.transpose(1, 2).reshape({B, C, H, W});
    source = norm->forward(sr->forward(map).reshape({B, C, -1}).transpose(1, 2));
  }
  auto kv_out = kv->forward(source).reshape({B, -1, 2, num_heads_, d}).permute({2, 0, 3, 1, 4});
  auto out = layers::attention(queries, kv_out[0], kv_out[1], 1.0 / std::sqrt(static_cast<double>(d)),
                               torch::Tensor(), fused_);
  return proj->forward(out.transpose(1, 2).reshape({B, N, C}));
}

PvtBlockImpl::PvtBlockImpl(const PvtConfig& c, int64_t stage, double drop_path) : drop_path_(drop_path) {
  const int64_t dim = c.embed_dims[stage];
  norm1 = register_module("norm1", layers::layer_norm(dim, c.ln_eps));
  attn = register_module("attn", SpatialReductionAttention(dim, c.num_heads[stage], c.sr_ratios[stage], c.fused_attn));
  if (c.locality) {
    // The official LocalViT-PVT passes reduction = dim, so the SE hidden width equals the MLP ratio.
    conv = register_module("conv", LocalityFeedForward(LocalityOptions{dim, c.mlp_ratios[stage], dim, "hs+se"}));
  } else {
    norm2 = register_module("norm2", layers::layer_norm(dim, c.ln_eps));
    const auto hidden = static_cast<int64_t>(dim * c.mlp_ratios[stage]);
    mlp = register_module("mlp", layers::Mlp(dim, hidden, dim, true, c.drop_rate));
  }
}

torch::Tensor PvtBlockImpl::forward(const torch::Tensor& x, int64_t H, int64_t W, bool has_cls) {
  auto h = x + layers::drop_path(attn->forward(norm1->forward(x), H, W), drop_path_, is_training());
  if (!conv) return h + layers::drop_path(mlp->forward(norm2->forward(h)), drop_path_, is_training());
  // LocalViT: the class token (stage 4 only) bypasses the locality feed-forward.
  const int64_t B = h.size(0), C = h.size(2), prefix = has_cls ? 1 : 0;
  auto map = h.narrow(1, prefix, H * W).transpose(1, 2).reshape({B, C, H, W});
  auto patches = conv->forward(map).flatten(2).transpose(1, 2);
  return has_cls ? torch::cat({h.narrow(1, 0, 1), patches}, 1) : patches;
}

PyramidVisionTransformer::PyramidVisionTransformer(const PvtConfig& c) : config_(c) {
  torch::NoGradGuard no_grad;
  int64_t total = 0;
  for (int64_t d : c.depths) total += d;
  int64_t index = 0, grid = c.img_size / c.patch_size, in_chans = c.in_chans;
  for (int64_t s = 0; s < 4; ++s) {
    const int64_t patch = s == 0 ? c.patch_size : 2;
    if (s > 0) grid /= 2;
    const std::string n = std::to_string(s + 1);
    patch_embeds_[s] = register_module("patch_embed" + n, PvtPatchEmbed(patch, in_chans, c.embed_dims[s]));
    pos_embeds_[s] = register_parameter("pos_embed" + n,
                                        torch::zeros({1, grid * grid + (s == 3 ? 1 : 0), c.embed_dims[s]}));
    auto list = register_module("block" + n, nn::ModuleList());
    for (int64_t j = 0; j < c.depths[s]; ++j, ++index) {
      const double dpr = total > 1 ? c.drop_path_rate * static_cast<double>(index) / (total - 1) : 0.0;
      stage_blocks_[s].push_back(PvtBlock(c, s, dpr));
      list->push_back(stage_blocks_[s].back());
    }
    in_chans = c.embed_dims[s];
  }
  norm = register_module("norm", layers::layer_norm(c.embed_dims[3], c.ln_eps));
  cls_token = register_parameter("cls_token", torch::zeros({1, 1, c.embed_dims[3]}));
  if (c.num_classes > 0) head = register_module("head", nn::Linear(c.embed_dims[3], c.num_classes));
  for (auto& pos : pos_embeds_) layers::trunc_normal_(pos, 0.02);
  layers::trunc_normal_(cls_token, 0.02);
  layers::init_linear_timm(*this);
}

torch::Tensor PyramidVisionTransformer::position(int64_t stage, int64_t H, int64_t W) const {
  const auto& pos = pos_embeds_[stage];
  const int64_t prefix = stage == 3 ? 1 : 0, C = pos.size(2);
  const auto old = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(pos.size(1) - prefix))));
  if (old == H && old == W) return pos;
  // Other sizes: bilinear resize of the grid part, as PVT's own detection/segmentation code does.
  auto grid = pos.narrow(1, prefix, old * old).reshape({1, old, old, C}).permute({0, 3, 1, 2});
  grid = F::interpolate(grid, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{H, W})
                                  .mode(torch::kBilinear)
                                  .align_corners(false));
  grid = grid.flatten(2).transpose(1, 2);
  return prefix ? torch::cat({pos.narrow(1, 0, 1), grid}, 1) : grid;
}

std::pair<std::vector<torch::Tensor>, torch::Tensor> PyramidVisionTransformer::run_stages(const torch::Tensor& images,
                                                                                         int64_t last) {
  std::vector<torch::Tensor> maps;
  torch::Tensor x = images, cls;
  for (int64_t s = 0; s <= last; ++s) {
    const int64_t patch = s == 0 ? config_.patch_size : 2;
    const int64_t B = x.size(0), H = x.size(2) / patch, W = x.size(3) / patch;
    auto t = patch_embeds_[s]->forward(x);
    const bool has_cls = s == 3;
    if (has_cls) t = torch::cat({cls_token.expand({B, -1, -1}), t}, 1);
    t = t + position(s, H, W);
    if (config_.drop_rate > 0) t = F::dropout(t, F::DropoutFuncOptions().p(config_.drop_rate).training(is_training()));
    for (auto& block : stage_blocks_[s]) t = block->forward(t, H, W, has_cls);
    if (has_cls) cls = t;
    const int64_t C = t.size(2);
    x = t.narrow(1, has_cls ? 1 : 0, H * W).reshape({B, H, W, C}).permute({0, 3, 1, 2}).contiguous();
    maps.push_back(x);
  }
  return {maps, cls};
}

torch::Tensor PyramidVisionTransformer::forward(const torch::Tensor& images) {
  auto pooled = norm->forward(run_stages(images, 3).second).select(1, 0);
  return head ? head->forward(pooled) : pooled;
}

torch::Tensor PyramidVisionTransformer::forward_dense(const torch::Tensor& images) {
  return run_stages(images, 2).first.back();
}

std::vector<torch::Tensor> PyramidVisionTransformer::forward_intermediates(const torch::Tensor& images,
                                                                           const std::vector<int64_t>& indices) {
  std::vector<int64_t> wanted;
  for (int64_t i : indices) {
    const int64_t j = i < 0 ? 4 + i : i;
    TORCH_CHECK(j >= 0 && j < 4, "stage index ", i, " out of range for 4 stages");
    wanted.push_back(j);
  }
  if (wanted.empty()) return {};
  auto maps = run_stages(images, *std::max_element(wanted.begin(), wanted.end())).first;
  std::vector<torch::Tensor> out;
  for (int64_t j : wanted) out.push_back(maps[j]);
  return out;
}

}  // namespace locbench::localvit
