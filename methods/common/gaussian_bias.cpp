// Shared Gaussian logit bias of LocAtViT GAug (arXiv 2603.04892) and GAB (arXiv 2305.04722):
// B[p,t] = amp[p] * exp(sum_m clamp(-dx_m^2 / 2, c) / (var[p,m] + eps)), zero for prefix tokens, added before softmax.
#include "methods/common/gaussian_bias.h"

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
  auto bias = gaussian_bias(params, grid);
  if (extra_bias.defined()) bias = bias + extra_bias;
  return layers::attention(q, k, v, scale, bias.to(q.dtype()), fused);
}

}  // namespace locbench::gaussian
