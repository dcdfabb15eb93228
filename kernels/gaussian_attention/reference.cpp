// CPU reference of the Gaussian-bias attention (GAug, arXiv 2603.04892; GAB, arXiv 2305.04722), forward and backward:
// per (b, h, query) a two-pass softmax over all keys, in double, with the bias from the same parameterisation.
#include "kernels/gaussian_attention/reference.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace locbench::kernels {

namespace {

// Per-axis numerator -dx^2/2, clamped from below when the model asks (LocAtViT at grids beyond training).
double numerator(int from, int to, const GaussianBiasArgs& g) {
  const double d = double(to) - double(from);
  const double n = -0.5 * d * d;
  return g.has_clamp && g.mode == BiasMode::kGAug ? std::max(n, double(g.clamp)) : n;  // GAB never clamps
}

const float* row_of(const AttentionTensor& t, int b, int h, int n) {
  return static_cast<const float*>(t.data) + b * t.stride_b + h * t.stride_h + n * t.stride_n;
}

float* mutable_row_of(const AttentionTensor& t, int b, int h, int n) { return const_cast<float*>(row_of(t, b, h, n)); }

// One bias value in pieces, B = amp * e with e = exp(num_row * inv_row + num_col * inv_col), inv_m = 1/(var_m + eps);
// what the parameter gradients need. biased is false for prefix rows and columns (B = 0 there).
struct BiasPieces {
  bool biased = false;
  double amp = 0, inv_row = 0, inv_col = 0, num_row = 0, num_col = 0;
  double e() const { return std::exp(num_row * inv_row + num_col * inv_col); }
  double value() const { return biased ? amp * e() : 0.0; }
};

BiasPieces bias_pieces(const GaussianAttentionArgs& a, int b, int h, int query, int key) {
  BiasPieces x;
  const int p = query - a.num_prefix, t = key - a.num_prefix;
  if (p < 0 || t < 0) return x;  // prefix tokens neither give nor receive the bias
  const GaussianBiasArgs& g = a.bias;
  x.biased = true;
  if (g.mode == BiasMode::kGAug) {
    const float* var = g.var + b * g.var_stride_b + h * g.var_stride_h + p * g.var_stride_p;
    x.inv_row = 1.0 / (double(var[0]) + g.eps);
    x.inv_col = 1.0 / (double(var[g.var_stride_axis]) + g.eps);
    x.amp = g.amplitude[b * g.amp_stride_b + h * g.amp_stride_h + p * g.amp_stride_p];
  } else {
    const double A = g.gab_amplitude[h * g.gab_head_stride], sigma = g.gab_sigma[h * g.gab_head_stride];
    x.amp = A * A;
    x.inv_row = x.inv_col = 1.0 / (sigma * sigma);  // eps 0
  }
  x.num_row = numerator(p / a.cols, t / a.cols, g);
  x.num_col = numerator(p % a.cols, t % a.cols, g);
  return x;
}

// Softmax weights of query i of (b, h) over every key, in double; returns the logsumexp.
double softmax_row(const GaussianAttentionArgs& a, int b, int h, int i, std::vector<double>& p) {
  const float* q = row_of(a.q, b, h, i);
  for (int j = 0; j < a.seq_len; ++j) {
    const float* k = row_of(a.k, b, h, j);
    double dot = 0.0;
    for (int d = 0; d < a.head_dim; ++d) dot += double(q[d]) * double(k[d]);
    p[j] = dot * a.scale + bias_pieces(a, b, h, i, j).value();
    const ExtraBias& e = a.extra;
    if (e.data) p[j] += e.data[b * e.stride_b + h * e.stride_h + int64_t(i) * e.stride_q + j];
  }
  const double max = *std::max_element(p.begin(), p.end());
  double sum = 0.0;
  for (double& x : p) sum += (x = std::exp(x - max));
  for (double& x : p) x /= sum;
  return max + std::log(sum);
}

}  // namespace

double reference_gaussian_bias(const GaussianAttentionArgs& a, int b, int h, int query, int key) {
  return bias_pieces(a, b, h, query, key).value();
}

void reference_forward(const GaussianAttentionArgs& a) {
  std::vector<double> p(a.seq_len), out(a.head_dim);
  for (int b = 0; b < a.batch; ++b)
    for (int h = 0; h < a.heads; ++h)
      for (int i = 0; i < a.seq_len; ++i) {
        const double lse = softmax_row(a, b, h, i, p);
        if (a.lse) a.lse[(int64_t(b) * a.heads + h) * a.seq_len + i] = float(lse);
        std::fill(out.begin(), out.end(), 0.0);
        for (int j = 0; j < a.seq_len; ++j) {
          const float* v = row_of(a.v, b, h, j);
          for (int d = 0; d < a.head_dim; ++d) out[d] += p[j] * double(v[d]);
        }
        float* o = mutable_row_of(a.out, b, h, i);
        for (int d = 0; d < a.head_dim; ++d) o[d] = float(out[d]);
      }
}

