// Correctness of the fused Gaussian-bias attention (GAug / GAB), test-backend-ops style: generic tests run the CUDA
// kernels (forward, backward) against the CPU reference over a table of shapes (skipped without a GPU). The reference
// itself is checked everywhere against the papers' closed forms and, for the backward, finite differences.
#include "kernels/gaussian_attention/gaussian_attention.h"
#include "kernels/gaussian_attention/reference.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace locbench::kernels;

// One row of the correctness table. initial_grid: LocAtViT's training grid (its EPS and clamp); a current grid
// larger than it makes the clamp bite. A new kernel variant only adds rows here.
struct Case {
  BiasMode mode;
  int batch, heads, num_prefix, rows, cols, head_dim;
  DType dtype;
  int initial_grid = 14;
  Algorithm algorithm = Algorithm::kAuto;  // kAuto: tensor cores for bf16/fp16, SIMT for fp32
  bool gab_per_layer = false;              // GAB: one (A, sigma) for every head instead of one per head
};

const Case kCases[] = {
    {BiasMode::kGAug, 2, 3, 1, 14, 14, 64, DType::kBFloat16},     // LocAtViT-Tiny at 224: N = 197
    {BiasMode::kGAug, 1, 2, 1, 14, 14, 64, DType::kFloat32},
    {BiasMode::kGAug, 1, 2, 1, 14, 14, 64, DType::kFloat16},
    {BiasMode::kGAug, 1, 2, 1, 5, 7, 32, DType::kFloat32},        // non-square grid, N = 36
    {BiasMode::kGAug, 1, 2, 6, 9, 4, 128, DType::kBFloat16},      // Jumbo-style 6 prefix tokens, D = 128
    {BiasMode::kGAug, 1, 2, 1, 32, 32, 64, DType::kBFloat16},     // 512 px: N = 1025, clamp active
    {BiasMode::kGAug, 1, 1, 0, 32, 43, 64, DType::kFloat16},      // 512 x 683 test image, no prefix
    {BiasMode::kGAug, 1, 1, 0, 64, 64, 64, DType::kBFloat16, 27},  // N = 4096, EPS 0.2
    {BiasMode::kGAB, 2, 3, 0, 14, 14, 64, DType::kBFloat16},      // GAB ViT-S RPE: no class token
    {BiasMode::kGAB, 1, 2, 1, 40, 40, 64, DType::kFloat32},       // N = 1601
    {BiasMode::kGAB, 1, 2, 0, 7, 3, 32, DType::kFloat16},
    // The SIMT kernel on 16-bit inputs (kAuto picks tensor cores for them).
    {BiasMode::kGAug, 2, 3, 1, 14, 14, 64, DType::kBFloat16, 14, Algorithm::kSimt},
    {BiasMode::kGAug, 1, 2, 6, 9, 4, 128, DType::kFloat16, 14, Algorithm::kSimt},
    {BiasMode::kGAB, 1, 1, 1, 32, 32, 32, DType::kBFloat16, 14, Algorithm::kSimt},
    // GAB with one (A, sigma) per layer, as the models hold it; the backward sums its gradient over heads.
    {BiasMode::kGAB, 2, 3, 1, 6, 9, 128, DType::kFloat32, 14, Algorithm::kAuto, true},
    {BiasMode::kGAB, 2, 2, 0, 14, 14, 64, DType::kBFloat16, 14, Algorithm::kAuto, true},
};

std::string describe(const Case& c) {
  const char* dtype = c.dtype == DType::kFloat32 ? "fp32" : c.dtype == DType::kBFloat16 ? "bf16" : "fp16";
  const char* algorithm = c.algorithm == Algorithm::kSimt ? " simt" : c.algorithm == Algorithm::kTensorCore ? " tc" : "";
  return std::string(c.mode == BiasMode::kGAug ? "GAug" : c.gab_per_layer ? "GAB/layer" : "GAB") + " B" +
         std::to_string(c.batch) + " H" + std::to_string(c.heads) + " P" + std::to_string(c.num_prefix) + " " +
         std::to_string(c.rows) + "x" + std::to_string(c.cols) + " D" + std::to_string(c.head_dim) + " " + dtype +
         algorithm;
}

