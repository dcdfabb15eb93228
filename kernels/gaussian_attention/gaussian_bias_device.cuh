// Device helpers shared by the Gaussian-attention kernels (SIMT, tensor-core, backward): dtype conversion and the bias
// B[p,t] = amp[p] * exp(sum_m clamp(-dx_m^2/2, c) / (var[p,m] + eps)) of GAug (arXiv 2603.04892) / GAB (2305.04722).
#pragma once

#include "kernels/gaussian_attention/gaussian_attention.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace locbench::kernels::detail {

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
template <typename T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16(x); }
template <> __device__ __forceinline__ __half from_float<__half>(float x) { return __float2half(x); }

// What the bias needs of one query: its grid position, 1/(var+eps) per axis and the amplitude (0 for prefix).
struct QueryBias {
  int row = 0, col = 0;
  float inv_var_row = 0.f, inv_var_col = 0.f, amp = 0.f;
};

__device__ inline QueryBias load_query_bias(const GaussianAttentionArgs& a, int b, int h, int query) {
  QueryBias qb;
  const int p = query - a.num_prefix;
  if (query >= a.seq_len || p < 0) return qb;  // prefix tokens neither give nor receive the bias
  qb.row = p / a.cols;
  qb.col = p % a.cols;
  const GaussianBiasArgs& g = a.bias;
  if (g.mode == BiasMode::kGAug) {
    const float* var = g.var + b * g.var_stride_b + h * g.var_stride_h + p * g.var_stride_p;
    qb.inv_var_row = 1.f / (var[0] + g.eps);
    qb.inv_var_col = 1.f / (var[g.var_stride_axis] + g.eps);
    qb.amp = g.amplitude[b * g.amp_stride_b + h * g.amp_stride_h + p * g.amp_stride_p];
  } else {
    const float amplitude = g.gab_amplitude[h * g.gab_head_stride];
    const float sigma = g.gab_sigma[h * g.gab_head_stride];
    qb.inv_var_row = qb.inv_var_col = 1.f / (sigma * sigma);
    qb.amp = amplitude * amplitude;
  }
  return qb;
}

// One bias value and what its parameter gradients need: B = amp * e, e = exp(sum_m num_m / (var_m + eps)), with the
// clamped per-axis numerators num_m (the clamp does not depend on the parameters, so it has no gradient of its own).
struct BiasTerms {
  float bias, e, num_row, num_col;
};

__device__ __forceinline__ BiasTerms gaussian_bias_terms(const QueryBias& q, int key_row, int key_col, bool has_clamp,
                                                         float clamp) {
  const float dr = float(key_row - q.row), dc = float(key_col - q.col);
  float nr = -0.5f * dr * dr, nc = -0.5f * dc * dc;
  if (has_clamp) {  // LocAtViT saturates offsets beyond the training grid
    nr = fmaxf(nr, clamp);
    nc = fmaxf(nc, clamp);
  }
  const float e = __expf(nr * q.inv_var_row + nc * q.inv_var_col);
  return {q.amp * e, e, nr, nc};
}

__device__ __forceinline__ float gaussian_bias(const QueryBias& q, int key_row, int key_col, bool has_clamp,
                                               float clamp) {
  return gaussian_bias_terms(q, key_row, key_col, has_clamp, clamp).bias;
}

// The sum of x over the warp's 32 lanes, in every lane.
__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int off = 16; off > 0; off /= 2) x += __shfl_xor_sync(0xffffffffu, x, off);
  return x;
}

// Kernel launchers by algorithm (gaussian_attention.cu, gaussian_attention_wmma.cu).
cudaError_t launch_simt(const GaussianAttentionArgs& a, cudaStream_t stream);
cudaError_t launch_tensor_core(const GaussianAttentionArgs& a, cudaStream_t stream);

}  // namespace locbench::kernels::detail
