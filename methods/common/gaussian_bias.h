// The methods' side of the Gaussian-bias attention op that LocAtViT's GAug (arXiv 2603.04892) and GAB (arXiv
// 2305.04722) call (kernels/gaussian_attention/gaussian_attention_op.h): a token sequence's grid as the op reads it.
#pragma once

#include "kernels/gaussian_attention/gaussian_attention_op.h"
#include "methods/common/layers.h"

namespace locbench::gaussian {

inline PatchGrid patch_grid(const layers::TokenGrid& grid) { return {grid.rows, grid.cols, grid.num_prefix}; }

}  // namespace locbench::gaussian