// Host data of one case, every value already rounded to the case's dtype; args point at these host arrays.
struct Problem {
  std::vector<float> q, k, v, out, var, amplitude, gab_amplitude, gab_sigma;
  GaussianAttentionArgs args;
};

float round_to(DType dtype, float x) {
  if (dtype == DType::kBFloat16) return __bfloat162float(__float2bfloat16(x));
  if (dtype == DType::kFloat16) return __half2float(__float2half(x));
  return x;
}

// Q, K, V contiguous (B, H, N, D). Biases strong enough to matter: the test fails if the bias is ignored.
Problem make_problem(const Case& c, uint32_t seed) {
  Problem p;
  GaussianAttentionArgs& a = p.args;
  a.dtype = c.dtype;
  a.algorithm = c.algorithm;
  a.batch = c.batch, a.heads = c.heads, a.head_dim = c.head_dim;
  a.num_prefix = c.num_prefix, a.rows = c.rows, a.cols = c.cols;
  a.seq_len = c.num_prefix + c.rows * c.cols;
  a.scale = 1.0f / std::sqrt(float(c.head_dim));
  const size_t elems = size_t(c.batch) * c.heads * a.seq_len * c.head_dim;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (auto* t : {&p.q, &p.k, &p.v}) {
    t->resize(elems);
    for (auto& x : *t) x = round_to(c.dtype, normal(rng));
  }
  p.out.assign(elems, 0.f);
  const int64_t sn = c.head_dim, sh = sn * a.seq_len, sb = sh * c.heads;
  for (auto [t, vec] : {std::pair{&a.q, &p.q}, {&a.k, &p.k}, {&a.v, &p.v}, {&a.out, &p.out}})
    *t = AttentionTensor{vec->data(), sb, sh, sn};

  GaussianBiasArgs& g = a.bias;
  g.mode = c.mode;
  const int np = c.rows * c.cols;
  std::uniform_real_distribution<float> log_var(std::log(0.3f), std::log(60.f)), amp(0.f, 3.f);
  p.var.resize(size_t(c.batch) * c.heads * np * 2);
  p.amplitude.resize(size_t(c.batch) * c.heads * np);
  for (auto& x : p.var) x = std::exp(log_var(rng));
  for (auto& x : p.amplitude) x = amp(rng);
  g.var = p.var.data(), g.var_stride_b = int64_t(c.heads) * np * 2, g.var_stride_h = np * 2, g.var_stride_p = 2;
  g.var_stride_axis = 1;
  g.amplitude = p.amplitude.data(), g.amp_stride_b = int64_t(c.heads) * np, g.amp_stride_h = np, g.amp_stride_p = 1;
  g.eps = locatvit_eps(c.initial_grid);
  g.has_clamp = true;
  g.clamp = locatvit_clamp(c.initial_grid);
  // GAB: per-head values (the 'vrelglmhi' layout) so a wrong head index shows.
  for (int h = 0; h < c.heads; ++h) {
    p.gab_amplitude.push_back(1.0f + 0.5f * h);
    p.gab_sigma.push_back(2.0f + 1.5f * h);
  }
  g.gab_amplitude = p.gab_amplitude.data(), g.gab_sigma = p.gab_sigma.data();
  g.gab_head_stride = c.gab_per_layer ? 0 : 1;
  return p;
}

// Host buffers of the backward of one problem: dout (rounded to the dtype, like the inputs) and every gradient.
struct Gradients {
  std::vector<float> dout, dq, dk, dv, dvar, damp, dgab_amplitude, dgab_sigma;
  GaussianAttentionGrads grads;
};

