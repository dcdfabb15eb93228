#include "methods/vit/vision_transformer.h"
#include "methods/common/block_indices.h"

namespace locbench::vit {

namespace F = torch::nn::functional;

VitConfig apply_args(VitConfig config, const ModelArgs& args) {
  if (args.num_classes) config.num_classes = *args.num_classes;
  if (args.img_size) config.img_size = *args.img_size;
  if (args.drop_rate) config.drop_rate = *args.drop_rate;
  if (args.drop_path_rate) config.drop_path_rate = *args.drop_path_rate;
  if (args.fused_attn) config.fused_attn = *args.fused_attn;
  return config;
}

BlockImpl::BlockImpl(const VitConfig& c, double drop_path) : drop_path_(drop_path) {
  norm1 = register_module("norm1", layers::layer_norm(c.embed_dim, c.ln_eps));
  attn = register_module("attn", layers::Attention(layers::AttentionOptions{c.embed_dim, c.num_heads, c.qkv_bias}));
  attn->set_fused(c.fused_attn);
  if (c.init_values) ls1 = register_module("ls1", layers::LayerScale(c.embed_dim, *c.init_values));
  norm2 = register_module("norm2", layers::layer_norm(c.embed_dim, c.ln_eps));
  const auto hidden = static_cast<int64_t>(c.embed_dim * c.mlp_ratio);
  mlp = register_module("mlp", layers::Mlp(c.embed_dim, hidden, c.embed_dim, true, 0.0));
  if (c.init_values) ls2 = register_module("ls2", layers::LayerScale(c.embed_dim, *c.init_values));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const layers::TokenGrid& grid) {
  auto a = attn->forward(norm1->forward(x), grid);
  if (ls1) a = ls1->forward(a);
  auto h = x + layers::drop_path(a, drop_path_, is_training());
  auto m = mlp->forward(norm2->forward(h));
  if (ls2) m = ls2->forward(m);
  return h + layers::drop_path(m, drop_path_, is_training());
}

VisionTransformer::VisionTransformer(const VitConfig& c) : config_(c) {
  TORCH_CHECK(c.global_pool == "token" || c.global_pool == "avg", "unsupported global_pool '", c.global_pool, "'");
  TORCH_CHECK(c.global_pool != "token" || c.class_token, "global_pool 'token' needs a class token");
  torch::NoGradGuard no_grad;
  patch_embed = register_module(
      "patch_embed", layers::PatchEmbed(layers::PatchEmbedOptions{c.patch_size, c.in_chans, c.embed_dim, true,
                                                                  c.dynamic_img_pad}));
  const int64_t rows = c.img_size[0] / c.patch_size, cols = c.img_size[1] / c.patch_size;
  if (c.class_token) cls_token = register_parameter("cls_token", torch::zeros({1, 1, c.embed_dim}));
  pos_embed = register_parameter("pos_embed", torch::zeros({1, num_prefix_tokens() + rows * cols, c.embed_dim}));

  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) {
    const double dpr = c.depth > 1 ? c.drop_path_rate * static_cast<double>(i) / (c.depth - 1) : 0.0;
    block_list_.push_back(Block(c, dpr));
    blocks->push_back(block_list_.back());
  }
  const bool use_fc_norm = c.fc_norm.value_or(c.global_pool == "avg");
  if (use_fc_norm)
    fc_norm = register_module("fc_norm", layers::layer_norm(c.embed_dim, c.ln_eps));
  else
    norm = register_module("norm", layers::layer_norm(c.embed_dim, c.ln_eps));
  if (c.num_classes > 0)
    head = register_module("head", torch::nn::Linear(c.embed_dim, c.num_classes));

  // timm's default init: trunc-normal position embedding, near-zero class token, trunc-normal Linear layers.
  layers::trunc_normal_(pos_embed, 0.02);
  if (c.class_token) cls_token.normal_(0.0, 1e-6);
  layers::init_linear_timm(*this);
}

std::pair<torch::Tensor, layers::TokenGrid> VisionTransformer::embed(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == config_.in_chans, "expected images (B, ", config_.in_chans,
              ", H, W), got ", images.sizes());
  auto x = patch_embed->forward(images);  // (B, rows, cols, C)
  layers::TokenGrid grid{x.size(1), x.size(2), num_prefix_tokens()};
  const std::array<int64_t, 2> trained{config_.img_size[0] / config_.patch_size,
                                       config_.img_size[1] / config_.patch_size};
  auto pos = layers::resample_abs_pos_embed(pos_embed, {grid.rows, grid.cols}, trained, num_prefix_tokens());
  x = x.reshape({x.size(0), grid.num_patches(), x.size(3)});
  if (config_.class_token) x = torch::cat({cls_token.expand({x.size(0), -1, -1}), x}, 1);
  x = x + pos;
  if (config_.drop_rate > 0) x = F::dropout(x, F::DropoutFuncOptions().p(config_.drop_rate).training(is_training()));
  return {x, grid};
}

torch::Tensor VisionTransformer::forward_head(const torch::Tensor& tokens) {
  auto x = norm ? norm->forward(tokens) : tokens;
  x = config_.global_pool == "avg" ? x.narrow(1, num_prefix_tokens(), x.size(1) - num_prefix_tokens()).mean(1)
                                   : x.select(1, 0);
  if (fc_norm) x = fc_norm->forward(x);
  if (config_.drop_rate > 0) x = F::dropout(x, F::DropoutFuncOptions().p(config_.drop_rate).training(is_training()));
  return head ? head->forward(x) : x;
}

torch::Tensor VisionTransformer::forward(const torch::Tensor& images) {
  auto [x, grid] = embed(images);
  for (auto& block : block_list_) x = block->forward(x, grid);
  return forward_head(x);
}

torch::Tensor VisionTransformer::tokens_to_map(const torch::Tensor& tokens, const layers::TokenGrid& grid) const {
  const int64_t C = tokens.size(2);
  return tokens.narrow(1, grid.num_prefix, grid.num_patches())
      .reshape({tokens.size(0), grid.rows, grid.cols, C})
      .permute({0, 3, 1, 2})
      .contiguous();
}

torch::Tensor VisionTransformer::forward_dense(const torch::Tensor& images) {
  return forward_intermediates(images, {-1}).front();
}

std::vector<torch::Tensor> VisionTransformer::forward_intermediates(const torch::Tensor& images,
                                                                    const std::vector<int64_t>& indices) {
  const int64_t depth = config_.depth;
  const std::vector<int64_t> wanted = layers::resolve_block_indices(indices, depth);
  const int64_t last = layers::last_block(wanted);
  auto [x, grid] = embed(images);
  std::vector<torch::Tensor> by_block(depth);
  for (int64_t i = 0; i <= last; ++i) {
    x = block_list_[i]->forward(x, grid);
    by_block[i] = x;
  }
  std::vector<torch::Tensor> out;
  for (int64_t j : wanted) out.push_back(tokens_to_map(by_block[j], grid));
  return out;
}

}  // namespace locbench::vit
