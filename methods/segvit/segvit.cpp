// SegViT (Zhang et al., NeurIPS 2022, arXiv 2210.05844): Attention-to-Mask (mask = mean over heads of q.k^T/sqrt(d),
// summed over stages as logits, sigmoid once; class score = sum_q softmax(cls)_qc * mask_q) and the Shrunk structure.
#include "methods/segvit/segvit.h"
#include "methods/common/block_indices.h"

#include "harness/model/registry.h"

#include <algorithm>
#include <cmath>

namespace locbench::segvit {

namespace F = torch::nn::functional;

namespace {

torch::Tensor bilinear(const torch::Tensor& x, std::vector<int64_t> size) {
  return F::interpolate(x, F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(false));
}

// (B, C, h, w) -> (B, h * w, C), the head's d4_to_d3.
torch::Tensor map_to_tokens(const torch::Tensor& map) { return map.flatten(2).transpose(1, 2); }

// (B, N, C) on an h x w grid -> (B, C, h, w).
torch::Tensor tokens_to_map(const torch::Tensor& tokens, int64_t h, int64_t w) {
  return tokens.transpose(1, 2).reshape({tokens.size(0), tokens.size(2), h, w});
}

torch::nn::LayerNorm torch_layer_norm(int64_t dim) { return layers::layer_norm(dim, 1e-5); }

// (B, N, C) -> (B, heads, N, C / heads).
torch::Tensor split_heads(const torch::Tensor& x, int64_t heads) {
  return x.reshape({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
}

torch::Tensor merge_heads(const torch::Tensor& x) {
  return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

// The ATM/mmseg init: trunc-normal Linear weights (std .02), zero biases; LayerNorms stay (1, 0).
void init_head(torch::nn::Module& module) { layers::init_linear_timm(module); }

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
MultiheadAttentionImpl::MultiheadAttentionImpl(int64_t dim, int64_t num_heads, double dropout)
    : num_heads_(num_heads), dropout_(dropout) {
  TORCH_CHECK(dim % num_heads == 0, "embed dim ", dim, " is not divisible by ", num_heads, " heads");
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * dim, dim}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * dim}));
  out_proj = register_module("out_proj", torch::nn::Linear(dim, dim));
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(in_proj_weight);  // PyTorch's _reset_parameters
  out_proj->bias.zero_();
}

torch::Tensor MultiheadAttentionImpl::forward(const torch::Tensor& query, const torch::Tensor& key,
                                              const torch::Tensor& value) {
  torch::Tensor q, k, v;
  if (query.is_same(key) && key.is_same(value)) {
    auto qkv = F::linear(query, in_proj_weight, in_proj_bias).chunk(3, -1);
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    auto w = in_proj_weight.chunk(3, 0), b = in_proj_bias.chunk(3, 0);
    q = F::linear(query, w[0], b[0]), k = F::linear(key, w[1], b[1]), v = F::linear(value, w[2], b[2]);
  }
  q = split_heads(q, num_heads_), k = split_heads(k, num_heads_), v = split_heads(v, num_heads_);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  torch::Tensor out;
  if (is_training() && dropout_ > 0) {
    auto attn = torch::matmul(q * scale, k.transpose(-2, -1)).softmax(-1);
    out = torch::matmul(F::dropout(attn, F::DropoutFuncOptions().p(dropout_).training(true)), v);
  } else {
    out = layers::attention(q, k, v, scale, torch::Tensor(), layers::fused_attn_default());
  }
  return out_proj->forward(merge_heads(out));
}

// ---------------------------------------------------------------------------------------------------------------
EncoderLayerImpl::EncoderLayerImpl(const VitOptions& o, double drop_path) : drop_path_(drop_path) {
  ln1 = register_module("ln1", layers::layer_norm(o.embed_dims, o.ln_eps));
  auto attn = register_module("attn", std::make_shared<torch::nn::Module>());
  attention = attn->register_module("attn", MultiheadAttention(o.embed_dims, o.num_heads, 0.0));
  ln2 = register_module("ln2", layers::layer_norm(o.embed_dims, o.ln_eps));
  // mmcv FFN: layers = Sequential(Sequential(fc1, GELU, Dropout), fc2, Dropout).
  auto ffn_module = register_module("ffn", std::make_shared<torch::nn::Module>());
  auto ffn_layers = ffn_module->register_module("layers", torch::nn::ModuleList());
  auto first = torch::nn::ModuleList();
  fc1 = torch::nn::Linear(o.embed_dims, o.mlp_ratio * o.embed_dims);
  fc2 = torch::nn::Linear(o.mlp_ratio * o.embed_dims, o.embed_dims);
  first->push_back(fc1);
  ffn_layers->push_back(first);
  ffn_layers->push_back(fc2);
}

torch::Tensor EncoderLayerImpl::ffn(const torch::Tensor& x) {
  auto h = fc2->forward(F::gelu(fc1->forward(ln2->forward(x))));
  return x + layers::drop_path(h, drop_path_, is_training());
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor& x) {
  auto n = ln1->forward(x);
  return ffn(x + layers::drop_path(attention->forward(n, n, n), drop_path_, is_training()));
}

torch::Tensor EncoderLayerImpl::forward_shrink(const torch::Tensor& queries, const torch::Tensor& tokens) {
  auto kv = ln1->forward(tokens);
  auto a = attention->forward(ln1->forward(queries), kv, kv);
  return ffn(queries + layers::drop_path(a, drop_path_, is_training()));
}

// ---------------------------------------------------------------------------------------------------------------
VisionTransformerImpl::VisionTransformerImpl(const VitOptions& o) : options_(o) {
  torch::NoGradGuard no_grad;
  auto patch_embed = register_module("patch_embed", std::make_shared<torch::nn::Module>());
  projection = patch_embed->register_module(
      "projection", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, o.embed_dims, o.patch_size).stride(o.patch_size)));
  const int64_t n = (o.img_size[0] / o.patch_size) * (o.img_size[1] / o.patch_size);
  cls_token = register_parameter("cls_token", torch::zeros({1, 1, o.embed_dims}));
  pos_embed = register_parameter("pos_embed", torch::zeros({1, 1 + n, o.embed_dims}));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.num_layers; ++i) {
    const double dpr = o.num_layers > 1 ? o.drop_path_rate * static_cast<double>(i) / (o.num_layers - 1) : 0.0;
    layer_list_.push_back(EncoderLayer(o, dpr));
    layers->push_back(layer_list_.back());
  }
  layers::trunc_normal_(pos_embed, 0.02);
  layers::trunc_normal_(cls_token, 0.02);
  layers::init_linear_timm(*this);
}

