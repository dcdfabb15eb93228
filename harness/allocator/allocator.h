// The heap policy of a locbench process, chosen once at start-up and recorded in every run's provenance (the runs
// table's `allocator`). LibTorch's CPU allocator keeps no cache: every tensor is a posix_memalign and a free, so the
// C library's thresholds decide whether a large temporary goes back to the OS and is faulted in again on the next
// forward, which shows in every timing. Torch-free.
#pragma once

#include <string>

namespace locbench::allocator {

// Applies the policy that LOCBENCH_ALLOCATOR names, once per process (later calls return the first description):
//   "retain" (the default): glibc keeps freed blocks below 32 MiB (its largest mmap threshold) in the heap instead
//       of unmapping them, and gives free memory at the top of a heap back to the OS only beyond a cap of 256 MiB;
//   "retain:<MiB>": the same with another cap;
//   "system": the C library's own dynamic thresholds.
// Another malloc preloaded into the process (jemalloc, mimalloc, tcmalloc) is left alone and named. Throws
// std::invalid_argument naming LOCBENCH_ALLOCATOR for a policy it does not know.
std::string configure();

// What this process allocates with, for provenance, e.g. "glibc 2.36 retain (mmap_threshold 32 MiB, trim_threshold
// 256 MiB)", "glibc 2.36 system" or "jemalloc (preloaded)"; "unconfigured" before configure().
std::string description();

}  // namespace locbench::allocator
