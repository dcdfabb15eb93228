// Runs across processes: `bench` started as the ranks of a job on 127.0.0.1 (Gloo, free ports), as torchrun starts
// them, and through torchrun itself. Distributed evaluation gives exactly the one-process counts; two ranks at
// batch b train what one rank does at 2b; a resumed job may change its world size; shards merge into the unsharded
// run; ranks that disagree, die or hang end the job with one line naming the rank, and --resume continues.
#include "harness/checkpoint/checkpoint.h"
#include "harness/measure/measure.h"
#include "harness/seg/synth.h"
#include "harness/store/store.h"
#include "tests/test_helpers.h"

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <thread>

extern char** environ;

using namespace locbench;
using namespace locbench::testing;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// A port the kernel has just handed out and released: parallel tests do not collide on fixed ones.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Gloo is compiled into LibTorch's libtorch_cpu and its headers are a build requirement, so what a machine can lack
// is a loopback TCP socket for the ranks' rendezvous.
bool loopback_available() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd, 1) == 0;
  ::close(fd);
  return ok;
}

#define SKIP_WITHOUT_GLOO()                                                                           \
  do {                                                                                                \
    if (!loopback_available()) GTEST_SKIP() << "no loopback TCP socket for Gloo's rendezvous on 127.0.0.1"; \
  } while (0)

struct Process {
  pid_t pid = -1;
  fs::path out, err;
};

struct Finished {
  int code = -1;  // exit status; 128 + signal when killed
  std::string out, err;
  double seconds = 0;
};

// `sh -c "exec <command>"` with the launcher's variables of `rank` (and any `extra`), output to files in `dir`.
Process spawn(const std::string& command, const fs::path& dir, const std::string& name,
              const std::map<std::string, std::string>& vars) {
  Process p{-1, dir / (name + ".out"), dir / (name + ".err")};
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    if (vars.count(key) || key.rfind("SLURM_", 0) == 0 || key.rfind("TORCHELASTIC_", 0) == 0 || key == "RANK" ||
        key == "WORLD_SIZE" || key == "LOCAL_RANK" || key == "MASTER_ADDR" || key == "MASTER_PORT")
      continue;
    env.push_back(kv);
  }
  for (const auto& [k, v] : vars) env.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& kv : env) envp.push_back(kv.data());
  envp.push_back(nullptr);
  std::string cmd = "exec " + command + " >'" + p.out.string() + "' 2>'" + p.err.string() + "'";
  std::vector<char*> argv{const_cast<char*>("sh"), const_cast<char*>("-c"), cmd.data(), nullptr};
  if (::posix_spawn(&p.pid, "/bin/sh", nullptr, nullptr, argv.data(), envp.data()) != 0) p.pid = -1;
  return p;
}

