// Timed steps, shared by the timing kinds (`latency`, `throughput`, `fps`): the wall time of every step and, on the
// CPU, the process's CPU time (user + sys, every thread) beside it, kept sample by sample for the store.
#pragma once

#include <c10/core/Device.h>

#include <functional>
#include <string>
#include <vector>

namespace locbench::measure {

// Step times in milliseconds: `process` one step, `compute` the summary at the end.
class LatencyStats {
 public:
  void process(double wall_ms, double cpu_ms = std::numeric_limits<double>::quiet_NaN()) {
    wall_.push_back(wall_ms);
    cpu_.push_back(cpu_ms);
  }
  struct Summary {
    double median = 0, p90 = 0, min = 0, mean = 0, total = 0;  // wall time
    double q1 = 0, q3 = 0;                                      // wall time quartiles
    double cpu_median = 0;                                      // NaN when CPU time was not taken
    int n = 0;
  };
  Summary compute() const;
  const std::vector<double>& wall() const { return wall_; }
  const std::vector<double>& cpu() const { return cpu_; }
  bool has_cpu() const;

 private:
  std::vector<double> wall_, cpu_;
};

// The process's CPU time (user + sys of every thread) in milliseconds.
double process_cpu_ms();

// Times one step: CUDA events on the GPU (wall only), a steady clock and the process CPU clock on the CPU.
void time_step(LatencyStats& stats, c10::Device device, const std::function<void()>& step);

}  // namespace locbench::measure
