// CPU kernel of the resized cross-entropy (resized_cross_entropy.h), compiled once per instruction set
// (CPU_CAPABILITY = DEFAULT, AVX2, AVX512); resized_cross_entropy.cpp picks one at run time.
// Bilinear resizing is separable: the logits are first resized along x only, T = (K, in_h, out_w), 1/(out_h/in_h) of
// the full size; each output row is then two rows of T blended, a (K, out_w) block that stays in cache while its
// log-softmax, its loss and its gradient are taken. The gradient goes back the same way: each row's (K, out_w)
// gradient is added into the two rows of dT it came from, and dT is resized back along x by the adjoint of the
// first step. Memory per thread: two (K, in_h, out_w) planes and one (K, out_w) block.
#include "kernels/resized_cross_entropy/resized_cross_entropy.h"

#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace locbench::kernels::cpu {
inline namespace CPU_CAPABILITY {

namespace {

using Vec = at::vec::Vectorized<float>;
constexpr int64_t kVec = Vec::size();
// exp of anything below -87 is no longer a normal float (and LibTorch's vector exp slows down there); such a
// probability is below 1.7e-38 and counts as 0.
constexpr float kMinExponent = -87.f;

// ATen's bilinear source indices and weights along one axis (UpSample.h area_pixel_compute_source_index and
// compute_indices_weights_linear, align_corners=False, no scale factor given), in float as ATen computes them.
struct Axis {
  std::vector<int64_t> i0, i1;
  std::vector<float> w0, w1;
};

Axis make_axis(int64_t in, int64_t out) {
  Axis a;
  a.i0.resize(out), a.i1.resize(out), a.w0.resize(out), a.w1.resize(out);
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int64_t d = 0; d < out; ++d) {
    const float src = std::max(scale * (static_cast<float>(d) + 0.5f) - 0.5f, 0.f);
    const int64_t i0 = std::min(static_cast<int64_t>(src), in - 1);
    const float l1 = std::clamp(src - static_cast<float>(i0), 0.f, 1.f);
    a.i0[d] = i0;
    a.i1[d] = i0 < in - 1 ? i0 + 1 : i0;
    a.w1[d] = l1;
    a.w0[d] = 1.f - l1;
  }
  return a;
}

struct Workspace {
  std::vector<float> t, dt;         // (K, in_h, out_w): logits resized along x, and their gradient
  std::vector<float> z;             // (K, out_w): one output row's logits, then their exponentials
  std::vector<float> max, sum, picked, ratio;  // (out_w)
};

void resize(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

// One sample: returns its summed loss, writes its gradient when asked.
double sample_loss(const ResizedCrossEntropyArgs& a, const Axis& ax, const Axis& ay, int64_t b, Workspace& ws) {
  const int64_t K = a.classes, h = a.in_h, w = a.in_w, H = a.out_h, W = a.out_w;
  const bool grad = a.grad_logits != nullptr;
  resize(ws.t, K * h * W), resize(ws.z, K * W);
  resize(ws.max, W), resize(ws.sum, W), resize(ws.picked, W), resize(ws.ratio, W);
  if (grad) {
    resize(ws.dt, K * h * W);
    std::fill_n(ws.dt.data(), K * h * W, 0.f);
  }
  const float* logits = a.logits + b * K * h * w;
  float* t = ws.t.data();
  for (int64_t kr = 0; kr < K * h; ++kr) {
    const float* src = logits + kr * w;
    float* dst = t + kr * W;
    for (int64_t x = 0; x < W; ++x) dst[x] = src[ax.i0[x]] * ax.w0[x] + src[ax.i1[x]] * ax.w1[x];
  }

  double loss = 0;
  float* z = ws.z.data();
  float *mx = ws.max.data(), *sm = ws.sum.data(), *picked = ws.picked.data(), *ratio = ws.ratio.data();
  for (int64_t y = 0; y < H; ++y) {
    const int64_t* target = a.target + (b * H + y) * W;
    bool any = false;
    for (int64_t x = 0; x < W && !any; ++x) any = target[x] != a.ignore_index;
    if (!any) continue;  // nothing to count, nothing to differentiate (e.g. the crop's padding)
    const int64_t y0 = ay.i0[y] * W, y1 = ay.i1[y] * W;
    const Vec w0(ay.w0[y]), w1(ay.w1[y]);
    std::fill_n(mx, W, -std::numeric_limits<float>::infinity());
    for (int64_t k = 0; k < K; ++k) {
      const float* r0 = t + k * h * W + y0;
      const float* r1 = t + k * h * W + y1;
      float* zk = z + k * W;
      for (int64_t x = 0; x < W; x += kVec) {
        const int64_t n = std::min(kVec, W - x);
        const Vec v = at::vec::fmadd(Vec::loadu(r1 + x, n), w1, Vec::loadu(r0 + x, n) * w0);
        v.store(zk + x, n);
        at::vec::maximum(Vec::loadu(mx + x, n), v).store(mx + x, n);
      }
    }
    for (int64_t x = 0; x < W; ++x) {
      const int64_t c = target[x];
      picked[x] = c == a.ignore_index ? 0.f : z[c * W + x];
    }
    std::fill_n(sm, W, 0.f);
    const Vec floor(kMinExponent);
    for (int64_t k = 0; k < K; ++k) {
      float* zk = z + k * W;
      for (int64_t x = 0; x < W; x += kVec) {
        const int64_t n = std::min(kVec, W - x);
        const Vec e = at::vec::maximum(Vec::loadu(zk + x, n) - Vec::loadu(mx + x, n), floor).exp_u20();
        e.store(zk + x, n);
        (Vec::loadu(sm + x, n) + e).store(sm + x, n);
      }
    }
    double row = 0;
    for (int64_t x = 0; x < W; ++x) {
      const bool counted = target[x] != a.ignore_index;
      if (counted) row += static_cast<double>(mx[x]) + std::log(static_cast<double>(sm[x])) - picked[x];
      ratio[x] = counted ? a.grad_scale / sm[x] : 0.f;
    }
    loss += row;
    if (!grad) continue;
    // d loss / d z[k] = grad_scale * (softmax[k] - [k == target]); added into the two source rows of dT.
    float* d = ws.dt.data();
    for (int64_t k = 0; k < K; ++k) {
      const float* ek = z + k * W;
      float* d0 = d + k * h * W + y0;
      float* d1 = d + k * h * W + y1;
      for (int64_t x = 0; x < W; x += kVec) {
        const int64_t n = std::min(kVec, W - x);
        const Vec g = Vec::loadu(ek + x, n) * Vec::loadu(ratio + x, n);
        at::vec::fmadd(g, w0, Vec::loadu(d0 + x, n)).store(d0 + x, n);
        at::vec::fmadd(g, w1, Vec::loadu(d1 + x, n)).store(d1 + x, n);
      }
    }
    for (int64_t x = 0; x < W; ++x) {
      const int64_t c = target[x];
      if (c == a.ignore_index) continue;
      d[c * h * W + y0 + x] -= ay.w0[y] * a.grad_scale;
      d[c * h * W + y1 + x] -= ay.w1[y] * a.grad_scale;
    }
  }

  if (grad) {
    float* out = a.grad_logits + b * K * h * w;
    std::fill_n(out, K * h * w, 0.f);
    const float* d = ws.dt.data();
    for (int64_t kr = 0; kr < K * h; ++kr) {
      const float* src = d + kr * W;
      float* dst = out + kr * w;
      for (int64_t x = 0; x < W; ++x) {
        dst[ax.i0[x]] += ax.w0[x] * src[x];
        dst[ax.i1[x]] += ax.w1[x] * src[x];
      }
    }
  }
  return loss;
}

}  // namespace

double resized_cross_entropy(const ResizedCrossEntropyArgs& a) {
  const Axis ax = make_axis(a.in_w, a.out_w), ay = make_axis(a.in_h, a.out_h);
  std::vector<double> losses(a.batch, 0.0);
  at::parallel_for(0, a.batch, 1, [&](int64_t begin, int64_t end) {
    thread_local Workspace ws;
    for (int64_t b = begin; b < end; ++b) losses[b] = sample_loss(a, ax, ay, b, ws);
  });
  double total = 0;
  for (const double l : losses) total += l;
  return total;
}

}  // namespace CPU_CAPABILITY
}  // namespace locbench::kernels::cpu
