// Fused Gaussian-bias attention backward (GAug of LocAtViT, arXiv 2603.04892; GAB, arXiv 2305.04722): from the
// forward's logsumexp, P = exp(S - lse) with S = Q K^T * scale + B recomputed per (query, key), dS = P * (dP - delta),
// dP = dO V^T, delta = rowsum(dO * O); then dQ = dS K * scale, dK = dS^T Q * scale, dV = P^T dO and, with
// B = amp * exp(sum_m num_m / (var_m + eps)), dL/damp = sum_t dS e and dL/dvar_m = -sum_t dS B num_m / (var_m + eps)^2.
#include "kernels/gaussian_attention/gaussian_attention.h"

#include "kernels/gaussian_attention/gaussian_bias_device.cuh"

namespace locbench::kernels {

namespace {

using namespace detail;

// Two SIMT kernels, no tensor cores, chosen for clarity: one owns queries (dQ and the per-row bias gradients, keys
// streamed), one owns keys (dK, dV, queries streamed). Each recomputes S and dP, which costs two extra GEMMs but needs
// no atomics and no workspace, so dQ, dK, dV and GAug's gradients are deterministic. In both, a warp owns
// kRowsPerWarp rows of the block and lane l takes entry l of each 32-wide streamed tile, as in the SIMT forward.
constexpr int kWarps = 4;
constexpr int kRowsPerWarp = 4;
constexpr int kBlockRows = kWarps * kRowsPerWarp;
constexpr int kTile = 32;
constexpr int kPad = 4;  // row padding in floats: float4 reads of different rows fall in different banks

template <int D>
constexpr size_t smem_bytes() {
  return sizeof(float) * ((2 * kBlockRows + 2 * kTile) * (D + kPad) + 2 * kTile);
}

// Copies rows [first, first+count) of one (b, h) slice into shared memory as fp32 (zeros past seq_len).
template <typename T, int D>
__device__ void load_rows(float* dst, const T* src, int64_t stride_n, int first, int count, int seq_len, float mul) {
  for (int i = threadIdx.x; i < count * D; i += blockDim.x) {
    const int r = i / D, d = i % D, n = first + r;
    dst[r * (D + kPad) + d] = n < seq_len ? to_float(src[n * stride_n + d]) * mul : 0.f;
  }
}

template <typename T>
__device__ const T* slice(const AttentionTensor& t, int b, int h) {
  return static_cast<const T*>(t.data) + b * t.stride_b + h * t.stride_h;
}

template <typename T>
__device__ T* mutable_slice(const AttentionTensor& t, int b, int h) {
  return static_cast<T*>(t.data) + b * t.stride_b + h * t.stride_h;
}

// delta = dO . O of one query, dO from a shared-memory row, O from global memory; every lane gets the sum.
template <typename T, int D>
__device__ float row_delta(const float* do_row, const T* o, int64_t stride_n, int query, int seq_len, int lane) {
  float part = 0.f;
  if (query < seq_len) {
#pragma unroll
    for (int i = 0; i < D / 32; ++i) part += do_row[lane + 32 * i] * to_float(o[query * stride_n + lane + 32 * i]);
  }
  return warp_sum(part);
}

// Per block: kBlockRows queries. Keys stream in tiles of 32, lane l scoring key l against the warp's rows.
template <typename T, int D>
__global__ void __launch_bounds__(kWarps * 32)
    gaussian_attention_bwd_dq(GaussianAttentionArgs a, GaussianAttentionGrads g) {
  constexpr int kDimsPerLane = D / 32;
  constexpr int ld = D + kPad;
  extern __shared__ float4 smem4[];
  float* q_s = reinterpret_cast<float*>(smem4);  // kBlockRows x ld, pre-scaled
  float* do_s = q_s + kBlockRows * ld;           // kBlockRows x ld
  float* k_s = do_s + kBlockRows * ld;           // kTile x ld
  float* v_s = k_s + kTile * ld;                 // kTile x ld
  __shared__ float gab_partial[kWarps][2];

  const int b = blockIdx.z, h = blockIdx.y, m0 = blockIdx.x * kBlockRows;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const T* k = slice<T>(a.k, b, h);
  const T* v = slice<T>(a.v, b, h);
  const T* o = slice<T>(a.out, b, h);
  const float* lse_bh = a.lse + (int64_t(b) * a.heads + h) * a.seq_len;
  load_rows<T, D>(q_s, slice<T>(a.q, b, h), a.q.stride_n, m0, kBlockRows, a.seq_len, a.scale);
  load_rows<T, D>(do_s, slice<T>(g.dout, b, h), g.dout.stride_n, m0, kBlockRows, a.seq_len, 1.f);
  __syncthreads();

  QueryBias qb[kRowsPerWarp];
  float lse[kRowsPerWarp], delta[kRowsPerWarp], dq[kRowsPerWarp][kDimsPerLane];
  float g_amp[kRowsPerWarp], g_row[kRowsPerWarp], g_col[kRowsPerWarp];  // sum_t dS e, sum_t dS B num_m
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int row = warp * kRowsPerWarp + r, query = m0 + row;
    qb[r] = load_query_bias(a, b, h, query);
    lse[r] = query < a.seq_len ? lse_bh[query] : 0.f;
    delta[r] = row_delta<T, D>(do_s + row * ld, o, a.out.stride_n, query, a.seq_len, lane);
    g_amp[r] = g_row[r] = g_col[r] = 0.f;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) dq[r][i] = 0.f;
  }
  const bool clamp = a.bias.has_clamp && a.bias.mode == BiasMode::kGAug;  // GAB never clamps

