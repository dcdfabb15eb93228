// The `latency` kind: forwards of the cell's model on random input (data loading and preprocessing do not exist
// here), timed one by one after a warm-up; median, quartiles and every sample. Not mmseg's latency (that is `fps`,
// on real images) nor timm's throughput (`throughput`).
#include "harness/measure/latency.h"

#include "harness/measure/common.h"
#include "harness/measure/kinds.h"
#include "harness/stats/stats.h"

#include <time.h>

#include <algorithm>
#include <cmath>

namespace locbench::measure {

bool LatencyStats::has_cpu() const {
  return !cpu_.empty() && std::none_of(cpu_.begin(), cpu_.end(), [](double v) { return std::isnan(v); });
}

LatencyStats::Summary LatencyStats::compute() const {
  Summary s;
  s.cpu_median = std::nan("");
  if (wall_.empty()) throw std::runtime_error("no timed repeats: a latency needs at least one sample");
  s.median = stats::quantile(wall_, 0.5);
  s.p90 = stats::quantile(wall_, 0.9);
  s.q1 = stats::quantile(wall_, 0.25);
  s.q3 = stats::quantile(wall_, 0.75);
  s.min = *std::min_element(wall_.begin(), wall_.end());
  for (double x : wall_) s.total += x;
  s.mean = s.total / static_cast<double>(wall_.size());
  s.n = static_cast<int>(wall_.size());
  if (has_cpu()) s.cpu_median = stats::quantile(cpu_, 0.5);
  return s;
}

double process_cpu_ms() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}

void time_step(LatencyStats& stats, c10::Device device, const std::function<void()>& step) {
  if (device.is_cuda()) {
    stats.process(time_ms(device, step));
    return;
  }
  const double cpu0 = process_cpu_ms();
  const double wall = time_ms(device, step);
  stats.process(wall, process_cpu_ms() - cpu0);
}

namespace kinds {

std::vector<store::Result> latency(Context& ctx) {
  const torch::Tensor input = random_batch(ctx);
  LatencyStats stats;
  {
    Precision precision(ctx.precision, ctx.device);
    torch::InferenceMode guard;
    for (int i = 0; i < ctx.warmup; ++i) ctx.model.forward(input);
    synchronize(ctx.device);
    for (int i = 0; i < ctx.repeats; ++i) {
      time_step(stats, ctx.device, [&] { ctx.model.forward(input); });
      if (ctx.progress) ctx.progress(static_cast<double>(i + 1) / ctx.repeats);
    }
  }
  const auto s = stats.compute();
  const std::string protocol = "random-input forward";  // warm-up and repeats are the cell's settings
  std::vector<store::Result> out{{"latency", s.median, "ms", "median, " + protocol},
                                 {"latency_p90", s.p90, "ms", "p90, " + protocol},
                                 {"latency_min", s.min, "ms", "min, " + protocol}};
  keep_step_samples(ctx, stats, s, "latency", protocol, out);
  return out;
}

}  // namespace kinds
}  // namespace locbench::measure
