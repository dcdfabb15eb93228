// GLMix (Zhu et al., arXiv 2411.14429), Sec. 3: L = s * cos(Z0, U); Z = softmax_N(L) U; Z' = MHSA(Z);
// Y = softmax_S(L)^T Z' + Conv1x1(DW5x5(Conv1x1(U))), with U = LN(X) and Z0 the 8x8 average pool of X.
#include "methods/glmix/glnet.h"

#include <cmath>

namespace locbench::glmix {

namespace F = torch::nn::functional;
namespace nn = torch::nn;

GlnetConfig apply_args(GlnetConfig config, const ModelArgs& args) {
  if (args.num_classes) config.num_classes = *args.num_classes;
  if (args.drop_path_rate) config.drop_path_rate = *args.drop_path_rate;
  if (args.fused_attn) config.fused_attn = *args.fused_attn;
  // img_size: GLNet is fully convolutional around its attention; drop_rate: unused by the official model too.
  return config;
}

LayerNorm2dImpl::LayerNorm2dImpl(int64_t channels, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor LayerNorm2dImpl::forward(const torch::Tensor& x) {
  auto y = x.permute({0, 2, 3, 1});
  y = F::layer_norm(y, F::LayerNormFuncOptions({y.size(3)}).weight(weight).bias(bias).eps(eps_));
  return y.permute({0, 3, 1, 2});
}

LayerScaleImpl::LayerScaleImpl(std::vector<int64_t> shape, double init_value) {
  gamma = register_parameter("gamma", torch::full(shape, init_value));
}

ResDWConvImpl::ResDWConvImpl(int64_t channels, int64_t kernel_size) {
  // Registered through a temporary Conv2d so the default init is PyTorch's.
  nn::Conv2d conv(nn::Conv2dOptions(channels, channels, kernel_size).padding(kernel_size / 2).groups(channels));
  weight = register_parameter("weight", conv->weight.detach().clone());
  bias = register_parameter("bias", conv->bias.detach().clone());
}

torch::Tensor ResDWConvImpl::forward(const torch::Tensor& x) {
  return x + F::conv2d(x, weight, F::Conv2dFuncOptions().bias(bias).padding(weight.size(2) / 2).groups(x.size(1)));
}

MultiheadAttentionImpl::MultiheadAttentionImpl(int64_t dim, int64_t num_heads, bool fused)
    : num_heads_(num_heads), fused_(fused) {
  TORCH_CHECK(dim % num_heads == 0, "dim ", dim, " not divisible by heads ", num_heads);
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * dim, dim}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * dim}));
  out_proj = register_module("out_proj", nn::Linear(dim, dim));
  torch::NoGradGuard no_grad;
  nn::init::xavier_uniform_(in_proj_weight);
}

torch::Tensor MultiheadAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), N = x.size(1), C = x.size(2), d = C / num_heads_;
  auto qkv = F::linear(x, in_proj_weight, in_proj_bias).reshape({B, N, 3, num_heads_, d}).permute({2, 0, 3, 1, 4});
  auto out = layers::attention(qkv[0], qkv[1], qkv[2], 1.0 / std::sqrt(static_cast<double>(d)), torch::Tensor(),
                               fused_);
  return out_proj->forward(out.transpose(1, 2).reshape({B, N, C}));
}

namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t padding = 0, int64_t groups = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(padding).groups(groups));
}

nn::Conv2d depthwise(int64_t dim, int64_t k) { return conv(dim, dim, k, 1, k / 2, dim); }

// Conv1x1 -> [x + DW3x3(x)] -> GELU -> Conv1x1; keys mlp.0, mlp.1 (only with mlp_dw), mlp.3.
nn::Sequential conv_mlp(int64_t dim, double ratio, bool mlp_dw) {
  const auto hidden = static_cast<int64_t>(ratio * dim);
  nn::Sequential mlp(conv(dim, hidden, 1));
  if (mlp_dw)
    mlp->push_back(ResDWConv(hidden, 3));
  else
    mlp->push_back(nn::Identity());
  mlp->push_back(nn::GELU());
  mlp->push_back(conv(hidden, dim, 1));
  return mlp;
}

torch::Tensor residual(const torch::Tensor& x, torch::Tensor branch, const LayerScale& ls, double drop_path,
                       bool training) {
  if (ls) branch = ls->forward(branch);
  return x + layers::drop_path(branch, drop_path, training);
}

}  // namespace

