// Cross-entropy of segmentation logits bilinearly resized to the label size, fused (CPU): the loss of mmseg's decode
// heads, CE(resize(logits, label size, bilinear, align_corners=False), label, ignore_index), in one pass over output
// rows that never stores the resized (B, K, H, W) logits, their log-softmax or their gradient. Torch-free header; the
// kernel is built with LibTorch's vector types and thread pool, once per instruction set, and picked at run time.
#pragma once

#include <cstdint>
#include <string>

namespace locbench::kernels {

struct ResizedCrossEntropyArgs {
  int64_t batch = 0, classes = 0;
  int64_t in_h = 0, in_w = 0;     // logits (batch, classes, in_h, in_w), contiguous float32
  int64_t out_h = 0, out_w = 0;   // target (batch, out_h, out_w), contiguous int64
  const float* logits = nullptr;
  const int64_t* target = nullptr;
  int64_t ignore_index = 255;     // pixels with this target add nothing; every other value must lie in [0, classes)
  float grad_scale = 1.f;         // the gradient written is grad_scale * d(sum of the per-pixel losses)/d(logits)
  float* grad_logits = nullptr;   // (batch, classes, in_h, in_w), overwritten; null: the loss only
};

// Checks shapes and pointers; empty when the kernel can run them.
std::string resized_cross_entropy_validate(const ResizedCrossEntropyArgs& args);

// The sum over every pixel whose target is not ignore_index of -log softmax(upsampled logits)[target], the upsampling
// being ATen's bilinear resize with align_corners=False (per axis: source = (dst + 0.5) * in / out - 0.5, clamped at
// 0; the two neighbours, the second clamped to the edge). Writes grad_logits when set. Parallel over samples on
// LibTorch's intra-op threads. Throws std::invalid_argument when resized_cross_entropy_validate objects or a target
// lies outside [0, classes) and is not ignore_index (nothing is written then).
double resized_cross_entropy_cpu(const ResizedCrossEntropyArgs& args);

// The instruction set the kernel runs with here: "AVX512", "AVX2" or "DEFAULT".
std::string resized_cross_entropy_capability();

}  // namespace locbench::kernels
