// `bench validate` / `bench run` end to end: validation messages name the file and the field; cells land in
// SQLite one transaction each; a killed run resumes with only its unfinished cells; the ImageFolder reader.
#include "harness/data/image.h"
#include "harness/data/imagefolder.h"
#include "harness/measure/measure.h"
#include "harness/profile/profile.h"
#include "harness/store/store.h"
#include "harness/suite/suite.h"
#include "tests/bench_cli.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

using namespace locbench;
using namespace locbench::testing;
namespace fs = std::filesystem;

namespace {

std::string write_suite(const fs::path& dir, const std::string& name, const std::string& text) {
  const auto path = (dir / name).string();
  write_bytes(path, text);
  return path;
}

std::vector<std::string> errors_of(const fs::path& dir, const std::string& text) {
  return suite::validate_suite(write_suite(dir, "s.json", text));
}

bool contains(const std::vector<std::string>& errors, const std::string& fragment) {
  for (const auto& e : errors)
    if (e.find(fragment) != std::string::npos) return true;
  return false;
}

int64_t count_rows(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr);
  int64_t n = -1;
  if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}

std::string integrity(const std::string& db) {
  sqlite3* h = nullptr;
  sqlite3_open(db.c_str(), &h);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, nullptr);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

const char* kTinySuite = R"({
  "name": "tiny",
  "models": [{"name": "vit_tiny_patch16_224", "num_classes": 4, "img_size": 32, "label": "vit_a"},
             {"name": "vit_tiny_patch16_224", "num_classes": 4, "img_size": 32, "label": "vit_b"}],
  "datasets": [{"name": "shapes", "kind": "imagefolder", "root": "DATA_ROOT",
                "generate": {"classes": 4, "per_class": 3, "size": 40, "seed": 1}}],
  "measurements": ["params", "macs", {"kind": "latency", "batch_sizes": [1, 2]}, "memory",
                   {"kind": "accuracy", "dataset": "shapes", "batch_sizes": [4]}],
  "settings": {"warmup": 1, "repeats": 3, "seeds": [0, 1], "threads": 1}
})";

std::string tiny_suite(const fs::path& dir) {
  std::string text = kTinySuite;
  text.replace(text.find("DATA_ROOT"), 9, (dir / "shapes").string());
  return write_suite(dir, "tiny.json", text);
}

}  // namespace

TEST(SuiteValidation, UnknownModelNamesFileFieldAndSuggestion) {
  auto dir = temp_dir("suite_unknown");
  auto errors = errors_of(dir, R"({"name": "x", "models": ["vit_tiny_patch16_224", "vit_small_patch16_224",
                                   "vitt_tiny"], "measurements": ["params"]})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], (dir / "s.json").string() +
                           ": models[2].name: unknown model 'vitt_tiny' (did you mean vit_tiny_patch16_224?)");
}

TEST(SuiteValidation, WrongTypesAndUnknownFieldsAreNamed) {
  auto dir = temp_dir("suite_types");
  auto errors = errors_of(dir, R"({"name": "x", "models": [{"name": "vit_tiny_patch16_224", "num_classes": "ten"}],
      "measurements": [{"kind": "latency", "batch_sizes": [1, "2"]}, {"kind": "speed"}],
      "settings": {"device": "tpu", "repeats": 0, "precision": ["fp32", "fp8"], "colour": 1}})");
  EXPECT_TRUE(contains(errors, "models[0].num_classes: expected an integer, got a string \"ten\"")) << errors[0];
  EXPECT_TRUE(contains(errors, "measurements[0].batch_sizes[1]: expected an integer"));
  EXPECT_TRUE(contains(errors, "measurements[1].kind: unknown measurement 'speed'"));
  EXPECT_TRUE(contains(errors, "settings.device: expected \"cpu\" or \"cuda\""));
  EXPECT_TRUE(contains(errors, "settings.repeats: must be at least 1"));
  EXPECT_TRUE(contains(errors, "settings.precision[1]: expected fp32, bf16 or fp16"));
  EXPECT_TRUE(contains(errors, "settings.colour: unknown field"));
}

