// The `memory` kind: the peak memory of one forward (CUDA allocator peak, or the process's resident high-water mark).
#pragma once

#include <cstdint>

namespace locbench::measure {

// Peak resident memory of this process since the last reset (VmHWM), in bytes; reset through clear_refs.
int64_t process_peak_rss();
void reset_process_peak_rss();

}  // namespace locbench::measure
