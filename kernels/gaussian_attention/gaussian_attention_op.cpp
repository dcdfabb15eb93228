// The Gaussian-bias attention op (GAug, arXiv 2603.04892; GAB, arXiv 2305.04722): the materialised ATen reference,
// B[p,t] = amp[p] * exp(sum_m clamp(-dx_m^2 / 2, c) / (var[p,m] + eps)), zero for prefix tokens, added before the
// softmax; and the choice between it and the fused kernels.
#include "kernels/gaussian_attention/gaussian_attention_op.h"

#include "kernels/gaussian_attention/cpu_gaussian_attention.h"
#include "kernels/gaussian_attention/torch_args.h"

#ifdef LOCBENCH_TORCH_CUDA
#include "kernels/gaussian_attention/torch_gaussian_attention.h"
#endif

#include <ATen/record_function.h>

#include <array>
#include <atomic>
#include <limits>

namespace locbench::gaussian {

namespace F = torch::nn::functional;

namespace {

std::atomic<bool> g_cpu_kernel{true};

// softmax(q k^T * scale + bias) v on ATen: SDPA with the bias as its float mask, or the explicit softmax.
torch::Tensor aten_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                             const torch::Tensor& bias, bool fused) {
  if (fused) return at::scaled_dot_product_attention(q, k, v, bias, 0.0, false, scale);
  auto logits = torch::matmul(q * scale, k.transpose(-2, -1)) + bias;
  return torch::matmul(logits.softmax(-1), v);
}

// The CPU kernel on arguments fused_kernel_rejection accepted: GAug form with per-row views (stride 0 where a value
// is shared), the extra bias as an fp32 (B, H, N, N) view.
torch::Tensor cpu_fused_attention(const torch::Tensor& q_in, const torch::Tensor& k_in, const torch::Tensor& v_in,
                                  double scale, const GaussianBiasParams& params, const PatchGrid& grid,
                                  const torch::Tensor& extra_bias) {
  using kernels::unit_last_stride;
  const auto q = unit_last_stride(q_in), k = unit_last_stride(k_in), v = unit_last_stride(v_in);
  const int64_t B = q.size(0), H = q.size(1), N = q.size(2), np = grid.num_patches();
  const auto var = params.var.to(torch::kFloat32).expand({B, H, np, 2});
  const auto amplitude = params.amplitude.to(torch::kFloat32).expand({B, H, np, 1});
  auto out = torch::empty(q.sizes(), q.options());
  kernels::GaussianAttentionArgs args =
      kernels::make_args(q, k, v, out, var, amplitude, scale, params.eps, params.clamp.has_value(),
                         params.clamp.value_or(0.0), grid.num_prefix, grid.rows, grid.cols);
  torch::Tensor extra;
  if (extra_bias.defined()) {
    extra = extra_bias.to(torch::kFloat32).expand({B, H, N, N});
    if (extra.stride(3) != 1) extra = extra.contiguous();
    args.extra = {extra.data_ptr<float>(), extra.stride(0), extra.stride(1), extra.stride(2)};
  }
  kernels::cpu_gaussian_attention_forward(args);
  return out;
}

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

bool needs_grad(const torch::Tensor& t) { return t.defined() && t.requires_grad(); }

std::string cuda_rejection(const torch::Tensor& q, const torch::Tensor& extra_bias) {
  if (extra_bias.defined()) return "an extra additive bias (such as RelPosMlp's) is not fused on CUDA";
  const int64_t D = q.size(3);
  if (D != 32 && D != 64 && D != 128) return "the head dim must be 32, 64 or 128 on CUDA";
  if (q.size(0) > 65535 || q.size(1) > 65535) return "batch and heads must be at most 65535 (a CUDA grid dimension)";
#ifndef LOCBENCH_TORCH_CUDA
  return "this build's LibTorch has no CUDA";
#else
  return {};
#endif
}

std::string cpu_rejection(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          const GaussianBiasParams& params, const torch::Tensor& extra_bias) {
  if (!cpu_kernel_enabled()) return "the fused CPU kernel is switched off (gaussian::set_cpu_kernel_enabled)";
  if (extra_bias.defined()) {
    const int64_t N = q.size(2);
    if (extra_bias.dim() != 4 || extra_bias.size(2) != N || extra_bias.size(3) != N ||
        !broadcasts_to(extra_bias, {q.size(0), q.size(1), N, N}))
      return "an extra bias must be (B|1, h|1, N, N)";
    if (!extra_bias.is_floating_point()) return "an extra bias must be floating point";
    if (extra_bias.device() != q.device()) return "the extra bias must be on q's device";
  }
  if (torch::GradMode::is_enabled() && (needs_grad(q) || needs_grad(k) || needs_grad(v) || needs_grad(params.var) ||
                                        needs_grad(params.amplitude) || needs_grad(extra_bias)))
    return "the fused CPU kernel has no backward: with a gradient to compute, autograd takes the reference";
  return {};
}

}  // namespace