  for (int n0 = 0; n0 < a.seq_len; n0 += kTile) {
    __syncthreads();  // the previous tile is no longer read
    load_rows<T, D>(k_s, k, a.k.stride_n, n0, kTile, a.seq_len, 1.f);
    load_rows<T, D>(v_s, v, a.v.stride_n, n0, kTile, a.seq_len, 1.f);
    __syncthreads();

    // S - B and dP of this lane's key for each of the warp's queries.
    float s[kRowsPerWarp] = {}, dp[kRowsPerWarp] = {};
    const float* k_row = k_s + lane * ld;
    const float* v_row = v_s + lane * ld;
    const float* q_rows = q_s + warp * kRowsPerWarp * ld;
    const float* do_rows = do_s + warp * kRowsPerWarp * ld;
#pragma unroll 2
    for (int d = 0; d < D; d += 4) {
      const float4 kv = *reinterpret_cast<const float4*>(k_row + d);
      const float4 vv = *reinterpret_cast<const float4*>(v_row + d);
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float4 qv = *reinterpret_cast<const float4*>(q_rows + r * ld + d);
        const float4 dov = *reinterpret_cast<const float4*>(do_rows + r * ld + d);
        s[r] += qv.x * kv.x + qv.y * kv.y + qv.z * kv.z + qv.w * kv.w;
        dp[r] += dov.x * vv.x + dov.y * vv.y + dov.z * vv.z + dov.w * vv.w;
      }
    }
    const int key = n0 + lane, kp = key - a.num_prefix;
    const bool valid = key < a.seq_len, biased = valid && kp >= 0;
    const int key_row = biased ? kp / a.cols : 0, key_col = biased ? kp % a.cols : 0;

#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      BiasTerms t{0.f, 0.f, 0.f, 0.f};
      if (biased) t = gaussian_bias_terms(qb[r], key_row, key_col, clamp, a.bias.clamp);
      const float p = valid ? __expf(s[r] + t.bias - lse[r]) : 0.f;
      const float ds = p * (dp[r] - delta[r]);
      g_amp[r] += ds * t.e;  // t is zero for prefix keys
      g_row[r] += ds * t.bias * t.num_row;
      g_col[r] += ds * t.bias * t.num_col;
      s[r] = ds;
    }

    // dq[r][dims of this lane] += sum_j dS[r][j] * K[j][dims]; dS[r][j] lives in lane j.
    const int keys = min(kTile, a.seq_len - n0);
    for (int j = 0; j < keys; ++j) {
      float kj[kDimsPerLane];
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) kj[i] = k_s[j * ld + lane + 32 * i];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float ds = __shfl_sync(0xffffffffu, s[r], j);
#pragma unroll
        for (int i = 0; i < kDimsPerLane; ++i) dq[r][i] += ds * kj[i];
      }
    }
  }

  T* dq_out = mutable_slice<T>(g.dq, b, h);
  const int np = a.rows * a.cols;
  float gab_amp = 0.f, gab_var = 0.f;  // this warp's share of GAB's sums over rows
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int query = m0 + warp * kRowsPerWarp + r, p = query - a.num_prefix;
    if (query >= a.seq_len) continue;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i)
      dq_out[query * g.dq.stride_n + lane + 32 * i] = from_float<T>(dq[r][i] * a.scale);
    if (p < 0) continue;  // prefix rows carry no bias
    const float amp = warp_sum(g_amp[r]);
    const float var_row = -warp_sum(g_row[r]) * qb[r].inv_var_row * qb[r].inv_var_row;
    const float var_col = -warp_sum(g_col[r]) * qb[r].inv_var_col * qb[r].inv_var_col;
    if (a.bias.mode == BiasMode::kGAB) {
      gab_amp += amp;
      gab_var += var_row + var_col;
    } else if (lane == 0) {
      const int64_t row = (int64_t(b) * a.heads + h) * np + p;
      if (g.damp) g.damp[row] = amp;
      if (g.dvar) {
        g.dvar[2 * row] = var_row;
        g.dvar[2 * row + 1] = var_col;
      }
    }
  }
  if (a.bias.mode != BiasMode::kGAB) return;
  // GAB: amp = A^2, var = sigma^2 on both axes, so dA = 2 A sum damp and dsigma = 2 sigma sum (dvar_row + dvar_col);
  // one atomic per block and parameter.
  if (lane == 0) {
    gab_partial[warp][0] = gab_amp;
    gab_partial[warp][1] = gab_var;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    float sum_amp = 0.f, sum_var = 0.f;
    for (int w = 0; w < kWarps; ++w) sum_amp += gab_partial[w][0], sum_var += gab_partial[w][1];
    const int at = h * int(a.bias.gab_head_stride);
    if (g.dgab_amplitude) atomicAdd(g.dgab_amplitude + at, 2.f * a.bias.gab_amplitude[at] * sum_amp);
    if (g.dgab_sigma) atomicAdd(g.dgab_sigma + at, 2.f * a.bias.gab_sigma[at] * sum_var);
  }
}

