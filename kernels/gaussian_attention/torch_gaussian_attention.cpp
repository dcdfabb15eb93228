// Torch glue of the fused Gaussian-bias attention (GAug, arXiv 2603.04892; GAB, arXiv 2305.04722): tensors become
// the kernels' raw pointers and strides; forward keeps the per-row logsumexp that the backward recomputes P from.
#include "kernels/gaussian_attention/torch_gaussian_attention.h"

#include "kernels/gaussian_attention/gaussian_attention.h"

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

DType dtype_of(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return DType::kFloat32;
    case torch::kBFloat16: return DType::kBFloat16;
    case torch::kFloat16: return DType::kFloat16;
    default: TORCH_CHECK(false, "fused Gaussian attention: unsupported dtype ", t.scalar_type());
  }
}

AttentionTensor view(const torch::Tensor& t) { return {t.data_ptr(), t.stride(0), t.stride(1), t.stride(2)}; }

// The kernels read rows of the head dim with unit stride; other strides are free.
torch::Tensor unit_last_stride(const torch::Tensor& t) { return t.stride(3) == 1 ? t : t.contiguous(); }

// q, k, v, out: (B, H, N, D); var (B, H, Np, 2) and amplitude (B, H, Np, 1), fp32, with stride 0 where shared.
GaussianAttentionArgs make_args(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                const torch::Tensor& out, const torch::Tensor& var, const torch::Tensor& amplitude,
                                const Settings& s) {
  GaussianAttentionArgs a;
  a.dtype = dtype_of(q);
  a.batch = int(q.size(0)), a.heads = int(q.size(1)), a.seq_len = int(q.size(2)), a.head_dim = int(q.size(3));
  a.num_prefix = int(s.num_prefix), a.rows = int(s.rows), a.cols = int(s.cols);
  a.scale = float(s.scale);
  a.q = view(q), a.k = view(k), a.v = view(v), a.out = view(out);
  GaussianBiasArgs& g = a.bias;
  g.mode = BiasMode::kGAug;
  g.var = var.data_ptr<float>();
  g.var_stride_b = var.stride(0), g.var_stride_h = var.stride(1), g.var_stride_p = var.stride(2);
  g.var_stride_axis = var.stride(3);
  g.amplitude = amplitude.data_ptr<float>();
  g.amp_stride_b = amplitude.stride(0), g.amp_stride_h = amplitude.stride(1), g.amp_stride_p = amplitude.stride(2);
  g.eps = float(s.eps);
  g.has_clamp = s.has_clamp;
  g.clamp = float(s.clamp);
  return a;
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
    GaussianAttentionArgs args = make_args(q, k, v, out, var, amplitude, settings);
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

    GaussianAttentionArgs args = make_args(q, k, v, out, var, amplitude, Settings::load(ctx));
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
                                       const layers::TokenGrid& grid) {
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
