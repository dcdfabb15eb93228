// The launcher's environment (harness/dist/launch.h): torchrun's and srun's variables, Slurm's compressed host
// lists, and one-line errors for malformed values.
#include "harness/dist/launch.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

using namespace locbench::dist;

namespace {

Getenv env(const std::map<std::string, std::string>& vars) {
  return [vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(Hostlist, ExpandsRangesListsAndPaddingInOrder) {
  EXPECT_EQ(expand_hostlist("node[01-04,07]"),
            (std::vector<std::string>{"node01", "node02", "node03", "node04", "node07"}));
  EXPECT_EQ(expand_hostlist("a,b[8-10],c"), (std::vector<std::string>{"a", "b8", "b9", "b10", "c"}));
  EXPECT_EQ(expand_hostlist("gpu-[009-011]"), (std::vector<std::string>{"gpu-009", "gpu-010", "gpu-011"}));
  EXPECT_EQ(expand_hostlist("r[1-2]n[3,5]"), (std::vector<std::string>{"r1n3", "r1n5", "r2n3", "r2n5"}));
  EXPECT_EQ(expand_hostlist("solo"), (std::vector<std::string>{"solo"}));
  EXPECT_EQ(expand_hostlist("x[1-3]-ib"), (std::vector<std::string>{"x1-ib", "x2-ib", "x3-ib"}));
  EXPECT_EQ(expand_hostlist("n[1-100000]", 3), (std::vector<std::string>{"n1", "n2", "n3"}));
}

TEST(Hostlist, FirstHostIsRankZerosNode) {
  EXPECT_EQ(first_host("node[01-04,07]"), "node01");
  EXPECT_EQ(first_host("login3,node[5-6]"), "login3");
  EXPECT_EQ(first_host("c[100-199]x[2-3]"), "c100x2");
}

TEST(Hostlist, MalformedListsAreRefusedWithTheList) {
  for (const char* bad : {"node[01-04", "node]1", "node[]", "node[4-2]", "node[a-b]", "a,,b", "", "n[1-2][", "n[[1]]"}) {
    const std::string e = error_of([&] { expand_hostlist(bad); });
    EXPECT_NE(e.find("host list '" + std::string(bad) + "'"), std::string::npos) << bad << ": " << e;
  }
}

TEST(Launch, NoLauncherIsOneProcess) {
  const Launch l = launch_from_environment(env({}));
  EXPECT_FALSE(l.distributed());
  EXPECT_EQ(l.world_size, 1);
  EXPECT_EQ(l.launcher, "");
}

TEST(Launch, TorchrunVariables) {
  const Launch l = launch_from_environment(env({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"},
                                                {"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "29500"}}));
  EXPECT_TRUE(l.distributed());
  EXPECT_EQ(l.launcher, "torchrun");
  EXPECT_EQ(l.rank, 3);
  EXPECT_EQ(l.world_size, 4);
  EXPECT_EQ(l.local_rank, 1);
  EXPECT_EQ(l.master_addr, "10.0.0.1");
  EXPECT_EQ(l.master_port, 29500);
}

TEST(Launch, SrunVariablesWithTheFirstNodeAsRendezvous) {
  const Launch l = launch_from_environment(env({{"SLURM_STEP_ID", "0"}, {"SLURM_PROCID", "5"},
                                                {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"},
                                                {"SLURM_NODELIST", "gpu[07-10]"}, {"SLURM_JOB_ID", "123456"}}));
  EXPECT_EQ(l.launcher, "slurm");
  EXPECT_EQ(l.rank, 5);
  EXPECT_EQ(l.world_size, 8);
  EXPECT_EQ(l.local_rank, 1);
  EXPECT_EQ(l.master_addr, "gpu07");
  EXPECT_EQ(l.master_port, 15000 + 123456 % 10000);
  // The step's node list wins over the job's; MASTER_ADDR and MASTER_PORT over both.
  auto vars = std::map<std::string, std::string>{{"SLURM_STEP_ID", "1"}, {"SLURM_PROCID", "0"},
                                                 {"SLURM_NTASKS", "2"}, {"SLURM_NODELIST", "a[1-4]"},
                                                 {"SLURM_STEP_NODELIST", "a[3-4]"}};
  EXPECT_EQ(launch_from_environment(env(vars)).master_addr, "a3");
  vars["MASTER_ADDR"] = "head";
  vars["MASTER_PORT"] = "4242";
  EXPECT_EQ(launch_from_environment(env(vars)).master_addr, "head");
  EXPECT_EQ(launch_from_environment(env(vars)).master_port, 4242);
}

TEST(Launch, BatchScriptShellIsNotAStep) {
  // sbatch's own shell has SLURM_PROCID and SLURM_NTASKS of the allocation but no step: one process.
  const Launch l = launch_from_environment(env({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"},
                                                {"SLURM_NODELIST", "n[1-4]"}}));
  EXPECT_FALSE(l.distributed());
}

TEST(Launch, MalformedValuesNameTheVariable) {
  EXPECT_NE(error_of([] { launch_from_environment(env({{"RANK", "x"}, {"WORLD_SIZE", "2"}})); }).find("RANK='x'"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              launch_from_environment(
                  env({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}));
            }).find("rank 2 is not below the world size 2"),
            std::string::npos);
  EXPECT_NE(error_of([] { launch_from_environment(env({{"RANK", "0"}, {"WORLD_SIZE", "2"}})); }).find("MASTER_PORT"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              launch_from_environment(
                  env({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}));
            }).find("not a port"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              launch_from_environment(env({{"SLURM_STEP_ID", "0"}, {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"},
                                           {"SLURM_NODELIST", "n[1-"}}));
            }).find("host list 'n[1-'"),
            std::string::npos);
}

}  // namespace
