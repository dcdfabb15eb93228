// Torch glue of the fused Gaussian-bias attention (GAug, arXiv 2603.04892; GAB, arXiv 2305.04722): tensors become
// the kernels' raw pointers and strides; forward keeps the per-row logsumexp that the backward recomputes P from.
#include "kernels/gaussian_attention/torch_gaussian_attention.h"

#include "kernels/gaussian_attention/gaussian_attention.h"
#include "kernels/gaussian_attention/torch_args.h"

#include <c10/core/DeviceGuard.h>
#ifdef LOCBENCH_TORCH_CUDA
// Includes c10/cuda/impl/cuda_cmake_macros.h, which only a CUDA LibTorch ships.
#include <c10/cuda/CUDAStream.h>
#endif

#include <string>

namespace locbench::kernels {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The non-tensor arguments of the kernels, kept in the autograd context from forward to backward.
struct Settings {
  double scale = 0.0, eps = 0.0;
  bool has_clamp = false;
  double clamp = 0.0;
  int64_t num_prefix = 0, rows = 0, cols = 0;

  void save(AutogradContext* ctx) const {
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["has_clamp"] = has_clamp;
    ctx->saved_data["clamp"] = clamp;
    ctx->saved_data["num_prefix"] = num_prefix;
    ctx->saved_data["rows"] = rows;
    ctx->saved_data["cols"] = cols;
  }
  GaussianAttentionArgs args(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& out, const torch::Tensor& var, const torch::Tensor& amplitude) const {
    return make_args(q, k, v, out, var, amplitude, scale, eps, has_clamp, clamp, num_prefix, rows, cols);
  }
  static Settings load(AutogradContext* ctx) {
    const auto& d = ctx->saved_data;
    return Settings{d.at("scale").toDouble(), d.at("eps").toDouble(),      d.at("has_clamp").toBool(),
                    d.at("clamp").toDouble(), d.at("num_prefix").toInt(), d.at("rows").toInt(),
                    d.at("cols").toInt()};
  }
};

cudaStream_t current_stream(const torch::Device& device) {
#ifdef LOCBENCH_TORCH_CUDA
  return c10::cuda::getCurrentCUDAStream(device.index()).stream();
#else
  TORCH_CHECK(false, "fused Gaussian attention on ", device, ": this build's LibTorch has no CUDA");
#endif
}

void check(cudaError_t error, const char* pass) {
  TORCH_CHECK(error == cudaSuccess, "fused Gaussian attention ", pass, ": ", cudaGetErrorString(error));
}

class FusedGaussianAttention : public torch::autograd::Function<FusedGaussianAttention> {
 public:
  // keep_lse: some input needs a gradient, so the logsumexp and the inputs are kept for the backward.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& var, const torch::Tensor& amplitude,
                               const Settings& settings, bool keep_lse) {
    c10::DeviceGuard guard(q.device());
    auto out = torch::empty(q.sizes(), q.options());
    GaussianAttentionArgs args = settings.args(q, k, v, out, var, amplitude);
    torch::Tensor lse;
    if (keep_lse) {
      lse = torch::empty({q.size(0), q.size(1), q.size(2)}, q.options().dtype(torch::kFloat32));
      args.lse = lse.data_ptr<float>();
    }
    const std::string problem = validate(args);
    TORCH_CHECK(problem.empty(), "fused Gaussian attention: ", problem);
    check(gaussian_attention_forward(args, current_stream(q.device())), "forward");
    if (keep_lse) {
      ctx->save_for_backward({q, k, v, out, lse, var, amplitude});
      settings.save(ctx);
    }
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    // The gradients are written by the kernels, outside autograd: a second derivative would silently be zero.
    TORCH_CHECK(!torch::GradMode::is_enabled(), "fused Gaussian attention: double backward is not implemented");
    constexpr size_t kForwardArgs = 7;  // q, k, v, var, amplitude, settings, keep_lse
    if (!grad_outputs[0].defined()) return variable_list(kForwardArgs);
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &out = saved[3], &lse = saved[4];
    const torch::Tensor &var = saved[5], &amplitude = saved[6];
    c10::DeviceGuard guard(q.device());
    const torch::Tensor dout = unit_last_stride(grad_outputs[0].to(q.scalar_type()));

    GaussianAttentionArgs args = Settings::load(ctx).args(q, k, v, out, var, amplitude);
    args.lse = lse.data_ptr<float>();
    auto dq = torch::empty(q.sizes(), q.options()), dk = torch::empty(q.sizes(), q.options());
    auto dv = torch::empty(q.sizes(), q.options());
    GaussianAttentionGrads grads;
    grads.dout = view(dout), grads.dq = view(dq), grads.dk = view(dk), grads.dv = view(dv);
    // Per-row gradients, contiguous (B, H, Np, 2) and (B, H, Np, 1): the shapes of the expanded var and amplitude.
    const auto f32 = q.options().dtype(torch::kFloat32);
    torch::Tensor dvar, damp;
    if (ctx->needs_input_grad(3)) {
      dvar = torch::empty(var.sizes(), f32);
      grads.dvar = dvar.data_ptr<float>();
    }
    if (ctx->needs_input_grad(4)) {
      damp = torch::empty(amplitude.sizes(), f32);
      grads.damp = damp.data_ptr<float>();
    }
    const std::string problem = validate(args, grads);
    TORCH_CHECK(problem.empty(), "fused Gaussian attention: ", problem);
    check(gaussian_attention_backward(args, grads, current_stream(q.device())), "backward");
    return {dq, dk, dv, dvar, damp, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor fused_gaussian_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       double scale, const gaussian::GaussianBiasParams& params,
                                       const gaussian::PatchGrid& grid) {
  const std::string rejection = gaussian::fused_kernel_rejection(q, k, v, params, grid);
  TORCH_CHECK(rejection.empty(), "fused Gaussian attention: ", rejection);
  // Always the kernels' GAug form: GAB's per-layer var = sigma^2 and amplitude = A^2 arrive as [1] tensors and, like
  // every layout fused_kernel_rejection accepts, expand to per-row views with stride 0 where a value is shared. The
  // backward writes one gradient per row; expand's own backward sums them back to the parameter's shape.
  const int64_t B = q.size(0), H = q.size(1), np = grid.num_patches();
  auto var = params.var.to(torch::kFloat32).expand({B, H, np, 2});
  auto amplitude = params.amplitude.to(torch::kFloat32).expand({B, H, np, 1});
  const Settings settings{scale,          params.eps, params.clamp.has_value(), params.clamp.value_or(0.0),
                          grid.num_prefix, grid.rows,  grid.cols};
  const bool keep_lse = torch::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() ||
                                                          v.requires_grad() || var.requires_grad() ||
                                                          amplitude.requires_grad());
  return FusedGaussianAttention::apply(unit_last_stride(q), unit_last_stride(k), unit_last_stride(v), var, amplitude,
                                       settings, keep_lse);
}

}  // namespace locbench::kernels
