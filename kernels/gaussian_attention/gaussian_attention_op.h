// The Gaussian-bias attention op of LocAtViT's GAug (Hajimiri et al., arXiv 2603.04892) and GAB (Kim et al., BMVC
// 2023, arXiv 2305.04722) on torch tensors: S[p,t] = amp[p] * exp(sum_m clamp(-(x_t,m - x_p,m)^2 / 2, c) /
// (var[p,m] + eps)) added to the attention logits. gaussian_attention runs the fused kernels (CPU and CUDA), which
// never store S, where fused_kernel_rejection accepts the arguments, and the materialised ATen reference otherwise.
#pragma once

#include <torch/torch.h>

#include <array>
#include <optional>
#include <string>

namespace locbench::gaussian {

// The patch grid a token sequence lives on: prefix tokens (class token, registers) first, then rows x cols,
// row-major.
struct PatchGrid {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t num_prefix = 0;
  int64_t num_patches() const { return rows * cols; }
};

// Parameters of the bias over the patch tokens of a PatchGrid (Np = rows * cols).
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
torch::Tensor gaussian_bias(const GaussianBiasParams& params, const PatchGrid& grid);

// softmax(q k^T * scale + B + extra_bias) v over (B, h, N, d) tensors, B = gaussian_bias(params, grid); extra_bias
// (another additive bias broadcastable to (B, h, N, N), such as RelPosMlp's) may be undefined. With `fused` (timm's
// fused_attn) and arguments that fused_kernel_rejection accepts, B is computed inside the fused kernel of q's device
// and never stored; otherwise this is reference_gaussian_attention.
torch::Tensor gaussian_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                                 const GaussianBiasParams& params, const PatchGrid& grid, bool fused,
                                 const torch::Tensor& extra_bias = {});

// The name under which a fused call appears to op profiles and RecordFunction observers, with inputs (q, k, v).
inline constexpr const char* kFusedOpName = "locbench::gaussian_attention";

// The reference: B materialised, then ATen's attention (SDPA with B as its float mask when `fused`, the explicit
// softmax when not). Differentiable by autograd.
torch::Tensor reference_gaussian_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                           double scale, const GaussianBiasParams& params, const PatchGrid& grid,
                                           bool fused, const torch::Tensor& extra_bias = {});

// Why no fused kernel can run gaussian_attention with these arguments; empty when one can. Both take (B, H, N, D) q,
// k, v of one shape and dtype (fp32, bf16, fp16) on one device, N = num_prefix + rows * cols, var and amplitude as
// scalars, [1] (var also [2]) or (B|1, h|1, Np|1, 2|1) and (B|1, h|1, Np|1, 1).
//   CPU:  any head dim; an extra bias (B|1, h|1, N, N); no gradient (with grad mode on and an input that requires
//         grad, autograd takes the reference); not switched off by set_cpu_kernel_enabled.
//   CUDA: head dim 32, 64 or 128, no extra bias, B and H at most 65535, a build against a CUDA LibTorch.
std::string fused_kernel_rejection(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                   const GaussianBiasParams& params, const PatchGrid& grid,
                                   const torch::Tensor& extra_bias = {});

// The fused CPU path is on by default; off, CPU tensors take the reference (to measure what the kernel saves).
void set_cpu_kernel_enabled(bool enabled);
bool cpu_kernel_enabled();

}  // namespace locbench::gaussian
