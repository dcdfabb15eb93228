// CPU kernel of the fused Gaussian-bias attention (GAug, arXiv 2603.04892; GAB, arXiv 2305.04722), compiled once per
// instruction set (CPU_CAPABILITY = DEFAULT, AVX2, AVX512); cpu_gaussian_attention.cpp picks one at run time.
// The algorithm of the CUDA kernels: per (sample, head, block of queries) the keys stream by in tiles with an online
// softmax, and the bias is computed, never stored. It is separable per axis, exp(a_row + a_col) = exp(a_row) *
// exp(a_col), so a query needs rows + cols exponentials, and each key row of a tile adds e_row[r] * e_col[:] to the
// logits. Tile products are register-blocked GEMMs on LibTorch's vector type.
#include "kernels/gaussian_attention/cpu_gaussian_attention.h"

#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

namespace locbench::kernels::cpu {
inline namespace CPU_CAPABILITY {

namespace {

using Vec = at::vec::Vectorized<float>;
constexpr int64_t kVec = Vec::size();
// A micro-tile of the tile products: kRows x (kMaxVecs * kVec) accumulators, 24 of AVX512's 32 registers or 12 of
// AVX2's 16, next to the kMaxVecs loaded B values and one broadcast A value.
constexpr int kRows = 6;
constexpr int kMaxVecs = kVec >= 16 ? 4 : 2;
constexpr int64_t kTileCols = kMaxVecs * kVec;
constexpr int64_t kKeyTile = 512;      // at most this many keys per online-softmax step (the logits stay in L2)
constexpr int64_t kQueryBlock = 48;    // queries per task, lowered (down to kMinQueryBlock) to feed every thread
constexpr int64_t kMinQueryBlock = 24;
// exp of anything below -87 is no longer a normal float: such a factor is 0 (its bias is below 1e-37 anyway).
constexpr float kMinExponent = -87.0f;
constexpr float kMinFactor = 2e-38f;

int64_t divup(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return divup(a, b) * b; }

// Denormals flushed to zero while alive (x86): tiny bias products and probabilities must not take the slow path.
class FlushDenormals {
 public:
#if defined(__SSE2__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040); }  // FTZ | DAZ
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  unsigned saved_;
#endif
};

// C[R, V * kVec] = A[R, depth] B[depth, V * kVec] (+ C when Accumulate); row-major with the given row strides.
template <int R, int V, bool Accumulate>
void micro_gemm(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t depth) {
  Vec acc[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) acc[r][v] = Accumulate ? Vec::loadu(c + r * ldc + v * kVec) : Vec(0.f);
  for (int64_t k = 0; k < depth; ++k) {
    Vec bk[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) bk[v] = Vec::loadu(b + k * ldb + v * kVec);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const Vec ar(a[r * lda + k]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[r][v] = at::vec::fmadd(ar, bk[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) acc[r][v].store(c + r * ldc + v * kVec);
}

using MicroGemm = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t);

template <bool Accumulate, size_t... I>
constexpr std::array<MicroGemm, sizeof...(I)> micro_table(std::index_sequence<I...>) {
  return {&micro_gemm<int(I / kMaxVecs) + 1, int(I % kMaxVecs) + 1, Accumulate>...};
}

template <bool Accumulate>
MicroGemm micro(int rows, int vecs) {
  static constexpr auto table = micro_table<Accumulate>(std::make_index_sequence<kRows * kMaxVecs>{});
  return table[(rows - 1) * kMaxVecs + (vecs - 1)];
}

// C[m, n] = A[m, depth] B[depth, n] (+ C when Accumulate), n a multiple of kVec. Column blocks outside, so that a
// block of B stays in L1 while the rows of A pass.
template <bool Accumulate>
void gemm(int64_t m, int64_t n, int64_t depth, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
          int64_t ldc) {
  for (int64_t j = 0; j < n; j += kTileCols) {
    const int vecs = int(std::min(kTileCols, n - j) / kVec);
    for (int64_t i = 0; i < m; i += kRows) {
      const int rows = int(std::min<int64_t>(kRows, m - i));
      micro<Accumulate>(rows, vecs)(a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, depth);
    }
  }
}

template <typename Op>
float reduce(const Vec& x, Op op) {
  float lanes[kVec];
  x.store(lanes);
  float r = lanes[0];
  for (int64_t i = 1; i < kVec; ++i) r = op(r, lanes[i]);
  return r;
}

float max_of(const float* x, int64_t n) {
  const Vec lowest(-std::numeric_limits<float>::infinity());
  Vec acc = lowest;
  for (int64_t i = 0; i < n; i += kVec) {
    const int64_t count = std::min(kVec, n - i);
    acc = at::vec::maximum(acc, Vec::set(lowest, Vec::loadu(x + i, count), count));
  }
  return reduce(acc, [](float x, float y) { return std::max(x, y); });
}

// x = exp(x - shift) in place (LibTorch's fast exp, as its CPU flash attention uses); returns the sum.
float exp_and_sum(float* x, int64_t n, float shift) {
  const Vec s(shift), zero(0.f);
  Vec acc = zero;
  for (int64_t i = 0; i < n; i += kVec) {
    const int64_t count = std::min(kVec, n - i);
    const Vec p = (Vec::loadu(x + i, count) - s).exp_u20();
    p.store(x + i, count);
    acc = acc + Vec::set(zero, p, count);
  }
  return reduce(acc, [](float x, float y) { return x + y; });
}

// y += alpha * x over n values.
void axpy(int64_t n, float alpha, const float* x, float* y) {
  const Vec a(alpha);
  for (int64_t i = 0; i < n; i += kVec) {
    const int64_t count = std::min(kVec, n - i);
    at::vec::fmadd(a, Vec::loadu(x + i, count), Vec::loadu(y + i, count)).store(y + i, count);
  }
}

// y += x over n values.
void add(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; i += kVec) {
    const int64_t count = std::min(kVec, n - i);
    (Vec::loadu(x + i, count) + Vec::loadu(y + i, count)).store(y + i, count);
  }
}

void scale(int64_t n, float alpha, float* y) {
  const Vec a(alpha);
  for (int64_t i = 0; i < n; i += kVec) {
    const int64_t count = std::min(kVec, n - i);
    (Vec::loadu(y + i, count) * a).store(y + i, count);
  }
}

// What the bias needs of one query (gaussian_bias_device.cuh's QueryBias): its grid position, 1/(var + eps) per axis
// and the amplitude; biased is false for prefix tokens, which neither give nor receive the bias.
struct QueryBias {
  bool biased = false;
  int64_t row = 0, col = 0;
  float inv_var_row = 0.f, inv_var_col = 0.f, amp = 0.f;
};

QueryBias load_query_bias(const GaussianAttentionArgs& a, int64_t b, int64_t h, int64_t query) {
  QueryBias qb;
  const int64_t p = query - a.num_prefix;
  if (p < 0) return qb;
  qb.biased = true;
  qb.row = p / a.cols;
  qb.col = p % a.cols;
  const GaussianBiasArgs& g = a.bias;
  if (g.mode == BiasMode::kGAug) {
    const float* var = g.var + b * g.var_stride_b + h * g.var_stride_h + p * g.var_stride_p;
    qb.inv_var_row = 1.f / (var[0] + g.eps);
    qb.inv_var_col = 1.f / (var[g.var_stride_axis] + g.eps);
    qb.amp = g.amplitude[b * g.amp_stride_b + h * g.amp_stride_h + p * g.amp_stride_p];
  } else {
    const float amplitude = g.gab_amplitude[h * g.gab_head_stride], sigma = g.gab_sigma[h * g.gab_head_stride];
    qb.inv_var_row = qb.inv_var_col = 1.f / (sigma * sigma);
    qb.amp = amplitude * amplitude;
  }
  return qb;
}

// factor[x] = amp * exp(num(x - at) * inv_var) for x in [0, n), num(d) = -d^2/2 clamped from below when the model
// asks (LocAtViT beyond its training grid; GAB never clamps). Factors that would not be normal floats are 0.
void axis_factors(int64_t n, int64_t at, float inv_var, float amp, const GaussianBiasArgs& g, float* factor) {
  const bool clamp = g.has_clamp && g.mode == BiasMode::kGAug;
  for (int64_t x = 0; x < n; ++x) {
    const float d = float(x - at);
    float num = -0.5f * d * d;
    if (clamp) num = std::max(num, g.clamp);
    factor[x] = std::max(num * inv_var, kMinExponent);
  }
  for (int64_t x = 0; x < n; x += kVec) {
    const int64_t count = std::min(kVec, n - x);
    Vec::loadu(factor + x, count).exp().store(factor + x, count);
  }
  for (int64_t x = 0; x < n; ++x) factor[x] = factor[x] < kMinFactor ? 0.f : amp * factor[x];
}

// logits[t - key0] += e_row[r] * e_col[c] for the patch keys t = num_prefix + r * cols + c in [key0, key0 + n): one
// axpy per key row, none for a row whose factor is 0.
void add_gaussian_bias(float* logits, int64_t key0, int64_t n, int64_t num_prefix, int64_t cols, const float* e_row,
                       const float* e_col) {
  const int64_t end = key0 + n;
  for (int64_t t = std::max(key0, num_prefix); t < end;) {
    const int64_t p = t - num_prefix, r = p / cols, c = p - r * cols;
    const int64_t len = std::min(cols - c, end - t);
    if (e_row[r] != 0.f) axpy(len, e_row[r], e_col + c, logits + (t - key0));
    t += len;
  }
}

// Buffers of one thread, kept for the life of the thread so that repeated calls do not fault memory in again.
struct Workspace {
  std::vector<float> kt;           // K^T (D, keys_padded) of the current (sample, head)
  std::vector<float> v;            // V (N, dim_padded)
  std::vector<float> q;            // the block's queries times scale (block, D)
  std::vector<float> logits;       // (block, tile): logits, then probabilities
  std::vector<float> out;          // (block, dim_padded) output accumulators
  std::vector<float> e_row, e_col;  // per-query bias factors (block, rows) and (block, cols), amplitude in e_col
  std::vector<float> max, sum;     // online softmax state per query
  std::vector<char> biased;        // per query: a patch token (not a prefix token)

  template <typename U>
  static void fit(std::vector<U>& buffer, int64_t n) {
    if (int64_t(buffer.size()) < n) buffer.resize(size_t(n));
  }
};

// The shapes of one call: query blocks and key tiles, balanced so that no block or tile is a small remainder.
struct Plan {
  int64_t n = 0, dim = 0, dim_padded = 0, keys_padded = 0;
  int64_t blocks = 0, block = 0;  // query blocks per (sample, head), queries per block
  int64_t tile = 0;               // keys per online-softmax step, a multiple of kTileCols
};

Plan make_plan(const GaussianAttentionArgs& a) {
  Plan p;
  p.n = a.seq_len, p.dim = a.head_dim;
  p.dim_padded = round_up(p.dim, kVec);
  p.keys_padded = round_up(p.n, kVec);
  const int64_t threads = at::get_num_threads(), heads = int64_t(a.batch) * a.heads;
  p.blocks = divup(p.n, kQueryBlock);
  while (heads * p.blocks < 4 * threads && divup(p.n, p.blocks + 1) >= kMinQueryBlock) ++p.blocks;
  p.block = divup(p.n, p.blocks);
  const int64_t tiles = divup(p.n, kKeyTile);
  p.tile = round_up(divup(p.n, tiles), kTileCols);
  return p;
}

template <typename T>
const T* row_of(const AttentionTensor& t, int64_t b, int64_t h, int64_t n) {
  return static_cast<const T*>(t.data) + b * t.stride_b + h * t.stride_h + n * t.stride_n;
}

// K^T and V of one (sample, head) as fp32, zero-padded to keys_padded columns and dim_padded columns.
template <typename T>
void pack_keys_values(const GaussianAttentionArgs& a, const Plan& p, int64_t b, int64_t h, Workspace& ws) {
  Workspace::fit(ws.kt, p.dim * p.keys_padded);
  Workspace::fit(ws.v, p.n * p.dim_padded);
  float* kt = ws.kt.data();
  for (int64_t j = 0; j < p.n; ++j) {
    const T* k = row_of<T>(a.k, b, h, j);
    const T* v = row_of<T>(a.v, b, h, j);
    float* vj = ws.v.data() + j * p.dim_padded;
    for (int64_t d = 0; d < p.dim; ++d) {
      kt[d * p.keys_padded + j] = static_cast<float>(k[d]);
      vj[d] = static_cast<float>(v[d]);
    }
    std::fill(vj + p.dim, vj + p.dim_padded, 0.f);
  }
  for (int64_t d = 0; d < p.dim; ++d) std::fill(kt + d * p.keys_padded + p.n, kt + (d + 1) * p.keys_padded, 0.f);
}

// Queries [q0, q0 + qn) of (b, h): logits tile by tile, bias added, online softmax, P V accumulated; then the output
// (and the logsumexp) of the block.
template <typename T>
void attend_block(const GaussianAttentionArgs& a, const Plan& p, int64_t b, int64_t h, int64_t q0, int64_t qn,
                  Workspace& ws) {
  const int64_t rows = a.rows, cols = a.cols, dim = p.dim, dp = p.dim_padded, lds = p.tile;
  Workspace::fit(ws.q, qn * dim);
  Workspace::fit(ws.logits, qn * lds);
  Workspace::fit(ws.out, qn * dp);
  Workspace::fit(ws.e_row, qn * rows);
  Workspace::fit(ws.e_col, qn * cols);
  Workspace::fit(ws.max, qn);
  Workspace::fit(ws.sum, qn);
  Workspace::fit(ws.biased, qn);
  char* biased = ws.biased.data();
  for (int64_t i = 0; i < qn; ++i) {
    const T* q = row_of<T>(a.q, b, h, q0 + i);
    for (int64_t d = 0; d < dim; ++d) ws.q[i * dim + d] = static_cast<float>(q[d]) * a.scale;
    const QueryBias qb = load_query_bias(a, b, h, q0 + i);
    biased[i] = qb.biased;
    if (qb.biased) {
      axis_factors(rows, qb.row, qb.inv_var_row, 1.f, a.bias, ws.e_row.data() + i * rows);
      axis_factors(cols, qb.col, qb.inv_var_col, qb.amp, a.bias, ws.e_col.data() + i * cols);
    }
    ws.max[i] = -std::numeric_limits<float>::infinity();
    ws.sum[i] = 0.f;
  }

  for (int64_t key0 = 0; key0 < p.n; key0 += p.tile) {
    const int64_t len = std::min(p.tile, p.n - key0);
    float* logits = ws.logits.data();
    gemm<false>(qn, round_up(len, kVec), dim, ws.q.data(), dim, ws.kt.data() + key0, p.keys_padded, logits, lds);
    for (int64_t i = 0; i < qn; ++i) {
      float* s = logits + i * lds;
      if (biased[i])
        add_gaussian_bias(s, key0, len, a.num_prefix, cols, ws.e_row.data() + i * rows, ws.e_col.data() + i * cols);
      if (a.extra.data)
        add(len, a.extra.data + b * a.extra.stride_b + h * a.extra.stride_h + (q0 + i) * a.extra.stride_q + key0, s);
      const float max = std::max(ws.max[i], max_of(s, len));
      const float sum = exp_and_sum(s, len, max);
      const float correction = std::exp(ws.max[i] - max);  // 0 on the first tile (max was -inf)
      ws.sum[i] = ws.sum[i] * correction + sum;
      ws.max[i] = max;
      if (key0 > 0 && correction != 1.f) scale(dp, correction, ws.out.data() + i * dp);
    }
    const float* v = ws.v.data() + key0 * dp;
    if (key0 == 0)
      gemm<false>(qn, dp, len, logits, lds, v, dp, ws.out.data(), dp);
    else
      gemm<true>(qn, dp, len, logits, lds, v, dp, ws.out.data(), dp);
  }

  for (int64_t i = 0; i < qn; ++i) {
    const float inv = 1.f / ws.sum[i];
    const float* o = ws.out.data() + i * dp;
    T* out = const_cast<T*>(row_of<T>(a.out, b, h, q0 + i));
    for (int64_t d = 0; d < dim; ++d) out[d] = static_cast<T>(o[d] * inv);
    if (a.lse) a.lse[(b * a.heads + h) * p.n + q0 + i] = ws.max[i] + std::log(ws.sum[i]);
  }
}

template <typename T>
void forward_typed(const GaussianAttentionArgs& a) {
  const Plan p = make_plan(a);
  const int64_t tasks = int64_t(a.batch) * a.heads * p.blocks;
  at::parallel_for(0, tasks, 1, [&](int64_t begin, int64_t end) {
    FlushDenormals flush;
    thread_local Workspace ws;
    int64_t packed = -1;  // the (sample, head) whose K and V are in ws; a thread's tasks are consecutive
    for (int64_t task = begin; task < end; ++task) {
      const int64_t bh = task / p.blocks, q0 = (task % p.blocks) * p.block;
      const int64_t b = bh / a.heads, h = bh % a.heads;
      if (bh != packed) {
        pack_keys_values<T>(a, p, b, h, ws);
        packed = bh;
      }
      if (q0 < p.n) attend_block<T>(a, p, b, h, q0, std::min(p.block, p.n - q0), ws);
    }
  });
}

}  // namespace

void gaussian_attention_forward(const GaussianAttentionArgs& a) {
  switch (a.dtype) {
    case DType::kFloat32: return forward_typed<float>(a);
    case DType::kBFloat16: return forward_typed<c10::BFloat16>(a);
    case DType::kFloat16: return forward_typed<c10::Half>(a);
  }
}

}  // namespace CPU_CAPABILITY
}  // namespace locbench::kernels::cpu
