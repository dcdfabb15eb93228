// What a cell's numbers depend on: nothing but the cell (order in the run, thread count), peak memory measured in a
// process of its own, the timing protocols (timm's throughput, mmseg's fps, the random-input forward latency) with
// every sample stored, resolution sweeps, and the provenance stored with every run and cell (registry name and
// label, checkpoint SHA-256, resolved variables, the build's commit) with --resume refusing another environment.
#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/sha256.h"
#include "harness/model/registry.h"
#include "harness/runner/build_info.h"
#include "harness/store/store.h"
#include "harness/suite/suite.h"
#include "tests/bench_cli.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <map>

using namespace locbench;
using namespace locbench::testing;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string write_suite(const fs::path& dir, const std::string& name, const std::string& text) {
  const auto path = (dir / name).string();
  write_bytes(path, text);
  return path;
}

// The cells of the newest run, by measurement name, with their results by metric.
struct Stored {
  store::Cell cell;
  std::map<std::string, double> results;
  const std::vector<double>& samples(const std::string& metric) const {
    for (const auto& s : cell.samples)
      if (s.metric == metric) return s.values;
    static const std::vector<double> none;
    return none;
  }
};
std::vector<Stored> stored(const std::string& db) {
  store::Store s(db);
  std::vector<Stored> out;
  for (auto& c : s.cells(*s.latest_run())) {
    Stored st{c, {}};
    for (const auto& r : c.results) st.results[r.metric] = r.value;
    out.push_back(std::move(st));
  }
  return out;
}
const Stored& find(const std::vector<Stored>& cells, const std::string& label, const std::string& measurement) {
  for (const auto& c : cells)
    if (c.cell.row_label() == label && c.cell.measurement == measurement) return c;
  throw std::runtime_error("no cell " + label + "/" + measurement);
}

// Training from scratch (classification, then the frozen-backbone head) on generated segmentation data, small.
std::string train_suite(const fs::path& dir, const std::string& name, const std::string& models, int threads) {
  return write_suite(dir, name + ".json", R"({"name": ")" + name + R"(", "models": [)" + models + R"(],
    "datasets": [{"name": "syn", "kind": "synthetic_ade20k", "root": ")" + (dir / "syn").string() + R"(",
                  "generate": {"classes": 3, "count": 8, "val_count": 4, "min_size": 64, "max_size": 80}}],
    "measurements": ["params", {"kind": "train", "dataset": "syn", "mode": "whole", "scale": [128, 64],
      "train": {"task": "scratch", "cls_iterations": 4, "cls_batch_size": 4, "iterations": 4, "batch_size": 4,
                "crop": 64, "scale": [128, 64], "log_interval": 2}}],
    "settings": {"threads": )" + std::to_string(threads) + R"(, "seeds": [3]}})");
}

}  // namespace

// The same training cell gives the same numbers alone or after other cells, with 1 or 2 threads.
TEST(Cells, TrainingResultDependsOnlyOnTheCell) {
  auto dir = temp_dir("cells_independent");
  const std::string target = R"({"name": "vit_pico_patch8_64", "num_classes": 3, "label": "target"})";
  const std::string other = R"({"name": "localvit_pico_patch8_64", "num_classes": 3, "label": "other"})";
  std::map<std::string, double> miou, loss;
  for (int threads : {1, 2}) {
    for (bool after_others : {false, true}) {
      std::string name = "t" + std::to_string(threads);
      name += after_others ? "after" : "alone";
      const auto suite = train_suite(dir, name, after_others ? other + ", " + target : target, threads);
      const auto db = (dir / (name + ".db")).string();
      const auto r = bench("run " + suite + " --db " + db, dir);
      ASSERT_EQ(r.code, 0) << r.err;
      const auto cells = stored(db);
      const auto& t = find(cells, "target", "train");
      miou[name] = t.results.at("miou");
      store::Store s(db);
      const auto curves = s.curves(*s.latest_run(), t.cell.key);
      ASSERT_FALSE(curves.empty());
      loss[name] = curves.front().value;  // the first logged loss of the classification stage
    }
  }
  for (const auto& [name, value] : miou) {
    EXPECT_EQ(value, miou.begin()->second) << name << " vs " << miou.begin()->first;
    EXPECT_EQ(loss[name], loss.begin()->second) << name << " vs " << loss.begin()->first;
  }
}

