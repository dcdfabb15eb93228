// Correctness of the fused Gaussian-bias attention (GAug / GAB) on the CPU: the reference against the papers' closed
// forms and, for the backward, finite differences; the CPU kernel against the reference over the shape table
// (test_gaussian_attention_table.h), printing its largest errors per row. The CUDA kernels' rows are in
// test_gaussian_attention_cuda.cpp.
#include "kernels/gaussian_attention/cpu_gaussian_attention.h"
#include "kernels/gaussian_attention/reference.h"
#include "kernels/gaussian_attention/test_gaussian_attention_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace locbench::kernels;
using namespace locbench::kernels::testing;

// --- Everywhere: the reference against the papers. ------------------------------------------------------------

// Single-token GAug/GAB problem whose bias parameters are set by hand.
GaussianAttentionArgs bias_only_args(BiasMode mode, const float* var, const float* amp, int rows, int cols) {
  GaussianAttentionArgs a;
  a.rows = rows, a.cols = cols, a.num_prefix = 1, a.seq_len = 1 + rows * cols;
  a.bias.mode = mode;
  a.bias.var = var, a.bias.var_stride_axis = 1;  // every query shares var[0..1] and amp[0] (strides 0)
  a.bias.amplitude = amp;
  a.bias.gab_amplitude = amp, a.bias.gab_sigma = var;
  a.bias.eps = locatvit_eps(14);
  a.bias.has_clamp = mode == BiasMode::kGAug;
  a.bias.clamp = locatvit_clamp(14);
  return a;
}

TEST(GaussianAttentionReference, LocAtViTConstantsFollowTheInitialGrid) {
  EXPECT_FLOAT_EQ(locatvit_eps(14), 0.1f);
  EXPECT_FLOAT_EQ(locatvit_eps(26), 0.1f);
  EXPECT_FLOAT_EQ(locatvit_eps(27), 0.2f);
  EXPECT_FLOAT_EQ(locatvit_eps(52), 0.4f);
  EXPECT_FLOAT_EQ(locatvit_clamp(14), -84.5f);
  EXPECT_FLOAT_EQ(locatvit_clamp(7), -18.0f);
  EXPECT_FLOAT_EQ(locatvit_clamp(200), -6550.0f);
}

// LocAtViT's values at initialisation (sinahmr/LocAtViT): var 1, EPS 0.1, alpha = softplus(0) = ln 2.
TEST(GaussianAttentionReference, GAugBiasMatchesPaperInitialValues) {
  const float var[2] = {1.0f, 1.0f}, amp[1] = {float(std::log(2.0))};
  const auto a = bias_only_args(BiasMode::kGAug, var, amp, 14, 14);
  const int p = 1 + 5 * 14 + 5;  // query at (5, 5)
  auto at = [&](int dr, int dc) { return reference_gaussian_bias(a, 0, 0, p, p + dr * 14 + dc); };
  EXPECT_NEAR(at(0, 0), 0.6931, 1e-4);
  EXPECT_NEAR(at(0, 1), 0.4400, 1e-4);
  EXPECT_NEAR(at(1, 1), 0.2793, 1e-4);
  EXPECT_NEAR(at(0, 2), 0.1125, 1e-4);
  EXPECT_NEAR(at(2, 2), 0.0183, 1e-4);
  EXPECT_EQ(reference_gaussian_bias(a, 0, 0, 0, p), 0.0);  // class token row
  EXPECT_EQ(reference_gaussian_bias(a, 0, 0, p, 0), 0.0);  // class token column
}

// GAB's initial sigma 5, A 1: quoted values for offsets (0,1), (0,5), (13,13).
TEST(GaussianAttentionReference, GABBiasMatchesPaperInitialValues) {
  const float sigma[1] = {5.0f}, amplitude[1] = {1.0f};
  const auto a = bias_only_args(BiasMode::kGAB, sigma, amplitude, 14, 14);
  EXPECT_NEAR(reference_gaussian_bias(a, 0, 0, 1, 1 + 1), 0.980, 1e-3);
  EXPECT_NEAR(reference_gaussian_bias(a, 0, 0, 1, 1 + 5), 0.607, 1e-3);
  EXPECT_NEAR(reference_gaussian_bias(a, 0, 0, 1, 1 + 13 * 14 + 13), 0.0012, 1e-4);
}

