// The processes of a job and the collectives the harness uses: c10d from LibTorch (a TCPStore served by rank 0,
// ProcessGroupGloo for CPU tensors and, in CUDA builds, ProcessGroupNCCL for CUDA tensors). One process (no
// launcher) is a group of size 1 whose collectives are the identity, so callers need no second code path.
// c10d's headers stay in dist.cpp: including this costs what <ATen/core/Tensor.h> costs.
//
// Failure: every rank runs a watchdog that keeps a heartbeat in the store. A rank that dies, stops answering or
// posts a fatal error ends the job on every rank within the timeout, each printing the same line
// "rank R: <cause>" (fail_job). A collective that fails or times out throws CommError.
#pragma once

#include "harness/dist/launch.h"

#include <ATen/core/Tensor.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace locbench::dist {

// A collective failed or timed out; the job cannot go on (the caller ends it with fail_job).
class CommError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct GroupOptions {
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};  // collectives, rendezvous and heartbeats
  bool nccl = false;  // also an NCCL group for CUDA tensors (CUDA builds of LibTorch only)
};

// The job's timeout: LOCBENCH_DIST_TIMEOUT seconds when set (a positive integer), else 300 s.
std::chrono::milliseconds timeout_from_environment();

class Group {
 public:
  Group();  // one process
  Group(const Launch& launch, const GroupOptions& options);  // joins the job's rendezvous (throws on timeout)
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const { return launch_.rank; }
  int size() const { return launch_.world_size; }
  int local_rank() const { return launch_.local_rank; }
  bool is_main() const { return launch_.rank == 0; }
  bool distributed() const { return launch_.world_size > 1; }
  const Launch& launch() const { return launch_; }
  std::chrono::milliseconds timeout() const;
  // What the run's provenance records: "gloo", "nccl" (CUDA tensors on NCCL, the rest on Gloo), empty for one
  // process.
  std::string backend() const;

  // Collectives, in place, on every rank in the same order. CPU tensors go through Gloo, CUDA tensors through NCCL.
  void all_reduce_sum(std::vector<at::Tensor>& tensors);
  void broadcast(std::vector<at::Tensor>& tensors, int root = 0);
  void barrier();
  double sum(double value);                    // a scalar summed over ranks (float64)
  std::vector<int64_t> sum(std::vector<int64_t> values);  // exact integer sums
  // Gradients of `params` summed over ranks (or averaged when `average`), flattened into buckets of about
  // `bucket_bytes` per dtype and device, as DDP's default 25 MiB buckets. Parameters without a gradient count as 0.
  void all_reduce_gradients(const std::vector<at::Tensor>& params, bool average, size_t bucket_bytes = 25u << 20);
  int64_t collectives() const { return collectives_; }  // started so far (the hang diagnosis compares them)

  // Every rank's `value` in rank order, exchanged through the store (no timeout while every rank is alive; the
  // watchdog ends the job otherwise). With `limit`, nullopt when some rank has not posted within it.
  std::optional<std::vector<std::string>> exchange(const std::string& key, const std::string& value,
                                                   std::optional<std::chrono::milliseconds> limit = std::nullopt);

  // Every rank states `facts` (name, value) under `key`; the first fact in which a rank differs from rank 0 ends
  // the job on every rank with the same line, "rank R: <name> '<value>' differs from rank 0's '<value>'".
  void agree(const std::string& key, const std::vector<std::pair<std::string, std::string>>& facts);

  // This rank failed (a data-parallel step threw): noted in the store before it waits for the others, so that a
  // rank whose collective then fails names this cause rather than a hang. An empty cause withdraws the note (the
  // ranks agreed on the failure and go on).
  void note_failure(const std::string& cause);

  // Ends the job on every rank with `line` (or a line posted before it), printed by every rank.
  [[noreturn]] void end_job(const std::string& line);

  // Ends the job on every rank: posts "rank R: cause" (unless another rank's cause is already posted, or a dead or
  // hung rank is found first), prints that one line to stderr and exits with status 1. For a CommError the culprit
  // is looked for first: a rank whose heartbeat stopped, or the rank furthest behind in collectives.
  [[noreturn]] void fail_job(const std::string& cause, bool comm_error = false);

  // The end of a job: every rank waits for the others, then rank 0 stops serving the store last.
  void finish();

  struct Impl;

 private:
  Launch launch_;
  std::unique_ptr<Impl> impl_;
  int64_t collectives_ = 0;
};

// The job this process belongs to: set once by init() (a command started under torchrun or srun), one process
// otherwise.
Group& world();
// Creates the world group from the launcher's environment; the same group when called again.
Group& init(const GroupOptions& options = {});

}  // namespace locbench::dist
