// Reference of the fused Gaussian-bias attention (kernels/gaussian_attention/gaussian_attention_args.h):
// softmax(Q K^T * scale + B + extra) V in plain C++, fp32 inputs, double accumulation, forward and backward. The CUDA
// and CPU kernels are tested against it.
#pragma once

#include "kernels/gaussian_attention/gaussian_attention_args.h"

namespace locbench::kernels {

// The Gaussian bias B[query, key] of head h of sample b (without args.extra); the bias pointers of `args` are read as
// host fp32 arrays.
double reference_gaussian_bias(const GaussianAttentionArgs& args, int b, int h, int query, int key);

// The forward pass on host memory: every data pointer of `args` (q, k, v, out and the bias parameters) is a host
// fp32 array with the strides given, whatever args.dtype says (callers round inputs to the dtype beforehand);
// args.extra, when set, is added to the logits.
// Writes args.lse (the per-row logsumexp) too when it is set.
void reference_forward(const GaussianAttentionArgs& args);

// The backward pass on host memory, same conventions: reads q, k, v, the bias parameters and grads.dout (P is
// recomputed, args.out and args.lse are not read); writes dq, dk, dv and the bias-parameter gradients whose pointers
// are set, laid out as gaussian_attention_args.h says (GAB's are written, not accumulated).
void reference_backward(const GaussianAttentionArgs& args, const GaussianAttentionGrads& grads);

}  // namespace locbench::kernels
