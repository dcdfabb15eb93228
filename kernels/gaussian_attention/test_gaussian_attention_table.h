// The correctness table of the fused Gaussian-bias attention (GAug / GAB), test-backend-ops style: one row per shape,
// dtype and bias layout, with host problems (inputs rounded to the row's dtype) that the CUDA kernels
// (test_gaussian_attention_cuda.cpp), the CPU kernel and the reference (test_gaussian_attention.cpp) all read. A new
// kernel variant only adds rows.
#pragma once

#include "kernels/gaussian_attention/gaussian_attention_args.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace locbench::kernels::testing {

// One row of the correctness table. initial_grid: LocAtViT's training grid (its EPS and clamp); a current grid
// larger than it makes the clamp bite. A new kernel variant only adds rows here.
struct Case {
  BiasMode mode;
  int batch, heads, num_prefix, rows, cols, head_dim;
  DType dtype;
  int initial_grid = 14;
  Algorithm algorithm = Algorithm::kAuto;  // kAuto: tensor cores for bf16/fp16, SIMT for fp32
  bool gab_per_layer = false;              // GAB: one (A, sigma) for every head instead of one per head
  bool extra_bias = false;                 // another additive (1, H, N, N) bias, RelPosMlp-like (CPU kernel only)
};

// The rows the CUDA kernels take (head dims 32, 64, 128; no extra bias); the CPU kernel takes every row.
inline bool cuda_takes(const Case& c) {
  return !c.extra_bias && (c.head_dim == 32 || c.head_dim == 64 || c.head_dim == 128);
}

inline const Case kCases[] = {
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
    // CPU-only rows: the micro models' head dim 16, head dims that are no multiple of the vector width, GAB with
    // RelPosMlp's bias beside it, a sequence of two tokens.
    {BiasMode::kGAug, 1, 3, 1, 14, 14, 16, DType::kFloat32},
    {BiasMode::kGAug, 2, 2, 1, 4, 5, 48, DType::kFloat32, 4},
    {BiasMode::kGAug, 1, 2, 1, 16, 20, 24, DType::kBFloat16},
    {BiasMode::kGAug, 1, 1, 1, 40, 40, 64, DType::kFloat32},     // N = 1601: four key tiles
    {BiasMode::kGAB, 1, 3, 0, 14, 14, 64, DType::kFloat32, 14, Algorithm::kAuto, true, true},  // GAB relpos-S
    {BiasMode::kGAB, 2, 2, 1, 32, 32, 64, DType::kBFloat16, 14, Algorithm::kAuto, false, true},
    {BiasMode::kGAug, 3, 2, 1, 1, 1, 8, DType::kFloat32},
};

inline std::string describe(const Case& c) {
  const char* dtype = c.dtype == DType::kFloat32 ? "fp32" : c.dtype == DType::kBFloat16 ? "bf16" : "fp16";
  const char* algorithm = c.algorithm == Algorithm::kSimt ? " simt" : c.algorithm == Algorithm::kTensorCore ? " tc" : "";
  return std::string(c.mode == BiasMode::kGAug ? "GAug" : c.gab_per_layer ? "GAB/layer" : "GAB") + " B" +
         std::to_string(c.batch) + " H" + std::to_string(c.heads) + " P" + std::to_string(c.num_prefix) + " " +
         std::to_string(c.rows) + "x" + std::to_string(c.cols) + " D" + std::to_string(c.head_dim) + " " + dtype +
         algorithm + (c.extra_bias ? " +extra" : "");
}

// Host data of one case, every value already rounded to the case's dtype; args point at these host arrays.
struct Problem {
  std::vector<float> q, k, v, out, var, amplitude, gab_amplitude, gab_sigma, extra;
  GaussianAttentionArgs args;
};

// Round to nearest even, as the CUDA intrinsics and LibTorch convert.
inline float round_to(DType dtype, float x) {
  if (dtype == DType::kBFloat16) return float(c10::BFloat16(x));
  if (dtype == DType::kFloat16) return float(c10::Half(x));
  return x;
}

// Q, K, V contiguous (B, H, N, D). Biases strong enough to matter: the test fails if the bias is ignored.
inline Problem make_problem(const Case& c, uint32_t seed) {
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
  if (c.extra_bias) {  // one bias for every sample (stride 0), as RelPosMlp's
    std::uniform_real_distribution<float> extra(-2.f, 2.f);
    p.extra.resize(size_t(c.heads) * a.seq_len * a.seq_len);
    for (auto& x : p.extra) x = extra(rng);
    a.extra = ExtraBias{p.extra.data(), 0, int64_t(a.seq_len) * a.seq_len, a.seq_len};
  }
  return p;
}

// Host buffers of the backward of one problem: dout (rounded to the dtype, like the inputs) and every gradient.
struct Gradients {
  std::vector<float> dout, dq, dk, dv, dvar, damp, dgab_amplitude, dgab_sigma;
  GaussianAttentionGrads grads;
};

inline Gradients make_gradients(const Problem& p, uint32_t seed) {
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

}  // namespace locbench::kernels::testing