// The clamp saturates per-axis offsets beyond the initial grid: |dr| = 20 on a 32-grid acts like 13.
TEST(GaussianAttentionReference, GAugClampSaturatesLargeOffsets) {
  const float var[2] = {50.0f, 50.0f}, amp[1] = {1.0f};
  const auto a = bias_only_args(BiasMode::kGAug, var, amp, 32, 32);
  EXPECT_NEAR(reference_gaussian_bias(a, 0, 0, 1, 1 + 20 * 32), std::exp(-84.5 / 50.1), 1e-9);
  EXPECT_NEAR(reference_gaussian_bias(a, 0, 0, 1, 1 + 13 * 32), std::exp(-84.5 / 50.1), 1e-9);
  EXPECT_NEAR(reference_gaussian_bias(a, 0, 0, 1, 1 + 12 * 32), std::exp(-72.0 / 50.1), 1e-9);
}

// The naive O(N^2) formula straight from the papers: GAug alpha * exp(sum_m clamp(-D_m/2, c) / (var_m + EPS)),
// GAB A^2 * exp(-(dr^2 + dc^2) / (2 sigma^2)), zero-padded for prefix tokens; then a plain softmax.
std::vector<double> naive_attention(const Problem& p) {
  const auto& a = p.args;
  const int n = a.seq_len, d = a.head_dim, np = a.rows * a.cols;
  std::vector<double> out(p.out.size());
  for (int b = 0; b < a.batch; ++b)
    for (int h = 0; h < a.heads; ++h) {
      const size_t base = (size_t(b) * a.heads + h) * n * d;
      std::vector<double> bias(size_t(n) * n, 0.0);
      for (int i = 0; i < np; ++i)
        for (int j = 0; j < np; ++j) {
          const double dr = j / a.cols - i / a.cols, dc = j % a.cols - i % a.cols;
          double value;
          if (a.bias.mode == BiasMode::kGAB) {
            const int at = h * int(a.bias.gab_head_stride);
            const double A = p.gab_amplitude[at], s = p.gab_sigma[at];
            value = A * A * std::exp(-(dr * dr + dc * dc) / (2 * s * s));
          } else {
            const size_t q = (size_t(b) * a.heads + h) * np + i;
            const double c = a.bias.clamp, eps = a.bias.eps;
            value = p.amplitude[q] * std::exp(std::max(-dr * dr / 2, c) / (p.var[2 * q] + eps) +
                                              std::max(-dc * dc / 2, c) / (p.var[2 * q + 1] + eps));
          }
          bias[size_t(a.num_prefix + i) * n + a.num_prefix + j] = value;
        }
      for (int i = 0; i < n; ++i) {
        std::vector<double> w(n);
        for (int j = 0; j < n; ++j) {
          double s = 0;
          for (int e = 0; e < d; ++e) s += double(p.q[base + i * d + e]) * p.k[base + j * d + e];
          const double extra = p.extra.empty() ? 0.0 : p.extra[(size_t(h) * n + i) * n + j];  // shared by samples
          w[j] = std::exp(s * a.scale + bias[size_t(i) * n + j] + extra);
        }
        double total = 0;
        for (double x : w) total += x;
        for (int e = 0; e < d; ++e) {
          double o = 0;
          for (int j = 0; j < n; ++j) o += w[j] * p.v[base + j * d + e];
          out[base + i * d + e] = o / total;
        }
      }
    }
  return out;
}

TEST(GaussianAttentionReference, MatchesNaiveFormulaOverShapeTable) {
  for (const Case& c : kCases) {
    if (c.rows * c.cols > 1700) continue;  // O(N^2 D) twice in double: keep CI fast
    if (c.algorithm != Algorithm::kAuto) continue;  // the reference has no algorithm: those rows repeat shapes
    Problem p = make_problem(c, 7);
    reference_forward(p.args);
    const auto naive = naive_attention(p);
    double worst = 0;
    for (size_t i = 0; i < naive.size(); ++i) worst = std::max(worst, std::abs(naive[i] - p.out[i]));
    EXPECT_LT(worst, 1e-5) << describe(c);
  }
}

