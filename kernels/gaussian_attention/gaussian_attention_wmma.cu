// Tensor-core (WMMA, bf16/fp16 in, fp32 accumulate) forward of the fused Gaussian-bias attention of GAug
// (arXiv 2603.04892) and GAB (arXiv 2305.04722): S = Q K^T and O += P V on tensor cores, the bias and the online
// softmax (FlashAttention-2 recurrence) on CUDA cores between them, through per-warp shared-memory staging.
#include "kernels/gaussian_attention/gaussian_bias_device.cuh"

#include <mma.h>

namespace locbench::kernels::detail {

namespace {

namespace wmma = nvcuda::wmma;

// Each of the 4 warps owns 16 queries of a 64-query block; key tiles of 64. Padding keeps WMMA's leading dimensions
// legal (multiples of 16 bytes) and every fragment pointer 32-byte aligned, and spreads rows over banks.
constexpr int kWarps = 4;
constexpr int kRows = 16;  // queries per warp = WMMA M
constexpr int kBlockM = kWarps * kRows;
constexpr int kBlockN = 64;
constexpr int kHalfPad = 8;   // in 16-bit elements
constexpr int kFloatPad = 4;  // in floats

template <int D>
struct Layout {
  static constexpr int ld_in = D + kHalfPad;        // Q, K, V tiles (16-bit)
  static constexpr int ld_s = kBlockN + kFloatPad;  // per-warp scores (fp32)
  static constexpr int ld_p = kBlockN + kHalfPad;   // per-warp probabilities (16-bit)
  static constexpr int ld_o = D + kFloatPad;        // per-warp output accumulator (fp32)
  static constexpr size_t tile_bytes = size_t(kBlockM) * ld_in * 2;  // kBlockM == kBlockN
  static constexpr size_t warp_bytes = size_t(kRows) * (ld_s * 4 + ld_p * 2 + ld_o * 4);
  static constexpr size_t bytes = 3 * tile_bytes + kWarps * warp_bytes;
};

// Copies rows [first, first+64) of one (b, h) slice into shared memory (zeros past seq_len).
template <typename T, int D>
__device__ void load_tile(T* dst, const T* src, int64_t stride_n, int first, int seq_len) {
  for (int i = threadIdx.x; i < kBlockN * D; i += blockDim.x) {
    const int r = i / D, d = i % D, n = first + r;
    dst[r * Layout<D>::ld_in + d] = n < seq_len ? src[n * stride_n + d] : from_float<T>(0.f);
  }
}

template <typename T, int D>
__global__ void __launch_bounds__(kWarps * 32) gaussian_attention_wmma(GaussianAttentionArgs a) {
  using L = Layout<D>;
  extern __shared__ __align__(128) unsigned char smem[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  T* q_s = reinterpret_cast<T*>(smem);
  T* k_s = q_s + kBlockM * L::ld_in;
  T* v_s = k_s + kBlockN * L::ld_in;
  unsigned char* mine = smem + 3 * L::tile_bytes + warp * L::warp_bytes;
  float* s_w = reinterpret_cast<float*>(mine);                     // 16 x ld_s scores
  T* p_w = reinterpret_cast<T*>(s_w + kRows * L::ld_s);            // 16 x ld_p probabilities
  float* o_w = reinterpret_cast<float*>(p_w + kRows * L::ld_p);    // 16 x ld_o output accumulator

  const int b = blockIdx.z, h = blockIdx.y, m0 = blockIdx.x * kBlockM;
  const T* q = static_cast<const T*>(a.q.data) + b * a.q.stride_b + h * a.q.stride_h;
  const T* k = static_cast<const T*>(a.k.data) + b * a.k.stride_b + h * a.k.stride_h;
  const T* v = static_cast<const T*>(a.v.data) + b * a.v.stride_b + h * a.v.stride_h;
  load_tile<T, D>(q_s, q, a.q.stride_n, m0, a.seq_len);
  for (int i = lane; i < kRows * L::ld_o; i += 32) o_w[i] = 0.f;

  // Lanes 2r and 2r+1 share row r of the warp's 16 queries, each taking half of the key tile's columns.
  const int row = lane / 2, half = lane % 2;
  const QueryBias qb = load_query_bias(a, b, h, m0 + warp * kRows + row);
  const bool clamp = a.bias.has_clamp && a.bias.mode == BiasMode::kGAug;  // GAB never clamps
  float m = -INFINITY, l = 0.f;

  for (int n0 = 0; n0 < a.seq_len; n0 += kBlockN) {
    __syncthreads();  // every warp is done with the previous K, V tile
    load_tile<T, D>(k_s, k, a.k.stride_n, n0, a.seq_len);
    load_tile<T, D>(v_s, v, a.v.stride_n, n0, a.seq_len);
    __syncthreads();

    // S (16 x 64) = Q_w K^T; K stored row-major [key][d] is K^T in column-major.
    for (int nf = 0; nf < kBlockN / 16; ++nf) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> s_frag;
      wmma::fill_fragment(s_frag, 0.f);
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> q_frag;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> k_frag;
        wmma::load_matrix_sync(q_frag, q_s + warp * kRows * L::ld_in + kk * 16, L::ld_in);
        wmma::load_matrix_sync(k_frag, k_s + nf * 16 * L::ld_in + kk * 16, L::ld_in);
        wmma::mma_sync(s_frag, q_frag, k_frag, s_frag);
      }
      wmma::store_matrix_sync(s_w + nf * 16, s_frag, L::ld_s, wmma::mem_row_major);
    }
    __syncwarp();

    // Bias, online softmax and the rescaling of this row's accumulator, in fp32.
    constexpr int kCols = kBlockN / 2;
    float* s_row = s_w + row * L::ld_s + half * kCols;
    float tile_max = -INFINITY;
    for (int c = 0; c < kCols; ++c) {
      const int key = n0 + half * kCols + c, kp = key - a.num_prefix;
      float s = s_row[c] * a.scale;
      if (kp >= 0 && key < a.seq_len) s += gaussian_bias(qb, kp / a.cols, kp % a.cols, clamp, a.bias.clamp);
      if (key >= a.seq_len) s = -INFINITY;
      s_row[c] = s;
      tile_max = fmaxf(tile_max, s);
    }
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
    const float m_new = fmaxf(m, tile_max);  // finite: every tile holds at least one valid key
    const float correction = __expf(m - m_new);
    T* p_row = p_w + row * L::ld_p + half * kCols;
    float tile_sum = 0.f;
    for (int c = 0; c < kCols; ++c) {
      const float p = __expf(s_row[c] - m_new);
      p_row[c] = from_float<T>(p);
      tile_sum += p;
    }
    tile_sum += __shfl_xor_sync(0xffffffffu, tile_sum, 1);
    l = l * correction + tile_sum;
    m = m_new;
    float* o_row = o_w + row * L::ld_o + half * (D / 2);
    for (int d = 0; d < D / 2; ++d) o_row[d] *= correction;
    __syncwarp();

    // O_w (16 x D) += P_w (16 x 64) V (64 x D).
    for (int df = 0; df < D / 16; ++df) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> o_frag;
      wmma::load_matrix_sync(o_frag, o_w + df * 16, L::ld_o, wmma::mem_row_major);
#pragma unroll
      for (int kk = 0; kk < kBlockN / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> p_frag;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> v_frag;
        wmma::load_matrix_sync(p_frag, p_w + kk * 16, L::ld_p);
        wmma::load_matrix_sync(v_frag, v_s + kk * 16 * L::ld_in + df * 16, L::ld_in);
        wmma::mma_sync(o_frag, p_frag, v_frag, o_frag);
      }
      wmma::store_matrix_sync(o_w + df * 16, o_frag, L::ld_o, wmma::mem_row_major);
    }
    __syncwarp();
  }

