// Profile dispatch (CUPTI kernel trace on CUDA, RecordFunction op profile elsewhere) and the profile's table/JSON.
#include "harness/profile/profile.h"

#ifdef LOCBENCH_CUPTI
#include "harness/profile/cupti_tracer.h"
#endif

#include <cstdio>
#include <ostream>
#include <stdexcept>

namespace locbench::profile {

bool cupti_available() {
#ifdef LOCBENCH_CUPTI
  return true;
#else
  return false;
#endif
}

ProfileRows profile_model(Model& model, const torch::Tensor& input, const torch::Device& device,
                          const ProfileOptions& options) {
  model.to(device);
  model.eval();
  const auto x = input.to(device);
  torch::NoGradGuard no_grad;
  auto forward = [&] { model.forward(x); };
  if (!device.is_cuda()) return profile_ops(forward, options);
#ifdef LOCBENCH_CUPTI
  // CUPTI alone: LibTorch's profiler (Kineto) would be a second CUPTI subscriber.
  return trace_kernels(forward, [] { torch::cuda::synchronize(); }, options);
#else
  throw std::runtime_error("profile on " + device.str() +
                           ": this build has no CUPTI tracer (needs a CUDA LibTorch and CUPTI); use --device cpu");
#endif
}

nlohmann::json to_json(const ProfileRows& profile) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : profile.rows) {
    nlohmann::json row = {{"kind", r.kind}, {"name", r.name}, {"calls", r.calls}, {"total_us", r.total_us},
                          {"self_us", r.self_us}, {"mean_us", r.mean_us}};
    if (r.kind == "kernel") {
      row["grid"] = r.grid;
      row["block"] = r.block;
      row["registers_per_thread"] = r.registers_per_thread;
      row["static_shared_bytes"] = r.static_shared_bytes;
      row["dynamic_shared_bytes"] = r.dynamic_shared_bytes;
      row["stream"] = r.stream;
    }
    rows.push_back(std::move(row));
  }
  return {{"tracer", profile.tracer}, {"cupti_version", profile.cupti_version},
          {"dropped_records", profile.dropped_records}, {"iterations", profile.iterations}, {"rows", rows}};
}

void print_table(const ProfileRows& profile, std::ostream& out, size_t limit) {
  char line[512];
  out << "tracer: " << profile.tracer << ", forwards: " << profile.iterations;
  if (profile.cupti_version) out << ", CUPTI API " << profile.cupti_version;
  if (profile.dropped_records) out << ", DROPPED RECORDS: " << profile.dropped_records;
  out << "\n";
  std::snprintf(line, sizeof line, "%-8s %-60s %8s %12s %12s %10s  %s\n", "kind", "name", "calls", "total_us",
                "self_us", "mean_us", "launch");
  out << line;
  size_t shown = 0;
  for (const auto& r : profile.rows) {
    if (limit && shown++ >= limit) break;
    std::string launch;
    if (r.kind == "kernel") {
      char buf[160];
      std::snprintf(buf, sizeof buf, "grid %dx%dx%d block %dx%dx%d regs %d smem %d+%d stream %u", r.grid[0], r.grid[1],
                    r.grid[2], r.block[0], r.block[1], r.block[2], r.registers_per_thread, r.static_shared_bytes,
                    r.dynamic_shared_bytes, r.stream);
      launch = buf;
    }
    const std::string name = r.name.size() > 60 ? r.name.substr(0, 57) + "..." : r.name;
    std::snprintf(line, sizeof line, "%-8s %-60s %8lld %12.1f %12.1f %10.2f  %s\n", r.kind.c_str(), name.c_str(),
                  static_cast<long long>(r.calls), r.total_us, r.self_us, r.mean_us, launch.c_str());
    out << line;
  }
}

}  // namespace locbench::profile