// Peak memory is the cell's own: measured in a process of its own, it does not depend on what ran before it.
TEST(Cells, PeakMemoryIsOrderIndependent) {
  auto dir = temp_dir("cells_memory");
  const std::string small = R"({"name": "vit_tiny_patch16_224", "img_size": 64, "num_classes": 10, "label": "small"})";
  const std::string big = R"({"name": "vit_small_patch16_224", "num_classes": 10, "label": "big"})";
  auto suite = [&](const std::string& name, const std::string& models) {
    return write_suite(dir, name + ".json", R"({"name": ")" + name + R"(", "models": [)" + models + R"(],
      "measurements": [{"kind": "latency", "batch_sizes": [16]}, "memory"],
      "settings": {"threads": 1, "warmup": 0, "repeats": 2}})");
  };
  ASSERT_EQ(bench("run " + suite("alone", small) + " --db " + (dir / "a.db").string(), dir).code, 0);
  ASSERT_EQ(bench("run " + suite("after", big + ", " + small) + " --db " + (dir / "b.db").string(), dir).code, 0);
  const double alone = find(stored((dir / "a.db").string()), "small", "memory").results.at("peak_memory");
  const auto after_cells = stored((dir / "b.db").string());
  const auto& cell = find(after_cells, "small", "memory");
  const double after = cell.results.at("peak_memory");
  EXPECT_GT(alone, 0);
  // A fresh process each time: equal to within the allocator's page-level jitter (1%), although a ViT-S forward at
  // batch 16 ran just before in the second run.
  EXPECT_NEAR(after / alone, 1.0, 0.01) << "alone " << alone << " after " << after;
  std::cerr << "peak memory of the small cell: alone " << alone / 1048576 << " MiB, after the big model "
            << after / 1048576 << " MiB\n";
  store::Store s((dir / "b.db").string());
  bool isolated = false;
  for (const auto& c : s.cells(*s.latest_run()))
    for (const auto& r : c.results)
      if (r.metric == "peak_memory") isolated = r.convention.find("process of its own") != std::string::npos;
  EXPECT_TRUE(isolated);
  EXPECT_NE(cell.cell.provenance_json.find("\"threads\":1"), std::string::npos) << cell.cell.provenance_json;
}

// timm's throughput (samples / wall time of the timed loop), the random-input forward latency with its CPU time, and
// mmseg's fps on real validation images; every repetition is stored.
TEST(Cells, TimingProtocolsKeepEverySample) {
  auto dir = temp_dir("cells_timing");
  const auto suite = write_suite(dir, "t.json", R"({"name": "t",
    "models": [{"name": "vit_pico_patch8_64", "num_classes": 3}],
    "datasets": [{"name": "syn", "kind": "synthetic_ade20k", "root": ")" + (dir / "syn").string() + R"(",
                  "generate": {"classes": 3, "count": 4, "val_count": 9, "min_size": 64, "max_size": 80}}],
    "measurements": [{"kind": "latency", "batch_sizes": [1]}, {"kind": "throughput", "batch_sizes": [4]},
                     {"kind": "fps", "dataset": "syn", "mode": "slide", "crop": 64, "stride": 48, "scale": [128, 64],
                      "warmup": 2}],
    "settings": {"threads": 1, "warmup": 1, "repeats": 7}})");
  const auto db = (dir / "t.db").string();
  const auto r = bench("run " + suite + " --db " + db, dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto cells = stored(db);
  const auto& latency = find(cells, "vit_pico_patch8_64", "latency");
  ASSERT_EQ(latency.samples("latency").size(), 7u);
  ASSERT_EQ(latency.samples("latency_cpu").size(), 7u);
  EXPECT_GT(latency.results.at("latency_cpu"), 0);
  EXPECT_FALSE(latency.results.count("throughput")) << "the random-input latency is not a throughput";
  const auto& tp = find(cells, "vit_pico_patch8_64", "throughput");
  const auto& steps = tp.samples("step_time");
  ASSERT_EQ(steps.size(), 7u);
  double total = 0;
  for (double ms : steps) total += ms;
  // samples / wall time of the whole loop: at most what the step times alone would give.
  EXPECT_LE(tp.results.at("throughput"), 7 * 4 / (total / 1000.0) * (1 + 1e-9));
  EXPECT_GT(tp.results.at("throughput"), 0.5 * 7 * 4 / (total / 1000.0));
  const auto& fps = find(cells, "vit_pico_patch8_64", "fps");
  ASSERT_EQ(fps.samples("image_latency").size(), 7u);  // 9 validation images, the first 2 warm up
  double fps_total = 0;
  for (double ms : fps.samples("image_latency")) fps_total += ms;
  EXPECT_NEAR(fps.results.at("fps"), 7 / (fps_total / 1000.0), 1e-6 * fps.results.at("fps"));
  bool mmseg = false;
  for (const auto& res : fps.cell.results) mmseg |= res.convention.find("mmseg benchmark.py: slide 64/48") == 0;
  EXPECT_TRUE(mmseg);
}