TEST(SuiteValidation, MissingDatasetRootNamesPathAndVariable) {
  auto dir = temp_dir("suite_root");
  ::setenv("LOCBENCH_TEST_ROOT", "/nonexistent/ade", 1);
  auto errors = errors_of(dir, R"({"name": "x", "models": ["vit_tiny_patch16_224"],
      "datasets": [{"name": "val", "kind": "imagefolder", "root": "${LOCBENCH_TEST_ROOT}"}],
      "measurements": [{"kind": "accuracy", "dataset": "val"}]})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("datasets[0].root: dataset 'val': no such directory '/nonexistent/ade' (set "
                           "LOCBENCH_TEST_ROOT)"),
            std::string::npos)
      << errors[0];
  ::unsetenv("LOCBENCH_TEST_ROOT");
  errors = errors_of(dir, R"({"name": "x", "models": ["vit_tiny_patch16_224"],
      "datasets": [{"name": "val", "kind": "imagefolder", "root": "${LOCBENCH_TEST_ROOT}"}],
      "measurements": [{"kind": "accuracy", "dataset": "nope"}]})");
  EXPECT_TRUE(contains(errors, "datasets[0].root: environment variable LOCBENCH_TEST_ROOT is not set"));
  EXPECT_TRUE(contains(errors, "measurements[0].dataset: no dataset named 'nope'"));
}

TEST(SuiteValidation, EnvironmentExpansionWithDefaults) {
  ::setenv("LOCBENCH_TEST_A", "/data", 1);
  EXPECT_EQ(suite::expand_env("${LOCBENCH_TEST_A}/ade", "x"), "/data/ade");
  EXPECT_EQ(suite::expand_env("${LOCBENCH_TEST_UNSET:-/tmp/d}/x", "x"), "/tmp/d/x");
  EXPECT_THROW(suite::expand_env("${LOCBENCH_TEST_UNSET}", "x"), std::invalid_argument);
  ::unsetenv("LOCBENCH_TEST_A");
}

TEST(SuiteValidation, MalformedJsonAndCliExitCodes) {
  auto dir = temp_dir("suite_cli");
  const auto bad = write_suite(dir, "bad.json", "{\"name\": \"x\", ");
  auto r = bench("validate " + bad, dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind(bad + ": invalid JSON", 0), 0u) << r.err;
  r = bench("run " + bad + " --db " + (dir / "r.db").string(), dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_FALSE(fs::exists(dir / "r.db"));  // nothing written for an invalid suite
  EXPECT_EQ(bench("validate " + (fs::path(source_dir()) / "suites/quickstart.json").string(), dir).code, 0);
}

TEST(SuitePlan, ExpandsCellsAndFilters) {
  auto dir = temp_dir("suite_plan");
  const auto s = suite::load_suite(tiny_suite(dir));
  const auto cells = suite::plan(s);
  // per model: params 1 + macs 1 + latency 2 batch sizes + memory 1 + accuracy 2 seeds = 7
  EXPECT_EQ(cells.size(), 14u);
  std::set<std::string> keys;
  for (const auto& c : cells) keys.insert(c.key);
  EXPECT_EQ(keys.size(), cells.size());
  EXPECT_EQ(suite::plan(s, "", "vit_b").size(), 7u);
  EXPECT_EQ(suite::plan(s, "", "*/latency").size(), 4u);
}

TEST(Runner, RunStoresEveryCellAndReports) {
  auto dir = temp_dir("runner_run");
  const auto suite_path = tiny_suite(dir);
  const auto db = (dir / "r.db").string();
  auto r = bench("run " + suite_path + " --db " + db, dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM cells WHERE status = 'passed'"), 14);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM runs WHERE status = 'passed'"), 1);
  // The heap policy is provenance: bench's default, glibc's thresholds raised.
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM runs WHERE allocator LIKE 'glibc % retain (mmap_threshold 32 MiB, "
                           "trim_threshold 256 MiB)'"),
            1);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM results WHERE metric = 'top1'"), 4);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM results WHERE metric = 'params' AND value = 5488324"), 2);
  auto rep = bench("report --db " + db + " --format csv", dir);
  ASSERT_EQ(rep.code, 0) << rep.err;
  EXPECT_NE(rep.out.find("vit_a"), std::string::npos);
  EXPECT_NE(rep.out.find("vit_b"), std::string::npos);
}

