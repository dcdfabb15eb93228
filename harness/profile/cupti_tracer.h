// CUPTI Activity API tracer of GPU kernels and CUDA API calls (compiled only with a CUDA LibTorch and CUPTI).
#pragma once

#include "harness/profile/profile.h"

namespace locbench::profile {

// Runs fn options.warmup times, then traces options.iterations runs: CONCURRENT_KERNEL, RUNTIME, DRIVER and
// EXTERNAL_CORRELATION records, flushed with CUPTI_ACTIVITY_FLAG_FLUSH_FORCED. Throws when CUPTI refuses
// (e.g. another subscriber such as Kineto, nsys or ncu holds it).
ProfileRows trace_kernels(const std::function<void()>& fn, const std::function<void()>& synchronize,
                          const ProfileOptions& options);

}  // namespace locbench::profile