// Per block: kBlockRows keys. Queries stream in tiles of 32, lane l scoring query l against the warp's keys.
template <typename T, int D>
__global__ void __launch_bounds__(kWarps * 32)
    gaussian_attention_bwd_dkdv(GaussianAttentionArgs a, GaussianAttentionGrads g) {
  constexpr int kDimsPerLane = D / 32;
  constexpr int ld = D + kPad;
  extern __shared__ float4 smem4[];
  float* k_s = reinterpret_cast<float*>(smem4);  // kBlockRows x ld
  float* v_s = k_s + kBlockRows * ld;            // kBlockRows x ld
  float* q_s = v_s + kBlockRows * ld;            // kTile x ld, pre-scaled
  float* do_s = q_s + kTile * ld;                // kTile x ld
  float* lse_s = do_s + kTile * ld;              // kTile
  float* delta_s = lse_s + kTile;                // kTile

  const int b = blockIdx.z, h = blockIdx.y, n0 = blockIdx.x * kBlockRows;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const T* q = slice<T>(a.q, b, h);
  const T* dout = slice<T>(g.dout, b, h);
  const T* o = slice<T>(a.out, b, h);
  const float* lse_bh = a.lse + (int64_t(b) * a.heads + h) * a.seq_len;
  load_rows<T, D>(k_s, slice<T>(a.k, b, h), a.k.stride_n, n0, kBlockRows, a.seq_len, 1.f);
  load_rows<T, D>(v_s, slice<T>(a.v, b, h), a.v.stride_n, n0, kBlockRows, a.seq_len, 1.f);

  bool biased[kRowsPerWarp];
  int key_row[kRowsPerWarp], key_col[kRowsPerWarp];
  float dk[kRowsPerWarp][kDimsPerLane], dv[kRowsPerWarp][kDimsPerLane];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int key = n0 + warp * kRowsPerWarp + r, kp = key - a.num_prefix;
    biased[r] = key < a.seq_len && kp >= 0;
    key_row[r] = biased[r] ? kp / a.cols : 0;
    key_col[r] = biased[r] ? kp % a.cols : 0;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) dk[r][i] = dv[r][i] = 0.f;
  }
  const bool clamp = a.bias.has_clamp && a.bias.mode == BiasMode::kGAug;  // GAB never clamps

  for (int m0 = 0; m0 < a.seq_len; m0 += kTile) {
    __syncthreads();  // the previous tile is no longer read
    load_rows<T, D>(q_s, q, a.q.stride_n, m0, kTile, a.seq_len, a.scale);
    load_rows<T, D>(do_s, dout, g.dout.stride_n, m0, kTile, a.seq_len, 1.f);
    __syncthreads();
    for (int i = warp; i < kTile; i += kWarps) {
      const int query = m0 + i;
      const float delta = row_delta<T, D>(do_s + i * ld, o, a.out.stride_n, query, a.seq_len, lane);
      if (lane == 0) {
        delta_s[i] = delta;
        lse_s[i] = query < a.seq_len ? lse_bh[query] : 0.f;
      }
    }
    __syncthreads();

    // S - B and dP of this lane's query for each of the warp's keys.
    const int query = m0 + lane;
    const bool valid = query < a.seq_len;
    const QueryBias qb = load_query_bias(a, b, h, query);  // zero for prefix and padding queries
    float s[kRowsPerWarp] = {}, dp[kRowsPerWarp] = {};
    const float* q_row = q_s + lane * ld;
    const float* do_row = do_s + lane * ld;
    const float* k_rows = k_s + warp * kRowsPerWarp * ld;
    const float* v_rows = v_s + warp * kRowsPerWarp * ld;
#pragma unroll 2
    for (int d = 0; d < D; d += 4) {
      const float4 qv = *reinterpret_cast<const float4*>(q_row + d);
      const float4 dov = *reinterpret_cast<const float4*>(do_row + d);
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float4 kv = *reinterpret_cast<const float4*>(k_rows + r * ld + d);
        const float4 vv = *reinterpret_cast<const float4*>(v_rows + r * ld + d);
        s[r] += qv.x * kv.x + qv.y * kv.y + qv.z * kv.z + qv.w * kv.w;
        dp[r] += dov.x * vv.x + dov.y * vv.y + dov.z * vv.z + dov.w * vv.w;
      }
    }
    const float lse = lse_s[lane], delta = delta_s[lane];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const float bias = biased[r] ? gaussian_bias(qb, key_row[r], key_col[r], clamp, a.bias.clamp) : 0.f;
      const float p = valid ? __expf(s[r] + bias - lse) : 0.f;
      s[r] = p;
      dp[r] = p * (dp[r] - delta);  // now dS
    }

    // dv[r] += sum_i P[i][r] dO[i], dk[r] += sum_i dS[i][r] (Q[i] * scale); lane i holds P and dS of query i.
    const int queries = min(kTile, a.seq_len - m0);
