// LocalViT (Li et al., arXiv 2104.05707): locality feed-forward, Eq. of Sec. 3 (1x1 conv -> BN -> h-swish ->
// depth-wise 3x3 -> BN -> h-swish -> SE -> 1x1 conv -> BN, plus identity), built as ofsoundof/LocalViT does.
#include "methods/localvit/localvit.h"
#include "methods/common/block_indices.h"

namespace locbench::localvit {

namespace F = torch::nn::functional;
namespace nn = torch::nn;

torch::Tensor h_sigmoid(const torch::Tensor& x) { return (x + 3.0).clamp(0.0, 6.0) / 6.0; }
torch::Tensor h_swish(const torch::Tensor& x) { return x * h_sigmoid(x); }

SELayerImpl::SELayerImpl(int64_t channels, int64_t reduction) {
  const int64_t hidden = channels / reduction;
  fc = register_module("fc", nn::Sequential(nn::Linear(channels, hidden),
                                            nn::Functional([](const torch::Tensor& x) { return torch::relu(x); }),
                                            nn::Linear(hidden, channels), nn::Functional(h_sigmoid)));
}

torch::Tensor SELayerImpl::forward(const torch::Tensor& x) {
  auto y = x.mean({2, 3});  // AdaptiveAvgPool2d(1)
  return x * fc->forward(y).unsqueeze(-1).unsqueeze(-1);
}

namespace {
nn::Conv2d conv_no_bias(int64_t in, int64_t out, int64_t k, int64_t groups) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).padding(k / 2).groups(groups).bias(false));
}
}  // namespace

LocalityFeedForwardImpl::LocalityFeedForwardImpl(const LocalityOptions& o) {
  TORCH_CHECK(o.act == "hs+se" || o.act == "hs" || o.act == "relu6", "unsupported LocalViT act '", o.act, "'");
  const auto hidden = static_cast<int64_t>(o.dim * o.expand_ratio);
  // Any act containing "hs" uses h-swish, otherwise ReLU6 (the official parse of the act string).
  const bool hs = o.act.find("hs") != std::string::npos;
  auto act = [hs] {
    return hs ? nn::Functional(h_swish) : nn::Functional([](const torch::Tensor& x) { return x.clamp(0.0, 6.0); });
  };
  nn::Sequential seq(conv_no_bias(o.dim, hidden, 1, 1), nn::BatchNorm2d(hidden), act(),
                     conv_no_bias(hidden, hidden, 3, hidden), nn::BatchNorm2d(hidden), act());
  if (o.act == "hs+se") seq->push_back(SELayer(hidden, o.reduction));
  seq->push_back(conv_no_bias(hidden, o.dim, 1, 1));
  seq->push_back(nn::BatchNorm2d(o.dim));
  conv = register_module("conv", seq);
}

LocalVitConfig apply_args(LocalVitConfig config, const ModelArgs& args) {
  if (args.num_classes) config.num_classes = *args.num_classes;
  if (args.img_size) config.img_size = *args.img_size;
  if (args.drop_rate) config.drop_rate = *args.drop_rate;
  if (args.drop_path_rate) config.drop_path_rate = *args.drop_path_rate;
  if (args.fused_attn) config.fused_attn = *args.fused_attn;
  return config;
}

LocalBlockImpl::LocalBlockImpl(const LocalVitConfig& c, double drop_path) : drop_path_(drop_path) {
  norm1 = register_module("norm1", layers::layer_norm(c.embed_dim, c.ln_eps));
  attn = register_module("attn", layers::Attention(layers::AttentionOptions{c.embed_dim, c.num_heads, true}));
  attn->set_fused(c.fused_attn);
  conv = register_module("conv", LocalityFeedForward(LocalityOptions{c.embed_dim, c.mlp_ratio, c.reduction, c.act}));
}

torch::Tensor LocalBlockImpl::forward(const torch::Tensor& x, const layers::TokenGrid& grid) {
  auto h = x + layers::drop_path(attn->forward(norm1->forward(x), grid), drop_path_, is_training());
  // The class token bypasses the feed-forward: only the patch tokens form the map it convolves.
  const int64_t B = h.size(0), C = h.size(2);
  auto prefix = h.narrow(1, 0, grid.num_prefix);
  auto map = h.narrow(1, grid.num_prefix, grid.num_patches()).transpose(1, 2).reshape({B, C, grid.rows, grid.cols});
  auto patches = conv->forward(map).flatten(2).transpose(1, 2);
  return torch::cat({prefix, patches}, 1);
}