Gradients make_gradients(const Problem& p, uint32_t seed) {
  Gradients g;
  const GaussianAttentionArgs& a = p.args;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  g.dout.resize(p.q.size());
  for (auto& x : g.dout) x = round_to(a.dtype, normal(rng));
  for (auto* t : {&g.dq, &g.dk, &g.dv}) t->assign(p.q.size(), 0.f);
  g.dvar.assign(p.var.size(), 0.f);
  g.damp.assign(p.amplitude.size(), 0.f);
  g.dgab_amplitude.assign(p.gab_amplitude.size(), 0.f);
  g.dgab_sigma.assign(p.gab_sigma.size(), 0.f);
  for (auto [t, vec] : {std::pair{&g.grads.dout, &g.dout}, {&g.grads.dq, &g.dq}, {&g.grads.dk, &g.dk},
                        {&g.grads.dv, &g.dv}})
    *t = AttentionTensor{vec->data(), a.q.stride_b, a.q.stride_h, a.q.stride_n};
  g.grads.dvar = g.dvar.data(), g.grads.damp = g.damp.data();
  g.grads.dgab_amplitude = g.dgab_amplitude.data(), g.grads.dgab_sigma = g.dgab_sigma.data();
  return g;
}

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

// Initial-weight values quoted in the method notes: var 1, EPS 0.1, alpha = softplus(0) = ln 2.
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
          w[j] = std::exp(s * a.scale + bias[size_t(i) * n + j]);
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

TEST(GaussianAttentionKernel, RejectsUnsupportedArguments) {
  Problem p = make_problem(kCases[3], 1);
  EXPECT_EQ(validate(p.args), "");
  p.args.head_dim = 48;
  EXPECT_NE(validate(p.args), "");
  EXPECT_EQ(gaussian_attention_forward(p.args, nullptr), cudaErrorInvalidValue);
  p.args.head_dim = 32;
  p.args.seq_len += 1;  // no longer num_prefix + rows * cols
  EXPECT_NE(validate(p.args), "");
  p.args.seq_len -= 1;
  p.args.algorithm = Algorithm::kTensorCore;  // fp32 has no tensor-core path
  EXPECT_NE(validate(p.args), "");
  EXPECT_EQ(gaussian_attention_forward(p.args, nullptr), cudaErrorInvalidValue);
  p.args.algorithm = Algorithm::kAuto;

  Gradients g = make_gradients(p, 2);
  EXPECT_NE(validate(p.args, g.grads), "");  // no logsumexp from the forward
  EXPECT_EQ(gaussian_attention_backward(p.args, g.grads, nullptr), cudaErrorInvalidValue);
  std::vector<float> lse(size_t(p.args.batch) * p.args.heads * p.args.seq_len);
  p.args.lse = lse.data();
  EXPECT_EQ(validate(p.args, g.grads), "");
  g.grads.dk.data = nullptr;
  EXPECT_NE(validate(p.args, g.grads), "");
}

// --- With a GPU: the kernel against the reference over the whole table. ----------------------------------------

bool have_gpu() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

size_t dtype_size(DType t) { return t == DType::kFloat32 ? 4 : 2; }

// Device copy of host fp32 values in the dtype.
void* to_device(const std::vector<float>& host, DType dtype) {
  std::vector<uint16_t> half_bits(host.size());
  const void* src = host.data();
  if (dtype != DType::kFloat32) {
    for (size_t i = 0; i < host.size(); ++i) {
      if (dtype == DType::kBFloat16) {
        const __nv_bfloat16 x = __float2bfloat16(host[i]);
        std::memcpy(&half_bits[i], &x, 2);
      } else {
        const __half x = __float2half(host[i]);
        std::memcpy(&half_bits[i], &x, 2);
      }
    }
    src = half_bits.data();
  }
  void* dev = nullptr;
  EXPECT_EQ(cudaMalloc(&dev, host.size() * dtype_size(dtype)), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(dev, src, host.size() * dtype_size(dtype), cudaMemcpyHostToDevice), cudaSuccess);
  return dev;
}

