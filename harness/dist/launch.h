// Where this process sits in a job: its rank, the job's size and the rendezvous address, read from the launcher's
// environment. torchrun (and any launcher of torch.distributed's env:// kind) sets RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR and MASTER_PORT; Slurm's srun sets SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID and the step's node
// list, whose first host runs rank 0. Torch-free: it is tested without LibTorch.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace locbench::dist {

struct Launch {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr;  // rendezvous host: rank 0 serves the store there
  int master_port = 0;
  std::string launcher;  // "torchrun", "slurm", or empty: one process
  // torchrun's agent serves the store itself (TORCHELASTIC_USE_AGENT_STORE=True): every rank connects as a client.
  bool agent_store = false;
  int restart = 0;  // TORCHELASTIC_RESTART_COUNT: keys of an earlier attempt are not this one's
  bool distributed() const { return world_size > 1; }
};

using Getenv = std::function<const char*(const char*)>;

// The launch this process is part of. torchrun's variables win over Slurm's; Slurm counts only inside an srun step
// (SLURM_STEP_ID set), so a batch script's own shell is one process. MASTER_ADDR and MASTER_PORT override the
// Slurm defaults (the first host of SLURM_STEP_NODELIST or SLURM_NODELIST; port 15000 + SLURM_JOB_ID % 10000).
// Throws std::invalid_argument naming the variable when one is malformed or inconsistent.
Launch launch_from_environment(const Getenv& getenv);
Launch launch_from_environment();  // the process's environment

// Slurm's compressed host list ("node[01-04,07],gpu-a[1-2]b") expanded in order, zero padding kept; at most `limit`
// hosts. Throws std::invalid_argument on unbalanced brackets, an empty name or a malformed range.
std::vector<std::string> expand_hostlist(const std::string& list, size_t limit = 1 << 16);
// The first host of such a list (rank 0's node).
std::string first_host(const std::string& list);

}  // namespace locbench::dist