Finished wait_for(const Process& p, double limit_s = 300) {
  Finished f;
  const auto t0 = Clock::now();
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(p.pid, &status, WNOHANG);
    if (done == p.pid) break;
    if (std::chrono::duration<double>(Clock::now() - t0).count() > limit_s) {
      ::kill(p.pid, SIGKILL);
      ::waitpid(p.pid, &status, 0);
      f.err = "(killed by the test after " + std::to_string(limit_s) + " s)\n";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  f.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  f.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  f.out = read_bytes(p.out);
  f.err += read_bytes(p.err);
  return f;
}

std::string bench_bin() { return LOCBENCH_BENCH_BIN; }

struct Job {
  int ranks = 2;
  int port = free_port();
  std::map<std::string, std::string> extra{{"LOCBENCH_DIST_TIMEOUT", "60"}, {"OMP_NUM_THREADS", "1"}};
};

std::vector<Process> start_ranks(const Job& job, const std::function<std::string(int)>& args, const fs::path& dir,
                                 const std::string& name) {
  std::vector<Process> ps;
  for (int r = 0; r < job.ranks; ++r) {
    auto vars = job.extra;
    vars["RANK"] = std::to_string(r);
    vars["LOCAL_RANK"] = std::to_string(r);
    vars["WORLD_SIZE"] = std::to_string(job.ranks);
    vars["MASTER_ADDR"] = "127.0.0.1";
    vars["MASTER_PORT"] = std::to_string(job.port);
    ps.push_back(spawn(bench_bin() + " " + args(r), dir, name + ".rank" + std::to_string(r), vars));
  }
  return ps;
}

std::vector<Finished> run_ranks(const Job& job, const std::string& args, const fs::path& dir, const std::string& name) {
  std::vector<Finished> out;
  for (const auto& p : start_ranks(job, [&](int) { return args; }, dir, name)) out.push_back(wait_for(p));
  return out;
}

Finished run_one(const std::string& args, const fs::path& dir, const std::string& name) {
  return wait_for(spawn(bench_bin() + " " + args, dir, name, {{"OMP_NUM_THREADS", "1"}}));
}

std::string report(const std::vector<Finished>& ranks) {
  std::string s;
  for (size_t r = 0; r < ranks.size(); ++r)
    s += "rank " + std::to_string(r) + " exit " + std::to_string(ranks[r].code) + ":\n" + ranks[r].err + ranks[r].out;
  return s;
}

// Cell key -> (metric -> value) of the newest run.
std::map<std::string, std::map<std::string, double>> results_of(const std::string& db) {
  const store::Store s(db);
  std::map<std::string, std::map<std::string, double>> out;
  for (const auto& c : s.cells(*s.latest_run())) {
    auto& m = out[c.key];
    m["passed"] = c.passed;
    for (const auto& r : c.results) m[r.metric] = r.value;
  }
  return out;
}

// The segmentation data of these tests, as a suite's generate entry: 12 training and 5 validation images (odd: the
// ranks' shards differ in size). Written once through the suites' generator, so that suites naming it find it.
const char* const kSegGenerate = R"({"classes": 3, "count": 12, "val_count": 5, "min_size": 48, "max_size": 72})";

fs::path synthetic_seg(const fs::path& dir) {
  suite::DatasetEntry d;
  d.name = "seg";
  d.kind = "synthetic_ade20k";
  d.root = (dir / "ade").string();
  d.generate = nlohmann::json::parse(kSegGenerate);
  d.num_classes = 3;
  measure::prepare_synthetic_ade20k(d);
  return d.root;
}

std::string train_args(const fs::path& root, const fs::path& work, const std::string& extra) {
  return "train --model vit_pico_patch8_64 --dataset synthetic_ade20k --root " + root.string() +
         " --num-classes 3 --crop 48 --scale 128 64 --lr 5e-3 --log-interval 1 --work-dir " + work.string() + " " +
         extra;
}

// The largest |a - b| over the tensors two checkpoints share (curves included), and whether they hold the same keys.
double max_difference(const fs::path& a, const fs::path& b, const std::string& prefix = "") {
  const auto x = read_safetensors(a.string()), y = read_safetensors(b.string());
  EXPECT_EQ(x.size(), y.size()) << a << " vs " << b;
  double worst = 0;
  for (const auto& [key, t] : x) {
    if (!prefix.empty() && key.rfind(prefix, 0) != 0) continue;
    auto it = y.find(key);
    if (it == y.end()) {
      ADD_FAILURE() << key << " missing from " << b;
      continue;
    }
    worst = std::max(worst, (t.to(torch::kDouble) - it->second.to(torch::kDouble)).abs().max().item<double>());
  }
  return worst;
}

std::string write_suite(const fs::path& dir, const std::string& name, const std::string& text) {
  const auto path = dir / name;
  write_bytes(path, text);
  return path.string();
}

// Accuracy over a 3-class image folder of 15 images (odd, so the shards differ) of a 3-class classifier, and mIoU
// over 5 segmentation images of a head trained on the plain backbone: what distributed evaluation must reproduce
// exactly. Two suites, as the head's checkpoint holds the backbone's 1000-class classifier.
std::vector<std::string> eval_suites(const fs::path& dir, const fs::path& seg_root, const fs::path& head) {
  return {write_suite(dir, "accuracy.json", R"({
    "name": "dist_accuracy",
    "models": [{"name": "vit_pico_patch8_64", "num_classes": 3}],
    "datasets": [{"name": "shapes", "kind": "imagefolder", "root": ")" + (dir / "shapes").string() + R"(",
                  "generate": {"classes": 3, "per_class": 5, "size": 40, "seed": 2}}],
    "measurements": [{"kind": "accuracy", "dataset": "shapes", "batch_sizes": [2]}],
    "settings": {"threads": 1}
  })"),
          write_suite(dir, "miou.json", R"({
    "name": "dist_miou",
    "models": ["vit_pico_patch8_64"],
    "datasets": [{"name": "seg", "kind": "synthetic_ade20k", "root": ")" + seg_root.string() + R"(",
                  "generate": )" + std::string(kSegGenerate) + R"(}],
    "measurements": [{"kind": "miou", "dataset": "seg", "head": ")" + head.string() + R"(", "scale": [128, 64]}],
    "settings": {"threads": 1}
  })")};
}

