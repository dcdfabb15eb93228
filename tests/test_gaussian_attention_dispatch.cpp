// Which path gaussian::gaussian_attention takes (kernels/gaussian_attention/gaussian_attention_op.h): a fused kernel
// (CPU or CUDA) for the arguments fused_kernel_rejection accepts, the ATen reference otherwise; the CPU kernel against
// that reference; and, on a GPU with a CUDA LibTorch, the CUDA kernels' forward and gradients against it.
#include "kernels/gaussian_attention/gaussian_attention_op.h"

#ifdef LOCBENCH_TORCH_CUDA
#include "kernels/gaussian_attention/torch_gaussian_attention.h"
#endif

#include <gtest/gtest.h>

namespace {

using namespace locbench;

// max |got - want| / max |want|, in double on the CPU (NaN stays NaN and fails every bound).
double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  const auto g = got.detach().to(torch::kCPU, torch::kFloat64), w = want.detach().to(torch::kCPU, torch::kFloat64);
  return ((g - w).abs().max() / w.abs().max().clamp_min(1e-30)).item<double>();
}

// LocAtViT-like arguments on the CPU: (B, H, N, D) = (2, 3, 31, 64), a class token on a 6 x 5 grid, per-query var and
// amplitude, the clamp of a 4-grid biting.
struct Arguments {
  gaussian::PatchGrid grid{6, 5, 1};
  torch::Tensor q = torch::randn({2, 3, 31, 64}), k = torch::randn({2, 3, 31, 64}), v = torch::randn({2, 3, 31, 64});
  gaussian::GaussianBiasParams params{torch::rand({2, 3, 30, 2}) + 0.5, torch::rand({2, 3, 30, 1}), 0.1, -4.5};
  torch::Tensor extra_bias;

  std::string rejection() const { return gaussian::fused_kernel_rejection(q, k, v, params, grid, extra_bias); }
};

void expect_rejected(const Arguments& a, const std::string& reason) {
  EXPECT_NE(a.rejection(), "") << reason;
  EXPECT_NE(a.rejection().find(reason), std::string::npos) << a.rejection();
}

TEST(GaussianAttentionDispatch, FusedKernelRejectionNamesTheReason) {
  EXPECT_EQ(Arguments{}.rejection(), "");  // the CPU kernel takes LocAtViT's arguments
  {
    Arguments a;  // GAB's per-layer scalars with a RelPosMlp-like bias beside them
    a.params = gaussian::isotropic(torch::tensor({1.7f}), torch::tensor({0.8f}));
    a.extra_bias = torch::zeros({1, 3, 31, 31});
    EXPECT_EQ(a.rejection(), "");
  }
  {
    Arguments a;  // bf16, head dim 48, a 5 x 6 grid, one var for both axes, one amplitude per head
    a.q = a.q.narrow(3, 0, 48).to(torch::kBFloat16), a.k = a.k.narrow(3, 0, 48).to(torch::kBFloat16);
    a.v = a.v.narrow(3, 0, 48).to(torch::kBFloat16);
    a.grid = {5, 6, 1};
    a.params.var = torch::rand({2, 3, 30, 1}) + 0.5, a.params.amplitude = torch::rand({1, 3, 1, 1});
    EXPECT_EQ(a.rejection(), "");
  }
  {
    Arguments a;
    a.extra_bias = torch::zeros({1, 3, 31, 30});
    expect_rejected(a, "extra bias must be");
  }
  {
    Arguments a;
    a.q = a.q.to(torch::kFloat64), a.k = a.k.to(torch::kFloat64), a.v = a.v.to(torch::kFloat64);
    expect_rejected(a, "dtype");
  }
  {
    Arguments a;
    a.k = a.k.to(torch::kBFloat16);
    expect_rejected(a, "one dtype");
  }
  {
    Arguments a;
    a.v = a.v.narrow(2, 0, 30);
    expect_rejected(a, "one shape");
  }
  {
    Arguments a;
    a.grid = {5, 5, 1};
    expect_rejected(a, "num_prefix + rows * cols");
  }
  {
    Arguments a;  // a (B, h, Np) var has no axis dimension: gaussian_bias would read it differently
    a.params.var = torch::rand({2, 3, 30});
    expect_rejected(a, "var must be");
  }
  {
    Arguments a;
    a.params.amplitude = torch::rand({2, 3, 30, 2});
    expect_rejected(a, "amplitude must be");
  }
  {
    Arguments a;  // a gradient to compute: the CPU kernel has no backward
    a.params.var.requires_grad_();
    expect_rejected(a, "no backward");
    torch::NoGradGuard no_grad;  // without grad mode the same arguments are fine
    EXPECT_EQ(a.rejection(), "");
  }
  {
    gaussian::set_cpu_kernel_enabled(false);
    expect_rejected(Arguments{}, "switched off");
    gaussian::set_cpu_kernel_enabled(true);
  }
}

