// The `macs` kind: multiply-accumulates of one forward at the cell's input size, counted under fvcore's convention.
#include "harness/measure/kinds.h"

#include "harness/compute/macs.h"

#include <stdexcept>
#include <string>

namespace locbench::measure::kinds {

std::vector<store::Result> macs(Context& ctx) {
  // A model whose forward runs below the dispatcher (an AOTInductor package) would count only what leaks through.
  if (const std::string why = ctx.model.compute_not_observable(); !why.empty())
    throw std::runtime_error("MACs cannot be counted: " + why);
  auto input = torch::zeros({1, 3, ctx.img_size[0], ctx.img_size[1]});
  const MacCount count = count_macs([&] {
    torch::InferenceMode guard;
    ctx.model.forward(input);
  });
  const std::string convention = "fvcore " + std::to_string(ctx.img_size[0]) + "x" + std::to_string(ctx.img_size[1]);
  return {{"macs", count.macs, "MACs", convention}, {"flops", 2 * count.macs, "FLOPs", convention}};
}

}  // namespace locbench::measure::kinds