TEST(Dist, EvaluationOnTwoRanksGivesExactlyTheOneProcessCounts) {
  SKIP_WITHOUT_GLOO();
  const auto dir = temp_dir("dist_eval");
  const auto seg_root = synthetic_seg(dir);
  auto trained = run_one(train_args(seg_root, dir / "head", "--iterations 4 --batch-size 2"), dir, "head");
  ASSERT_EQ(trained.code, 0) << trained.err << trained.out;
  const auto suites = eval_suites(dir, seg_root, dir / "head" / "seg.safetensors");
  for (size_t i = 0; i < suites.size(); ++i) {
    const std::string one_db = (dir / ("one" + std::to_string(i) + ".db")).string(),
                      two_db = (dir / ("two" + std::to_string(i) + ".db")).string();
    auto one = run_one("run " + suites[i] + " --db " + one_db, dir, "one");
    ASSERT_EQ(one.code, 0) << one.err;
    const auto two = run_ranks(Job{}, "run " + suites[i] + " --db " + two_db, dir, "two");
    for (const auto& r : two) ASSERT_EQ(r.code, 0) << report(two);
    const auto a = results_of(one_db), b = results_of(two_db);
    ASSERT_EQ(a.size(), 1u) << suites[i];
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [key, metrics] : a) {
      ASSERT_TRUE(b.count(key)) << key;
      EXPECT_EQ(metrics, b.at(key)) << key;  // counts equal, so every metric computed from them is equal
      EXPECT_EQ(metrics.at("passed"), 1.0) << key;
      // Top-1 over 15 images is a whole number of images; mIoU comes from integer areas.
      if (metrics.count("top1"))
        EXPECT_NEAR(metrics.at("top1") * 15 / 100, std::round(metrics.at("top1") * 15 / 100), 1e-9);
      if (i == 1) EXPECT_TRUE(metrics.count("miou")) << key;
    }
    const store::Store s1(one_db), s2(two_db);
    const auto run1 = s1.run(*s1.latest_run()), run2 = s2.run(*s2.latest_run());
    EXPECT_EQ(run1->info.backend, "");
    EXPECT_EQ(run1->info.world_size, 1);
    EXPECT_EQ(run2->info.backend, "gloo");
    EXPECT_EQ(run2->info.world_size, 2);
  }
}

// Two ranks at b = 2 against one at 4: losses after every step and every weight within 1e-5.
void expect_same_training(const std::string& task_args, const std::vector<std::string>& checkpoints,
                          const std::string& name) {
  const auto dir = temp_dir(name);
  const auto root = synthetic_seg(dir);
  auto one = run_one(train_args(root, dir / "one", task_args + " --batch-size 4"), dir, "one");
  ASSERT_EQ(one.code, 0) << one.err << one.out;
  const auto two = run_ranks(Job{}, train_args(root, dir / "two", task_args + " --batch-size 4"), dir, "two");
  for (const auto& r : two) ASSERT_EQ(r.code, 0) << report(two);
  EXPECT_EQ(two[1].out, "") << "rank 1 prints nothing";
  for (const auto& ckpt : checkpoints) {
    const double weights = max_difference(dir / "one" / ckpt, dir / "two" / ckpt);
    const double losses = max_difference(dir / "one" / ckpt, dir / "two" / ckpt, "curves.");
    std::cout << name << " " << ckpt << ": max |difference| of weights and moments " << weights << ", of curves "
              << losses << "\n";
    EXPECT_LE(weights, 1e-5) << ckpt;
    EXPECT_LE(losses, 1e-5) << ckpt;
  }
}

