// The inference path of nn::Linear on the CPU: LibTorch's oneDNN linear (mkldnn::_linear_pointwise) with the weight
// packed once into oneDNN's blocked layout and GELU fused where asked, instead of at::linear, which hands the plain
// weight to the BLAS on every call. Same arithmetic up to the order of the fp32 sums.
#pragma once

#include <torch/torch.h>

namespace locbench::layers {

// y = x W^T + b, then GELU (exact) when `gelu`. Packed oneDNN on fp32 CPU tensors when nothing needs a gradient
// (eval under no_grad or inference mode); at::linear and F::gelu otherwise (training, other devices or dtypes, a
// LibTorch without oneDNN). The packed weight is kept per weight tensor and packed again when the weight changes
// (its version counter: a checkpoint load, an optimiser step).
torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x, bool gelu = false);

// On by default; off, every call takes at::linear (to measure what packing saves).
void set_packed_linear_enabled(bool enabled);
bool packed_linear_enabled();

}  // namespace locbench::layers
