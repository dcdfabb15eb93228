// The CPU kernel of the fused Gaussian-bias attention: argument checks and the choice of the build for this machine's
// instruction set (cpu_gaussian_attention_kernel.cpp, compiled once per CPU_CAPABILITY).
#include "kernels/gaussian_attention/cpu_gaussian_attention.h"

#include "kernels/cpu_capability.h"

#include <stdexcept>

namespace locbench::kernels {

// One per build of cpu_gaussian_attention_kernel.cpp, in the namespace its CPU_CAPABILITY names.
LOCBENCH_DECLARE_CPU_BUILDS(void gaussian_attention_forward(const GaussianAttentionArgs& args))

namespace {

using Forward = void (*)(const GaussianAttentionArgs&);

struct Build {
  std::string capability;
  Forward forward;
};

const Build& build_for_this_machine() {
  static const Build build{cpu_build_for_this_machine(), LOCBENCH_CPU_BUILD_OF(gaussian_attention_forward)};
  return build;
}

}  // namespace

std::string cpu_validate(const GaussianAttentionArgs& a) {
  if (a.batch <= 0 || a.heads <= 0 || a.seq_len <= 0 || a.head_dim <= 0)
    return "batch, heads, seq_len and head_dim must be positive";
  if (a.num_prefix < 0 || a.rows <= 0 || a.cols <= 0 || a.seq_len != a.num_prefix + a.rows * a.cols)
    return "seq_len must equal num_prefix + rows * cols";
  if (!a.q.data || !a.k.data || !a.v.data || !a.out.data) return "q, k, v and out are required";
  const GaussianBiasArgs& g = a.bias;
  if (g.mode == BiasMode::kGAug && (!g.var || !g.amplitude)) return "GAug needs var and amplitude";
  if (g.mode == BiasMode::kGAB && (!g.gab_amplitude || !g.gab_sigma)) return "GAB needs gab_amplitude and gab_sigma";
  return {};
}

void cpu_gaussian_attention_forward(const GaussianAttentionArgs& args) {
  if (const std::string problem = cpu_validate(args); !problem.empty())
    throw std::invalid_argument("fused Gaussian attention (CPU): " + problem);
  build_for_this_machine().forward(args);
}

std::string cpu_kernel_capability() { return build_for_this_machine().capability; }

}  // namespace locbench::kernels
