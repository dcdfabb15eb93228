#include "methods/common/layers.h"

#include "methods/common/packed_linear.h"

#include <atomic>
#include <cmath>

namespace locbench::layers {

namespace F = torch::nn::functional;

namespace {
std::atomic<bool> g_fused_attn{true};
}

bool fused_attn_default() { return g_fused_attn.load(); }
void set_fused_attn_default(bool fused) { g_fused_attn.store(fused); }

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                        const torch::Tensor& bias, bool fused) {
  if (fused) {
    std::optional<torch::Tensor> mask;
    if (bias.defined()) mask = bias.to(q.dtype());
    return at::scaled_dot_product_attention(q, k, v, mask, 0.0, false, scale);
  }
  auto logits = torch::matmul(q * scale, k.transpose(-2, -1));
  if (bias.defined()) logits = logits + bias;
  return torch::matmul(logits.softmax(-1), v);
}

torch::Tensor pad_to_multiple(const torch::Tensor& images, int64_t multiple) {
  if (multiple < 2) return images;
  const int64_t h = images.size(-2), w = images.size(-1);
  const int64_t pad_h = (multiple - h % multiple) % multiple, pad_w = (multiple - w % multiple) % multiple;
  if (pad_h == 0 && pad_w == 0) return images;
  return F::pad(images, F::PadFuncOptions({0, pad_w, 0, pad_h}));
}

PatchEmbedImpl::PatchEmbedImpl(const PatchEmbedOptions& options) : options_(options) {
  proj = register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(options.in_chans, options.embed_dim, options.patch_size)
                                    .stride(options.patch_size)
                                    .bias(options.bias)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& images) {
  const int64_t p = options_.patch_size;
  torch::Tensor x = images;
  const int64_t h = x.size(2), w = x.size(3);
  if (options_.dynamic_img_pad) {
    x = pad_to_multiple(x, p);
  } else {
    TORCH_CHECK(h % p == 0 && w % p == 0, "input size ", h, "x", w, " is not a multiple of the patch size ", p);
  }
  return proj->forward(x).permute({0, 2, 3, 1});
}

AttentionImpl::AttentionImpl(const AttentionOptions& options)
    : num_heads_(options.num_heads),
      head_dim_(options.dim / options.num_heads),
      scale_(1.0 / std::sqrt(static_cast<double>(options.dim / options.num_heads))),
      fused_(fused_attn_default()) {
  TORCH_CHECK(options.dim % options.num_heads == 0, "dim ", options.dim, " not divisible by heads ",
              options.num_heads);
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(options.dim, 3 * options.dim)
                                                      .bias(options.qkv_bias)));
  proj = register_module("proj",
                         torch::nn::Linear(torch::nn::LinearOptions(options.dim, options.dim).bias(options.proj_bias)));
}

void AttentionImpl::set_bias(const std::string& name, std::shared_ptr<AttentionBiasImpl> bias) {
  bias_ = register_module(name, std::move(bias));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const TokenGrid& grid) {
  const int64_t B = x.size(0), N = x.size(1), C = x.size(2);
  auto qkv_out = linear(qkv, x).reshape({B, N, 3, num_heads_, head_dim_}).permute({2, 0, 3, 1, 4});
  auto parts = qkv_out.unbind(0);
  torch::Tensor out = bias_ ? bias_->attend(parts[0], parts[1], parts[2], scale_, grid, fused_)
                            : attention(parts[0], parts[1], parts[2], scale_, torch::Tensor(), fused_);
  return linear(proj, out.transpose(1, 2).reshape({B, N, C}));
}

MlpImpl::MlpImpl(int64_t in_features, int64_t hidden_features, int64_t out_features, bool bias, double drop)
    : drop_(drop) {
  fc1 = register_module("fc1", torch::nn::Linear(torch::nn::LinearOptions(in_features, hidden_features).bias(bias)));
  fc2 = register_module("fc2", torch::nn::Linear(torch::nn::LinearOptions(hidden_features, out_features).bias(bias)));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  auto h = linear(fc1, x, /*gelu=*/true);
  if (drop_ > 0) h = F::dropout(h, F::DropoutFuncOptions().p(drop_).training(is_training()));
  h = linear(fc2, h);
  if (drop_ > 0) h = F::dropout(h, F::DropoutFuncOptions().p(drop_).training(is_training()));
  return h;
}

LayerScaleImpl::LayerScaleImpl(int64_t dim, double init_value) {
  gamma = register_parameter("gamma", torch::full({dim}, init_value));
}

torch::Tensor drop_path(const torch::Tensor& x, double p, bool training) {
  if (p <= 0.0 || !training) return x;
  const double keep = 1.0 - p;
  std::vector<int64_t> shape(x.dim(), 1);
  shape[0] = x.size(0);
  auto mask = torch::empty(shape, x.options()).bernoulli_(keep);
  return x * mask / keep;
}

torch::nn::LayerNorm layer_norm(int64_t dim, double eps) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps));
}

torch::Tensor resample_abs_pos_embed(const torch::Tensor& pos_embed, std::array<int64_t, 2> new_grid,
                                     std::array<int64_t, 2> old_grid, int64_t num_prefix) {
  // timm returns the table unchanged when the grid is the one it was trained on.
  if (new_grid == old_grid) return pos_embed;
  const int64_t C = pos_embed.size(2);
  auto prefix = pos_embed.narrow(1, 0, num_prefix);
  auto grid = pos_embed.narrow(1, num_prefix, pos_embed.size(1) - num_prefix).to(torch::kFloat32);
  grid = grid.reshape({1, old_grid[0], old_grid[1], C}).permute({0, 3, 1, 2});
  grid = F::interpolate(grid, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{new_grid[0], new_grid[1]})
                                  .mode(torch::kBicubic)
                                  .align_corners(false)
                                  .antialias(true));
  grid = grid.permute({0, 2, 3, 1}).reshape({1, -1, C}).to(pos_embed.dtype());
  return num_prefix ? torch::cat({prefix, grid}, 1) : grid;
}

void trunc_normal_(torch::Tensor& t, double std) {
  torch::NoGradGuard no_grad;
  t.normal_(0.0, std).clamp_(-2.0, 2.0);
}

void init_linear_timm(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& child : module.modules(/*include_self=*/false)) {
    if (auto* linear = child->as<torch::nn::Linear>()) {
      trunc_normal_(linear->weight, 0.02);
      if (linear->bias.defined()) linear->bias.zero_();
    }
  }
}

}  // namespace locbench::layers