void reference_backward(const GaussianAttentionArgs& a, const GaussianAttentionGrads& g) {
  const int n = a.seq_len, dim = a.head_dim, np = a.rows * a.cols;
  std::vector<double> p(n), dp(n), dq(dim), dk(size_t(n) * dim), dv(size_t(n) * dim);
  std::vector<double> gab_damp(a.heads, 0.0), gab_dvar(a.heads, 0.0);  // GAB: sums over rows, per head
  for (int b = 0; b < a.batch; ++b)
    for (int h = 0; h < a.heads; ++h) {
      std::fill(dk.begin(), dk.end(), 0.0);
      std::fill(dv.begin(), dv.end(), 0.0);
      for (int i = 0; i < n; ++i) {
        softmax_row(a, b, h, i, p);
        const float* q = row_of(a.q, b, h, i);
        const float* dout = row_of(g.dout, b, h, i);
        double delta = 0.0;  // rowsum(dO * O) = sum_j P_ij dP_ij
        for (int j = 0; j < n; ++j) {
          const float* v = row_of(a.v, b, h, j);
          double dot = 0.0;
          for (int d = 0; d < dim; ++d) dot += double(dout[d]) * double(v[d]);
          dp[j] = dot;
          delta += p[j] * dot;
        }
        std::fill(dq.begin(), dq.end(), 0.0);
        double damp = 0.0, dvar_row = 0.0, dvar_col = 0.0;
        for (int j = 0; j < n; ++j) {
          const double ds = p[j] * (dp[j] - delta);  // dL/dS_ij, and dL/dB_ij
          const float* k = row_of(a.k, b, h, j);
          for (int d = 0; d < dim; ++d) {
            dq[d] += ds * double(k[d]);
            dk[size_t(j) * dim + d] += ds * double(q[d]);
            dv[size_t(j) * dim + d] += p[j] * double(dout[d]);
          }
          const BiasPieces x = bias_pieces(a, b, h, i, j);
          if (!x.biased) continue;
          // B = amp * exp(num_row / (var_row + eps) + num_col / (var_col + eps)).
          const double e = x.e();
          damp += ds * e;
          dvar_row -= ds * x.amp * e * x.num_row * x.inv_row * x.inv_row;
          dvar_col -= ds * x.amp * e * x.num_col * x.inv_col * x.inv_col;
        }
        float* dq_row = mutable_row_of(g.dq, b, h, i);
        for (int d = 0; d < dim; ++d) dq_row[d] = float(dq[d] * a.scale);
        const int patch = i - a.num_prefix;
        if (patch < 0) continue;
        if (a.bias.mode == BiasMode::kGAB) {
          gab_damp[h] += damp;
          gab_dvar[h] += dvar_row + dvar_col;  // var = sigma^2 on both axes
          continue;
        }
        const int64_t row = (int64_t(b) * a.heads + h) * np + patch;
        if (g.damp) g.damp[row] = float(damp);
        if (g.dvar) g.dvar[2 * row] = float(dvar_row), g.dvar[2 * row + 1] = float(dvar_col);
      }
      for (int j = 0; j < n; ++j) {
        float* dk_row = mutable_row_of(g.dk, b, h, j);
        float* dv_row = mutable_row_of(g.dv, b, h, j);
        for (int d = 0; d < dim; ++d) {
          dk_row[d] = float(dk[size_t(j) * dim + d] * a.scale);
          dv_row[d] = float(dv[size_t(j) * dim + d]);
        }
      }
    }
  if (a.bias.mode != BiasMode::kGAB) return;
  // amp = A^2 and var = sigma^2: dA = 2 A dL/damp, dsigma = 2 sigma dL/dvar, per head or summed over heads.
  const GaussianBiasArgs& bias = a.bias;
  const int params = bias.gab_head_stride == 0 ? 1 : a.heads;
  for (int at = 0; at < params; ++at) {
    double damp = 0.0, dvar = 0.0;
    for (int h = 0; h < a.heads; ++h)
      if (params == 1 || h == at) damp += gab_damp[h], dvar += gab_dvar[h];
    const int64_t index = at * bias.gab_head_stride;
    if (g.dgab_amplitude) g.dgab_amplitude[index] = float(2.0 * bias.gab_amplitude[index] * damp);
    if (g.dgab_sigma) g.dgab_sigma[index] = float(2.0 * bias.gab_sigma[index] * dvar);
  }
}

}  // namespace locbench::kernels