torch::Tensor VisionTransformerImpl::patch_pos_embed(int64_t rows, int64_t cols) const {
  const int64_t pr = options_.img_size[0] / options_.patch_size, pc = options_.img_size[1] / options_.patch_size;
  auto pos = pos_embed.narrow(1, 1, pr * pc);
  // mmseg's _pos_embeding resizes only when the token count differs: a grid of the same count but another shape
  // (8 x 32 on a 16 x 16 embedding) takes the stored embedding in its flat order.
  if (rows * cols == pr * pc) return pos;
  // mmseg resize_pos_embed: bicubic, align_corners=False, no antialias.
  auto grid = pos.reshape({1, pr, pc, -1}).permute({0, 3, 1, 2});
  grid = F::interpolate(grid, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{rows, cols})
                                  .mode(torch::kBicubic)
                                  .align_corners(false));
  return grid.flatten(2).transpose(1, 2);
}

std::vector<torch::Tensor> VisionTransformerImpl::forward_intermediates(const torch::Tensor& images,
                                                                        const std::vector<int64_t>& indices) {
  const int64_t depth = options_.num_layers;
  const std::vector<int64_t> wanted = layers::resolve_block_indices(indices, depth);
  // PatchEmbed(padding='corner'): AdaptivePadding pads right/bottom to whole patches before the projection.
  auto x = projection->forward(layers::pad_to_multiple(images, options_.patch_size));  // (B, C, rows, cols)
  int64_t rows = x.size(2), cols = x.size(3);
  // The class token would be concatenated, position-embedded and dropped again (with_cls_token=False).
  x = map_to_tokens(x) + patch_pos_embed(rows, cols);
  const int64_t last = layers::last_block(wanted);
  std::vector<torch::Tensor> maps(depth);
  for (int64_t i = 0; i <= last; ++i) {
    if (i == options_.shrink_idx) {
      // Query-based down-sampling: the top-left token of every 2x2 cell asks, the full grid answers.
      auto queries = map_to_tokens(tokens_to_map(x, rows, cols).slice(2, 0, rows, 2).slice(3, 0, cols, 2));
      x = layer_list_[i]->forward_shrink(queries, x);
      rows = (rows + 1) / 2, cols = (cols + 1) / 2;
    } else {
      x = layer_list_[i]->forward(x);
    }
    maps[i] = tokens_to_map(x, rows, cols);
  }
  std::vector<torch::Tensor> out;
  for (int64_t j : wanted) out.push_back(maps[j]);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
AtmAttentionImpl::AtmAttentionImpl(int64_t dim, int64_t num_heads, double attn_drop)
    : num_heads_(num_heads), attn_drop_(attn_drop) {
  q = register_module("q", torch::nn::Linear(dim, dim));
  k = register_module("k", torch::nn::Linear(dim, dim));
  v = register_module("v", torch::nn::Linear(dim, dim));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
}

std::pair<torch::Tensor, torch::Tensor> AtmAttentionImpl::forward(const torch::Tensor& queries,
                                                                 const torch::Tensor& memory) {
  auto qh = split_heads(q->forward(queries), num_heads_);
  auto kh = split_heads(k->forward(memory), num_heads_);
  auto vh = split_heads(v->forward(memory), num_heads_);
  const double scale = 1.0 / std::sqrt(static_cast<double>(qh.size(-1)));
  // The logits are needed before the softmax (they are the mask), so attention is computed explicitly.
  auto logits = torch::matmul(qh, kh.transpose(-2, -1)) * scale;
  auto attn = F::dropout(logits.softmax(-1), F::DropoutFuncOptions().p(attn_drop_).training(is_training()));
  auto out = proj->forward(merge_heads(torch::matmul(attn, vh)));
  return {out, logits.sum(1) / static_cast<double>(num_heads_)};
}

// ---------------------------------------------------------------------------------------------------------------
DecoderLayerImpl::DecoderLayerImpl(int64_t dim, int64_t num_heads, bool atm_cross_attention, double dropout)
    : dropout_(dropout) {
  self_attn = register_module("self_attn", MultiheadAttention(dim, num_heads, dropout));
  if (atm_cross_attention)
    atm_cross_attn = register_module("multihead_attn", AtmAttention(dim, num_heads, dropout));
  else
    stock_cross_attn = register_module("multihead_attn", MultiheadAttention(dim, num_heads, dropout));
  linear1 = register_module("linear1", torch::nn::Linear(dim, 4 * dim));
  linear2 = register_module("linear2", torch::nn::Linear(4 * dim, dim));
  norm1 = register_module("norm1", torch_layer_norm(dim));
  norm2 = register_module("norm2", torch_layer_norm(dim));
  norm3 = register_module("norm3", torch_layer_norm(dim));
}

torch::Tensor DecoderLayerImpl::dropout(const torch::Tensor& x) const {
  return F::dropout(x, F::DropoutFuncOptions().p(dropout_).training(is_training()));
}

std::pair<torch::Tensor, torch::Tensor> DecoderLayerImpl::forward(const torch::Tensor& queries,
                                                                 const torch::Tensor& memory) {
  auto t = norm1->forward(queries + dropout(self_attn->forward(queries, queries, queries)));
  torch::Tensor cross, logits;
  if (atm_cross_attn)
    std::tie(cross, logits) = atm_cross_attn->forward(t, memory);
  else
    cross = stock_cross_attn->forward(t, memory, memory);
  t = norm2->forward(t + dropout(cross));
  auto ffn = linear2->forward(dropout(torch::relu(linear1->forward(t))));
  return {norm3->forward(t + dropout(ffn)), logits};
}

DecoderImpl::DecoderImpl(int64_t dim, int64_t num_heads, int64_t num_layers, bool atm_cross_attention) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t j = 0; j < num_layers; ++j) {
    layer_list_.push_back(DecoderLayer(dim, num_heads, atm_cross_attention));
    layers->push_back(layer_list_.back());
  }
}

