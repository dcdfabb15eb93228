// Parity of the fused kernels' reference (kernels/gaussian_attention/reference.h) with the ATen Gaussian-bias attention
// the models run (gaussian_attention_op.h): the kernels must compute what GAug and GAB compute, same parameters.
#include "kernels/gaussian_attention/reference.h"
#include "kernels/gaussian_attention/gaussian_attention_op.h"

#include <gtest/gtest.h>

namespace {

using namespace locbench;
using kernels::AttentionTensor;
using kernels::BiasMode;

// Runs the kernel reference on contiguous fp32 (B, H, N, D) tensors with the given bias arguments.
torch::Tensor kernel_reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                               const gaussian::PatchGrid& grid, kernels::GaussianBiasArgs bias,
                               kernels::ExtraBias extra = {}) {
  auto out = torch::empty_like(q);
  kernels::GaussianAttentionArgs a;
  a.dtype = kernels::DType::kFloat32;
  a.batch = q.size(0), a.heads = q.size(1), a.seq_len = q.size(2), a.head_dim = q.size(3);
  a.num_prefix = grid.num_prefix, a.rows = grid.rows, a.cols = grid.cols;
  a.scale = float(scale);
  auto view = [](const torch::Tensor& t) {
    return AttentionTensor{t.data_ptr(), t.stride(0), t.stride(1), t.stride(2)};
  };
  a.q = view(q), a.k = view(k), a.v = view(v), a.out = view(out);
  a.bias = bias;
  a.extra = extra;
  kernels::reference_forward(a);
  return out;
}

TEST(GaussianAttentionParity, GAugReferenceMatchesATen) {
  torch::manual_seed(0);
  const gaussian::PatchGrid grid{6, 5, 1};  // non-square, a class token
  const int64_t B = 2, H = 3, N = 31, D = 32;
  auto q = torch::randn({B, H, N, D}), k = torch::randn({B, H, N, D}), v = torch::randn({B, H, N, D});
  auto var = (torch::rand({B, H, 30, 2}) * 8 + 0.3).contiguous();
  auto amplitude = (torch::rand({B, H, 30, 1}) * 2).contiguous();
  // A grid of 4 at training time: the clamp (-4.5) bites on this 6 x 5 grid.
  gaussian::GaussianBiasParams params{var, amplitude, kernels::locatvit_eps(4), kernels::locatvit_clamp(4)};
  const auto expected = gaussian::gaussian_attention(q, k, v, 0.125, params, grid, /*fused=*/false);

  kernels::GaussianBiasArgs bias;
  bias.mode = BiasMode::kGAug;
  bias.var = var.data_ptr<float>(), bias.var_stride_b = var.stride(0), bias.var_stride_h = var.stride(1);
  bias.var_stride_p = var.stride(2), bias.var_stride_axis = var.stride(3);
  bias.amplitude = amplitude.data_ptr<float>(), bias.amp_stride_b = amplitude.stride(0);
  bias.amp_stride_h = amplitude.stride(1), bias.amp_stride_p = amplitude.stride(2);
  bias.eps = kernels::locatvit_eps(4), bias.has_clamp = true, bias.clamp = kernels::locatvit_clamp(4);
  EXPECT_TRUE(torch::allclose(kernel_reference(q, k, v, 0.125, grid, bias), expected, 1e-5, 1e-5));
}

// GAB on a relpos ViT: RelPosMlp's (1, h, N, N) bias is another term beside the Gaussian, in the kernels too.
TEST(GaussianAttentionParity, GABWithExtraBiasReferenceMatchesATen) {
  torch::manual_seed(2);
  const gaussian::PatchGrid grid{5, 6, 0};
  const int64_t B = 2, H = 2, N = 30, D = 16;
  auto q = torch::randn({B, H, N, D}), k = torch::randn({B, H, N, D}), v = torch::randn({B, H, N, D});
  auto sigma = torch::tensor({1.3f}), amplitude = torch::tensor({0.9f});
  auto extra = torch::randn({1, H, N, N});
  const auto expected = gaussian::gaussian_attention(q, k, v, 0.125, gaussian::isotropic(sigma, amplitude), grid,
                                                     /*fused=*/false, extra);
  kernels::GaussianBiasArgs bias;
  bias.mode = BiasMode::kGAB;
  bias.gab_amplitude = amplitude.data_ptr<float>(), bias.gab_sigma = sigma.data_ptr<float>();
  const kernels::ExtraBias e{extra.data_ptr<float>(), 0, extra.stride(1), extra.stride(2)};
  EXPECT_TRUE(torch::allclose(kernel_reference(q, k, v, 0.125, grid, bias, e), expected, 1e-5, 1e-5));
}

TEST(GaussianAttentionParity, GABReferenceMatchesATen) {
  torch::manual_seed(1);
  const gaussian::PatchGrid grid{7, 7, 0};
  const int64_t B = 1, H = 2, N = 49, D = 64;
  auto q = torch::randn({B, H, N, D}), k = torch::randn({B, H, N, D}), v = torch::randn({B, H, N, D});
  auto sigma = torch::tensor({1.7f}), amplitude = torch::tensor({-1.3f});  // squared: the sign must not matter
  const auto expected =
      gaussian::gaussian_attention(q, k, v, 0.125, gaussian::isotropic(sigma, amplitude), grid, /*fused=*/false);

  kernels::GaussianBiasArgs bias;
  bias.mode = BiasMode::kGAB;
  bias.gab_amplitude = amplitude.data_ptr<float>(), bias.gab_sigma = sigma.data_ptr<float>();
  EXPECT_TRUE(torch::allclose(kernel_reference(q, k, v, 0.125, grid, bias), expected, 1e-5, 1e-5));
}

}  // namespace
