// Fused Gaussian-bias attention on the CPU (GAug, arXiv 2603.04892; GAB, arXiv 2305.04722): the forward pass on host
// memory, on the same arguments as the CUDA kernels (gaussian_attention_args.h). Torch-free header; the kernel is
// built with LibTorch's vector types and thread pool, once per instruction set, and picked at run time.
#pragma once

#include "kernels/gaussian_attention/gaussian_attention_args.h"

#include <string>

namespace locbench::kernels {

// Checks the arguments for the CPU kernel (shapes, pointers; every head dim, every dtype, an extra bias); empty
// when it can run them.
std::string cpu_validate(const GaussianAttentionArgs& args);

// softmax(Q K^T * scale + B + extra) V on host memory: q, k, v and out in args.dtype (fp32 accumulation), the bias
// parameters and args.extra fp32; writes args.lse when it is set. Parallel over (sample, head, block of queries) on
// LibTorch's intra-op threads (at::set_num_threads). Throws std::invalid_argument when cpu_validate objects.
void cpu_gaussian_attention_forward(const GaussianAttentionArgs& args);

// The instruction set the CPU kernel runs with here: "AVX512", "AVX2" or "DEFAULT" (LibTorch's choice, which
// ATEN_CPU_CAPABILITY can lower).
std::string cpu_kernel_capability();

}  // namespace locbench::kernels