// CPU tensors take the fused kernel, which equals the reference (materialised bias and SDPA) up to fp32 rounding;
// switched off, the path is the reference bit for bit.
TEST(GaussianAttentionDispatch, CpuTensorsTakeTheFusedKernel) {
  torch::manual_seed(3);
  const Arguments a;
  const auto fused = gaussian::gaussian_attention(a.q, a.k, a.v, 0.125, a.params, a.grid, /*fused=*/true);
  const auto want = gaussian::reference_gaussian_attention(a.q, a.k, a.v, 0.125, a.params, a.grid, true);
  EXPECT_LT(relative_error(fused, want), 1e-5);
  EXPECT_FALSE(fused.requires_grad());
  gaussian::set_cpu_kernel_enabled(false);
  const auto reference = gaussian::gaussian_attention(a.q, a.k, a.v, 0.125, a.params, a.grid, true);
  gaussian::set_cpu_kernel_enabled(true);
  EXPECT_TRUE(torch::equal(reference, want));
  // fused = false is timm's explicit-softmax path: always the reference.
  const auto explicit_softmax = gaussian::gaussian_attention(a.q, a.k, a.v, 0.125, a.params, a.grid, false);
  EXPECT_TRUE(torch::equal(explicit_softmax,
                           gaussian::reference_gaussian_attention(a.q, a.k, a.v, 0.125, a.params, a.grid, false)));
}

// With a gradient to compute, autograd runs the reference: the same bits, and gradients reach every input.
TEST(GaussianAttentionDispatch, TrainingTakesTheReferenceWithGradients) {
  torch::manual_seed(4);
  Arguments a;
  a.q.requires_grad_(), a.params.var.requires_grad_(), a.params.amplitude.requires_grad_();
  const auto out = gaussian::gaussian_attention(a.q, a.k, a.v, 0.125, a.params, a.grid, true);
  EXPECT_TRUE(torch::equal(out, gaussian::reference_gaussian_attention(a.q, a.k, a.v, 0.125, a.params, a.grid, true)));
  out.sum().backward();
  for (const auto* t : {&a.q, &a.params.var, &a.params.amplitude}) {
    ASSERT_TRUE(t->grad().defined());
    EXPECT_GT(t->grad().abs().max().item<double>(), 0.0);
  }
}

// The CPU kernel in `dtype` against the reference in fp32 on the same (rounded) values, on q, k, v sliced from one qkv
// projection as the models do (strided views). LocAtViT-like: per-query var and amplitude, a class token, a 10 x 12
// grid with the clamp of a 7-grid biting. GAB-like: sigma and A scalars with a RelPosMlp-like bias, no prefix, 8 x 8.
void expect_cpu_kernel_matches_aten(torch::ScalarType dtype, bool gab) {
  torch::manual_seed(gab ? 13 : 14);
  const gaussian::PatchGrid grid = gab ? gaussian::PatchGrid{8, 8, 0} : gaussian::PatchGrid{10, 12, 1};
  const int64_t B = 2, H = 3, D = gab ? 32 : 64, N = grid.num_prefix + grid.num_patches(), np = grid.num_patches();
  torch::NoGradGuard no_grad;
  const auto qkv = torch::randn({B, N, 3, H, D}).to(dtype);
  const auto heads = qkv.permute({2, 0, 3, 1, 4}), heads32 = heads.to(torch::kFloat32);
  const auto params = gab ? gaussian::isotropic(torch::tensor({1.7f}), torch::tensor({-1.3f}))
                          : gaussian::GaussianBiasParams{torch::rand({B, H, np, 2}) * 8 + 0.3,
                                                         torch::rand({B, H, np, 1}) * 2, 0.1, -18.0};
  const auto extra = gab ? torch::randn({1, H, N, N}) : torch::Tensor();
  ASSERT_EQ(gaussian::fused_kernel_rejection(heads[0], heads[1], heads[2], params, grid, extra), "");
  const auto got = gaussian::gaussian_attention(heads[0], heads[1], heads[2], 0.125, params, grid, true, extra);
  const auto want =
      gaussian::reference_gaussian_attention(heads32[0], heads32[1], heads32[2], 0.125, params, grid, false, extra);
  EXPECT_EQ(got.scalar_type(), dtype);
  EXPECT_LT(relative_error(got, want), dtype == torch::kFloat32 ? 1e-5 : 4e-3)
      << (gab ? "GAB " : "LocAtViT ") << c10::toString(dtype);
}