GLMixBlock::GLMixBlock(const BlockOptions& o) : drop_path_(o.drop_path) {
  const GlnetConfig& c = *o.config;
  const int64_t C = o.dim;
  pool_size_ = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(c.num_slots))));
  TORCH_CHECK(pool_size_ * pool_size_ == c.num_slots, "num_slots must be a square, got ", c.num_slots);
  slot_scale = register_parameter("slot_scale", torch::tensor(1.0 / std::sqrt(static_cast<double>(C))));
  if (c.cpe_ks > 0) pos_conv = register_module("pos_conv", depthwise(C, c.cpe_ks));
  norm1 = register_module("norm1", LayerNorm2d(C));
  relation_mha = register_module("relation_mha", MultiheadAttention(C, C / c.head_dim, c.fused_attn));
  feature_conv = register_module("feature_conv", nn::Sequential(conv(C, C, 1), depthwise(C, c.local_dw_ks),
                                                                conv(C, C, 1)));
  norm2 = register_module("norm2", LayerNorm2d(C));
  mlp = register_module("mlp", conv_mlp(C, o.mlp_ratio, c.mlp_dw));
  if (c.layerscale) {
    ls1 = register_module("ls1", LayerScale(std::vector<int64_t>{1, C, 1, 1}, *c.layerscale));
    ls2 = register_module("ls2", LayerScale(std::vector<int64_t>{1, C, 1, 1}, *c.layerscale));
  }
}

torch::Tensor GLMixBlock::global_mix(const torch::Tensor& u, const torch::Tensor& init_slots) {
  auto pixels = u.permute({0, 2, 3, 1}).flatten(1, 2);  // (B, N, C)
  auto unit = [](const torch::Tensor& t) { return F::normalize(t, F::NormalizeFuncOptions().p(2).dim(-1)); };
  // One logit matrix (B, S, N): cosine similarity times a learnable temperature.
  auto logits = torch::matmul(unit(init_slots), (slot_scale * unit(pixels)).transpose(-1, -2));
  auto slots = torch::matmul(logits.softmax(-1), pixels);  // cluster: softmax over pixels
  slots = relation_mha->forward(slots);
  auto out = torch::matmul(logits.transpose(-1, -2).softmax(-1), slots);  // dispatch: softmax over slots
  return out.permute({0, 2, 1}).reshape(u.sizes());
}

torch::Tensor GLMixBlock::forward(const torch::Tensor& input) {
  // Slots start from the raw block input, before the position encoding and the norm.
  auto init_slots = F::adaptive_avg_pool2d(input, F::AdaptiveAvgPool2dFuncOptions(pool_size_))
                        .permute({0, 2, 3, 1})
                        .flatten(1, 2);
  auto x = pos_conv ? input + pos_conv->forward(input) : input;
  auto u = norm1->forward(x);
  auto mixed = global_mix(u, init_slots) + feature_conv->forward(u);
  x = residual(x, mixed, ls1, drop_path_, is_training());
  return residual(x, mlp->forward(norm2->forward(x)), ls2, drop_path_, is_training());
}

MhsaNchwBlock::MhsaNchwBlock(const BlockOptions& o) : drop_path_(o.drop_path) {
  const GlnetConfig& c = *o.config;
  const int64_t C = o.dim;
  if (c.cpe_ks > 0) pos_conv = register_module("pos_conv", depthwise(C, c.cpe_ks));
  norm1 = register_module("norm1", layers::layer_norm(C, 1e-6));
  mha_op = register_module("mha_op", MultiheadAttention(C, C / c.head_dim, c.fused_attn));
  norm2 = register_module("norm2", LayerNorm2d(C));
  mlp = register_module("mlp", conv_mlp(C, o.mlp_ratio, c.mlp_dw));
  if (c.layerscale) {
    ls1 = register_module("ls1", LayerScale(std::vector<int64_t>{C}, *c.layerscale));
    ls2 = register_module("ls2", LayerScale(std::vector<int64_t>{1, C, 1, 1}, *c.layerscale));
  }
}

torch::Tensor MhsaNchwBlock::forward(const torch::Tensor& input) {
  auto x = pos_conv ? input + pos_conv->forward(input) : input;
  const auto shape = x.sizes().vec();
  auto tokens = x.permute({0, 2, 3, 1}).flatten(1, 2);
  tokens = residual(tokens, mha_op->forward(norm1->forward(tokens)), ls1, drop_path_, is_training());
  x = tokens.permute({0, 2, 1}).reshape(shape);
  return residual(x, mlp->forward(norm2->forward(x)), ls2, drop_path_, is_training());
}

MhsaBlock::MhsaBlock(const BlockOptions& o) : drop_path_(o.drop_path) {
  const GlnetConfig& c = *o.config;
  const int64_t C = o.dim;
  const auto hidden = static_cast<int64_t>(o.mlp_ratio * C);
  norm1 = register_module("norm1", layers::layer_norm(C, 1e-6));
  mha_op = register_module("mha_op", MultiheadAttention(C, C / c.head_dim, c.fused_attn));
  norm2 = register_module("norm2", layers::layer_norm(C, 1e-6));
  mlp = register_module("mlp", nn::Sequential(nn::Linear(C, hidden), nn::GELU(), nn::Linear(hidden, C)));
  if (c.layerscale) {
    ls1 = register_module("ls1", LayerScale(std::vector<int64_t>{C}, *c.layerscale));
    ls2 = register_module("ls2", LayerScale(std::vector<int64_t>{C}, *c.layerscale));
  }
}