std::vector<float> from_device(const void* dev, size_t n, DType dtype) {
  std::vector<float> out(n);
  std::vector<uint16_t> bits(n);
  if (dtype == DType::kFloat32) {
    EXPECT_EQ(cudaMemcpy(out.data(), dev, n * 4, cudaMemcpyDeviceToHost), cudaSuccess);
    return out;
  }
  EXPECT_EQ(cudaMemcpy(bits.data(), dev, n * 2, cudaMemcpyDeviceToHost), cudaSuccess);
  for (size_t i = 0; i < n; ++i) {
    if (dtype == DType::kBFloat16) {
      __nv_bfloat16 x;
      std::memcpy(&x, &bits[i], 2);
      out[i] = __bfloat162float(x);
    } else {
      __half x;
      std::memcpy(&x, &bits[i], 2);
      out[i] = __half2float(x);
    }
  }
  return out;
}

TEST(GaussianAttentionKernel, MatchesReferenceOverShapeTable) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device: the fused kernel is only checked on a GPU";
  for (const Case& c : kCases) {
    Problem p = make_problem(c, 11);
    reference_forward(p.args);
    GaussianAttentionArgs dev = p.args;
    std::vector<void*> buffers;
    for (auto [t, vec] : {std::pair{&dev.q, &p.q}, {&dev.k, &p.k}, {&dev.v, &p.v}, {&dev.out, &p.out}})
      buffers.push_back(t->data = to_device(*vec, c.dtype));
    auto params = [&](const float** ptr, const std::vector<float>& host) {
      buffers.push_back(to_device(host, DType::kFloat32));
      *ptr = static_cast<const float*>(buffers.back());
    };
    params(&dev.bias.var, p.var);
    params(&dev.bias.amplitude, p.amplitude);
    params(&dev.bias.gab_amplitude, p.gab_amplitude);
    params(&dev.bias.gab_sigma, p.gab_sigma);
    ASSERT_EQ(cudaMemset(dev.out.data, 0xff, p.out.size() * dtype_size(c.dtype)), cudaSuccess);  // NaN if unwritten

    ASSERT_EQ(gaussian_attention_forward(dev, nullptr), cudaSuccess) << describe(c);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << describe(c);
    const auto got = from_device(dev.out.data, p.out.size(), c.dtype);
    // Inputs are identical; what differs is fp32 accumulation order, __expf and the output's rounding.
    const double atol = c.dtype == DType::kFloat32 ? 2e-5 : c.dtype == DType::kFloat16 ? 2e-3 : 1.6e-2;
    const double rtol = c.dtype == DType::kFloat32 ? 1e-4 : c.dtype == DType::kFloat16 ? 2e-3 : 1e-2;
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const double err = std::abs(double(got[i]) - p.out[i]);
      worst = std::isnan(err) ? INFINITY : std::max(worst, err);
      bad += !(err <= atol + rtol * std::abs(p.out[i]));
    }
    EXPECT_EQ(bad, 0u) << describe(c) << ": worst abs error " << worst;
    for (void* b : buffers) cudaFree(b);
  }
}

// Largest error of `got` against `want`, relative to want's largest magnitude (NaN: infinite), over n values.
double relative_error(const std::vector<float>& got, const std::vector<float>& want, size_t n) {
  double largest = 0, worst = 0;
  for (size_t i = 0; i < n; ++i) {
    largest = std::max(largest, double(std::abs(want[i])));
    const double err = std::abs(double(got[i]) - want[i]);
    worst = std::isnan(err) ? INFINITY : std::max(worst, err);
  }
  return worst / std::max(largest, 1e-30);
}

