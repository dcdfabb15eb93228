// The CUDA benchmarks' pieces: a CUDA-event timer for Google Benchmark's manual time, a TFLOP/s counter and the SDPA
// peers' registration.
#pragma once

#include "kernels/gaussian_attention/bench_common.h"

#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <vector>

namespace locbench::kernels::bench {

// Times one launch between two events on `stream`; the events are reused across iterations.
class EventTimer {
 public:
  EventTimer() {
    cudaEventCreate(&start_);
    cudaEventCreate(&stop_);
  }
  ~EventTimer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;

  void start(cudaStream_t stream) { cudaEventRecord(start_, stream); }
  // Seconds since start(); waits for the stop event.
  double stop(cudaStream_t stream) {
    cudaEventRecord(stop_, stream);
    cudaEventSynchronize(stop_);
    float ms = 0.f;
    cudaEventElapsedTime(&ms, start_, stop_);
    return ms * 1e-3;
  }

 private:
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// Manual time plus a TFLOP/s counter computed from the same event times (not from CPU time).
inline void report_tflops(benchmark::State& state, double flops_per_iteration, double total_seconds) {
  if (total_seconds > 0)
    state.counters["TFLOP/s"] = flops_per_iteration * double(state.iterations()) / total_seconds * 1e-12;
}

#ifdef LOCBENCH_TORCH_CUDA
// The SDPA peers (bench_gaussian_attention_sdpa.cpp): materialised bias with efficient / cuDNN / math backends and
// unbiased flash. Built only with a CUDA LibTorch.
void register_sdpa_peers(const std::vector<Shape>& shapes);
#endif

}  // namespace locbench::kernels::bench
