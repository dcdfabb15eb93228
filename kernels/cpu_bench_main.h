// The start of the CPU kernels' Google Benchmark binaries. Options before Google Benchmark's own: --threads N
// (LibTorch intra-op threads, default 1); the context records the threads and the kernel build that runs.
#pragma once

#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace locbench::kernels {

// Sets the threads and initialises Google Benchmark; false on an argument neither knows.
inline bool init_cpu_benchmarks(int argc, char** argv, const std::string& kernel_build) {
  int threads = 1;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      threads = std::max(1, std::atoi(argv[++i]));
    else
      rest.push_back(argv[i]);
  }
  at::set_num_threads(threads);
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return false;
  benchmark::AddCustomContext("torch_threads", std::to_string(threads));
  benchmark::AddCustomContext("cpu_kernel", kernel_build);
  return true;
}

}  // namespace locbench::kernels
