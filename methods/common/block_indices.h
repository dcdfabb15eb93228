// Block indices of forward_intermediates (timm's convention: 0-based, negative counts from the end), checked once
// for every ViT-shaped method.
#pragma once

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace locbench::layers {

// The wanted blocks as 0-based indices; throws for one out of range.
inline std::vector<int64_t> resolve_block_indices(const std::vector<int64_t>& indices, int64_t depth) {
  std::vector<int64_t> wanted;
  for (int64_t i : indices) {
    const int64_t j = i < 0 ? depth + i : i;
    TORCH_CHECK(j >= 0 && j < depth, "block index ", i, " out of range for depth ", depth);
    wanted.push_back(j);
  }
  return wanted;
}

// The deepest wanted block (-1 when none): blocks after it need not run.
inline int64_t last_block(const std::vector<int64_t>& wanted) {
  return wanted.empty() ? -1 : *std::max_element(wanted.begin(), wanted.end());
}

}  // namespace locbench::layers