TEST(Dist, HeadTrainingOnTwoRanksAtBatchBEqualsOneRankAt2B) {
  SKIP_WITHOUT_GLOO();
  expect_same_training("--task head --iterations 5", {"seg.safetensors"}, "dist_train_head");
}

TEST(Dist, ScratchTrainingOnTwoRanksAtBatchBEqualsOneRankAt2B) {
  SKIP_WITHOUT_GLOO();
  // One pre-training step: from the second on, AdamW's m / sqrt(v) of a from-scratch ViT turns the other order of the
  // float sums (per-rank backward, then the all-reduce) into weight differences of ~1e-4 after 2-4 steps, as one
  // process at 1 against 2 threads does (~1e-3); the head stage that follows runs 3 steps on the frozen backbone.
  expect_same_training("--task scratch --cls-iterations 1 --cls-batch-size 4 --iterations 3",
                       {"cls.safetensors", "seg.safetensors"}, "dist_train_scratch");
}

TEST(Dist, TrainingResumesWithAnotherWorldSize) {
  SKIP_WITHOUT_GLOO();
  const auto dir = temp_dir("dist_resume");
  const auto root = synthetic_seg(dir);
  const std::string task = "--task head --iterations 6 --batch-size 4";
  auto straight = run_one(train_args(root, dir / "straight", task), dir, "straight");
  ASSERT_EQ(straight.code, 0) << straight.err;
  const auto first = run_ranks(Job{}, train_args(root, dir / "resumed", task + " --stop-after 3"), dir, "first");
  for (const auto& r : first) ASSERT_EQ(r.code, 0) << report(first);
  EXPECT_NE(first[0].out.find("stopped after iteration 3"), std::string::npos) << first[0].out;
  auto rest = run_one(train_args(root, dir / "resumed", task + " --resume"), dir, "rest");
  ASSERT_EQ(rest.code, 0) << rest.err;
  EXPECT_NE(rest.out.find("resumed at iteration 3"), std::string::npos) << rest.out;
  EXPECT_LE(max_difference(dir / "straight" / "seg.safetensors", dir / "resumed" / "seg.safetensors"), 1e-5);
  // A global batch the ranks cannot share evenly is refused on every rank.
  Job three;
  three.ranks = 3;
  const auto odd = run_ranks(three, train_args(root, dir / "odd", task), dir, "odd");
  for (const auto& r : odd) {
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("batch size 4 is not divisible by the 3 ranks"), std::string::npos) << r.err;
  }
}

std::string grid_suite(const fs::path& dir) {
  return write_suite(dir, "grid.json", R"({
    "name": "grid",
    "models": [{"name": "vit_tiny_patch16_224", "num_classes": 4, "img_size": 32, "label": "a"},
               {"name": "vit_tiny_patch16_224", "num_classes": 7, "img_size": 32, "label": "b"},
               {"name": "vit_pico_patch8_64", "label": "c"}],
    "measurements": ["params", "macs"],
    "settings": {"threads": 1}
  })");
}