// img_size in the settings sweeps resolutions: one cell per size, MACs at each, and a plot against resolution.
TEST(Cells, ResolutionSweepEndToEnd) {
  auto dir = temp_dir("cells_sweep");
  const auto suite = write_suite(dir, "s.json", R"({"name": "s",
    "models": [{"name": "vit_pico_patch8_64", "num_classes": 3}],
    "measurements": ["params", "macs", {"kind": "latency", "batch_sizes": [1]}],
    "settings": {"threads": 1, "warmup": 0, "repeats": 3, "img_size": [32, 64, "48x64"]}})");
  const auto db = (dir / "s.db").string();
  const auto r = bench("run " + suite + " --db " + db, dir);
  ASSERT_EQ(r.code, 0) << r.err;
  std::map<std::string, double> macs;
  for (const auto& c : stored(db))
    if (c.cell.measurement == "macs") macs[json::parse(c.cell.settings_json)["resolution"].dump()] = c.results.at("macs");
  ASSERT_EQ(macs.size(), 3u);
  EXPECT_LT(macs["32"], macs["\"48x64\""]);
  EXPECT_LT(macs["\"48x64\""], macs["64"]);
  const auto plot = bench("plot --db " + db + " --x resolution --y latency", dir);
  ASSERT_EQ(plot.code, 0) << plot.err;
  EXPECT_NE(plot.out.find("<polyline"), std::string::npos);
  auto errors = suite::validate_suite(write_suite(dir, "bad.json", R"({"name": "b", "models": ["vit_pico_patch8_64"],
    "measurements": ["macs"], "settings": {"img_size": [32, "64y64", 0, 32]}})"));
  ASSERT_EQ(errors.size(), 3u) << errors.size();
  EXPECT_NE(errors[0].find("settings.img_size[1]: expected a size N or \"HxW\" from 1 to 8192"), std::string::npos);
  EXPECT_NE(errors[2].find("settings.img_size[3]: duplicate size"), std::string::npos) << errors[2];
}

