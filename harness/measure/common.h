// What the measurement kinds share: autocast for a cell's precision, device synchronisation, one timed call, the
// random input of the data-free kinds, and options given as N or [N, M]. Internal to harness/measure.
#pragma once

#include "harness/measure/latency.h"
#include "harness/measure/measure.h"

#include <ATen/autocast_mode.h>

#include <array>
#include <chrono>
#include <functional>
#include <string>

#ifdef LOCBENCH_TORCH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#endif

namespace locbench::measure {

// Autocast for bf16/fp16 on the device; fp32 runs plain.
class Precision {
 public:
  Precision(const std::string& precision, torch::Device device) : type_(device.type()) {
    if (precision == "fp32") return;
    active_ = true;
    prev_enabled_ = at::autocast::is_autocast_enabled(type_);
    prev_dtype_ = at::autocast::get_autocast_dtype(type_);
    at::autocast::set_autocast_enabled(type_, true);
    at::autocast::set_autocast_dtype(type_, precision == "bf16" ? at::kBFloat16 : at::kHalf);
    at::autocast::increment_nesting();
  }
  ~Precision() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(type_, prev_enabled_);
    at::autocast::set_autocast_dtype(type_, prev_dtype_);
  }
  Precision(const Precision&) = delete;
  Precision& operator=(const Precision&) = delete;

 private:
  c10::DeviceType type_;
  bool active_ = false, prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kFloat;
};

inline void synchronize(torch::Device device) {
#ifdef LOCBENCH_TORCH_CUDA
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
#else
  (void)device;
#endif
}

// Milliseconds of one call: CUDA events on the GPU, a steady clock on the CPU.
inline double time_ms(torch::Device device, const std::function<void()>& fn) {
#ifdef LOCBENCH_TORCH_CUDA
  if (device.is_cuda()) {
    at::cuda::CUDAEvent start(cudaEventDefault), stop(cudaEventDefault);
    start.record();
    fn();
    stop.record();
    stop.synchronize();
    return start.elapsed_time(stop);
  }
#endif
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  synchronize(device);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The data-driven kinds (accuracy, miou, train) run their model on one intra-op thread for their whole scope, so
// that their numbers are a function of the cell alone: ATen's CPU kernels sum in an order that depends on the
// thread count (a full reduction such as a loss's mean, bilinear resampling), and training amplifies those last-bit
// differences into different metrics. Data loading still runs on its own worker threads, each sample on one.
class DeterministicThreads {
 public:
  DeterministicThreads() : previous_(at::get_num_threads()) { at::set_num_threads(1); }
  ~DeterministicThreads() { at::set_num_threads(previous_); }
  DeterministicThreads(const DeterministicThreads&) = delete;
  DeterministicThreads& operator=(const DeterministicThreads&) = delete;

 private:
  int previous_;
};

inline torch::Tensor random_batch(const Context& ctx) {
  torch::manual_seed(0);
  return torch::randn({ctx.batch_size, 3, ctx.img_size[0], ctx.img_size[1]}).to(ctx.device);
}

// An option given as N or [N, M] (suite validation checked the shape).
inline std::array<int64_t, 2> pair_option(const nlohmann::json& options, const std::string& key,
                                          std::array<int64_t, 2> dflt) {
  if (!options.contains(key)) return dflt;
  const auto& v = options[key];
  if (v.is_array()) return {v[0].get<int64_t>(), v.size() > 1 ? v[1].get<int64_t>() : v[0].get<int64_t>()};
  return {v.get<int64_t>(), v.get<int64_t>()};
}

// Keeps every step of a timing as the cell's samples (`metric`, wall time; `metric`_cpu, the process CPU time when it
// was taken) and adds that CPU time's median to `out` beside the wall-time results.
inline void keep_step_samples(Context& ctx, const LatencyStats& stats, const LatencyStats::Summary& summary,
                              const std::string& metric, const std::string& protocol,
                              std::vector<store::Result>& out) {
  ctx.samples.push_back({metric, stats.wall()});
  if (!stats.has_cpu()) return;
  out.push_back({metric + "_cpu", summary.cpu_median, "ms", "CPU time (user + sys), median, " + protocol});
  ctx.samples.push_back({metric + "_cpu", stats.cpu()});
}

}  // namespace locbench::measure
