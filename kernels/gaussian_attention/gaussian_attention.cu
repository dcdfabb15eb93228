// Fused Gaussian-bias attention forward (GAug of LocAtViT, arXiv 2603.04892; GAB, arXiv 2305.04722):
// O = softmax(Q K^T * scale + B) V with B[p,t] = amp[p] * exp(sum_m clamp(-dx_m^2/2, c) / (var[p,m] + eps)) evaluated
// per (query, key) in registers, FlashAttention-2 style: key tiles streamed through shared memory, online softmax.
// Optionally writes the per-row logsumexp m + log(l) for the backward (gaussian_attention_backward.cu).
#include "kernels/gaussian_attention/gaussian_attention.h"

#include "kernels/gaussian_attention/gaussian_bias_device.cuh"

namespace locbench::kernels {

namespace {

using namespace detail;

// One warp owns kRowsPerWarp queries; lane l scores key l of each kBlockN = 32-key tile, then owns output dims
// l, l+32, ... in the P V product. Simple SIMT (no tensor cores): correct for every dtype and any N.
constexpr int kWarps = 4;
constexpr int kRowsPerWarp = 4;
constexpr int kBlockM = kWarps * kRowsPerWarp;
constexpr int kBlockN = 32;
constexpr int kPad = 4;  // row padding in floats: float4 reads of different key rows fall in different banks

// Copies rows [first, first+count) of one (b, h) slice into shared memory as fp32 (zeros past seq_len).
template <typename T, int D>
__device__ void load_tile(float* dst, const T* src, int64_t stride_n, int first, int count, int seq_len, float mul) {
  for (int i = threadIdx.x; i < count * D; i += blockDim.x) {
    const int r = i / D, d = i % D, n = first + r;
    dst[r * (D + kPad) + d] = n < seq_len ? to_float(src[n * stride_n + d]) * mul : 0.f;
  }
}

template <typename T, int D>
__global__ void __launch_bounds__(kWarps * 32) gaussian_attention_fwd(GaussianAttentionArgs a) {
  constexpr int kDimsPerLane = D / 32;
  extern __shared__ float4 smem4[];
  float* q_s = reinterpret_cast<float*>(smem4);   // kBlockM x (D + kPad), pre-scaled
  float* k_s = q_s + kBlockM * (D + kPad);       // kBlockN x (D + kPad)
  float* v_s = k_s + kBlockN * (D + kPad);       // kBlockN x (D + kPad)

  const int b = blockIdx.z, h = blockIdx.y, m0 = blockIdx.x * kBlockM;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const T* q = static_cast<const T*>(a.q.data) + b * a.q.stride_b + h * a.q.stride_h;
  const T* k = static_cast<const T*>(a.k.data) + b * a.k.stride_b + h * a.k.stride_h;
  const T* v = static_cast<const T*>(a.v.data) + b * a.v.stride_b + h * a.v.stride_h;
  load_tile<T, D>(q_s, q, a.q.stride_n, m0, kBlockM, a.seq_len, a.scale);

  QueryBias qb[kRowsPerWarp];
  float m[kRowsPerWarp], l[kRowsPerWarp], acc[kRowsPerWarp][kDimsPerLane];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    qb[r] = load_query_bias(a, b, h, m0 + warp * kRowsPerWarp + r);
    m[r] = -INFINITY;
    l[r] = 0.f;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) acc[r][i] = 0.f;
  }

  for (int n0 = 0; n0 < a.seq_len; n0 += kBlockN) {
    __syncthreads();  // the previous tile is no longer read
    load_tile<T, D>(k_s, k, a.k.stride_n, n0, kBlockN, a.seq_len, 1.f);
    load_tile<T, D>(v_s, v, a.v.stride_n, n0, kBlockN, a.seq_len, 1.f);
    __syncthreads();

    // Scores of this lane's key for each of the warp's queries.
    float s[kRowsPerWarp] = {};
    const float* k_row = k_s + lane * (D + kPad);
    const float* q_rows = q_s + warp * kRowsPerWarp * (D + kPad);
#pragma unroll 4
    for (int d = 0; d < D; d += 4) {
      const float4 kv = *reinterpret_cast<const float4*>(k_row + d);
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float4 qv = *reinterpret_cast<const float4*>(q_rows + r * (D + kPad) + d);
        s[r] += qv.x * kv.x + qv.y * kv.y + qv.z * kv.z + qv.w * kv.w;
      }
    }
    const int key = n0 + lane, kp = key - a.num_prefix;
    const bool valid = key < a.seq_len, biased = valid && kp >= 0;
    const bool clamp = a.bias.has_clamp && a.bias.mode == BiasMode::kGAug;  // GAB never clamps
    const int key_row = biased ? kp / a.cols : 0, key_col = biased ? kp % a.cols : 0;

#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      if (biased) s[r] += gaussian_bias(qb[r], key_row, key_col, clamp, a.bias.clamp);
      if (!valid) s[r] = -INFINITY;
      float tile_max = s[r];
#pragma unroll
      for (int off = 16; off > 0; off /= 2) tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, off));
      const float m_new = fmaxf(m[r], tile_max);  // finite: every tile holds at least one valid key
      const float correction = __expf(m[r] - m_new);
      s[r] = __expf(s[r] - m_new);  // now the probability numerator p
      float tile_sum = s[r];
