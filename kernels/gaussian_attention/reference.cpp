// CPU reference of the Gaussian-bias attention forward (GAug, arXiv 2603.04892; GAB, arXiv 2305.04722):
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

}  // namespace

double reference_gaussian_bias(const GaussianAttentionArgs& a, int b, int h, int query, int key) {
  const int p = query - a.num_prefix, t = key - a.num_prefix;
  if (p < 0 || t < 0) return 0.0;  // prefix tokens neither give nor receive the bias
  const GaussianBiasArgs& g = a.bias;
  double amp, var_row, var_col, eps = g.eps;
  if (g.mode == BiasMode::kGAug) {
    const float* var = g.var + b * g.var_stride_b + h * g.var_stride_h + p * g.var_stride_p;
    var_row = var[0];
    var_col = var[g.var_stride_axis];
    amp = g.amplitude[b * g.amp_stride_b + h * g.amp_stride_h + p * g.amp_stride_p];
  } else {
    const double A = g.gab_amplitude[h * g.gab_head_stride], sigma = g.gab_sigma[h * g.gab_head_stride];
    amp = A * A;
    var_row = var_col = sigma * sigma;
    eps = 0.0;
  }
  const double exponent = numerator(p / a.cols, t / a.cols, g) / (var_row + eps) +
                          numerator(p % a.cols, t % a.cols, g) / (var_col + eps);
  return amp * std::exp(exponent);
}

void reference_forward(const GaussianAttentionArgs& a) {
  std::vector<double> logits(a.seq_len), out(a.head_dim);
  for (int b = 0; b < a.batch; ++b)
    for (int h = 0; h < a.heads; ++h)
      for (int i = 0; i < a.seq_len; ++i) {
        const float* q = row_of(a.q, b, h, i);
        for (int j = 0; j < a.seq_len; ++j) {
          const float* k = row_of(a.k, b, h, j);
          double dot = 0.0;
          for (int d = 0; d < a.head_dim; ++d) dot += double(q[d]) * double(k[d]);
          logits[j] = dot * a.scale + reference_gaussian_bias(a, b, h, i, j);
        }
        const double max = *std::max_element(logits.begin(), logits.end());
        double sum = 0.0;
        std::fill(out.begin(), out.end(), 0.0);
        for (int j = 0; j < a.seq_len; ++j) {
          const double w = std::exp(logits[j] - max);
          sum += w;
          const float* v = row_of(a.v, b, h, j);
          for (int d = 0; d < a.head_dim; ++d) out[d] += w * double(v[d]);
        }
        float* o = const_cast<float*>(row_of(a.out, b, h, i));
        for (int d = 0; d < a.head_dim; ++d) o[d] = float(out[d] / sum);
      }
}

}  // namespace locbench::kernels
