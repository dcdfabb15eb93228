// tests/fixtures/reference_env.py fill_tensor in C++: deterministic float32 values from a tensor's name and shape,
// bit for bit the ones the Python fixture generators gave mmseg's models, so no checkpoint has to be committed.
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/image_test_helpers.h"

namespace locbench::testing {

inline uint64_t fnv1a64(const std::string& text) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

// fill_tensor: u_i from splitmix64 of (fnv1a64(name) + (i + 1) * golden), v = 2u - 1, offset + v * float32(scale).
inline torch::Tensor fill_tensor(const std::string& name, const std::vector<int64_t>& shape) {
  int64_t n = 1, fan_in = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    n *= shape[d];
    if (d > 0) fan_in *= shape[d];
  }
  const std::string leaf = name.substr(name.rfind('.') + 1);
  double offset = 0.0, scale = 0.1;
  if (leaf == "pos_embed" || leaf == "cls_token") scale = 0.2;
  else if (shape.size() >= 2) scale = std::sqrt(3.0 / static_cast<double>(fan_in));
  else if (leaf.size() >= 6 && leaf.compare(leaf.size() - 6, 6, "weight") == 0) offset = 1.0, scale = 0.2;
  const double scale32 = static_cast<float>(scale);
  const uint64_t h = fnv1a64(name);
  std::vector<float> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t z = splitmix64_finalize(h + static_cast<uint64_t>(i + 1) * 0x9E3779B97F4A7C15ull);
    const double v = static_cast<double>(z >> 40) / static_cast<double>(1 << 24) * 2.0 - 1.0;
    values[static_cast<size_t>(i)] = static_cast<float>(offset + v * scale32);
  }
  return torch::from_blob(values.data(), shape, torch::kFloat32).clone();
}


}  // namespace locbench::testing
