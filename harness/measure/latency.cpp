// The `latency` and `throughput` kinds: timed forwards of the cell's model on random input, data loading outside
// the timed region.
#include "harness/measure/latency.h"

#include "harness/measure/common.h"
#include "harness/measure/kinds.h"

#include <algorithm>
#include <cmath>

namespace locbench::measure {

LatencyStats::Summary LatencyStats::compute() const {
  Summary s;
  if (samples_.empty()) return s;
  std::vector<double> v = samples_;
  std::sort(v.begin(), v.end());
  auto quantile = [&](double q) {  // linear interpolation, as numpy's default
    const double pos = q * (v.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - lo);
  };
  s.median = quantile(0.5);
  s.p90 = quantile(0.9);
  s.min = v.front();
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / v.size();
  s.n = static_cast<int>(v.size());
  return s;
}

namespace {

LatencyStats timed_loop(Context& ctx, const torch::Tensor& input) {
  Precision precision(ctx.precision, ctx.device);
  torch::InferenceMode guard;
  for (int i = 0; i < ctx.warmup; ++i) ctx.model.forward(input);
  synchronize(ctx.device);
  LatencyStats stats;
  for (int i = 0; i < ctx.repeats; ++i) {
    stats.process(time_ms(ctx.device, [&] { ctx.model.forward(input); }));
    if (ctx.progress) ctx.progress(static_cast<double>(i + 1) / ctx.repeats);
  }
  return stats;
}

std::vector<store::Result> timed(Context& ctx, const std::string& protocol) {
  const auto s = timed_loop(ctx, random_batch(ctx)).compute();
  const double per_image = s.median / static_cast<double>(ctx.batch_size);
  return {{"latency", s.median, "ms", "median, " + protocol},
          {"latency_p90", s.p90, "ms", "p90, " + protocol},
          {"latency_min", s.min, "ms", "min, " + protocol},
          {"throughput", 1000.0 / per_image, "img/s", protocol}};
}

}  // namespace

namespace kinds {

std::vector<store::Result> latency(Context& ctx) { return timed(ctx, "mmseg latency"); }
std::vector<store::Result> throughput(Context& ctx) { return timed(ctx, "timm throughput"); }

}  // namespace kinds
}  // namespace locbench::measure
