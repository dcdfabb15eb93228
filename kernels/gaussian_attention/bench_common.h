// Shared pieces of the Gaussian-attention benchmarks (CPU and CUDA): the ViT shapes and benchmark names
// ("op/variant/shape", the form `bench check --reference` relies on).
#pragma once

#include <string>
#include <vector>

namespace locbench::kernels::bench {

// One ViT attention shape: N = num_prefix + rows * cols tokens.
struct Shape {
  int batch, heads, num_prefix, rows, cols, head_dim;
  int seq_len() const { return num_prefix + rows * cols; }
  double flops() const { return 4.0 * batch * heads * double(seq_len()) * seq_len() * head_dim; }
  std::string label() const {
    return "B" + std::to_string(batch) + "_H" + std::to_string(heads) + "_N" + std::to_string(seq_len()) + "_D" +
           std::to_string(head_dim);
  }
};

// ViT at 224 px (N 197 = cls + 14x14), at 512 px (1025 = cls + 32x32) and SegViT at 640 px (1600 = 40x40, no cls);
// heads of ViT-Ti/S/B; batch 64 and 256; head dim 64.
inline std::vector<Shape> vit_shapes() {
  std::vector<Shape> shapes;
  for (int batch : {64, 256})
    for (int heads : {3, 6, 12})
      for (auto [prefix, side] : {std::pair{1, 14}, {1, 32}, {0, 40}}) shapes.push_back({batch, heads, prefix, side, side, 64});
  return shapes;
}

inline std::string benchmark_name(const std::string& op, const std::string& variant, const Shape& s) {
  return op + "/" + variant + "/" + s.label();
}
inline std::string benchmark_name(const std::string& variant, const Shape& s) {
  return benchmark_name("gaussian_attention", variant, s);
}

}  // namespace locbench::kernels::bench