TEST(Runner, FailingCellIsRecordedAndRunGoesOn) {
  auto dir = temp_dir("runner_fail");
  data::write_synthetic_image_folder((dir / "data").string(), {3, 2, 32, 0, "png"});
  const auto suite_path = write_suite(dir, "f.json", R"({"name": "f",
      "models": [{"name": "vit_tiny_patch16_224", "img_size": 32}],
      "datasets": [{"name": "d", "kind": "imagefolder", "root": ")" + (dir / "data").string() + R"("}],
      "measurements": ["params", {"kind": "accuracy", "dataset": "d"}]})");
  const auto db = (dir / "r.db").string();
  auto r = bench("run " + suite_path + " --db " + db, dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM cells WHERE status = 'passed'"), 1);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM cells WHERE status = 'failed' AND error LIKE "
                           "'%has 3 classes but model%predicts 1000%'"),
            1);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM runs WHERE status = 'failed'"), 1);
}

TEST(Runner, KilledRunResumesWithOnlyUnfinishedCells) {
  auto dir = temp_dir("runner_kill");
  const auto suite_path = tiny_suite(dir);
  const auto db = (dir / "r.db").string();
  // Warm the dataset so the child spends its time in cells.
  ASSERT_EQ(bench("run " + suite_path + " --db " + (dir / "warm.db").string() + " --only 'vit_a/accuracy*'", dir).code, 0);
  pid_t child = ::fork();
  if (child == 0) {
    const std::string out = (dir / "child.log").string();
    ::freopen(out.c_str(), "w", stderr);
    ::execl(LOCBENCH_BENCH_BIN, LOCBENCH_BENCH_BIN, "run", suite_path.c_str(), "--db", db.c_str(), nullptr);
    ::_exit(127);
  }
  // Kill it once some but not all cells are in.
  int64_t done = 0;
  for (int i = 0; i < 600 && done < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (fs::exists(db)) done = count_rows(db, "SELECT COUNT(*) FROM cells");
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(integrity(db), "ok");
  const int64_t before = count_rows(db, "SELECT COUNT(*) FROM cells");
  ASSERT_GE(before, 3);
  ASSERT_LT(before, 14) << "the run finished before it could be killed";
  // Every stored cell is whole: a passed cell has all of its results.
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM cells c WHERE c.status = 'passed' AND NOT EXISTS "
                           "(SELECT 1 FROM results r WHERE r.cell_id = c.id)"),
            0);
  auto r = bench("run " + suite_path + " --db " + db + " --resume", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find(std::to_string(14 - before) + " of 14 cells to run"), std::string::npos) << r.err;
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM cells WHERE status = 'passed'"), 14);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM runs"), 1);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM runs WHERE status = 'passed'"), 1);
}

TEST(ImageFolder, ReadsGeneratedDataInClassOrder) {
  auto dir = temp_dir("imagefolder");
  const auto root = (dir / "ds").string();
  data::write_synthetic_image_folder(root, {3, 4, 24, 7, "png"});
  auto folder = data::read_image_folder(root);
  EXPECT_EQ(folder.classes, (std::vector<std::string>{"class_00", "class_01", "class_02"}));
  ASSERT_EQ(folder.samples.size(), 12u);
  EXPECT_EQ(folder.samples[0].label, 0);
  EXPECT_EQ(folder.samples[11].label, 2);
  auto img = data::read_image(folder.samples[5].path, data::ReadProtocol::timm);
  EXPECT_EQ(img.width, 24);
  EXPECT_EQ(img.channels, 3);
  EXPECT_FALSE(fs::exists(root + ".partial"));
}