#pragma unroll 1  // unrolled, ptxas spills at D = 32 on sm_90a
    for (int i = 0; i < queries; ++i) {
      float qi[kDimsPerLane], doi[kDimsPerLane];
#pragma unroll
      for (int c = 0; c < kDimsPerLane; ++c) {
        qi[c] = q_s[i * ld + lane + 32 * c];
        doi[c] = do_s[i * ld + lane + 32 * c];
      }
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float p = __shfl_sync(0xffffffffu, s[r], i);
        const float ds = __shfl_sync(0xffffffffu, dp[r], i);
#pragma unroll
        for (int c = 0; c < kDimsPerLane; ++c) {
          dv[r][c] += p * doi[c];
          dk[r][c] += ds * qi[c];
        }
      }
    }
  }

  T* dk_out = mutable_slice<T>(g.dk, b, h);
  T* dv_out = mutable_slice<T>(g.dv, b, h);
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int key = n0 + warp * kRowsPerWarp + r;
    if (key >= a.seq_len) continue;
#pragma unroll
    for (int c = 0; c < kDimsPerLane; ++c) {
      dk_out[key * g.dk.stride_n + lane + 32 * c] = from_float<T>(dk[r][c]);
      dv_out[key * g.dv.stride_n + lane + 32 * c] = from_float<T>(dv[r][c]);
    }
  }
}

