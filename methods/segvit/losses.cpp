// SegViT (Zhang et al., NeurIPS 2022, arXiv 2210.05844), the ATM loss: fixed query-to-class assignment,
// CE with no-object weight 0.1 + 20 * sigmoid focal + dice, on the final and the auxiliary outputs.
#include "methods/segvit/losses.h"

#include <algorithm>

namespace locbench::segvit {

namespace F = torch::nn::functional;

std::vector<AtmTarget> prepare_targets(const torch::Tensor& labels, int64_t ignore_index) {
  TORCH_CHECK(labels.dim() == 3, "expected labels (B, H, W), got ", labels.sizes());
  std::vector<AtmTarget> out;
  for (int64_t b = 0; b < labels.size(0); ++b) {
    auto label = labels[b];
    auto classes = std::get<0>(torch::_unique(label, /*sorted=*/true));
    classes = classes.masked_select(classes != ignore_index);
    auto masks = label.unsqueeze(0) == classes.view({-1, 1, 1});
    out.push_back({classes.to(torch::kLong), masks.to(torch::kFloat)});
  }
  return out;
}

torch::Tensor sigmoid_focal_loss(const torch::Tensor& inputs, const torch::Tensor& targets, double num_masks,
                                 double alpha, double gamma) {
  auto prob = inputs.sigmoid();
  auto ce = F::binary_cross_entropy_with_logits(
      inputs, targets, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
  auto p_t = prob * targets + (1 - prob) * (1 - targets);
  auto loss = ce * (1 - p_t).pow(gamma);
  if (alpha >= 0) loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss;
  return loss.mean(1).sum() / num_masks;
}

torch::Tensor dice_loss(const torch::Tensor& inputs, const torch::Tensor& targets, double num_masks) {
  auto p = inputs.sigmoid().flatten(1);
  auto t = targets.flatten(1);
  auto loss = 1 - (2 * (p * t).sum(-1) + 1) / (p.sum(-1) + t.sum(-1) + 1);
  return loss.sum() / num_masks;
}

torch::Tensor classification_loss(const torch::Tensor& pred_logits, const std::vector<AtmTarget>& targets,
                                  double eos_coef) {
  const int64_t B = pred_logits.size(0), Q = pred_logits.size(1), K = pred_logits.size(2) - 1;
  auto target_classes = torch::full({B, Q}, K, torch::TensorOptions().dtype(torch::kLong));
  for (int64_t b = 0; b < B; ++b) target_classes[b].index_put_({targets[b].labels}, targets[b].labels);
  auto weight = torch::ones({K + 1}, pred_logits.options());
  weight[K] = eos_coef;
  // F.cross_entropy with class weights: sum of weighted NLL / sum of the targets' weights.
  return F::cross_entropy(pred_logits.transpose(1, 2), target_classes.to(pred_logits.device()),
                          F::CrossEntropyFuncOptions().weight(weight));
}

namespace {

// Focal and dice on the masks of the present classes, resized to the label resolution first.
std::pair<torch::Tensor, torch::Tensor> mask_losses(const torch::Tensor& pred_masks,
                                                    const std::vector<AtmTarget>& targets, double num_masks) {
  std::vector<torch::Tensor> src, tgt;
  for (size_t b = 0; b < targets.size(); ++b) {
    src.push_back(pred_masks[static_cast<int64_t>(b)].index_select(0, targets[b].labels.to(pred_masks.device())));
    tgt.push_back(targets[b].masks.to(pred_masks.device()));
  }
  auto s = torch::cat(src, 0), t = torch::cat(tgt, 0);
  s = F::interpolate(s.unsqueeze(1), F::InterpolateFuncOptions()
                                         .size(std::vector<int64_t>{t.size(1), t.size(2)})
                                         .mode(torch::kBilinear)
                                         .align_corners(false))
          .squeeze(1)
          .flatten(1);
  t = t.flatten(1);
  return {sigmoid_focal_loss(s, t, num_masks), dice_loss(s, t, num_masks)};
}

}  // namespace

std::map<std::string, torch::Tensor> atm_loss(const AtmOutput& outputs, const torch::Tensor& labels,
                                              const AtmLossOptions& options) {
  const auto targets = prepare_targets(labels, options.ignore_index);
  int64_t present = 0;
  for (const auto& t : targets) present += t.labels.numel();
  // criterion.py: num_masks all-reduced and divided by the world size, then clamped to at least 1.
  const double counted = static_cast<double>(present);
  const double num_masks = std::max<double>(options.average_count ? options.average_count(counted) : counted, 1.0);

  std::map<std::string, torch::Tensor> terms;
  auto add = [&](const torch::Tensor& logits, const torch::Tensor& masks, const std::string& suffix) {
    terms["loss_ce" + suffix] = options.cls_weight * classification_loss(logits, targets, options.eos_coef);
    if (present == 0) return;  // no matched query: the criterion has no mask term
    auto [focal, dice] = mask_losses(masks, targets, num_masks);
    terms["loss_mask" + suffix] = options.mask_weight * focal;
    terms["loss_dice" + suffix] = options.dice_weight * dice;
  };
  add(outputs.pred_logits, outputs.pred_masks, "");
  for (size_t i = 0; i < outputs.aux_outputs.size(); ++i) {
    std::string suffix = "_";
    suffix += std::to_string(i);
    add(outputs.aux_outputs[i].first, outputs.aux_outputs[i].second, suffix);
  }
  return terms;
}

torch::Tensor total_loss(const std::map<std::string, torch::Tensor>& terms) {
  torch::Tensor sum;
  for (const auto& [name, value] : terms) sum = sum.defined() ? sum + value : value;
  return sum;
}

std::map<std::string, torch::Tensor> SegVit::segmentation_loss(const torch::Tensor& images,
                                                               const torch::Tensor& labels,
                                                               const CountAverage& average_count) {
  const AtmOutput outputs = forward_head_outputs(images);
  AtmLossOptions options;  // the released configs: ATMLoss(num_classes, dec_layers 3, 20, 1, 1), eos 0.1
  options.num_classes = outputs.pred_logits.size(2) - 1;
  options.average_count = average_count;
  return atm_loss(outputs, labels, options);
}

}  // namespace locbench::segvit
