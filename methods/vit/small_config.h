// locbench's CPU-scale ViT geometry (not in timm): patch 8 on 64-96 px images, so a model trains from scratch in
// minutes on 2 cores. Shared by the small variants of every ViT-shaped method.
#pragma once

#include "methods/vit/vision_transformer.h"

namespace locbench::vit {

VitConfig small_config(int64_t img, int64_t dim, int64_t depth, int64_t heads);
// The variant config that goes with it: whole images (crop_pct 1), patch 8.
VariantConfig small_variant_config(int64_t img);

}  // namespace locbench::vit