TEST(GaussianAttentionDispatch, CpuKernelMatchesATen) {
  for (auto dtype : {torch::kFloat32, torch::kBFloat16, torch::kFloat16})
    for (bool gab : {false, true}) expect_cpu_kernel_matches_aten(dtype, gab);
}

#ifdef LOCBENCH_TORCH_CUDA
// The glue in `dtype` against the ATen reference in fp32 on the same (rounded) values, forward and every gradient.
// LocAtViT-like: per-query var and amplitude, a class token, a 10 x 12 grid with the clamp of a 7-grid biting.
// GAB-like: sigma and A scalars (var = sigma^2, amplitude = A^2, shape [1]), no prefix, 8 x 8.
void expect_fused_matches_aten(torch::ScalarType dtype, bool gab) {
  torch::manual_seed(gab ? 11 : 12);
  const gaussian::PatchGrid grid = gab ? gaussian::PatchGrid{8, 8, 0} : gaussian::PatchGrid{10, 12, 1};
  const int64_t B = 2, H = 3, D = gab ? 32 : 64, N = grid.num_prefix + grid.num_patches(), np = grid.num_patches();
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  // q, k, v as the models slice them from one qkv projection: strided (B, H, N, D) views.
  auto qkv = torch::randn({B, N, 3, H, D}, cuda).to(dtype).requires_grad_();
  auto var = gab ? torch::tensor({1.7f}, cuda) : torch::rand({B, H, np, 2}, cuda) * 8 + 0.3;
  auto amplitude = gab ? torch::tensor({-1.3f}, cuda) : torch::rand({B, H, np, 1}, cuda) * 2;
  var.requires_grad_(), amplitude.requires_grad_();
  auto qkv_ref = qkv.detach().to(torch::kFloat32).requires_grad_();
  auto var_ref = var.detach().clone().requires_grad_(), amplitude_ref = amplitude.detach().clone().requires_grad_();
  auto params = [&](const torch::Tensor& v, const torch::Tensor& a) {
    return gab ? gaussian::isotropic(v, a) : gaussian::GaussianBiasParams{v, a, 0.1, -18.0};
  };
  auto attend = [&](const torch::Tensor& x, const gaussian::GaussianBiasParams& p, bool kernel) {
    auto heads = x.permute({2, 0, 3, 1, 4});
    return kernel ? kernels::fused_gaussian_attention(heads[0], heads[1], heads[2], 0.125, p, grid)
                  : gaussian::reference_gaussian_attention(heads[0], heads[1], heads[2], 0.125, p, grid, false);
  };
  const auto out = attend(qkv, params(var, amplitude), true);
  const auto out_ref = attend(qkv_ref, params(var_ref, amplitude_ref), false);
  {
    torch::NoGradGuard no_grad;  // the models' entry takes the same kernels: same bits
    auto heads = qkv.permute({2, 0, 3, 1, 4});
    EXPECT_TRUE(torch::equal(
        gaussian::gaussian_attention(heads[0], heads[1], heads[2], 0.125, params(var, amplitude), grid, true), out));
  }
  const auto g = torch::randn_like(out_ref);
  (out.to(torch::kFloat32) * g).sum().backward();
  (out_ref * g).sum().backward();

  const double tol = dtype == torch::kFloat32 ? 1e-4 : 5e-2;
  const std::string what = std::string(gab ? "GAB " : "LocAtViT ") + c10::toString(dtype) + ": ";
  EXPECT_LT(relative_error(out, out_ref), dtype == torch::kFloat32 ? 1e-4 : 1e-2) << what << "out";
  EXPECT_LT(relative_error(qkv.grad(), qkv_ref.grad()), tol) << what << "d(q, k, v)";
  EXPECT_LT(relative_error(var.grad(), var_ref.grad()), tol) << what << "dvar";
  EXPECT_LT(relative_error(amplitude.grad(), amplitude_ref.grad()), tol) << what << "damp";
}
#endif

TEST(GaussianAttentionDispatch, CudaKernelMatchesATenForwardAndGradients) {
#ifndef LOCBENCH_TORCH_CUDA
  GTEST_SKIP() << "built against a CPU LibTorch: gaussian_attention has no CUDA path";
#else
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (auto dtype : {torch::kFloat32, torch::kBFloat16})
    for (bool gab : {false, true}) expect_fused_matches_aten(dtype, gab);
#endif
}

}  // namespace