TEST(ImageFolder, CorruptImageIsAnErrorNamingTheFile) {
  auto dir = temp_dir("imagefolder_corrupt");
  const auto root = (dir / "ds").string();
  data::write_synthetic_image_folder(root, {2, 2, 16, 0, "jpg"});
  const auto bad = (fs::path(root) / "class_01" / "broken.jpg").string();
  write_bytes(bad, std::string("\xFF\xD8\xFF\xE0 truncated", 15));
  VariantConfig config;
  try {
    measure::preprocess_eval(bad, config, {16, 16});
    FAIL() << "a corrupt image was decoded";
  } catch (const data::DataError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(bad + ": cannot decode JPEG", 0), 0u) << e.what();
  }
  EXPECT_THROW(data::read_image_folder((dir / "missing").string()), data::DataError);
}

TEST(Measurements, EvalPreprocessingFollowsTimm) {
  auto dir = temp_dir("preprocess");
  data::Image img{80, 60, 3, std::vector<uint8_t>(80 * 60 * 3, 128)};
  const auto path = (dir / "a.png").string();
  data::write_png(path, img);
  VariantConfig config;  // mean = std = 0.5, crop_pct 0.9, bicubic
  auto x = measure::preprocess_eval(path, config, {32, 32});
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{3, 32, 32}));
  EXPECT_NEAR(x.mean().item<double>(), (128 / 255.0 - 0.5) / 0.5, 1e-4);
}

TEST(Measurements, LatencyStatisticsAndTopK) {
  measure::LatencyStats stats;
  for (double v : {5.0, 1.0, 3.0, 2.0, 4.0}) stats.process(v);
  auto s = stats.compute();
  EXPECT_DOUBLE_EQ(s.median, 3.0);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.p90, 4.6);
  EXPECT_THROW(measure::LatencyStats().compute(), std::runtime_error) << "no timed repeat is no latency, not 0 ms";
  EXPECT_THROW(measure::TopKAccuracy().compute(), std::runtime_error) << "no scored image is no accuracy";
  measure::TopKAccuracy acc({1, 2});
  acc.process(torch::tensor({{0.1, 0.9, 0.0}, {0.8, 0.15, 0.05}, {0.2, 0.3, 0.5}}), torch::tensor({1, 1, 0}));
  auto a = acc.compute();
  EXPECT_NEAR(a[0], 100.0 / 3, 1e-9);
  EXPECT_NEAR(a[1], 200.0 / 3, 1e-9);
}

TEST(SuiteValidation, KernelsOptionsAreCheckedByName) {
  auto dir = temp_dir("suite_kernels");
  auto errors = errors_of(dir, R"({"name": "x", "models": ["vit_pico_patch8_64"],
      "measurements": [{"kind": "kernels", "iterations": 0, "top": -1, "warmup": "one", "repeats": 3,
                        "dataset": "d"}]})");
  const std::string file = (dir / "s.json").string() + ": ";
  EXPECT_TRUE(contains(errors, file + "measurements[0].iterations: must be at least 1, got 0"));
  EXPECT_TRUE(contains(errors, file + "measurements[0].top: must be at least 0, got -1"));
  EXPECT_TRUE(contains(errors, file + "measurements[0].warmup: expected an integer, got a string \"one\""));
  EXPECT_TRUE(contains(errors, file + "measurements[0].repeats: unknown field"));
  EXPECT_TRUE(contains(errors, file + "measurements[0].dataset: 'kernels' takes no dataset"));
  EXPECT_TRUE(errors_of(dir, R"({"name": "x", "models": ["vit_pico_patch8_64"],
      "measurements": [{"kind": "kernels", "batch_sizes": [1, 4], "warmup": 0, "iterations": 3, "top": 10}]})")
                  .empty());
}

TEST(SuitePlan, KernelsCellsPerBatchSizeCarryWarmupAndIterations) {
  auto dir = temp_dir("suite_plan_kernels");
  const auto s = suite::load_suite(write_suite(dir, "k.json", R"({"name": "k", "models": ["vit_pico_patch8_64"],
      "measurements": ["kernels", {"kind": "kernels", "name": "kernels_big", "batch_sizes": [2, 8], "iterations": 3}],
      "settings": {"batch_sizes": [4], "seeds": [0, 1], "device": "cuda"}})"));
  const auto cells = suite::plan(s);
  ASSERT_EQ(cells.size(), 3u);  // batch sizes from the settings, then the entry's; seeds do not apply
  EXPECT_EQ(cells[0].settings["batch_size"], 4);
  EXPECT_EQ(cells[0].settings["warmup"], 1);
  EXPECT_EQ(cells[0].settings["iterations"], 1);
  EXPECT_EQ(cells[0].settings["device"], "cuda");
  EXPECT_EQ(cells[2].settings["batch_size"], 8);
  EXPECT_EQ(cells[2].settings["iterations"], 3);
  EXPECT_FALSE(cells[2].seed);
}