TEST(GaussianAttentionReference, BiasChangesTheOutput) {
  // Guards the table's bias magnitudes: with the amplitudes zeroed the output must move noticeably.
  Problem p = make_problem(kCases[0], 3);
  reference_forward(p.args);
  const auto with_bias = p.out;
  std::fill(p.amplitude.begin(), p.amplitude.end(), 0.f);
  reference_forward(p.args);
  double moved = 0;
  for (size_t i = 0; i < p.out.size(); ++i) moved = std::max(moved, double(std::abs(p.out[i] - with_bias[i])));
  EXPECT_GT(moved, 0.1);
}

TEST(GaussianAttentionReference, LogSumExpNormalisesTheWeights) {
  Problem p = make_problem({BiasMode::kGAug, 1, 2, 1, 5, 7, 32, DType::kFloat32, 4}, 5);
  std::vector<float> lse(size_t(p.args.heads) * p.args.seq_len);
  p.args.lse = lse.data();
  reference_forward(p.args);
  const auto& a = p.args;
  for (int h = 0; h < a.heads; ++h)
    for (int i = 0; i < a.seq_len; ++i) {
      double total = 0;
      for (int j = 0; j < a.seq_len; ++j) {
        double s = 0;
        for (int d = 0; d < a.head_dim; ++d) {
          const size_t base = size_t(h) * a.seq_len * a.head_dim;
          s += double(p.q[base + i * a.head_dim + d]) * p.k[base + j * a.head_dim + d];
        }
        total += std::exp(s * a.scale + reference_gaussian_bias(a, 0, h, i, j) - lse[size_t(h) * a.seq_len + i]);
      }
      EXPECT_NEAR(total, 1.0, 1e-5) << "head " << h << " query " << i;
    }
}

// --- Everywhere: the reference backward against central differences of the reference forward. ------------------

// L = sum(out * dout), accumulated in double over the reference forward's fp32 output.
double loss(Problem& p, const std::vector<float>& dout) {
  reference_forward(p.args);
  double total = 0;
  for (size_t i = 0; i < p.out.size(); ++i) total += double(p.out[i]) * dout[i];
  return total;
}

// dL/dx by central differences, over the steps actually taken once x +- step is rounded to fp32.
double numeric_gradient(Problem& p, const std::vector<float>& dout, float& x, float step) {
  const float saved = x;
  x = saved + step;
  const double up_step = double(x) - saved, up = loss(p, dout);
  x = saved - step;
  const double down_step = saved - double(x), down = loss(p, dout);
  x = saved;
  return (up - down) / (up_step + down_step);
}

// Every entry of `values` (inputs of the forward): its analytic gradient against central differences.
void expect_gradient(Problem& p, const std::vector<float>& dout, std::vector<float>& values,
                     const std::vector<float>& analytic, const std::string& what) {
  ASSERT_EQ(values.size(), analytic.size()) << what;
  double worst = 0, largest = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double numeric = numeric_gradient(p, dout, values[i], 5e-3f * std::max(1.f, std::abs(values[i])));
    worst = std::max(worst, std::abs(numeric - analytic[i]) / (1.0 + std::abs(numeric)));
    largest = std::max(largest, std::abs(numeric));
  }
  EXPECT_LT(worst, 1e-3) << what;
  EXPECT_GT(largest, 1e-2) << what << ": gradients this small test nothing";
}

// q, k, v and whichever bias parameters the mode reads.
void expect_backward_matches_finite_differences(Problem& p, uint32_t seed) {
  Gradients g = make_gradients(p, seed);
  reference_backward(p.args, g.grads);
  expect_gradient(p, g.dout, p.q, g.dq, "dq");
  expect_gradient(p, g.dout, p.k, g.dk, "dk");
  expect_gradient(p, g.dout, p.v, g.dv, "dv");
  if (p.args.bias.mode == BiasMode::kGAug) {
    expect_gradient(p, g.dout, p.var, g.dvar, "dvar");
    expect_gradient(p, g.dout, p.amplitude, g.damp, "damp");
  } else {
    const size_t params = p.args.bias.gab_head_stride == 0 ? 1 : p.gab_amplitude.size();
    p.gab_amplitude.resize(params), p.gab_sigma.resize(params);
    g.dgab_amplitude.resize(params), g.dgab_sigma.resize(params);
    expect_gradient(p, g.dout, p.gab_amplitude, g.dgab_amplitude, "dA");
    expect_gradient(p, g.dout, p.gab_sigma, g.dgab_sigma, "dsigma");
  }
}

