// The `throughput` kind as timm's benchmark.py measures inference: random input at the cell's (large) batch size,
// warm-up steps, then a timed loop whose throughput is total samples / total wall time of the loop; every step's
// time is kept beside it (timm's infer_step_time is their mean).
#include "harness/measure/common.h"
#include "harness/measure/kinds.h"
#include "harness/measure/latency.h"

#include <chrono>

namespace locbench::measure::kinds {

std::vector<store::Result> throughput(Context& ctx) {
  const torch::Tensor input = random_batch(ctx);
  LatencyStats steps;
  double loop_ms = 0, loop_cpu_ms = 0;
  {
    Precision precision(ctx.precision, ctx.device);
    torch::InferenceMode guard;
    for (int i = 0; i < ctx.warmup; ++i) ctx.model.forward(input);
    synchronize(ctx.device);
    const double cpu0 = process_cpu_ms();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < ctx.repeats; ++i) {
      time_step(steps, ctx.device, [&] { ctx.model.forward(input); });  // synchronised per step, as timm
      if (ctx.progress) ctx.progress(static_cast<double>(i + 1) / ctx.repeats);
    }
    loop_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    loop_cpu_ms = process_cpu_ms() - cpu0;
  }
  const auto s = steps.compute();
  const double samples = static_cast<double>(ctx.repeats) * static_cast<double>(ctx.batch_size);
  // As timm's benchmark.py: samples over the wall time of the whole timed loop (warm-up and repeats are the cell's
  // settings).
  const std::string protocol = "timm benchmark.py";
  std::vector<store::Result> out{{"throughput", samples / (loop_ms / 1000.0), "img/s", protocol},
                                 {"step_time", s.mean, "ms", "mean, " + protocol}};
  ctx.samples.push_back({"step_time", steps.wall()});
  if (steps.has_cpu()) {
    out.push_back({"throughput_cpu", samples / (loop_cpu_ms / 1000.0), "img/s",
                   "per CPU second (user + sys), " + protocol});
    ctx.samples.push_back({"step_time_cpu", steps.cpu()});
  }
  return out;
}

}  // namespace locbench::measure::kinds