std::vector<std::pair<torch::Tensor, torch::Tensor>> DecoderImpl::forward(const torch::Tensor& queries,
                                                                          const torch::Tensor& memory) {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> out;
  auto q = queries;
  for (auto& layer : layer_list_) {
    out.push_back(layer->forward(q, memory));
    q = out.back().first;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
torch::Tensor semantic_inference(const torch::Tensor& mask_cls, const torch::Tensor& mask_pred) {
  auto probs = mask_cls.softmax(-1);
  probs = probs.narrow(-1, 0, probs.size(-1) - 1);
  return torch::einsum("bqc,bqhw->bchw", {probs, mask_pred.sigmoid()});
}

AtmHeadImpl::AtmHeadImpl(const AtmHeadOptions& o) : options_(o) {
  const int64_t stages = o.single ? 1 : static_cast<int64_t>(o.in_channels.size());
  for (int64_t i = 0; i < stages; ++i) {
    const auto suffix = std::to_string(i + 1);
    if (o.use_proj) {
      input_proj.push_back(register_module("input_proj_" + suffix, torch::nn::Linear(o.in_channels[i], o.embed_dims)));
      proj_norm.push_back(register_module("proj_norm_" + suffix, torch_layer_norm(o.embed_dims)));
    }
    decoders.push_back(register_module("decoder_" + suffix, Decoder(o.embed_dims, o.num_heads, o.num_layers, true)));
  }
  q = register_module("q", torch::nn::Embedding(o.num_classes, o.embed_dims));  // N(0, 1), not re-initialised
  class_embed = register_module("class_embed", torch::nn::Linear(o.embed_dims, o.num_classes + 1));
  init_head(*this);
}

AtmOutput AtmHeadImpl::forward(const std::vector<torch::Tensor>& features) {
  TORCH_CHECK(features.size() >= decoders.size(), "the ATM head needs ", decoders.size(), " feature maps, got ",
              features.size());
  std::vector<torch::Tensor> stage_features(features.begin(), features.begin() + decoders.size());
  std::reverse(stage_features.begin(), stage_features.end());  // deepest first
  const int64_t B = stage_features.front().size(0);
  auto queries = q->weight.unsqueeze(0).expand({B, -1, -1});
  std::vector<torch::Tensor> qs, masks;
  for (size_t i = 0; i < decoders.size(); ++i) {
    const auto& map = stage_features[i];
    auto lateral = map_to_tokens(map);
    if (options_.use_proj) lateral = proj_norm[i]->forward(input_proj[i]->forward(lateral));
    auto layers_out = decoders[i]->forward(queries, lateral);
    // ATMHead keeps the last layer of each stage; ATMSingleHead keeps every layer.
    const size_t first = options_.single ? 0 : layers_out.size() - 1;
    for (size_t j = first; j < layers_out.size(); ++j) {
      qs.push_back(layers_out[j].first);
      masks.push_back(tokens_to_map(layers_out[j].second.transpose(1, 2), map.size(2), map.size(3)));
    }
    queries = layers_out.back().first;
  }
  return assemble(qs, std::move(masks));
}

AtmOutput AtmHeadImpl::assemble(const std::vector<torch::Tensor>& qs, std::vector<torch::Tensor> masks) {
  auto outputs_class = class_embed->forward(torch::stack(qs, 0));  // (L, B, K, K + 1)
  const std::vector<int64_t> size{masks.back().size(2), masks.back().size(3)};
  // ATMHead sums the stage masks as logits (each resized to the last map); ATMSingleHead keeps them apart.
  for (size_t i = 0; i < masks.size(); ++i) {
    masks[i] = bilinear(masks[i], size);
    if (!options_.single && i > 0) masks[i] = masks[i - 1] + masks[i];
  }
  AtmOutput out;
  out.pred_logits = outputs_class[outputs_class.size(0) - 1];
  out.pred_masks = bilinear(masks.back(), {options_.img_size, options_.img_size});
  out.pred = semantic_inference(out.pred_logits, out.pred_masks);
  for (size_t i = 0; i + 1 < masks.size(); ++i) out.aux_outputs.emplace_back(outputs_class[i], masks[i]);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
TpnAtmHeadImpl::TpnAtmHeadImpl(const TpnAtmHeadOptions& o) : options_(o) {
  for (size_t i = 0; i < o.in_channels.size(); ++i) {
    const auto suffix = std::to_string(i + 1);
    input_proj.push_back(register_module("input_proj_" + suffix, torch::nn::Linear(o.in_channels[i], o.embed_dims)));
    proj_norm.push_back(register_module("proj_norm_" + suffix, torch_layer_norm(o.embed_dims)));
    decoders.push_back(register_module("decoder_" + suffix, Decoder(o.embed_dims, o.num_heads, o.num_layers, false)));
  }
  const int64_t side = o.img_size / o.shrink_ratio;
  q = register_module("q", torch::nn::Embedding(side * side, o.embed_dims));
  AtmHeadOptions single;
  single.in_channels = {o.embed_dims};
  single.embed_dims = o.embed_dims;
  single.num_heads = o.num_heads;
  single.num_layers = o.num_layers;
  single.num_classes = o.num_classes;
  single.img_size = o.img_size;
  single.use_proj = false;
  single.single = true;
  atm = register_module("atm", AtmHead(single));
  init_head(*this);
}

AtmOutput TpnAtmHeadImpl::forward(const std::vector<torch::Tensor>& features) {
  TORCH_CHECK(features.size() >= decoders.size(), "the Shrunk head needs ", decoders.size(), " feature maps");
  const int64_t B = features.front().size(0);
  auto queries = q->weight.unsqueeze(0).expand({B, -1, -1});
  // Not reversed: the 1/16 grid of queries reads the 1/16 block-8 output, then the 1/32 block-24 output.
  for (size_t i = 0; i < decoders.size(); ++i) {
    auto lateral = proj_norm[i]->forward(input_proj[i]->forward(map_to_tokens(features[i])));
    queries = decoders[i]->forward(queries, lateral).back().first;
  }
  const int64_t side = options_.img_size / options_.shrink_ratio;
  return atm->forward({tokens_to_map(queries, side, side)});
}

// ---------------------------------------------------------------------------------------------------------------
SegVit::SegVit(const VitOptions& backbone, const AtmHeadOptions& head) {
  vit = register_module("backbone", VisionTransformer(backbone));
  atm_head = register_module("decode_head", AtmHead(head));
}

SegVit::SegVit(const VitOptions& backbone, const TpnAtmHeadOptions& head) {
  vit = register_module("backbone", VisionTransformer(backbone));
  tpn_head = register_module("decode_head", TpnAtmHead(head));
}

SegVit::SegVit(ModelPtr backbone, std::vector<int64_t> taps, const AtmHeadOptions& head) : taps_(std::move(taps)) {
  generic_backbone = register_module("backbone", std::move(backbone));
  atm_head = register_module("decode_head", AtmHead(head));
}

std::vector<torch::Tensor> SegVit::backbone_features(const torch::Tensor& images) {
  if (vit) return vit->forward(images);  // pads inside its patch embedding
  return generic_backbone->forward_intermediates(layers::pad_to_multiple(images, generic_backbone->feature_stride()),
                                                 taps_);
}

AtmOutput SegVit::forward_head_outputs(const torch::Tensor& images) {
  auto features = backbone_features(images);
  return atm_head ? atm_head->forward(features) : tpn_head->forward(features);
}

torch::Tensor SegVit::forward(const torch::Tensor& images) {
  auto pred = forward_head_outputs(images).pred;
  // encode_decode resizes the head's fixed-size output to the (unpadded) input.
  if (pred.size(2) != images.size(2) || pred.size(3) != images.size(3))
    pred = bilinear(pred, {images.size(2), images.size(3)});
  return pred;
}

torch::Tensor SegVit::forward_dense(const torch::Tensor& images) { return backbone_features(images).back(); }

std::vector<torch::Tensor> SegVit::forward_intermediates(const torch::Tensor& images,
                                                         const std::vector<int64_t>& indices) {
  if (vit) return vit->forward_intermediates(images, indices);
  return generic_backbone->forward_intermediates(layers::pad_to_multiple(images, generic_backbone->feature_stride()),
                                                 indices);
}

int64_t SegVit::num_blocks() const {
  return vit ? vit->options().num_layers : generic_backbone->num_blocks();
}

int64_t SegVit::num_features() const {
  return vit ? vit->options().embed_dims : generic_backbone->num_features();
}

bool SegVit::ignores_checkpoint_key(const std::string& key) const {
  if (key.find("loss_decode.criterion.empty_weight") != std::string::npos) return true;
  return generic_backbone && key.rfind("backbone.", 0) == 0 &&
         generic_backbone->ignores_checkpoint_key(key.substr(std::string("backbone.").size()));
}

std::shared_ptr<SegVit> segvit_atm_on(const std::string& backbone_name, std::vector<int64_t> taps,
                                      int64_t num_classes, int64_t img_size, int64_t embed_dims, int64_t num_heads,
                                      int64_t num_layers, const ModelArgs& backbone_args) {
  ModelArgs args = backbone_args;
  if (!args.img_size) args.img_size = std::array<int64_t, 2>{img_size, img_size};
  auto backbone = create_model(backbone_name, args);
  AtmHeadOptions head;
  head.in_channels.clear();
  {
    torch::NoGradGuard no_grad;
    const bool was_training = backbone->is_training();
    backbone->eval();
    for (const auto& map : backbone->forward_intermediates(torch::zeros({1, 3, img_size, img_size}), taps))
      head.in_channels.push_back(map.size(1));
    backbone->train(was_training);
  }
  head.embed_dims = embed_dims;
  head.num_heads = num_heads;
  head.num_layers = num_layers;
  head.num_classes = num_classes;
  head.img_size = img_size;
  auto model = std::make_shared<SegVit>(std::move(backbone), std::move(taps), head);
  VariantConfig config = model->generic_backbone->variant_config();
  config.input_size = {3, img_size, img_size};
  config.num_classes = num_classes;
  model->set_variant_config(config);
  return model;
}

}  // namespace locbench::segvit