// A training grid of 3 (clamp -2, EPS 0.1) on a 3 x 4 grid: the clamp bites on the column axis; one class token.
TEST(GaussianAttentionReference, GAugBackwardMatchesFiniteDifferences) {
  Problem p = make_problem({BiasMode::kGAug, 2, 2, 1, 3, 4, 4, DType::kFloat32, 3}, 21);
  ASSERT_FLOAT_EQ(p.args.bias.clamp, -2.0f);
  expect_backward_matches_finite_differences(p, 22);
}

// Narrow Gaussians (sigma near 1 on a 4 x 3 grid) so that sigma's gradient is not negligible; a negative A.
TEST(GaussianAttentionReference, GABBackwardMatchesFiniteDifferences) {
  Problem per_head = make_problem({BiasMode::kGAB, 2, 2, 1, 4, 3, 4, DType::kFloat32}, 23);
  per_head.gab_amplitude = {1.6f, -1.2f}, per_head.gab_sigma = {0.9f, 1.3f};  // same sizes: the pointers stay valid
  expect_backward_matches_finite_differences(per_head, 24);
  Problem per_layer = make_problem({BiasMode::kGAB, 2, 2, 0, 3, 5, 4, DType::kFloat32, 14, Algorithm::kAuto, true}, 25);
  per_layer.gab_amplitude = {1.4f, 0.f}, per_layer.gab_sigma = {1.1f, 0.f};
  expect_backward_matches_finite_differences(per_layer, 26);
}

// A parameter shared by every row (strides 0, as a per-layer GAB (var, amp) passed in GAug form) gets the sum of the
// per-row gradients the backward writes.
TEST(GaussianAttentionReference, SharedGAugParameterGradientIsTheSumOverRows) {
  Problem p = make_problem({BiasMode::kGAug, 2, 2, 1, 3, 4, 4, DType::kFloat32}, 27);
  GaussianBiasArgs& bias = p.args.bias;
  p.var = {2.5f}, p.amplitude = {1.7f};
  bias.var = p.var.data(), bias.amplitude = p.amplitude.data();
  bias.var_stride_b = bias.var_stride_h = bias.var_stride_p = bias.var_stride_axis = 0;
  bias.amp_stride_b = bias.amp_stride_h = bias.amp_stride_p = 0;
  bias.eps = 0.f, bias.has_clamp = false;
  Gradients g = make_gradients(p, 28);
  const size_t rows = size_t(p.args.batch) * p.args.heads * p.args.rows * p.args.cols;
  g.dvar.assign(2 * rows, 0.f), g.damp.assign(rows, 0.f);
  g.grads.dvar = g.dvar.data(), g.grads.damp = g.damp.data();
  reference_backward(p.args, g.grads);
  double dvar = 0, damp = 0;
  for (float x : g.dvar) dvar += x;
  for (float x : g.damp) damp += x;
  expect_gradient(p, g.dout, p.var, {float(dvar)}, "shared dvar");
  expect_gradient(p, g.dout, p.amplitude, {float(damp)}, "shared damp");
}

// --- Everywhere: the CPU kernel against the reference over the whole table. -----------------------------------

// Host values as the CPU kernel reads them: fp32, or 16-bit storage of the (already rounded) values.
struct TypedBuffer {
  std::vector<float> f32;
  std::vector<c10::BFloat16> bf16;
  std::vector<c10::Half> f16;

  TypedBuffer(const std::vector<float>& values, DType dtype) {
    if (dtype == DType::kFloat32) f32 = values;
    if (dtype == DType::kBFloat16) bf16.assign(values.begin(), values.end());
    if (dtype == DType::kFloat16) f16.assign(values.begin(), values.end());
  }
  void* data() {
    return !f32.empty() ? static_cast<void*>(f32.data())
                        : !bf16.empty() ? static_cast<void*>(bf16.data()) : static_cast<void*>(f16.data());
  }
  float at(size_t i) const { return !f32.empty() ? f32[i] : !bf16.empty() ? float(bf16[i]) : float(f16[i]); }
};