LocalVisionTransformer::LocalVisionTransformer(const LocalVitConfig& c) : config_(c) {
  torch::NoGradGuard no_grad;
  patch_embed = register_module(
      "patch_embed", layers::PatchEmbed(layers::PatchEmbedOptions{c.patch_size, c.in_chans, c.embed_dim, true}));
  const int64_t rows = c.img_size[0] / c.patch_size, cols = c.img_size[1] / c.patch_size;
  cls_token = register_parameter("cls_token", torch::zeros({1, 1, c.embed_dim}));
  pos_embed = register_parameter("pos_embed", torch::zeros({1, 1 + rows * cols, c.embed_dim}));
  blocks = register_module("blocks", nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) {
    const double dpr = c.depth > 1 ? c.drop_path_rate * static_cast<double>(i) / (c.depth - 1) : 0.0;
    block_list_.push_back(LocalBlock(c, dpr));
    blocks->push_back(block_list_.back());
  }
  norm = register_module("norm", layers::layer_norm(c.embed_dim, c.ln_eps));
  if (c.num_classes > 0) head = register_module("head", nn::Linear(c.embed_dim, c.num_classes));
  // timm 0.3.2's init: trunc-normal position embedding and class token, trunc-normal Linear layers.
  layers::trunc_normal_(pos_embed, 0.02);
  layers::trunc_normal_(cls_token, 0.02);
  layers::init_linear_timm(*this);
}

std::pair<torch::Tensor, layers::TokenGrid> LocalVisionTransformer::embed(const torch::Tensor& images) {
  auto x = patch_embed->forward(images);  // (B, rows, cols, C)
  layers::TokenGrid grid{x.size(1), x.size(2), 1};
  const std::array<int64_t, 2> trained{config_.img_size[0] / config_.patch_size,
                                       config_.img_size[1] / config_.patch_size};
  // The official code has a fixed grid; other sizes resample the table as timm does (a locbench extension).
  auto pos = layers::resample_abs_pos_embed(pos_embed, {grid.rows, grid.cols}, trained, 1);
  x = x.reshape({x.size(0), grid.num_patches(), x.size(3)});
  x = torch::cat({cls_token.expand({x.size(0), -1, -1}), x}, 1) + pos;
  if (config_.drop_rate > 0) x = F::dropout(x, F::DropoutFuncOptions().p(config_.drop_rate).training(is_training()));
  return {x, grid};
}

torch::Tensor LocalVisionTransformer::forward(const torch::Tensor& images) {
  auto [x, grid] = embed(images);
  for (auto& block : block_list_) x = block->forward(x, grid);
  auto pooled = norm->forward(x).select(1, 0);
  return head ? head->forward(pooled) : pooled;
}

torch::Tensor LocalVisionTransformer::forward_dense(const torch::Tensor& images) {
  return forward_intermediates(images, {-1}).front();
}

std::vector<torch::Tensor> LocalVisionTransformer::forward_intermediates(const torch::Tensor& images,
                                                                         const std::vector<int64_t>& indices) {
  const int64_t depth = config_.depth;
  const std::vector<int64_t> wanted = layers::resolve_block_indices(indices, depth);
  const int64_t last = layers::last_block(wanted);
  auto [x, grid] = embed(images);
  std::vector<torch::Tensor> by_block(depth);
  for (int64_t i = 0; i <= last; ++i) by_block[i] = x = block_list_[i]->forward(x, grid);
  std::vector<torch::Tensor> out;
  for (int64_t j : wanted) {
    const auto& t = by_block[j];
    out.push_back(t.narrow(1, 1, grid.num_patches())
                      .reshape({t.size(0), grid.rows, grid.cols, t.size(2)})
                      .permute({0, 3, 1, 2})
                      .contiguous());
  }
  return out;
}

}  // namespace locbench::localvit
