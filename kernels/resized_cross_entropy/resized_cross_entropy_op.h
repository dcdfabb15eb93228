// The resized cross-entropy on torch tensors: the decode-head loss of mmseg (BaseDecodeHead.losses /
// loss_by_feat: logits resized to the label size, bilinear, align_corners=False, then CrossEntropyLoss with an
// ignore index), as a sum over the counted pixels divided by a caller's divisor, so that it serves mmseg's mean over
// every pixel (avg_non_ignore=False), the mean over the counted ones, and one rank's share of a global batch alike.
#pragma once

#include <torch/torch.h>

#include <string>

namespace locbench::kernels {

// sum over pixels p with target[p] != ignore_index of -log_softmax(resize(logits))[target[p], p], / divisor.
// logits (B, K, h, w), target (B, H, W) int64. Differentiable in logits. Where fused_rejection accepts the arguments
// the fused CPU kernel runs (forward and gradient in one pass, no (B, K, H, W) tensor), otherwise the reference.
torch::Tensor resized_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target, int64_t ignore_index,
                                    double divisor);

// The same through ATen: F::interpolate, then F::cross_entropy with reduction sum, / divisor.
torch::Tensor reference_resized_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                              int64_t ignore_index, double divisor);

// Why the fused kernel cannot run these arguments; empty when it can: it takes CPU float32 logits and CPU int64
// targets of matching batch.
std::string fused_rejection(const torch::Tensor& logits, const torch::Tensor& target);

}  // namespace locbench::kernels