  if (a.lse && half == 0) {  // lanes 2r and 2r+1 hold the same m and l
    const int query = m0 + warp * kRows + row;
    if (query < a.seq_len) a.lse[(int64_t(b) * a.heads + h) * a.seq_len + query] = m + logf(l);
  }

  // Whole-warp, coalesced writes: row r's normaliser lives in lane 2r.
  T* out = static_cast<T*>(a.out.data) + b * a.out.stride_b + h * a.out.stride_h;
  for (int r = 0; r < kRows; ++r) {
    const float l_r = __shfl_sync(0xffffffffu, l, 2 * r);
    const int query = m0 + warp * kRows + r;
    if (query >= a.seq_len) continue;
    for (int d = lane; d < D; d += 32) out[query * a.out.stride_n + d] = from_float<T>(o_w[r * L::ld_o + d] / l_r);
  }
}

template <typename T, int D>
cudaError_t launch(const GaussianAttentionArgs& a, cudaStream_t stream) {
  auto kernel = gaussian_attention_wmma<T, D>;
  constexpr size_t smem = Layout<D>::bytes;  // 70 KiB at D = 64, 110 KiB at D = 128: needs the opt-in
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

cudaError_t launch_tensor_core(const GaussianAttentionArgs& a, cudaStream_t stream) {
  switch (a.dtype) {
    case DType::kBFloat16: return launch_dim<__nv_bfloat16>(a, stream);
    case DType::kFloat16: return launch_dim<__half>(a, stream);
    case DType::kFloat32: break;  // no 16-bit tensor-core path for fp32 inputs; validate() says so
  }
  return cudaErrorInvalidValue;
}

}  // namespace locbench::kernels::detail