torch::Tensor MhsaBlock::forward(const torch::Tensor& input) {
  const auto shape = input.sizes().vec();
  auto x = input.permute({0, 2, 3, 1}).flatten(1, 2);
  x = residual(x, mha_op->forward(norm1->forward(x)), ls1, drop_path_, is_training());
  x = residual(x, mlp->forward(norm2->forward(x)), ls2, drop_path_, is_training());
  return x.transpose(1, 2).reshape(shape);
}

namespace {

// Stem (index 0) and the three stride-2 transitions, with the official Sequential indices.
nn::Sequential downsample_layer(const GlnetConfig& c, int64_t i) {
  const auto& d = c.embed_dims;
  if (i == 0 && c.overlapped_stem)  // Identity (no dual patch norm), conv, BN, GELU, conv, BN
    return nn::Sequential(nn::Identity(), conv(c.in_chans, d[0] / 2, 3, 2, 1), nn::BatchNorm2d(d[0] / 2), nn::GELU(),
                          conv(d[0] / 2, d[0], 3, 2, 1), nn::BatchNorm2d(d[0]));
  if (i == 0) return nn::Sequential(conv(c.in_chans, d[0], 4, 4), nn::BatchNorm2d(d[0]));
  auto proj = c.overlapped_stem ? conv(d[i - 1], d[i], 3, 2, 1) : conv(d[i - 1], d[i], 2, 2);
  if (c.transition_layout == "norm.proj") return nn::Sequential(nn::BatchNorm2d(d[i - 1]), proj);
  TORCH_CHECK(c.transition_layout == "proj.norm", "unknown transition layout '", c.transition_layout, "'");
  return nn::Sequential(proj, nn::BatchNorm2d(d[i]));
}

std::shared_ptr<GlnetBlock> make_block(const std::string& mode, int64_t index, const BlockOptions& o) {
  if (mode == "glmix" || (mode == "glmix.mha_nchw" && index % 2 == 0)) return std::make_shared<GLMixBlock>(o);
  if (mode == "mha_nchw" || mode == "glmix.mha_nchw") return std::make_shared<MhsaNchwBlock>(o);
  if (mode == "mha") return std::make_shared<MhsaBlock>(o);
  TORCH_CHECK(false, "unknown GLNet mixing mode '", mode, "'");
}

}  // namespace

GLNet::GLNet(const GlnetConfig& c) : config_(c) {
  torch::NoGradGuard no_grad;
  downsample_layers = register_module("downsample_layers", nn::ModuleList());
  stages = register_module("stages", nn::ModuleList());
  int64_t total = 0, index = 0;
  for (int64_t d : c.depths) total += d;
  for (int64_t s = 0; s < 4; ++s) {
    downsample_[s] = downsample_layer(c, s);
    downsample_layers->push_back(downsample_[s]);
    auto stage = std::make_shared<nn::Module>();
    auto blocks = stage->register_module("blocks", nn::ModuleList());
    for (int64_t j = 0; j < c.depths[s]; ++j, ++index) {
      const double dpr = total > 1 ? c.drop_path_rate * static_cast<double>(index) / (total - 1) : 0.0;
      stage_blocks_[s].push_back(make_block(c.mixing_modes[s], j, BlockOptions{c.embed_dims[s], c.mlp_ratios[s], dpr, &c}));
      blocks->push_back(stage_blocks_[s].back());
    }
    stages->push_back(stage);
  }
  norm = register_module("norm", nn::BatchNorm2d(c.embed_dims[3]));
  if (c.num_classes > 0) head = register_module("head", nn::Linear(c.embed_dims[3], c.num_classes));
  layers::init_linear_timm(*this);
}

std::vector<torch::Tensor> GLNet::run_stages(const torch::Tensor& images, int64_t last) {
  std::vector<torch::Tensor> maps;
  torch::Tensor x = images;
  for (int64_t s = 0; s <= last; ++s) {
    x = downsample_[s]->forward(x);
    for (auto& block : stage_blocks_[s]) x = block->forward(x);
    maps.push_back(x);
  }
  return maps;
}

torch::Tensor GLNet::forward(const torch::Tensor& images) {
  auto pooled = norm->forward(run_stages(images, 3).back()).mean({2, 3});
  return head ? head->forward(pooled) : pooled;
}

torch::Tensor GLNet::forward_dense(const torch::Tensor& images) { return run_stages(images, 2).back(); }

std::vector<torch::Tensor> GLNet::forward_intermediates(const torch::Tensor& images,
                                                        const std::vector<int64_t>& indices) {
  std::vector<int64_t> wanted;
  for (int64_t i : indices) {
    const int64_t j = i < 0 ? 4 + i : i;
    TORCH_CHECK(j >= 0 && j < 4, "stage index ", i, " out of range for 4 stages");
    wanted.push_back(j);
  }
  if (wanted.empty()) return {};
  auto maps = run_stages(images, *std::max_element(wanted.begin(), wanted.end()));
  std::vector<torch::Tensor> out;
  for (int64_t j : wanted) out.push_back(maps[j]);
  return out;
}

}  // namespace locbench::glmix
