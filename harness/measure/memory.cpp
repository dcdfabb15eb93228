// The `memory` kind: peak memory of one forward on random input.
#include "harness/measure/memory.h"

#include "harness/measure/common.h"
#include "harness/measure/kinds.h"

#include <fstream>
#include <string>

#ifdef LOCBENCH_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace locbench::measure {

int64_t process_peak_rss() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return -1;
}

void reset_process_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";  // resets VmHWM to the current RSS (Linux >= 4.0)
}

namespace kinds {

std::vector<store::Result> memory(Context& ctx) {
  auto input = random_batch(ctx);
#ifdef LOCBENCH_TORCH_CUDA
  if (ctx.device.is_cuda()) {
    synchronize(ctx.device);
    c10::cuda::CUDACachingAllocator::resetPeakStats(ctx.device.index());
    {
      Precision precision(ctx.precision, ctx.device);
      torch::InferenceMode guard;
      ctx.model.forward(input);
    }
    synchronize(ctx.device);
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(ctx.device.index());
    const auto peak = stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak;
    return {{"peak_memory", static_cast<double>(peak), "bytes", "CUDA allocator peak"}};
  }
#endif
  reset_process_peak_rss();  // what building the model (or loading its checkpoint) took does not count
  {
    Precision precision(ctx.precision, ctx.device);
    torch::InferenceMode guard;
    ctx.model.forward(input);
  }
  return {{"peak_memory", static_cast<double>(process_peak_rss()), "bytes",
           ctx.isolated ? "VmHWM of a process of its own (model built, then one forward)"
                        : "VmHWM since the model was built, in the run's process"}};
}

}  // namespace kinds
}  // namespace locbench::measure