TEST(Dist, ShardsMergeIntoTheUnshardedRun) {
  const auto dir = temp_dir("dist_shards");
  const auto suite = grid_suite(dir);
  auto whole = run_one("run " + suite + " --db " + (dir / "whole.db").string(), dir, "whole");
  ASSERT_EQ(whole.code, 0) << whole.err;
  std::string dbs;
  for (int i = 0; i < 4; ++i) {
    const auto db = dir / ("shard" + std::to_string(i) + ".db");
    auto r = run_one("run " + suite + " --shard " + std::to_string(i) + "/4 --db " + db.string(), dir, "shard");
    ASSERT_EQ(r.code, 0) << r.err;
    dbs += " " + db.string();
  }
  auto merged = run_one("merge" + dbs + " --into " + (dir / "merged.db").string(), dir, "merge");
  ASSERT_EQ(merged.code, 0) << merged.err;
  EXPECT_NE(merged.out.find("6 cells merged"), std::string::npos) << merged.out;
  EXPECT_EQ(results_of((dir / "whole.db").string()), results_of((dir / "merged.db").string()));
  {
    const store::Store db((dir / "merged.db").string());
    const auto run = db.run(*db.latest_run());
    EXPECT_EQ(run->status, "passed");
    EXPECT_EQ(run->info.shard, "*/4");
    int parts = 0;
    for (const auto& r : db.runs()) parts += r.part_of == run->id;
    EXPECT_EQ(parts, 4);
    for (const auto& c : db.cells(run->id)) EXPECT_TRUE(c.part.has_value()) << c.key;
  }
  // A shard merged twice, or a shard that is not one of the plan's, is refused and writes nothing.
  auto again = run_one("merge " + (dir / "shard1.db").string() + " --into " + (dir / "merged.db").string(), dir, "again");
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("shard 1/4 is already in"), std::string::npos) << again.err;
  EXPECT_EQ(store::Store((dir / "merged.db").string()).runs().size(), 5u) << "the refused merge wrote nothing";
  auto bad = run_one("run " + suite + " --shard 4/4 --db " + (dir / "x.db").string(), dir, "bad");
  EXPECT_EQ(bad.code, 2);  // a usage error
  EXPECT_NE(bad.err.find("--shard '4/4': expected I/N with 0 <= I < N"), std::string::npos) << bad.err;
  // An unsharded run merges as a run of its own, with its provenance.
  auto plain = run_one("merge " + (dir / "whole.db").string() + " --into " + (dir / "merged.db").string(), dir, "plain");
  ASSERT_EQ(plain.code, 0) << plain.err;
  const store::Store db((dir / "merged.db").string());
  const auto copied = db.run(*db.latest_run());
  const store::Store src((dir / "whole.db").string());
  const auto original = src.run(*src.latest_run());
  EXPECT_EQ(copied->info.host, original->info.host);
  EXPECT_EQ(copied->started_at, original->started_at);
  EXPECT_EQ(copied->info.git_commit, original->info.git_commit);
}

TEST(Dist, TorchrunLaunchesTwoRanks) {
  SKIP_WITHOUT_GLOO();
  const auto dir = temp_dir("dist_torchrun");
  // torchrun comes with the torch wheel CMake found LibTorch in; a machine may have LibTorch without it.
  if (wait_for(spawn(std::string(LOCBENCH_TORCHRUN) + " --help", dir, "torchrun_help", {}), 60).code != 0)
    GTEST_SKIP() << "torchrun (" << LOCBENCH_TORCHRUN << ") does not run here";
  const auto suite = write_suite(dir, "acc.json", R"({
    "name": "torchrun_acc",
    "models": [{"name": "vit_pico_patch8_64", "num_classes": 3}],
    "datasets": [{"name": "shapes", "kind": "imagefolder", "root": ")" + (dir / "shapes").string() + R"(",
                  "generate": {"classes": 3, "per_class": 3, "size": 40, "seed": 4}}],
    "measurements": ["params", {"kind": "accuracy", "dataset": "shapes", "batch_sizes": [2]}],
    "settings": {"threads": 1}
  })");
  auto one = run_one("run " + suite + " --db " + (dir / "one.db").string(), dir, "one");
  ASSERT_EQ(one.code, 0) << one.err;
  // torchrun picks the rendezvous port itself (--standalone) and serves the store from its agent.
  const std::string cmd = std::string(LOCBENCH_TORCHRUN) + " --standalone --nproc-per-node 2 --no-python " +
                          bench_bin() + " run " + suite + " --db " + (dir / "torchrun.db").string();
  auto launched = wait_for(spawn(cmd, dir, "torchrun", {{"OMP_NUM_THREADS", "1"}, {"LOCBENCH_DIST_TIMEOUT", "60"}}));
  ASSERT_EQ(launched.code, 0) << launched.err << launched.out;
  EXPECT_EQ(results_of((dir / "one.db").string()), results_of((dir / "torchrun.db").string()));
  const store::Store db((dir / "torchrun.db").string());
  EXPECT_EQ(db.run(*db.latest_run())->info.world_size, 2);
  EXPECT_EQ(db.run(*db.latest_run())->info.backend, "gloo");
}

