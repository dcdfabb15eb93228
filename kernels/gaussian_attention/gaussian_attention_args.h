// Arguments of the fused Gaussian-bias attention, softmax(Q K^T * scale + B) V with B computed on the fly (never
// stored): LocAtViT's GAug (arXiv 2603.04892, per-query/head anisotropic Gaussian) and GAB (arXiv 2305.04722,
// per-layer isotropic Gaussian), B[p,t] = amp[p] * exp(sum_m clamp(-dx_m^2 / 2, c) / (var[p,m] + eps)), zero for
// prefix tokens. Plain C++ (no CUDA, no torch): raw pointers and element strides, read alike by the CUDA kernels
// (gaussian_attention.h), the CPU kernel (cpu_gaussian_attention.h) and the reference (reference.h).
#pragma once

#include <cmath>
#include <cstdint>

namespace locbench::kernels {

enum class DType { kFloat32, kBFloat16, kFloat16 };
enum class BiasMode { kGAug, kGAB };
// CUDA only. kSimt: fp32 CUDA-core kernel, every dtype. kTensorCore: WMMA bf16/fp16 kernel (fp32 accumulation).
// kAuto: tensor cores for bf16/fp16, SIMT for fp32.
enum class Algorithm { kAuto, kSimt, kTensorCore };

// One (B, H, N, D) tensor with a contiguous last dimension; strides in elements.
struct AttentionTensor {
  void* data = nullptr;
  int64_t stride_b = 0, stride_h = 0, stride_n = 0;
};

// The bias parameters, fp32, in the memory of the kernel that reads them.
//   GAug: var (B, H, Np, 2) [row axis, col axis] and amplitude (B, H, Np) (already softplus'd), addressed with the
//         strides below (a stride of 0 broadcasts); eps and clamp from the initial grid (locatvit_eps/clamp).
//   GAB:  gab_amplitude A and gab_sigma sigma, one each per layer (gab_head_stride 0) or per head (1, 'vrelglmhi');
//         the kernels use amp = A^2, var = sigma^2, eps 0, no clamp (gaussian::isotropic in the torch op).
struct GaussianBiasArgs {
  BiasMode mode = BiasMode::kGAug;
  const float* var = nullptr;
  int64_t var_stride_b = 0, var_stride_h = 0, var_stride_p = 0, var_stride_axis = 1;
  const float* amplitude = nullptr;
  int64_t amp_stride_b = 0, amp_stride_h = 0, amp_stride_p = 0;
  float eps = 0.0f;
  bool has_clamp = false;
  float clamp = 0.0f;  // lower bound of each per-axis numerator -dx^2/2
  const float* gab_amplitude = nullptr;
  const float* gab_sigma = nullptr;
  int64_t gab_head_stride = 0;
};

// Another additive logit bias over all N x N (query, key) pairs, such as RelPosMlp's, fp32 with a contiguous last
// dimension; a stride of 0 broadcasts (e.g. one bias for every sample). Read by the CPU kernel and the reference;
// the CUDA kernels reject it.
struct ExtraBias {
  const float* data = nullptr;
  int64_t stride_b = 0, stride_h = 0, stride_q = 0;
};

struct GaussianAttentionArgs {
  DType dtype = DType::kBFloat16;  // of q, k, v and out; accumulation is fp32
  Algorithm algorithm = Algorithm::kAuto;
  int batch = 0, heads = 0, seq_len = 0, head_dim = 0;  // seq_len = num_prefix + rows * cols
  int num_prefix = 0, rows = 0, cols = 0;
  float scale = 0.0f;  // usually 1/sqrt(head_dim)
  AttentionTensor q, k, v, out;
  GaussianBiasArgs bias;
  ExtraBias extra;
  // Per-row logsumexp of the biased logits, (B, H, seq_len) contiguous fp32: written by the forward when set (what
  // the backward needs), read by the backward.
  float* lse = nullptr;
};

// The backward pass's tensors, (B, H, N, D) like q: dout (dL/dO) is read; dq, dk, dv (q's dtype) are written.
// Bias-parameter gradients are fp32 and written only where the pointer is set:
//   GAug: dvar (B, H, Np, 2) and damp (B, H, Np), contiguous, one entry per patch query; a parameter that several
//         rows share (a stride of 0 in GaussianBiasArgs) gets the sum of their entries, which is the caller's to take.
//   GAB:  dgab_amplitude (dL/dA) and dgab_sigma (dL/dsigma), laid out as gab_amplitude / gab_sigma
//         (gab_head_stride 0 or 1); zeroed, then accumulated with atomics.
struct GaussianAttentionGrads {
  AttentionTensor dout, dq, dk, dv;
  float* dvar = nullptr;
  float* damp = nullptr;
  float* dgab_amplitude = nullptr;
  float* dgab_sigma = nullptr;
};

// LocAtViT's constants, tied to the grid the model was built for (e.g. 14 at 224 px):
// EPS starts at 0.1 and doubles while (g-1)^2/2 / EPS^2 > 32500 (fp16 safety); the clamp is max(-(g-1)^2/2, -6550).
inline float locatvit_eps(int initial_grid_max) {
  const double half_d2 = 0.5 * (initial_grid_max - 1.0) * (initial_grid_max - 1.0);
  double eps = 0.1;
  while (half_d2 / (eps * eps) > 32500.0) eps *= 2.0;
  return static_cast<float>(eps);
}
inline float locatvit_clamp(int initial_grid_max) {
  return static_cast<float>(std::fmax(-0.5 * (initial_grid_max - 1.0) * (initial_grid_max - 1.0), -6550.0));
}

// Floating-point operations of the forward pass (2 GEMMs: 4 * B * H * N^2 * D), for TFLOP/s counters.
inline double gaussian_attention_flops(const GaussianAttentionArgs& a) {
  return 4.0 * a.batch * a.heads * double(a.seq_len) * a.seq_len * a.head_dim;
}
// Of the backward, by the usual convention of 5 GEMMs (S, dP, dV, dQ, dK): 2.5 x the forward. The kernels recompute
// S and dP once more (7 GEMMs' work), which this count leaves out.
inline double gaussian_attention_backward_flops(const GaussianAttentionArgs& a) {
  return 2.5 * gaussian_attention_flops(a);
}

}  // namespace locbench::kernels
