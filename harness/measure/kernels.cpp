// The `kernels` kind: the op- (CPU) or kernel-level (CUDA, CUPTI) profile of the cell's forward on random input.
#include "harness/measure/common.h"
#include "harness/measure/kinds.h"

#include "harness/profile/profile.h"

#include <map>
#include <set>

namespace locbench::measure {
namespace {

// The rows of a profile as the store keeps them: the `top` largest of each kind (0: all), in the profile's order.
store::Profile stored_profile(const profile::ProfileRows& p, int64_t warmup, int64_t top) {
  store::Profile out;
  out.tracer = p.tracer;
  out.cupti_version = p.cupti_version;
  out.dropped_records = static_cast<int64_t>(p.dropped_records);
  out.warmup = warmup;
  out.iterations = p.iterations;
  out.total_rows = static_cast<int64_t>(p.rows.size());
  out.sdpa_backend = profile::sdpa_backend(p).name;
  std::map<std::string, int64_t> kept;
  for (const auto& r : p.rows) {
    if (top > 0 && kept[r.kind] >= top) continue;
    kept[r.kind] += 1;
    store::ProfileRow row;
    row.kind = r.kind, row.name = r.name, row.calls = r.calls;
    row.total_us = r.total_us, row.mean_us = r.mean_us, row.self_us = r.self_us;
    row.grid = {r.grid[0], r.grid[1], r.grid[2]};
    row.block = {r.block[0], r.block[1], r.block[2]};
    row.registers_per_thread = r.registers_per_thread;
    row.static_shared_bytes = r.static_shared_bytes, row.dynamic_shared_bytes = r.dynamic_shared_bytes;
    row.stream = r.stream;
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace

namespace kinds {

// The per-kernel (CUDA, CUPTI) or per-op (CPU, RecordFunction) profile of the cell's forward on random input. The
// rows go to the store with the cell; the results sum them per forward, over every row (before `top`).
std::vector<store::Result> kernels(Context& ctx) {
  if (ctx.device.is_cuda() && !profile::cupti_available())
    throw std::runtime_error("kernels on cuda needs CUPTI, which this build lacks (it needs a CUDA LibTorch and "
                             "CUPTI when configured); profile on the cpu instead");
  profile::ProfileOptions o;
  o.warmup = ctx.cell.settings.value("warmup", 1);
  o.iterations = ctx.cell.settings.value("iterations", 1);
  profile::ProfileRows p;
  {
    // Autocast reaches the profiled forwards: the precision decides which SDPA backend runs.
    Precision precision(ctx.precision, ctx.device);
    p = profile::profile_model(ctx.model, random_batch(ctx), ctx.device, o);
  }
  const bool cuda = p.tracer == "cupti";
  const std::string kind = cuda ? "kernel" : "op";
  double time_us = 0;
  int64_t calls = 0;
  std::set<std::string> names;
  for (const auto& r : p.rows) {
    if (r.kind != kind) continue;
    time_us += cuda ? r.total_us : r.self_us;  // op self times add up to the traced time without double counting
    calls += r.calls;
    names.insert(r.name);
  }
  const double forwards = std::max(1, p.iterations);
  std::vector<store::Result> out{
      {"traced_time", time_us / forwards / 1000.0, "ms",
       cuda ? "kernel GPU time, per forward" : "op self time, per forward"},
      {cuda ? "distinct_kernels" : "distinct_ops", static_cast<double>(names.size()), "count", p.tracer},
      {cuda ? "kernel_launches" : "op_calls", calls / forwards, "count", "per forward"}};
  if (const auto sdpa = profile::sdpa_backend(p); !sdpa.name.empty())
    out.push_back({"sdpa_time", sdpa.total_us / forwards / 1000.0, "ms", sdpa.name});
  ctx.profile = stored_profile(p, o.warmup, ctx.cell.measurement->options.value("top", int64_t{0}));
  return out;
}

}  // namespace kinds
}  // namespace locbench::measure
