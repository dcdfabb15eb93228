// `bench run`: a suite in, one transaction per finished cell out, resumable after any interruption.
#pragma once

#include <string>
#include <utility>

namespace locbench::runner {

struct RunOptions {
  std::string suite;
  std::string db = "results/bench.db";
  bool resume = false;
  bool force = false;  // --resume even when the environment differs from the run's (commit, host, device, threads)
  std::string device;  // overrides the suite's
  std::string only;    // glob on "model/measurement[/dataset]" or the model label
  bool dry_run = false;
  int64_t max_pixels = 0;  // overrides every dataset's decoded-pixel limit when set
  // The bench executable: `memory` cells run in a child process of it (`bench measure-cell`), so that the
  // high-water mark is the cell's own. Empty: they run in this process (the convention says so).
  std::string executable;
  // --shard I/N: only the cells I, I + N, I + 2N, ... of the plan (0-based); each shard writes its own database.
  int shard_index = 0, shard_count = 1;
};

// Returns 0 when every cell passed, 1 when any failed. Suite and store errors throw.
// Under torchrun or srun every rank runs it: rank 0 owns the database; the cells of data-parallel kinds
// (data_parallel) run on every rank, the others on rank 0 while the rest wait.
int run_suite(const RunOptions& options);

// `bench measure-cell`: builds the one cell of the suite with this key (as run_suite would, device override
// included), measures it in this process and writes its results and samples as JSON to `out_path`
// ({"results": [...], "samples": [...]} or {"error": "..."}). Returns 0, or 1 when the cell failed.
int measure_cell(const std::string& suite, const std::string& key, const std::string& device,
                 const std::string& out_path);
// Measurement kinds whose cells split their data (evaluation) or their batches (training) over every rank.
bool data_parallel(const std::string& kind);

// "I/N" with 0 <= I < N; throws std::invalid_argument naming the option.
std::pair<int, int> parse_shard(const std::string& text);

// What a run records about where it ran.
struct Environment {
  std::string host, cpu_name, gpu_name, driver_version, cuda_version, cudnn_version, libtorch_version, git_commit;
  bool git_dirty = false;
  std::string allocator;  // the heap policy (harness/allocator), applied here if the process has not yet
  int threads = 0;
};
Environment describe_environment();

// `bench --version`: locbench's version and commit, the LibTorch it runs on, and CUDA (build and device).
std::string version_text();

}  // namespace locbench::runner
