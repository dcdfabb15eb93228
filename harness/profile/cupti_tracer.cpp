// CUPTI Activity API tracer: per-kernel rows (name, duration, grid, block, registers, shared memory, stream) and
// per-API rows of the CUDA runtime/driver calls of a traced region: 4 MiB activity buffers, a forced flush at the
// end, the dropped-record count and the CUPTI version recorded with every profile.
#include "harness/profile/cupti_tracer.h"

#include <cupti.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>

namespace locbench::profile {

namespace {

constexpr size_t kBufferBytes = 4 << 20;  // Kineto's size, within CUPTI's 1-10 MB recommendation
constexpr size_t kAlign = 8;              // activity records must be 8-byte aligned

void check(CUptiResult result, const char* what) {
  if (result == CUPTI_SUCCESS) return;
  const char* message = nullptr;
  cuptiGetResultString(result, &message);
  const char* hint = result == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED
                         ? " (another profiler such as Kineto, nsys or ncu holds CUPTI)"
                     : result == CUPTI_ERROR_INSUFFICIENT_PRIVILEGES
                         ? " (the driver restricts profiling to admin users: NVreg_RestrictProfilingToAdminUsers=0)"
                         : "";
  throw std::runtime_error(std::string("CUPTI: ") + what + " failed: " + (message ? message : "unknown error") + hint);
}

// Kernels with the same name and launch configuration share a row.
using KernelKey = std::tuple<std::string, int, int, int, int, int, int, int, int, int, uint32_t>;

// Filled from CUPTI's buffer-completed callback, which may run on a CUPTI thread.
struct Records {
  std::mutex mutex;
  std::map<KernelKey, ProfileRow> kernels;
  std::map<std::pair<std::string, std::string>, ProfileRow> api_calls;  // (kind, name)
  uint64_t dropped = 0;
  uint64_t correlated = 0;  // kernels' launches tagged with our external correlation id
};
Records* records = nullptr;

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(kAlign, kBufferBytes));
  *size = *buffer ? kBufferBytes : 0;
  *max_records = 0;  // as many as fit
}

void add_kernel(const CUpti_ActivityKernel10& k) {
  ProfileRow& row = records->kernels[KernelKey{k.name ? k.name : "?", k.gridX, k.gridY, k.gridZ, k.blockX, k.blockY,
                                               k.blockZ, k.registersPerThread, k.staticSharedMemory,
                                               k.dynamicSharedMemory, k.streamId}];
  if (row.calls == 0) {
    row.kind = "kernel";
    row.name = k.name ? k.name : "?";
    row.grid = {k.gridX, k.gridY, k.gridZ};
    row.block = {k.blockX, k.blockY, k.blockZ};
    row.registers_per_thread = k.registersPerThread;
    row.static_shared_bytes = k.staticSharedMemory;
    row.dynamic_shared_bytes = k.dynamicSharedMemory;
    row.stream = k.streamId;
  }
  row.calls += 1;
  if (k.start != 0 || k.end != 0) row.total_us += (k.end - k.start) * 1e-3;  // both 0: timestamps unknown
}

void add_api(const CUpti_ActivityAPI& api, bool runtime) {
  const char* name = nullptr;
  cuptiGetCallbackName(runtime ? CUPTI_CB_DOMAIN_RUNTIME_API : CUPTI_CB_DOMAIN_DRIVER_API, api.cbid, &name);
  const std::string kind = runtime ? "runtime" : "driver";
  ProfileRow& row = records->api_calls[{kind, name ? name : "?"}];
  row.kind = kind;
  row.name = name ? name : "?";
  row.calls += 1;
  row.total_us += (api.end - api.start) * 1e-3;
}

void CUPTIAPI buffer_completed(CUcontext context, uint32_t stream, uint8_t* buffer, size_t, size_t valid_size) {
  {
    std::lock_guard lock(records->mutex);
    CUpti_Activity* record = nullptr;
    while (cuptiActivityGetNextRecord(buffer, valid_size, &record) == CUPTI_SUCCESS) {
      switch (record->kind) {
        case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
          add_kernel(*reinterpret_cast<const CUpti_ActivityKernel10*>(record));
          break;
        case CUPTI_ACTIVITY_KIND_RUNTIME:
          add_api(*reinterpret_cast<const CUpti_ActivityAPI*>(record), true);
          break;
        case CUPTI_ACTIVITY_KIND_DRIVER:
          add_api(*reinterpret_cast<const CUpti_ActivityAPI*>(record), false);
          break;
        case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION:
          records->correlated += 1;
          break;
        default:
          break;
      }
    }
    size_t dropped = 0;
    if (cuptiActivityGetNumDroppedRecords(context, stream, &dropped) == CUPTI_SUCCESS) records->dropped += dropped;
  }
  std::free(buffer);  // CUPTI hands the buffer back for good once it is completed
}

const CUpti_ActivityKind kKinds[] = {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_RUNTIME,
                                     CUPTI_ACTIVITY_KIND_DRIVER, CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION};

void stop_tracing() {
  for (auto kind : kKinds) cuptiActivityDisable(kind);
  // Forced: a plain flush may return without delivering the last, partly filled buffers.
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
}

}  // namespace

ProfileRows trace_kernels(const std::function<void()>& fn, const std::function<void()>& synchronize,
                          const ProfileOptions& options) {
  for (int i = 0; i < options.warmup; ++i) fn();
  synchronize();
  Records collected;
  records = &collected;
  ProfileRows out;
  out.tracer = "cupti";
  out.iterations = options.iterations;
  try {
    check(cuptiGetVersion(&out.cupti_version), "cuptiGetVersion");
    check(cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed), "cuptiActivityRegisterCallbacks");
    for (auto kind : kKinds) check(cuptiActivityEnable(kind), "cuptiActivityEnable");
    for (int i = 0; i < options.iterations; ++i) {
      // Tags every launch of forward i; EXTERNAL_CORRELATION records link them to the kernels' correlation ids.
      check(cuptiActivityPushExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, uint64_t(i) + 1),
            "cuptiActivityPushExternalCorrelationId");
      fn();
      uint64_t popped = 0;
      check(cuptiActivityPopExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, &popped),
            "cuptiActivityPopExternalCorrelationId");
    }
    synchronize();  // kernels still in flight would otherwise miss the flush
    stop_tracing();
  } catch (...) {
    stop_tracing();
    records = nullptr;
    throw;
  }
  records = nullptr;

  out.dropped_records = collected.dropped;
  for (auto& [key, row] : collected.kernels) out.rows.push_back(row);
  for (auto& [key, row] : collected.api_calls) out.rows.push_back(row);
  for (auto& row : out.rows) {
    row.self_us = row.total_us;
    row.mean_us = row.calls ? row.total_us / row.calls : 0.0;
  }
  // Kernels first, then runtime and driver calls; each group by total time.
  auto rank = [](const ProfileRow& r) { return r.kind == "kernel" ? 0 : r.kind == "runtime" ? 1 : 2; };
  std::sort(out.rows.begin(), out.rows.end(), [&](const auto& a, const auto& b) {
    return rank(a) != rank(b) ? rank(a) < rank(b) : a.total_us > b.total_us;
  });
  return out;
}

}  // namespace locbench::profile