// Every cell records the registry name and its label apart, the checkpoint with its SHA-256, the resolved ${VAR}s;
// every run the build's commit (baked in at build time) and its environment.
TEST(Cells, ProvenanceIsStoredWithEveryCell) {
  auto dir = temp_dir("cells_provenance");
  torch::manual_seed(0);
  ModelArgs args;
  args.num_classes = 3;
  auto model = create_model("vit_pico_patch8_64", args);
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : model->named_parameters()) tensors[item.key()] = item.value();
  for (const auto& item : model->named_buffers()) tensors[item.key()] = item.value();
  const auto ckpt = (dir / "pico.safetensors").string();
  write_safetensors(ckpt, tensors);
  const auto suite = write_suite(dir, "p.json", R"js({"name": "p",
    "models": [{"name": "vit_pico_patch8_64", "num_classes": 3, "label": "Pico (ours)",
                "checkpoint": "${LOCBENCH_TEST_CKPT_DIR}/pico.safetensors"}],
    "measurements": ["params"], "settings": {"threads": 1}})js");
  const auto db = (dir / "p.db").string();
  const auto r = bench("run " + suite + " --db " + db, dir, "LOCBENCH_TEST_CKPT_DIR=" + dir.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto cells = stored(db);
  ASSERT_EQ(cells.size(), 1u);
  const store::Cell& c = cells[0].cell;
  EXPECT_EQ(c.model, "vit_pico_patch8_64");
  EXPECT_EQ(c.label, "Pico (ours)");
  EXPECT_EQ(c.checkpoint_path, ckpt);
  EXPECT_EQ(c.checkpoint_sha256, sha256_file(ckpt));
  EXPECT_EQ(c.checkpoint_sha256.size(), 64u);
  const json p = json::parse(c.provenance_json);
  EXPECT_EQ(p["variables"]["LOCBENCH_TEST_CKPT_DIR"], dir.string());
  EXPECT_EQ(p["device"], "cpu");
  EXPECT_EQ(p["threads"], 1);
  EXPECT_EQ(p["precision"], "fp32");
  EXPECT_EQ(p["num_classes"], 3);
  store::Store s(db);
  const auto run = s.run(*s.latest_run());
  EXPECT_EQ(run->info.git_commit, build_info().describe());
  if (fs::exists(fs::path(source_dir()) / ".git")) EXPECT_EQ(build_info().commit.size(), 40u) << build_info().commit;
  const json env = json::parse(run->info.environment_json);
  EXPECT_EQ(env["device"], "cpu");
  EXPECT_EQ(env["build"]["commit"], build_info().commit);
  // The report's header shows it.
  const auto report = bench("report --db " + db, dir);
  ASSERT_EQ(report.code, 0) << report.err;
  EXPECT_NE(report.out.find(c.checkpoint_sha256.substr(0, 16)), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("LOCBENCH_TEST_CKPT_DIR=" + dir.string()), std::string::npos) << report.out;
}

// --resume continues a run only in the environment it started in; --force overrides.
TEST(Cells, ResumeRefusesAnotherEnvironmentUnlessForced) {
  auto dir = temp_dir("cells_resume_env");
  const auto suite = write_suite(dir, "r.json", R"({"name": "r", "models": ["vit_pico_patch8_64"],
    "measurements": ["params"]})");
  const auto db = (dir / "r.db").string();
  ASSERT_EQ(bench("run " + suite + " --db " + db, dir, "OMP_NUM_THREADS=1").code, 0);
  const auto refused = bench("run " + suite + " --db " + db + " --resume", dir, "OMP_NUM_THREADS=2");
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.err.find("threads 1 -> 2"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  const auto forced = bench("run " + suite + " --db " + db + " --resume --force", dir, "OMP_NUM_THREADS=2");
  EXPECT_EQ(forced.code, 0) << forced.err;
  EXPECT_EQ(bench("run " + suite + " --db " + db + " --resume", dir, "OMP_NUM_THREADS=1").code, 0);
}

// The suite hash is of the parsed JSON: whitespace and key order do not change it, a value does.
TEST(Cells, SuiteHashIgnoresFormatting) {
  auto dir = temp_dir("cells_hash");
  const auto a = suite::load_suite(write_suite(dir, "a.json",
      R"({"name": "h", "models": ["vit_pico_patch8_64"], "measurements": ["params"], "settings": {"seeds": [0, 1]}})"));
  const auto b = suite::load_suite(write_suite(dir, "b.json", R"({
      "settings": { "seeds": [0,1] },
      "measurements": [ "params" ],
      "models": [ "vit_pico_patch8_64" ],
      "name": "h"
  })"));
  const auto c = suite::load_suite(write_suite(dir, "c.json",
      R"({"name": "h", "models": ["vit_pico_patch8_64"], "measurements": ["params"], "settings": {"seeds": [0, 2]}})"));
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_NE(a.hash, c.hash);
}

// Every model of results/published.json is a registry name, or marked as not one.
TEST(Cells, PublishedModelsExistInTheRegistry) {
  const json doc = json::parse(read_bytes(source_dir() + "/results/published.json"));
  for (const auto& n : doc["numbers"]) {
    const std::string model = n["model"];
    if (n.value("not_in_registry", false)) {
      EXPECT_FALSE(Registry::instance().find(model)) << model << " is in the registry; drop not_in_registry";
      continue;
    }
    EXPECT_TRUE(Registry::instance().find(model)) << model << " is not a registry name (mark not_in_registry)";
  }
}
