// SegViT (Zhang et al., "SegViT: Semantic Segmentation with Plain Vision Transformers", NeurIPS 2022, arXiv 2210.05844):
// the Attention-to-Mask decoder (masks = head-averaged pre-softmax q.k logits, Sec. 3.1) and the Shrunk structure
// (query-based down-sampling in the encoder, query-based up-sampling head, Sec. 3.2), as zbwxp/SegVit builds them.
// Modules and state-dict keys follow mmseg 0.24 and the official heads (backbone.*, decode_head.*).
#pragma once

#include "harness/model/model.h"
#include "methods/common/layers.h"

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace locbench::segvit {

// torch.nn.MultiheadAttention (batch-first here): keys in_proj_weight (3C, C), in_proj_bias, out_proj.*.
// `dropout` is on the attention weights and only active in training.
class MultiheadAttentionImpl : public torch::nn::Module {
 public:
  MultiheadAttentionImpl(int64_t dim, int64_t num_heads, double dropout);
  torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value);

  torch::Tensor in_proj_weight, in_proj_bias;
  torch::nn::Linear out_proj{nullptr};

 private:
  int64_t num_heads_;
  double dropout_;
};
TORCH_MODULE(MultiheadAttention);

// ---- Backbone: mmseg VisionTransformer as SegViT configures it (with_cls_token=False, final_norm=False) ----

struct VitOptions {
  std::array<int64_t, 2> img_size{512, 512};  // sets the stored position-embedding grid
  int64_t patch_size = 16;
  int64_t embed_dims = 768;
  int64_t num_layers = 12;
  int64_t num_heads = 12;
  int64_t mlp_ratio = 4;
  std::vector<int64_t> out_indices{5, 7, 11};  // 0-based block outputs handed to the head
  double drop_path_rate = 0.1;
  double ln_eps = 1e-6;
  int64_t shrink_idx = -1;  // vit_shrink: the block that down-samples its queries by 2 (-1: plain ViT)
};

// mmcv TransformerEncoderLayer: ln1, attn.attn (nn.MultiheadAttention), ln2, ffn.layers.0.0 (fc1), ffn.layers.1 (fc2).
class EncoderLayerImpl : public torch::nn::Module {
 public:
  EncoderLayerImpl(const VitOptions& options, double drop_path);
  torch::Tensor forward(const torch::Tensor& x);
  // vit_shrink's ShrinkLayer: queries from `queries`, keys/values from `tokens`, both through the same ln1;
  // the residual is the queries.
  torch::Tensor forward_shrink(const torch::Tensor& queries, const torch::Tensor& tokens);

  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  MultiheadAttention attention{nullptr};  // registered as attn.attn
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};

 private:
  torch::Tensor ffn(const torch::Tensor& x);
  double drop_path_;
};
TORCH_MODULE(EncoderLayer);

class VisionTransformerImpl : public torch::nn::Module {
 public:
  explicit VisionTransformerImpl(const VitOptions& options);
  // The maps (B, C, h, w) after the given 0-based blocks (after block shrink_idx the grid is halved). Inputs whose
  // sides are not multiples of the patch are zero-padded right/bottom first (mmseg AdaptivePadding 'corner').
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& images, const std::vector<int64_t>& indices);
  std::vector<torch::Tensor> forward(const torch::Tensor& images) {
    return forward_intermediates(images, options_.out_indices);
  }
  const VitOptions& options() const { return options_; }

  torch::nn::Conv2d projection{nullptr};  // registered as patch_embed.projection
  torch::Tensor cls_token, pos_embed;     // cls_token is stored but unused at run time (with_cls_token=False)
  torch::nn::ModuleList layers{nullptr};

 private:
  // pos_embed without its class entry, bicubically resized (mmseg resize_pos_embed) to rows x cols when the token
  // count differs from the stored grid's.
  torch::Tensor patch_pos_embed(int64_t rows, int64_t cols) const;
  VitOptions options_;
  std::vector<EncoderLayer> layer_list_;
};
TORCH_MODULE(VisionTransformer);

// ---- The ATM decoder ----

