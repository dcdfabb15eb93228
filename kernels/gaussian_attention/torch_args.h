// Torch tensors as the kernels' arguments (gaussian_attention_args.h): dtype, (B, H, N, D) views, and the GAug form of
// the bias parameters. Shared by the CPU and CUDA glue of the Gaussian attention op.
#pragma once

#include "kernels/gaussian_attention/gaussian_attention_args.h"

#include <torch/torch.h>

namespace locbench::kernels {

inline DType dtype_of(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return DType::kFloat32;
    case torch::kBFloat16: return DType::kBFloat16;
    case torch::kFloat16: return DType::kFloat16;
    default: TORCH_CHECK(false, "fused Gaussian attention: unsupported dtype ", t.scalar_type());
  }
}

inline AttentionTensor view(const torch::Tensor& t) { return {t.data_ptr(), t.stride(0), t.stride(1), t.stride(2)}; }

// The kernels read rows of the head dim with unit stride; other strides are free.
inline torch::Tensor unit_last_stride(const torch::Tensor& t) { return t.stride(3) == 1 ? t : t.contiguous(); }

// q, k, v, out: (B, H, N, D); var (B, H, Np, 2) and amplitude (B, H, Np, 1), fp32, with stride 0 where shared.
inline GaussianAttentionArgs make_args(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       const torch::Tensor& out, const torch::Tensor& var,
                                       const torch::Tensor& amplitude, double scale, double eps, bool has_clamp,
                                       double clamp, int64_t num_prefix, int64_t rows, int64_t cols) {
  GaussianAttentionArgs a;
  a.dtype = dtype_of(q);
  a.batch = int(q.size(0)), a.heads = int(q.size(1)), a.seq_len = int(q.size(2)), a.head_dim = int(q.size(3));
  a.num_prefix = int(num_prefix), a.rows = int(rows), a.cols = int(cols);
  a.scale = float(scale);
  a.q = view(q), a.k = view(k), a.v = view(v), a.out = view(out);
  GaussianBiasArgs& g = a.bias;
  g.mode = BiasMode::kGAug;
  g.var = var.data_ptr<float>();
  g.var_stride_b = var.stride(0), g.var_stride_h = var.stride(1), g.var_stride_p = var.stride(2);
  g.var_stride_axis = var.stride(3);
  g.amplitude = amplitude.data_ptr<float>();
  g.amp_stride_b = amplitude.stride(0), g.amp_stride_h = amplitude.stride(1), g.amp_stride_p = amplitude.stride(2);
  g.eps = float(eps);
  g.has_clamp = has_clamp;
  g.clamp = float(clamp);
  return a;
}

}  // namespace locbench::kernels
