// The resized cross-entropy's argument checks and the choice of the build for this machine's instruction set
// (resized_cross_entropy_kernel.cpp, compiled once per CPU_CAPABILITY).
#include "kernels/resized_cross_entropy/resized_cross_entropy.h"

#include "kernels/cpu_capability.h"

#include <stdexcept>

namespace locbench::kernels {

// One per build of resized_cross_entropy_kernel.cpp, in the namespace its CPU_CAPABILITY names.
LOCBENCH_DECLARE_CPU_BUILDS(double resized_cross_entropy(const ResizedCrossEntropyArgs& args))

namespace {

using Kernel = double (*)(const ResizedCrossEntropyArgs&);

Kernel kernel_for_this_machine() {
  static const Kernel kernel = LOCBENCH_CPU_BUILD_OF(resized_cross_entropy);
  return kernel;
}

}  // namespace

std::string resized_cross_entropy_validate(const ResizedCrossEntropyArgs& a) {
  if (a.batch <= 0 || a.classes <= 0) return "batch and classes must be positive";
  if (a.in_h <= 0 || a.in_w <= 0 || a.out_h <= 0 || a.out_w <= 0) return "sizes must be positive";
  if (!a.logits || !a.target) return "logits and target are required";
  return {};
}

double resized_cross_entropy_cpu(const ResizedCrossEntropyArgs& a) {
  if (const std::string problem = resized_cross_entropy_validate(a); !problem.empty())
    throw std::invalid_argument("resized cross-entropy: " + problem);
  const int64_t pixels = a.batch * a.out_h * a.out_w;
  for (int64_t i = 0; i < pixels; ++i) {
    const int64_t c = a.target[i];
    if (c != a.ignore_index && (c < 0 || c >= a.classes))
      throw std::invalid_argument("resized cross-entropy: target " + std::to_string(c) + " is outside [0, " +
                                  std::to_string(a.classes) + ") and is not the ignore index " +
                                  std::to_string(a.ignore_index));
  }
  return kernel_for_this_machine()(a);
}

std::string resized_cross_entropy_capability() { return cpu_build_for_this_machine(); }

}  // namespace locbench::kernels
