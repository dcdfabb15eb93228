// SegViT (Zhang et al., NeurIPS 2022, arXiv 2210.05844), the ATM loss (losses/atm_loss.py, losses/criterion.py):
// L = CE(classes + no-object, eos weight 0.1) + 20 * sigmoid focal + 1 * dice, on the final and every auxiliary output.
#pragma once

#include "methods/segvit/segvit.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace locbench::segvit {

struct AtmLossOptions {
  int64_t num_classes = 150;
  double cls_weight = 1.0;
  double mask_weight = 20.0;  // sigmoid focal loss
  double dice_weight = 1.0;
  double eos_coef = 0.1;      // class weight of the no-object column
  int64_t ignore_index = 255;
  // num_masks of this process's images -> its mean over the processes of a job (criterion.py's all_reduce and
  // / world_size); empty in one process.
  std::function<double(double)> average_count;
};

// One image's targets: the classes present (ascending, ignore excluded) and their binary masks (N, H, W) float.
// The query of class c is query c (no Hungarian matching).
struct AtmTarget {
  torch::Tensor labels;
  torch::Tensor masks;
};

// prepare_targets: label maps (B, H, W) int64 -> one AtmTarget per image. Ignore pixels are negatives in every mask.
std::vector<AtmTarget> prepare_targets(const torch::Tensor& labels, int64_t ignore_index);

// RetinaNet focal loss on mask logits (N, P) vs binary targets (N, P): mean over pixels, sum over masks / num_masks.
torch::Tensor sigmoid_focal_loss(const torch::Tensor& inputs, const torch::Tensor& targets, double num_masks,
                                 double alpha = 0.25, double gamma = 2.0);
// 1 - (2 sum(p t) + 1) / (sum p + sum t + 1) per mask on sigmoid probabilities, summed / num_masks.
torch::Tensor dice_loss(const torch::Tensor& inputs, const torch::Tensor& targets, double num_masks);
// Weighted cross-entropy of every query (B, Q, K + 1); queries of absent classes target the no-object index K.
torch::Tensor classification_loss(const torch::Tensor& pred_logits, const std::vector<AtmTarget>& targets,
                                  double eos_coef);

// The weighted terms loss_ce, loss_mask, loss_dice (final output) and loss_ce_{i}, ... (auxiliary output i).
std::map<std::string, torch::Tensor> atm_loss(const AtmOutput& outputs, const torch::Tensor& labels,
                                              const AtmLossOptions& options);
// Sum of all terms.
torch::Tensor total_loss(const std::map<std::string, torch::Tensor>& terms);

}  // namespace locbench::segvit