// The largest error relative to the tolerance atol + rtol * |want| (at most 1 passes; NaN fails), and the largest
// absolute error for the log.
struct Errors {
  double max_abs = 0, worst = 0;
  void add(double got, double want, double atol, double rtol) {
    const double err = std::abs(got - want);
    max_abs = std::isnan(err) ? INFINITY : std::max(max_abs, err);
    worst = std::isnan(err) ? INFINITY : std::max(worst, err / (atol + rtol * std::abs(want)));
  }
};

TEST(GaussianAttentionCpuKernel, MatchesReferenceOverShapeTable) {
  std::printf("[cpu kernel %s]\n", cpu_kernel_capability().c_str());
  for (const Case& c : kCases) {
    if (c.algorithm != Algorithm::kAuto) continue;  // CUDA algorithm variants: the same shapes again
    Problem p = make_problem(c, 11);
    std::vector<float> lse(size_t(c.batch) * c.heads * p.args.seq_len), cpu_lse(lse.size(), NAN);
    p.args.lse = lse.data();
    reference_forward(p.args);

    GaussianAttentionArgs cpu = p.args;
    TypedBuffer q(p.q, c.dtype), k(p.k, c.dtype), v(p.v, c.dtype), out(std::vector<float>(p.out.size(), NAN), c.dtype);
    cpu.q.data = q.data(), cpu.k.data = k.data(), cpu.v.data = v.data(), cpu.out.data = out.data();
    cpu.lse = cpu_lse.data();
    ASSERT_EQ(cpu_validate(cpu), "") << describe(c);
    cpu_gaussian_attention_forward(cpu);

    // The same inputs; what differs is fp32 accumulation in another order, LibTorch's fast exp (about 2e-6 relative)
    // and the output's rounding to the row's dtype (half an ulp).
    const double rtol = c.dtype == DType::kFloat32 ? 2e-5 : c.dtype == DType::kFloat16 ? 1e-3 : 8e-3;
    Errors out_err, lse_err;
    for (size_t i = 0; i < p.out.size(); ++i) out_err.add(out.at(i), p.out[i], 2e-5, rtol);
    for (size_t i = 0; i < lse.size(); ++i) lse_err.add(cpu_lse[i], lse[i], 2e-5, 2e-5);
    std::printf("  %-34s max |err| out %.2e  lse %.2e\n", describe(c).c_str(), out_err.max_abs, lse_err.max_abs);
    EXPECT_LE(out_err.worst, 1.0) << describe(c) << ": out, worst abs error " << out_err.max_abs;
    EXPECT_LE(lse_err.worst, 1.0) << describe(c) << ": lse, worst abs error " << lse_err.max_abs;
  }
}

// The bias must reach the output: with the amplitudes zeroed the CPU kernel's output moves (it cannot pass the table
// by ignoring the bias), and its argument checks name what is wrong.
TEST(GaussianAttentionCpuKernel, BiasMovesTheOutputAndArgumentsAreChecked) {
  Problem p = make_problem(kCases[1], 3);
  cpu_gaussian_attention_forward(p.args);
  const auto with_bias = p.out;
  std::fill(p.amplitude.begin(), p.amplitude.end(), 0.f);
  cpu_gaussian_attention_forward(p.args);
  double moved = 0;
  for (size_t i = 0; i < p.out.size(); ++i) moved = std::max(moved, double(std::abs(p.out[i] - with_bias[i])));
  EXPECT_GT(moved, 0.1);

  GaussianAttentionArgs bad = p.args;
  bad.seq_len += 1;
  EXPECT_NE(cpu_validate(bad).find("num_prefix + rows * cols"), std::string::npos);
  EXPECT_THROW(cpu_gaussian_attention_forward(bad), std::invalid_argument);
  bad = p.args;
  bad.bias.var = nullptr;
  EXPECT_NE(cpu_validate(bad).find("var and amplitude"), std::string::npos);
}

}  // namespace
