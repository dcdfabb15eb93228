// Shared Gaussian logit bias of LocAtViT GAug (arXiv 2603.04892) and GAB (arXiv 2305.04722):
// B[p,t] = amp[p] * exp(sum_m clamp(-dx_m^2 / 2, c) / (var[p,m] + eps)), zero for prefix tokens, added before softmax.
#include "methods/common/gaussian_bias.h"

#ifdef LOCBENCH_TORCH_CUDA
#include "kernels/gaussian_attention/torch_gaussian_attention.h"
#endif

#include <array>

namespace locbench::gaussian {

namespace F = torch::nn::functional;

GaussianBiasParams isotropic(const torch::Tensor& sigma, const torch::Tensor& amplitude) {
  // exp(-(dr^2 + dc^2) / (2 sigma^2)) = exp(sum_m (-dx_m^2 / 2) / sigma^2): the GAug form with var = sigma^2, eps 0.
  return GaussianBiasParams{sigma * sigma, amplitude * amplitude, 0.0, std::nullopt};
}

std::array<torch::Tensor, 2> gaussian_numerators(int64_t rows, int64_t cols, std::optional<double> clamp,
                                                 const torch::TensorOptions& options) {
  auto r = torch::arange(rows, options).repeat_interleave(cols);  // row index of each patch, row-major
  auto c = torch::arange(cols, options).repeat(rows);               // column index of each patch
  std::array<torch::Tensor, 2> out;
  int axis = 0;
  for (const auto& coord : {r, c}) {
    auto d = -0.5 * (coord.unsqueeze(1) - coord.unsqueeze(0)).pow(2);
    // LocAtViT saturates offsets beyond the training grid so unseen distances do not underflow fp16.
    if (clamp) d = d.clamp_min(*clamp);
    out[axis++] = d;
  }
  return out;
}

torch::Tensor gaussian_bias(const GaussianBiasParams& params, const layers::TokenGrid& grid) {
  TORCH_CHECK(params.var.defined() && params.amplitude.defined(), "gaussian_bias: var and amplitude are required");
  // The reference computes the Gaussian outside autocast; fp32 is the equivalent here.
  auto var = params.var.to(torch::kFloat32);
  auto amplitude = params.amplitude.to(torch::kFloat32);
  auto [d_row, d_col] = gaussian_numerators(grid.rows, grid.cols, params.clamp, var.options());
  // var (..., Np, 2) per query or a scalar: select each axis, keep a trailing key axis for broadcasting.
  auto axis_var = [&](int64_t m) {
    auto v = var.dim() == 0 || var.size(-1) == 1 ? var : var.select(-1, m);
    return var.dim() >= 2 ? v.unsqueeze(-1) : v;
  };
  auto exponent = d_row / (axis_var(0) + params.eps) + d_col / (axis_var(1) + params.eps);
  auto bias = amplitude * exponent.exp();
  while (bias.dim() < 4) bias = bias.unsqueeze(0);
  if (grid.num_prefix > 0)  // prefix tokens (class token, registers) neither give nor receive the bias
    bias = F::pad(bias, F::PadFuncOptions({grid.num_prefix, 0, grid.num_prefix, 0}));
  return bias;
}

torch::Tensor gaussian_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                                 const GaussianBiasParams& params, const layers::TokenGrid& grid, bool fused,
                                 const torch::Tensor& extra_bias) {
#ifdef LOCBENCH_TORCH_CUDA
  if (fused && fused_kernel_rejection(q, k, v, params, grid, extra_bias).empty())
    return kernels::fused_gaussian_attention(q, k, v, scale, params, grid);
#endif
  auto bias = gaussian_bias(params, grid);
  if (extra_bias.defined()) bias = bias + extra_bias;
  return layers::attention(q, k, v, scale, bias.to(q.dtype()), fused);
}

namespace {

// A scalar, a 1-D tensor of size 1 or shape[3], or 4-D with each size that of `shape` or 1: the layouts in which
// broadcasting to `shape` means what gaussian_bias makes of them.
bool broadcasts_to(const torch::Tensor& t, const std::array<int64_t, 4>& shape) {
  if (t.dim() == 0) return true;
  if (t.dim() == 1) return t.size(0) == 1 || t.size(0) == shape[3];
  if (t.dim() != 4) return false;
  for (int64_t i = 0; i < 4; ++i)
    if (t.size(i) != 1 && t.size(i) != shape[i]) return false;
  return true;
}

}  // namespace

std::string fused_kernel_rejection(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                   const GaussianBiasParams& params, const layers::TokenGrid& grid,
                                   const torch::Tensor& extra_bias) {
  if (extra_bias.defined()) return "an extra additive bias (such as RelPosMlp's) is not fused";
  if (q.dim() != 4 || k.sizes() != q.sizes() || v.sizes() != q.sizes())
    return "q, k and v must be (B, H, N, D) tensors of one shape";
  const auto dtype = q.scalar_type();
  if (k.scalar_type() != dtype || v.scalar_type() != dtype) return "q, k and v must have one dtype";
  if (dtype != torch::kFloat32 && dtype != torch::kBFloat16 && dtype != torch::kFloat16)
    return "the dtype must be float32, bfloat16 or float16";
  const int64_t B = q.size(0), H = q.size(1), N = q.size(2), D = q.size(3);
  if (D != 32 && D != 64 && D != 128) return "the head dim must be 32, 64 or 128";
  if (B == 0 || H == 0) return "empty batch or heads";
  if (B > 65535 || H > 65535) return "batch and heads must be at most 65535 (a CUDA grid dimension)";
  if (grid.rows <= 0 || grid.cols <= 0 || grid.num_prefix < 0 || N != grid.num_prefix + grid.num_patches())
    return "N must equal num_prefix + rows * cols of the grid";
  if (!params.var.defined() || !params.amplitude.defined()) return "var and amplitude are required";
  if (!params.var.is_floating_point() || !params.amplitude.is_floating_point())
    return "var and amplitude must be floating point";
  if (!broadcasts_to(params.var, {B, H, grid.num_patches(), 2}))
    return "var must be a scalar, [1], [2] or (B|1, h|1, Np|1, 2|1)";
  if (!broadcasts_to(params.amplitude, {B, H, grid.num_patches(), 1}))
    return "amplitude must be a scalar, [1] or (B|1, h|1, Np|1, 1)";
  for (const auto* t : {&k, &v, &params.var, &params.amplitude})
    if (t->device() != q.device()) return "q, k, v, var and amplitude must be on one device";
  if (!q.is_cuda()) return "q is not a CUDA tensor";
#ifndef LOCBENCH_TORCH_CUDA
  return "this build's LibTorch has no CUDA";
#else
  return {};
#endif
}

}  // namespace locbench::gaussian
