// What a suite or the command line may override when a variant is built (timm's create_model kwargs), and the
// bounds every override is checked against. Torch-free: suites are read without LibTorch.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace locbench {

// Overrides applied when a variant is built (timm's create_model kwargs).
struct ModelArgs {
  std::optional<int64_t> num_classes;
  std::optional<std::array<int64_t, 2>> img_size;  // H, W the model is built for (position-embedding grid)
  std::optional<double> drop_rate;
  std::optional<double> drop_path_rate;
  std::optional<bool> fused_attn;  // SDPA (default) or the explicit softmax path
};

// The largest image side a model is built for or fed: beyond it a ViT's token grid no longer fits in memory, and
// such a size is a typo rather than a measurement.
constexpr int64_t kMaxImageSide = 8192;

}  // namespace locbench
