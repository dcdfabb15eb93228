// CPU reference of the fused Gaussian-bias attention (kernels/gaussian_attention/gaussian_attention.h):
// softmax(Q K^T * scale + B) V in plain C++, fp32 inputs, double accumulation. The kernel is tested against it.
#pragma once

#include "kernels/gaussian_attention/gaussian_attention.h"

namespace locbench::kernels {

// The bias B[query, key] of head h of sample b; the bias pointers of `args` are read as host fp32 arrays.
double reference_gaussian_bias(const GaussianAttentionArgs& args, int b, int h, int query, int key);

// The forward pass on host memory: every data pointer of `args` (q, k, v, out and the bias parameters) is a host
// fp32 array with the strides given, whatever args.dtype says (callers round inputs to the dtype beforehand).
void reference_forward(const GaussianAttentionArgs& args);

}  // namespace locbench::kernels
