// Torch entry of the fused Gaussian-bias attention CUDA kernels (GAug, arXiv 2603.04892; GAB, arXiv 2305.04722): an
// autograd Function over gaussian_attention_forward (which keeps the per-row logsumexp) and
// gaussian_attention_backward, launched on the current CUDA stream of q's device.
#pragma once

#include "kernels/gaussian_attention/gaussian_attention_op.h"

namespace locbench::kernels {

// softmax(q k^T * scale + B) v with B = gaussian::gaussian_bias(params, grid) computed inside the kernels; the
// output has q's dtype. Differentiable (once) in q, k, v, params.var and params.amplitude. The arguments must pass
// gaussian::fused_kernel_rejection; otherwise this throws with its reason.
torch::Tensor fused_gaussian_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       double scale, const gaussian::GaussianBiasParams& params,
                                       const gaussian::PatchGrid& grid);

}  // namespace locbench::kernels