#pragma unroll
      for (int off = 16; off > 0; off /= 2) tile_sum += __shfl_xor_sync(0xffffffffu, tile_sum, off);
      l[r] = l[r] * correction + tile_sum;
      m[r] = m_new;
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) acc[r][i] *= correction;
    }

    // acc[r][dims of this lane] += sum_j p[r][j] * V[j][dims]; p[r][j] lives in lane j.
    const int keys = min(kBlockN, a.seq_len - n0);
    for (int j = 0; j < keys; ++j) {
      float vj[kDimsPerLane];
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) vj[i] = v_s[j * (D + kPad) + lane + 32 * i];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float p = __shfl_sync(0xffffffffu, s[r], j);
#pragma unroll
        for (int i = 0; i < kDimsPerLane; ++i) acc[r][i] += p * vj[i];
      }
    }
  }

  T* out = static_cast<T*>(a.out.data) + b * a.out.stride_b + h * a.out.stride_h;
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int query = m0 + warp * kRowsPerWarp + r;
    if (query >= a.seq_len) continue;
    const float inv_l = 1.f / l[r];
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) out[query * a.out.stride_n + lane + 32 * i] = from_float<T>(acc[r][i] * inv_l);
    if (a.lse && lane == 0) a.lse[(int64_t(b) * a.heads + h) * a.seq_len + query] = m[r] + logf(l[r]);
  }
}

template <typename T, int D>
cudaError_t launch(const GaussianAttentionArgs& a, cudaStream_t stream) {
  const size_t smem = sizeof(float) * (kBlockM + 2 * kBlockN) * (D + kPad);
  auto kernel = gaussian_attention_fwd<T, D>;
  // D = 128 needs more than the 48 KiB a launch gets without opting in.
  if (cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
      e != cudaSuccess)
    return e;
  const dim3 grid((a.seq_len + kBlockM - 1) / kBlockM, a.heads, a.batch);
  kernel<<<grid, kWarps * 32, smem, stream>>>(a);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_dim(const GaussianAttentionArgs& a, cudaStream_t stream) {
  switch (a.head_dim) {
    case 32: return launch<T, 32>(a, stream);
    case 64: return launch<T, 64>(a, stream);
    case 128: return launch<T, 128>(a, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace

std::string validate(const GaussianAttentionArgs& a) {
  if (a.batch <= 0 || a.heads <= 0 || a.seq_len <= 0) return "batch, heads and seq_len must be positive";
  if (a.head_dim != 32 && a.head_dim != 64 && a.head_dim != 128) return "head_dim must be 32, 64 or 128";
  if (a.num_prefix < 0 || a.rows <= 0 || a.cols <= 0 || a.seq_len != a.num_prefix + a.rows * a.cols)
    return "seq_len must equal num_prefix + rows * cols";
  if (a.batch > 65535 || a.heads > 65535) return "batch and heads must fit a grid dimension (65535)";
  if (!a.q.data || !a.k.data || !a.v.data || !a.out.data) return "q, k, v and out are required";
  const GaussianBiasArgs& g = a.bias;
  if (g.mode == BiasMode::kGAug && (!g.var || !g.amplitude)) return "GAug needs var and amplitude";
  if (g.mode == BiasMode::kGAB && (!g.gab_amplitude || !g.gab_sigma)) return "GAB needs gab_amplitude and gab_sigma";
  if (a.extra.data) return "an extra additive bias (such as RelPosMlp's) is not fused on CUDA";
  if (a.algorithm == Algorithm::kTensorCore && a.dtype == DType::kFloat32)
    return "the tensor-core kernel takes bf16 or fp16; use Algorithm::kSimt (or kAuto) for fp32";
  return {};
}

namespace detail {

cudaError_t launch_simt(const GaussianAttentionArgs& a, cudaStream_t stream) {
  switch (a.dtype) {
    case DType::kFloat32: return launch_dim<float>(a, stream);
    case DType::kBFloat16: return launch_dim<__nv_bfloat16>(a, stream);
    case DType::kFloat16: return launch_dim<__half>(a, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace detail

cudaError_t gaussian_attention_forward(const GaussianAttentionArgs& a, cudaStream_t stream) {
  if (!validate(a).empty()) return cudaErrorInvalidValue;
  const bool tensor_core = a.algorithm == Algorithm::kTensorCore ||
                           (a.algorithm == Algorithm::kAuto && a.dtype != DType::kFloat32);
  return tensor_core ? detail::launch_tensor_core(a, stream) : detail::launch_simt(a, stream);
}

}  // namespace locbench::kernels
