// `bench run`: a suite in, one transaction per finished cell out, resumable after any interruption.
#pragma once

#include <string>

namespace locbench::runner {

struct RunOptions {
  std::string suite;
  std::string db = "results/bench.db";
  bool resume = false;
  std::string device;  // overrides the suite's
  std::string only;    // glob on "model/measurement[/dataset]" or the model label
  bool dry_run = false;
};

// Returns 0 when every cell passed, 1 when any failed. Suite and store errors throw.
int run_suite(const RunOptions& options);

// What a run records about where it ran.
struct Environment {
  std::string host, cpu_name, gpu_name, driver_version, cuda_version, libtorch_version, git_commit;
  std::string allocator;  // the heap policy (harness/allocator), applied here if the process has not yet
  int threads = 0;
};
Environment describe_environment();

}  // namespace locbench::runner
