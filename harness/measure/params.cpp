// The `params` kind: parameter count as timm's benchmark.py reports it (sum of numel over parameters).
#include "harness/measure/kinds.h"

#include "harness/compute/macs.h"

namespace locbench::measure::kinds {

std::vector<store::Result> params(Context& ctx) {
  return {{"params", static_cast<double>(count_params(ctx.model)), "count", "timm"}};
}

}  // namespace locbench::measure::kinds
