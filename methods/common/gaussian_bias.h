// One Gaussian attention-logit bias shared by LocAtViT's GAug (Hajimiri et al., arXiv 2603.04892) and GAB (Kim et
// al., BMVC 2023, arXiv 2305.04722): S[p,t] = amp[p] * exp(sum_m clamp(-(x_t,m - x_p,m)^2 / 2, c) / (var[p,m] + eps)).
#pragma once

#include "methods/common/layers.h"

#include <optional>
#include <string>

namespace locbench::gaussian {

// Parameters of the bias over the patch tokens of a TokenGrid (Np = rows * cols).
//   GAug: var (B, h, Np, 2) per query/head/axis, amplitude (B, h, Np, 1) = softplus(.), eps and clamp from the
//         initial grid.
//   GAB:  var = sigma^2 and amplitude = A^2, one scalar each per layer (shape [1]), eps 0, no clamp.
// Both tensors broadcast against (B, h, Np, 2) and (B, h, Np, 1).
struct GaussianBiasParams {
  torch::Tensor var;
  torch::Tensor amplitude;
  double eps = 0.0;
  std::optional<double> clamp;  // lower bound of each per-axis numerator -dx^2/2
};

// GAB's per-layer parameters: var = sigma^2, amplitude = A^2 (squaring keeps the amplitude non-negative).
GaussianBiasParams isotropic(const torch::Tensor& sigma, const torch::Tensor& amplitude);

// The numerators -dx^2/2 (clamped from below when asked) for every (query, key) patch pair in row-major order,
// as two (Np, Np) tables: rows axis, cols axis.
std::array<torch::Tensor, 2> gaussian_numerators(int64_t rows, int64_t cols, std::optional<double> clamp,
                                                 const torch::TensorOptions& options);

// The full (B|1, h|1, N, N) bias, zero in the rows and columns of the prefix tokens.
torch::Tensor gaussian_bias(const GaussianBiasParams& params, const layers::TokenGrid& grid);

// softmax(q k^T * scale + B + extra_bias) v, B = gaussian_bias(params, grid); extra_bias (another additive bias such
// as the RelPosMlp one) may be undefined. With `fused` and arguments the fused CUDA kernels take
// (fused_kernel_rejection empty), B is computed inside them and never stored (kernels/gaussian_attention); otherwise
// B is materialised and the attention runs on ATen (SDPA when `fused`, the explicit softmax when not).
torch::Tensor gaussian_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                                 const GaussianBiasParams& params, const layers::TokenGrid& grid, bool fused,
                                 const torch::Tensor& extra_bias = {});

// Why the fused CUDA kernels cannot run gaussian_attention with these arguments; empty when they can. They take
// (B, H, N, D) q, k, v of one shape and dtype (fp32, bf16, fp16) on one CUDA device, head dim 32, 64 or 128,
// N = num_prefix + rows * cols, var and amplitude as scalars, [1] (var also [2]) or (B|1, h|1, Np|1, 2|1) and
// (B|1, h|1, Np|1, 1), no extra bias, and a build against a CUDA LibTorch.
std::string fused_kernel_rejection(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                   const GaussianBiasParams& params, const layers::TokenGrid& grid,
                                   const torch::Tensor& extra_bias = {});

}  // namespace locbench::gaussian