TEST(Runner, KernelsCellStoresItsOpRowsWithTheCell) {
  auto dir = temp_dir("runner_kernels");
  const auto suite_path = write_suite(dir, "k.json", R"({"name": "k", "models": ["vit_pico_patch8_64"],
      "measurements": ["params", {"kind": "kernels", "batch_sizes": [2], "warmup": 1, "iterations": 2, "top": 4}],
      "settings": {"threads": 1}})");
  const auto db = (dir / "r.db").string();
  auto r = bench("run " + suite_path + " --db " + db, dir);
  ASSERT_EQ(r.code, 0) << r.err;
  store::Store store(db);
  const int64_t run = *store.latest_run();
  const auto cells = store.cells(run);
  ASSERT_EQ(cells.size(), 2u);
  const auto& cell = cells[1];
  EXPECT_EQ(cell.measurement, "kernels");
  std::map<std::string, store::Result> results;
  for (const auto& res : cell.results) results[res.metric] = res;
  ASSERT_TRUE(results.count("traced_time")) << cell.results.size();
  EXPECT_GT(results["traced_time"].value, 0.0);
  EXPECT_EQ(results["traced_time"].unit, "ms");
  EXPECT_GT(results["distinct_ops"].value, 4.0);  // more ops than the rows `top` keeps
  EXPECT_GT(results["op_calls"].value, results["distinct_ops"].value);
  ASSERT_TRUE(results.count("sdpa_time"));  // the pico ViT attends through SDPA
  EXPECT_TRUE(results["sdpa_time"].convention == "flash" || results["sdpa_time"].convention == "math")
      << results["sdpa_time"].convention;

  const auto profile = store.profile(run, cell.key);
  ASSERT_TRUE(profile);
  EXPECT_EQ(profile->tracer, "libtorch-record-function");
  EXPECT_EQ(profile->warmup, 1);
  EXPECT_EQ(profile->iterations, 2);
  EXPECT_EQ(profile->cupti_version, 0);
  EXPECT_EQ(profile->sdpa_backend, results["sdpa_time"].convention);
  ASSERT_EQ(profile->rows.size(), 4u);  // top 4 of the one kind, largest first
  EXPECT_GT(profile->total_rows, 4);
  for (size_t i = 0; i < profile->rows.size(); ++i) {
    const auto& row = profile->rows[i];
    EXPECT_EQ(row.kind, "op");
    EXPECT_TRUE(row.name.rfind("aten::", 0) == 0 || row.name.rfind("mkldnn::", 0) == 0) << row.name;  // packed linear
    EXPECT_EQ(row.calls % 2, 0) << row.name << ": two forwards traced";
    if (i) EXPECT_GE(profile->rows[i - 1].total_us, row.total_us);
  }
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM profile_rows WHERE grid_x IS NULL AND tracer = "
                           "'libtorch-record-function'"),
            4);
  EXPECT_FALSE(store.profile(run, cells[0].key));  // params has no profile
}

TEST(Runner, KernelsOnCudaWithoutATracerFailsOnlyThatCell) {
  if (torch::cuda::is_available() && profile::cupti_available())
    GTEST_SKIP() << "this machine can trace CUDA kernels";
  auto dir = temp_dir("runner_kernels_cuda");
  const auto suite_path = write_suite(dir, "c.json", R"({"name": "c", "models": ["vit_pico_patch8_64"],
      "measurements": ["params", "kernels", "macs"], "settings": {"device": "cuda", "threads": 1}})");
  const auto db = (dir / "r.db").string();
  auto r = bench("run " + suite_path + " --db " + db, dir);
  EXPECT_EQ(r.code, 1) << r.err;
  // params and macs count on the CPU whatever the device; the kernels cell fails with one line saying why.
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM cells WHERE status = 'passed'"), 2);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM cells WHERE status = 'failed' AND measurement = 'kernels' AND "
                           "error LIKE '%cuda%' AND error NOT LIKE '%' || char(10) || '%'"),
            1);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM profiles"), 0);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM runs WHERE status = 'failed'"), 1);
  EXPECT_NE(r.err.find("kernels"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("FAILED"), std::string::npos) << r.err;
}