// The ATM cross-attention (atm_head.py `Attention`): Linear q, k, v, proj; returns the output and the pre-softmax
// scaled logits q.k^T / sqrt(d) averaged over heads (B, Nq, Nk) - the mask of Attention-to-Mask.
class AtmAttentionImpl : public torch::nn::Module {
 public:
  AtmAttentionImpl(int64_t dim, int64_t num_heads, double attn_drop);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& queries, const torch::Tensor& memory);

  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, proj{nullptr};

 private:
  int64_t num_heads_;
  double attn_drop_;
};
TORCH_MODULE(AtmAttention);

// nn.TransformerDecoderLayer defaults (post-norm, ReLU FFN, dropout 0.1, LN eps 1e-5); with `atm_cross_attention`
// the cross-attention is AtmAttention (TPN_DecoderLayer), otherwise a stock nn.MultiheadAttention.
// Keys: self_attn.*, multihead_attn.*, linear1/2.*, norm1/2/3.*.
class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(int64_t dim, int64_t num_heads, bool atm_cross_attention, double dropout = 0.1);
  // (queries, head-averaged cross-attention logits or an undefined tensor for the stock layer).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& queries, const torch::Tensor& memory);

  MultiheadAttention self_attn{nullptr}, stock_cross_attn{nullptr};
  AtmAttention atm_cross_attn{nullptr};
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};

 private:
  torch::Tensor dropout(const torch::Tensor& x) const;
  double dropout_;
};
TORCH_MODULE(DecoderLayer);

// nn.TransformerDecoder without a final norm: keys layers.{j}.*; returns every layer's (queries, logits).
class DecoderImpl : public torch::nn::Module {
 public:
  DecoderImpl(int64_t dim, int64_t num_heads, int64_t num_layers, bool atm_cross_attention);
  std::vector<std::pair<torch::Tensor, torch::Tensor>> forward(const torch::Tensor& queries,
                                                               const torch::Tensor& memory);
  torch::nn::ModuleList layers{nullptr};

 private:
  std::vector<DecoderLayer> layer_list_;
};
TORCH_MODULE(Decoder);

struct AtmHeadOptions {
  std::vector<int64_t> in_channels{768, 768, 768};  // per stage, in backbone order (mmseg uses one value)
  int64_t embed_dims = 384;
  int64_t num_heads = 12;
  int64_t num_layers = 3;
  int64_t num_classes = 150;
  int64_t img_size = 512;  // the fixed square size the masks are upsampled to
  bool use_proj = true;    // input_proj_i (Linear) + proj_norm_i (LayerNorm) per stage
  // ATMSingleHead (inside the Shrunk head): one stage, every decoder layer is an output, masks not summed.
  bool single = false;
};

// What the head hands to the loss and to inference. Mask tensors are logits (before the sigmoid).
struct AtmOutput {
  torch::Tensor pred_logits;  // (B, K, K + 1): class logits of the last output, column K = no object
  torch::Tensor pred_masks;   // (B, K, img_size, img_size)
  torch::Tensor pred;         // (B, K, img_size, img_size): semantic_inference(pred_logits, pred_masks)
  std::vector<std::pair<torch::Tensor, torch::Tensor>> aux_outputs;  // earlier (logits, masks at feature size)
};

// softmax over the K + 1 classes, drop no-object; sigmoid of the masks; sum over the query axis (einsum bqc,bqhw).
torch::Tensor semantic_inference(const torch::Tensor& mask_cls, const torch::Tensor& mask_pred);

// ATMHead / ATMSingleHead. Keys: input_proj_{i}.*, proj_norm_{i}.*, decoder_{i}.layers.{j}.*, q.weight (K, D),
// class_embed.* (K + 1, D).
class AtmHeadImpl : public torch::nn::Module {
 public:
  explicit AtmHeadImpl(const AtmHeadOptions& options);
  // features: maps (B, C_i, h_i, w_i) in backbone order (shallow first); the deepest is decoded first.
  AtmOutput forward(const std::vector<torch::Tensor>& features);
  const AtmHeadOptions& options() const { return options_; }

  torch::nn::Embedding q{nullptr};
  torch::nn::Linear class_embed{nullptr};
  std::vector<torch::nn::Linear> input_proj;
  std::vector<torch::nn::LayerNorm> proj_norm;
  std::vector<Decoder> decoders;