template <typename T, int D>
cudaError_t launch(const GaussianAttentionArgs& a, const GaussianAttentionGrads& g, cudaStream_t stream) {
  constexpr size_t smem = smem_bytes<D>();
  auto dq_kernel = gaussian_attention_bwd_dq<T, D>;
  auto dkdv_kernel = gaussian_attention_bwd_dkdv<T, D>;
  // D = 128 needs more than the 48 KiB a launch gets without opting in.
  constexpr auto kSmemLimit = cudaFuncAttributeMaxDynamicSharedMemorySize;
  for (cudaError_t e : {cudaFuncSetAttribute(dq_kernel, kSmemLimit, int(smem)),
                        cudaFuncSetAttribute(dkdv_kernel, kSmemLimit, int(smem))})
    if (e != cudaSuccess) return e;
  if (a.bias.mode == BiasMode::kGAB) {  // accumulated by atomics
    const size_t count = a.bias.gab_head_stride == 0 ? 1 : size_t(a.heads);
    for (float* grad : {g.dgab_amplitude, g.dgab_sigma})
      if (grad)
        if (cudaError_t e = cudaMemsetAsync(grad, 0, count * sizeof(float), stream); e != cudaSuccess) return e;
  }
  const dim3 grid((a.seq_len + kBlockRows - 1) / kBlockRows, a.heads, a.batch);
  dq_kernel<<<grid, kWarps * 32, smem, stream>>>(a, g);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  dkdv_kernel<<<grid, kWarps * 32, smem, stream>>>(a, g);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_dim(const GaussianAttentionArgs& a, const GaussianAttentionGrads& g, cudaStream_t stream) {
  switch (a.head_dim) {
    case 32: return launch<T, 32>(a, g, stream);
    case 64: return launch<T, 64>(a, g, stream);
    case 128: return launch<T, 128>(a, g, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace

std::string validate(const GaussianAttentionArgs& a, const GaussianAttentionGrads& g) {
  if (std::string forward = validate(a); !forward.empty()) return forward;
  if (!a.lse) return "the backward needs the forward's logsumexp (args.lse)";
  if (!g.dout.data || !g.dq.data || !g.dk.data || !g.dv.data) return "dout, dq, dk and dv are required";
  if (a.bias.mode == BiasMode::kGAB && (g.dgab_amplitude || g.dgab_sigma) && a.bias.gab_head_stride != 0 &&
      a.bias.gab_head_stride != 1)
    return "GAB gradients need gab_head_stride 0 (per layer) or 1 (per head)";
  return {};
}

cudaError_t gaussian_attention_backward(const GaussianAttentionArgs& a, const GaussianAttentionGrads& g,
                                        cudaStream_t stream) {
  if (!validate(a, g).empty()) return cudaErrorInvalidValue;
  switch (a.dtype) {
    case DType::kFloat32: return launch_dim<float>(a, g, stream);
    case DType::kBFloat16: return launch_dim<__nv_bfloat16>(a, g, stream);
    case DType::kFloat16: return launch_dim<__half>(a, g, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace locbench::kernels