TEST(Runner, BenchKernelsPrintsTheStoredProfiles) {
  auto dir = temp_dir("runner_kernels_view");
  const auto suite_path = write_suite(dir, "k.json", R"({"name": "k", "models": ["vit_pico_patch8_64"],
      "measurements": ["params", {"kind": "kernels", "top": 3}], "settings": {"threads": 1}})");
  const auto db = (dir / "r.db").string();
  ASSERT_EQ(bench("run " + suite_path + " --db " + db, dir).code, 0);
  auto table = bench("kernels --db " + db, dir);
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("tracer: libtorch-record-function"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("aten::"), std::string::npos) << table.out;
  auto json = bench("kernels --db " + db + " --json", dir);
  ASSERT_EQ(json.code, 0) << json.err;
  const auto parsed = nlohmann::json::parse(json.out);
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0]["model"], "vit_pico_patch8_64");
  EXPECT_EQ(parsed[0]["rows"].size(), 3u);
  EXPECT_EQ(bench("kernels --db " + db + " --run 99", dir).code, 2);
}

TEST(Runner, IntegersPastTheirTypeAreRefusedBeforeAnythingRuns) {
  auto dir = temp_dir("runner_ints");
  const auto suite_path = write_suite(dir, "i.json", R"({"name": "i", "models": ["vit_pico_patch8_64"],
      "measurements": ["latency"], "settings": {"repeats": 4294967296, "warmup": 1}})");
  const auto db = (dir / "r.db").string();
  auto r = bench("run " + suite_path + " --db " + db, dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, suite_path + ": settings.repeats: must be at most 2147483647 (it is held in a 32-bit signed "
                                "integer), got 4294967296\n");
  EXPECT_FALSE(fs::exists(db)) << "no latency of 0 ms recorded as passed";
}

TEST(Runner, ARunWhoseStoreCannotRecordEndsFailedNotRunning) {
  auto dir = temp_dir("runner_record_fails");
  const auto db = (dir / "r.db").string();
  { store::Store s(db); }
  // Every cell insert fails, as on a full disk or a broken file; runs themselves can still be written.
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, "CREATE TRIGGER no_cells BEFORE INSERT ON cells BEGIN SELECT RAISE(ABORT, 'disk full'); END",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(h);
  const auto suite_path = write_suite(dir, "p.json", R"({"name": "p", "models": ["vit_pico_patch8_64"],
      "measurements": ["params"]})");
  auto r = bench("run " + suite_path + " --db " + db, dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("disk full"), std::string::npos) << r.err;
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM runs WHERE status = 'failed' AND ended_at IS NOT NULL"), 1);
}

TEST(Runner, AStaleRunOfADeadProcessIsMarkedInterrupted) {
  auto dir = temp_dir("runner_stale");
  const auto db = (dir / "r.db").string();
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  pid_t child = ::fork();
  if (child == 0) {
    store::Store s(db);
    store::RunInfo info;
    info.suite_name = "dead";
    info.suite_json = "{}";
    info.suite_hash = "0";
    info.host = host;
    s.begin_run(info);
    ::_exit(0);  // dies with its run 'running', as under kill -9
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(count_rows(db, "SELECT COUNT(*) FROM runs WHERE status = 'running'"), 1);
  const auto suite_path = write_suite(dir, "p.json", R"({"name": "p", "models": ["vit_pico_patch8_64"],
      "measurements": ["params"]})");
  auto r = bench("run " + suite_path + " --db " + db, dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("run 1 was left running by a process that no longer exists: marked interrupted"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM runs WHERE id = 1 AND status = 'interrupted'"), 1);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM runs WHERE id = 2 AND status = 'passed'"), 1);
}
