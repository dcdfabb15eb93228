// Op- and kernel-level profiles of one model forward: on CUDA (with a CUDA LibTorch and CUPTI) a CUPTI Activity
// API trace of every kernel; elsewhere LibTorch's own RecordFunction callbacks per ATen op. Both fill one table.
// Never both at once: a process may hold only one CUPTI subscriber, and Kineto is one.
#pragma once

#include "harness/model/model.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace locbench::profile {

// One line of the profile: an ATen op (kind "op"), a GPU kernel ("kernel") or a CUDA runtime/driver API call
// ("runtime", "driver"), aggregated over all profiled forwards: calls and total_us are sums, mean_us per call.
struct ProfileRow {
  std::string kind, name;
  int64_t calls = 0;
  double total_us = 0, mean_us = 0;
  double self_us = 0;  // ops: time not spent in nested ops; kernels and API calls: equal to total_us
  // Kernels only: launch configuration as CUPTI reports it.
  std::array<int, 3> grid{0, 0, 0}, block{0, 0, 0};
  int registers_per_thread = 0;
  int static_shared_bytes = 0, dynamic_shared_bytes = 0;
  uint32_t stream = 0;
};

struct ProfileRows {
  std::string tracer;         // "libtorch-record-function" or "cupti"
  uint32_t cupti_version = 0;  // cuptiGetVersion, 0 when CUPTI was not used
  uint64_t dropped_records = 0;
  int iterations = 0;          // forwards profiled (rows sum over them)
  std::vector<ProfileRow> rows;  // sorted by total_us, largest first
};

struct ProfileOptions {
  int warmup = 1;      // forwards before tracing (lazy initialisation, cuDNN/cuBLAS heuristics, module loads)
  int iterations = 1;  // forwards traced
};

// Profiles model.forward(input) on `device` (model and input are moved there). CUDA uses CUPTI when this build
// has it (LOCBENCH_TORCH_CUDA and CUPTI found) and throws otherwise; CPU uses RecordFunction callbacks.
ProfileRows profile_model(Model& model, const torch::Tensor& input, const torch::Device& device,
                          const ProfileOptions& options = {});

// The RecordFunction op profile of `fn`, run options.iterations times after options.warmup runs.
ProfileRows profile_ops(const std::function<void()>& fn, const ProfileOptions& options = {});

// True when this build can trace kernels with CUPTI.
bool cupti_available();

// Which scaled-dot-product-attention backend a profile shows, named from its kernel names (CUPTI) or ATen op names
// (RecordFunction): flash, efficient, cudnn, or math when attention ran without a fused kernel (SDPA's math
// backend, or attention written out with a softmax). Several fused backends are joined by '+', most time first.
struct SdpaBackend {
  std::string name;     // empty when no attention was seen
  double total_us = 0;  // rows that name it; math from kernels: its softmax kernels only (its GEMMs are anonymous)
  int64_t calls = 0;
};
SdpaBackend sdpa_backend(const ProfileRows& profile);

nlohmann::json to_json(const ProfileRows& profile);
// A fixed-width table, at most `limit` rows (0: all).
void print_table(const ProfileRows& profile, std::ostream& out, size_t limit = 0);

}  // namespace locbench::profile