// The kernels' forward (with its logsumexp) then backward, against the reference's, per row of the table.
TEST(GaussianAttentionKernel, BackwardMatchesReferenceOverShapeTable) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device: the fused kernel is only checked on a GPU";
  for (const Case& c : kCases) {
    Problem p = make_problem(c, 13);
    Gradients g = make_gradients(p, 17);
    std::vector<float> lse(size_t(c.batch) * c.heads * p.args.seq_len);
    p.args.lse = lse.data();
    reference_forward(p.args);
    reference_backward(p.args, g.grads);

    std::vector<void*> buffers;
    // Device copy; outputs are filled with 0xff bytes (NaN) so that an entry the kernels miss shows.
    auto upload = [&](const std::vector<float>& host, DType dtype, bool output = false) {
      buffers.push_back(to_device(host, dtype));
      if (output) EXPECT_EQ(cudaMemset(buffers.back(), 0xff, host.size() * dtype_size(dtype)), cudaSuccess);
      return buffers.back();
    };
    auto upload_params = [&](const std::vector<float>& host) {
      return static_cast<const float*>(upload(host, DType::kFloat32));
    };
    GaussianAttentionArgs dev = p.args;
    dev.q.data = upload(p.q, c.dtype), dev.k.data = upload(p.k, c.dtype), dev.v.data = upload(p.v, c.dtype);
    dev.out.data = upload(p.out, c.dtype, true);
    dev.lse = static_cast<float*>(upload(lse, DType::kFloat32, true));
    dev.bias.var = upload_params(p.var), dev.bias.amplitude = upload_params(p.amplitude);
    dev.bias.gab_amplitude = upload_params(p.gab_amplitude), dev.bias.gab_sigma = upload_params(p.gab_sigma);
    GaussianAttentionGrads grads = g.grads;
    grads.dout.data = upload(g.dout, c.dtype);
    grads.dq.data = upload(g.dq, c.dtype, true), grads.dk.data = upload(g.dk, c.dtype, true);
    grads.dv.data = upload(g.dv, c.dtype, true);
    for (auto [ptr, host] : {std::pair{&grads.dvar, &g.dvar}, {&grads.damp, &g.damp},
                             {&grads.dgab_amplitude, &g.dgab_amplitude}, {&grads.dgab_sigma, &g.dgab_sigma}})
      *ptr = static_cast<float*>(upload(*host, DType::kFloat32, true));

    ASSERT_EQ(gaussian_attention_forward(dev, nullptr), cudaSuccess) << describe(c);
    ASSERT_EQ(gaussian_attention_backward(dev, grads, nullptr), cudaSuccess) << describe(c);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << describe(c);

    // The inputs are identical; the kernels differ by fp32 accumulation, __expf, the dtype-rounded O that
    // rowsum(dO * O) reads (P rounded to 16 bits before P V on tensor cores) and the rounding of dQ, dK, dV.
    const double tol = c.dtype == DType::kFloat32 ? 1e-3 : c.dtype == DType::kFloat16 ? 1e-2 : 5e-2;
    auto expect_close = [&](const char* what, const void* dev_ptr, const std::vector<float>& want, DType dtype,
                            size_t n, double limit) {
      const double err = relative_error(from_device(dev_ptr, want.size(), dtype), want, n);
      EXPECT_LT(err, limit) << describe(c) << ": " << what << " error relative to its largest value";
    };
    expect_close("lse", dev.lse, lse, DType::kFloat32, lse.size(), 1e-4);
    expect_close("dq", grads.dq.data, g.dq, c.dtype, g.dq.size(), tol);
    expect_close("dk", grads.dk.data, g.dk, c.dtype, g.dk.size(), tol);
    expect_close("dv", grads.dv.data, g.dv, c.dtype, g.dv.size(), tol);
    if (c.mode == BiasMode::kGAug) {
      expect_close("dvar", grads.dvar, g.dvar, DType::kFloat32, g.dvar.size(), tol);
      expect_close("damp", grads.damp, g.damp, DType::kFloat32, g.damp.size(), tol);
    } else {
      const size_t params = c.gab_per_layer ? 1 : size_t(c.heads);
      expect_close("dA", grads.dgab_amplitude, g.dgab_amplitude, DType::kFloat32, params, tol);
      expect_close("dsigma", grads.dgab_sigma, g.dgab_sigma, DType::kFloat32, params, tol);
    }
    for (void* b : buffers) cudaFree(b);
  }
}

}  // namespace
