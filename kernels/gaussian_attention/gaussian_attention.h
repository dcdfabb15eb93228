// Fused Gaussian-bias attention on CUDA (GAug, arXiv 2603.04892; GAB, arXiv 2305.04722): host API of the kernels,
// forward and backward, on the arguments of gaussian_attention_args.h (device pointers) and a cudaStream_t.
#pragma once

#include "kernels/gaussian_attention/gaussian_attention_args.h"

#include <cuda_runtime_api.h>

#include <string>

namespace locbench::kernels {

// Checks the arguments (shapes, head dim in {32, 64, 128}, alignment); empty when the kernel can run them.
std::string validate(const GaussianAttentionArgs& args);
// The same for the backward: also needs args.out and args.lse of the forward, and dout, dq, dk, dv.
std::string validate(const GaussianAttentionArgs& args, const GaussianAttentionGrads& grads);

// Launches the forward kernel on `stream` (and writes args.lse when set). Returns cudaErrorInvalidValue when
// validate() objects.
cudaError_t gaussian_attention_forward(const GaussianAttentionArgs& args, cudaStream_t stream);

// Launches the backward on `stream`: dS = P * (dP - rowsum(dO * O)) with P recomputed from args.lse, then dQ, dK,
// dV and the bias-parameter gradients. SIMT for every dtype (args.algorithm is not read); deterministic except for
// GAB's atomically accumulated dA, dsigma. Returns cudaErrorInvalidValue when validate(args, grads) objects.
cudaError_t gaussian_attention_backward(const GaussianAttentionArgs& args, const GaussianAttentionGrads& grads,
                                        cudaStream_t stream);

}  // namespace locbench::kernels