 private:
  AtmOutput assemble(const std::vector<torch::Tensor>& queries, std::vector<torch::Tensor> masks);
  AtmHeadOptions options_;
};
TORCH_MODULE(AtmHead);

// ---- Shrunk: the query-based up-sampling head (TPNATMHead) ----

struct TpnAtmHeadOptions {
  std::vector<int64_t> in_channels{1024, 1024};  // block-8 (1/16) and block-24 (1/32) outputs
  int64_t embed_dims = 512;
  int64_t num_heads = 16;
  int64_t num_layers = 3;
  int64_t num_classes = 150;
  int64_t img_size = 640;
  int64_t shrink_ratio = 16;  // the learned query grid is (img_size / shrink_ratio)^2
};

// Keys: input_proj_{1,2}.*, proj_norm_{1,2}.*, decoder_{1,2}.layers.{j}.* (stock layers), q.weight, atm.* (an
// ATMSingleHead without projection).
class TpnAtmHeadImpl : public torch::nn::Module {
 public:
  explicit TpnAtmHeadImpl(const TpnAtmHeadOptions& options);
  AtmOutput forward(const std::vector<torch::Tensor>& features);

  torch::nn::Embedding q{nullptr};
  std::vector<torch::nn::Linear> input_proj;
  std::vector<torch::nn::LayerNorm> proj_norm;
  std::vector<Decoder> decoders;
  AtmHead atm{nullptr};

 private:
  TpnAtmHeadOptions options_;
};
TORCH_MODULE(TpnAtmHead);

// ---- The segmentor (mmseg EncoderDecoder): backbone.* + decode_head.* ----

class SegVit : public Model {
 public:
  // SegViT with the ATM head, or (tpn) the Shrunk head, on the mmseg ViT.
  SegVit(const VitOptions& backbone, const AtmHeadOptions& head);
  SegVit(const VitOptions& backbone, const TpnAtmHeadOptions& head);
  // The ATM head on any locbench backbone, fed by forward_intermediates(taps).
  SegVit(ModelPtr backbone, std::vector<int64_t> taps, const AtmHeadOptions& head);

  // Semantic-segmentation logits (B, K, H, W) at the input size (encode_decode: head output resized bilinearly).
  torch::Tensor forward(const torch::Tensor& images) override;
  // Everything the head produces (training and losses).
  AtmOutput forward_head_outputs(const torch::Tensor& images);
  torch::Tensor forward_dense(const torch::Tensor& images) override;
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& images,
                                                   const std::vector<int64_t>& indices) override;
  int64_t num_blocks() const override;
  int64_t num_features() const override;
  int64_t feature_stride() const override {
    return vit ? vit->options().patch_size : generic_backbone->feature_stride();
  }
  // The losses' class-weight buffer (decode_head[.atm].loss_decode.criterion.empty_weight) is rebuilt, not loaded.
  bool ignores_checkpoint_key(const std::string& key) const override;
  // The ATM loss (losses.h) of the final and auxiliary outputs; label-size masks, fixed query-to-class matching.
  std::map<std::string, torch::Tensor> segmentation_loss(const torch::Tensor& images, const torch::Tensor& labels,
                                                         const CountAverage& average_count = {}) override;

  VisionTransformer vit{nullptr};  // the mmseg backbone (null for a generic backbone)
  ModelPtr generic_backbone;
  AtmHead atm_head{nullptr};
  TpnAtmHead tpn_head{nullptr};

 private:
  std::vector<torch::Tensor> backbone_features(const torch::Tensor& images);
  std::vector<int64_t> taps_;
};

// locbench's own combination (not in the SegViT paper): the ATM head on `backbone_name` (any registered model with
// forward_intermediates, e.g. LocAtViT, GAB, LocalViT, GLNet), fed by the 0-based blocks `taps`. The per-tap channel
// counts are read from one probe forward at img_size.
std::shared_ptr<SegVit> segvit_atm_on(const std::string& backbone_name, std::vector<int64_t> taps,
                                      int64_t num_classes, int64_t img_size, int64_t embed_dims = 384,
                                      int64_t num_heads = 12, int64_t num_layers = 3,
                                      const ModelArgs& backbone_args = {});

}  // namespace locbench::segvit
