// Profile dispatch (CUPTI kernel trace on CUDA, RecordFunction op profile elsewhere) and the profile's table/JSON.
#include "harness/profile/profile.h"

#ifdef LOCBENCH_CUPTI
#include "harness/profile/cupti_tracer.h"
#endif

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
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

namespace {

// The backend one row belongs to: a fused one, "math", "softmax" (a softmax outside any SDPA op) or "".
std::string backend_of(const ProfileRow& row) {
  std::string name = row.name;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  auto has = [&](const char* part) { return name.find(part) != std::string::npos; };
  if (row.kind == "op") {
    // aten::scaled_dot_product_attention itself only dispatches; the backend is the op it calls.
    if (!has("scaled_dot_product")) return has("softmax") ? "softmax" : "";
    if (has("cudnn")) return "cudnn";
    if (has("flash")) return "flash";  // also the CPU flash kernel, _scaled_dot_product_flash_attention_for_cpu
    if (has("efficient")) return "efficient";
    if (has("math")) return "math";
    return "";
  }
  if (row.kind != "kernel") return "";
  // cuDNN's SDPA kernels are named cudnn_generated_..._sdpa_..._flash_fprop_...: test them before flash.
  if (has("cudnn") && (has("sdpa") || has("fmha") || has("flash"))) return "cudnn";
  if (has("flash_fwd") || has("flashattn") || has("flash_attn")) return "flash";
  if (has("fmha_cutlass") || has("memeffattention") || has("attentionkernel")) return "efficient";
  if (has("softmax")) return "softmax";
  return "";
}

}  // namespace

SdpaBackend sdpa_backend(const ProfileRows& profile) {
  std::map<std::string, SdpaBackend> seen;
  for (const auto& row : profile.rows) {
    const std::string backend = backend_of(row);
    if (backend.empty()) continue;
    auto& b = seen[backend];
    b.total_us += row.total_us;
    b.calls += row.calls;
  }
  std::vector<std::pair<std::string, SdpaBackend>> fused;
  for (const auto& [name, b] : seen)
    if (name != "math" && name != "softmax") fused.emplace_back(name, b);
  std::sort(fused.begin(), fused.end(),
            [](const auto& a, const auto& b) { return a.second.total_us > b.second.total_us; });
  SdpaBackend out;
  for (const auto& [name, b] : fused) {
    out.name += (out.name.empty() ? "" : "+") + name;
    out.total_us += b.total_us;
    out.calls += b.calls;
  }
  if (!out.name.empty()) return out;
  // No fused kernel: SDPA's math op when the op profile has it, else the softmax of attention written out.
  for (const char* name : {"math", "softmax"})
    if (seen.count(name)) {
      out = seen[name];
      out.name = "math";
      return out;
    }
  return out;
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
          {"dropped_records", profile.dropped_records}, {"iterations", profile.iterations},
          {"sdpa_backend", sdpa_backend(profile).name}, {"rows", rows}};
}

void print_table(const ProfileRows& profile, std::ostream& out, size_t limit) {
  char line[512];
  out << "tracer: " << profile.tracer << ", forwards: " << profile.iterations;
  if (profile.cupti_version) out << ", CUPTI API " << profile.cupti_version;
  if (profile.dropped_records) out << ", DROPPED RECORDS: " << profile.dropped_records;
  if (const auto sdpa = sdpa_backend(profile); !sdpa.name.empty()) out << ", SDPA backend: " << sdpa.name;
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