void set_cpu_kernel_enabled(bool enabled) { g_cpu_kernel.store(enabled); }
bool cpu_kernel_enabled() { return g_cpu_kernel.load(); }

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

torch::Tensor gaussian_bias(const GaussianBiasParams& params, const PatchGrid& grid) {
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

torch::Tensor reference_gaussian_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                           double scale, const GaussianBiasParams& params, const PatchGrid& grid,
                                           bool fused, const torch::Tensor& extra_bias) {
  auto bias = gaussian_bias(params, grid);
  if (extra_bias.defined()) bias = bias + extra_bias;
  return aten_attention(q, k, v, scale, bias.to(q.dtype()), fused);
}

torch::Tensor gaussian_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                                 const GaussianBiasParams& params, const PatchGrid& grid, bool fused,
                                 const torch::Tensor& extra_bias) {
  if (fused && fused_kernel_rejection(q, k, v, params, grid, extra_bias).empty()) {
    // Seen by op profiles and the MAC counter (harness/compute/macs.cpp counts it as SDPA's two matmuls).
    RECORD_FUNCTION(kFusedOpName, std::vector<c10::IValue>({q, k, v}));
#ifdef LOCBENCH_TORCH_CUDA
    if (q.is_cuda()) return kernels::fused_gaussian_attention(q, k, v, scale, params, grid);
#endif
    return cpu_fused_attention(q, k, v, scale, params, grid, extra_bias);
  }
  return reference_gaussian_attention(q, k, v, scale, params, grid, fused, extra_bias);
}

std::string fused_kernel_rejection(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                   const GaussianBiasParams& params, const PatchGrid& grid,
                                   const torch::Tensor& extra_bias) {
  if (q.dim() != 4 || k.sizes() != q.sizes() || v.sizes() != q.sizes())
    return "q, k and v must be (B, H, N, D) tensors of one shape";
  const auto dtype = q.scalar_type();
  if (k.scalar_type() != dtype || v.scalar_type() != dtype) return "q, k and v must have one dtype";
  if (dtype != torch::kFloat32 && dtype != torch::kBFloat16 && dtype != torch::kFloat16)
    return "the dtype must be float32, bfloat16 or float16";
  const int64_t B = q.size(0), H = q.size(1), N = q.size(2);
  if (B == 0 || H == 0 || q.size(3) == 0) return "empty batch, heads or head dim";
  if (grid.rows <= 0 || grid.cols <= 0 || grid.num_prefix < 0 || N != grid.num_prefix + grid.num_patches())
    return "N must equal num_prefix + rows * cols of the grid";
  if (N > std::numeric_limits<int>::max() / 2) return "N is too large for the kernels' indices";
  if (!params.var.defined() || !params.amplitude.defined()) return "var and amplitude are required";
  if (!params.var.is_floating_point() || !params.amplitude.is_floating_point())
    return "var and amplitude must be floating point";
  if (!broadcasts_to(params.var, {B, H, grid.num_patches(), 2}))
    return "var must be a scalar, [1], [2] or (B|1, h|1, Np|1, 2|1)";
  if (!broadcasts_to(params.amplitude, {B, H, grid.num_patches(), 1}))
    return "amplitude must be a scalar, [1] or (B|1, h|1, Np|1, 1)";
  for (const auto* t : {&k, &v, &params.var, &params.amplitude})
    if (t->device() != q.device()) return "q, k, v, var and amplitude must be on one device";
  if (q.is_cuda()) return cuda_rejection(q, extra_bias);
  if (q.is_cpu()) return cpu_rejection(q, k, v, params, extra_bias);
  return "q is neither a CPU nor a CUDA tensor";
}

}  // namespace locbench::gaussian
