// The `latency` kind: forward passes of the cell's model on random input, timed one by one after a warm-up.
#pragma once

#include <vector>

namespace locbench::measure {

// Latency statistics over timed repeats, in milliseconds per batch: `process` one timing, `compute` at the end.
class LatencyStats {
 public:
  void process(double ms) { samples_.push_back(ms); }
  struct Summary {
    double median = 0, p90 = 0, min = 0, mean = 0;
    int n = 0;
  };
  Summary compute() const;

 private:
  std::vector<double> samples_;
};

}  // namespace locbench::measure