TEST(Dist, RanksThatDisagreeEndTheJobWithOneLine) {
  SKIP_WITHOUT_GLOO();
  const auto dir = temp_dir("dist_disagree");
  const auto a = grid_suite(dir);
  const auto b = write_suite(dir, "other.json", R"({"name": "grid", "models": ["vit_pico_patch8_64"],
    "measurements": ["params"], "settings": {"threads": 1}})");
  const auto ranks = start_ranks(Job{}, [&](int r) { return "run " + (r == 0 ? a : b) + " --db " + (dir / "x.db").string(); },
                                 dir, "disagree");
  for (const auto& p : ranks) {
    const Finished f = wait_for(p, 120);
    EXPECT_EQ(f.code, 1) << f.err;
    EXPECT_NE(f.err.find("bench: rank 1: suite hash '"), std::string::npos) << f.err;
    EXPECT_NE(f.err.find("' differs from rank 0's '"), std::string::npos) << f.err;
  }
}

std::string long_train_suite(const fs::path& dir, const fs::path& seg_root) {
  return write_suite(dir, "long.json", R"({
    "name": "long_train",
    "models": ["vit_pico_patch8_64"],
    "datasets": [{"name": "seg", "kind": "synthetic_ade20k", "root": ")" + seg_root.string() + R"(",
                  "generate": )" + std::string(kSegGenerate) + R"(}],
    "measurements": ["params",
                     {"kind": "train", "dataset": "seg", "scale": [128, 64],
                      "train": {"task": "head", "iterations": 200, "batch_size": 2, "crop": 48, "scale": [128, 64],
                                "checkpoint_interval": 5, "work_dir": ")" + (dir / "work").string() + R"("}}],
    "settings": {"threads": 1}
  })");
}

// Rank 1 is sent `signal` once training is under way; rank 0 must end within the timeout, naming rank 1.
void expect_job_ends_naming_rank_1(int signal, const std::string& name, const std::string& cause) {
  const auto dir = temp_dir(name);
  const auto seg_root = synthetic_seg(dir);
  const auto suite = long_train_suite(dir, seg_root);
  const auto db = (dir / "bench.db").string();
  Job job;
  job.extra["LOCBENCH_DIST_TIMEOUT"] = "15";
  auto ranks = start_ranks(job, [&](int) { return "run " + suite + " --db " + db; }, dir, name);
  const auto t0 = Clock::now();
  while (!fs::exists(dir / "work" / "seg.safetensors") && Clock::now() - t0 < std::chrono::seconds(240))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(dir / "work" / "seg.safetensors")) << read_bytes(ranks[0].err);
  ::kill(ranks[1].pid, signal);
  const Finished rank0 = wait_for(ranks[0], 120);
  ::kill(ranks[1].pid, SIGKILL);
  wait_for(ranks[1], 30);
  EXPECT_EQ(rank0.code, 1) << rank0.err;
  EXPECT_LT(rank0.seconds, 15 + 30) << "within the timeout and the look for a culprit";
  EXPECT_NE(rank0.err.find("bench: rank 1: " + cause), std::string::npos) << rank0.err;
  // The store holds what finished (the params cell), nothing of the interrupted cell, and resumes.
  {
    const store::Store s(db);
    const auto cells = s.cells(*s.latest_run());
    ASSERT_EQ(cells.size(), 1u);
    EXPECT_EQ(cells[0].measurement, "params");
  }
  auto resumed = run_one("run " + suite + " --db " + db + " --resume", dir, "resume");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  const auto results = results_of(db);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& [key, m] : results) EXPECT_EQ(m.at("passed"), 1.0) << key;
}

TEST(Dist, AKilledRankEndsTheJobAndResumeContinues) {
  SKIP_WITHOUT_GLOO();
  expect_job_ends_naming_rank_1(SIGKILL, "dist_kill", "died or stopped");
}

TEST(Dist, AHungRankEndsTheJob) {
  SKIP_WITHOUT_GLOO();
  expect_job_ends_naming_rank_1(SIGSTOP, "dist_hang", "");
}

}  // namespace
