// The SQLite store: schema and migrations, bad files, atomic cells, resume, concurrent writers, crashes.
#include <gtest/gtest.h>

#include <map>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "harness/store/store.h"
#include "test_helpers.h"

namespace locbench::store {
namespace {

namespace fs = std::filesystem;

// Raw access, independent of the Store, to inspect or tamper with a database file.
std::string sql_scalar(const fs::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_busy_timeout(db, 30'000);
  sqlite3_stmt* st = nullptr;
  std::string out = "<error>";
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      auto* text = sqlite3_column_text(st, 0);
      out = text ? reinterpret_cast<const char*>(text) : "<null>";
    } else if (rc == SQLITE_DONE) {
      out = "<none>";
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

void sql_exec(const fs::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  char* message = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  std::string error = message ? message : "";
  sqlite3_free(message);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << error;
}

RunInfo sample_run(const std::string& suite = "smoke") {
  RunInfo info;
  info.suite_name = suite;
  info.suite_path = "suites/" + suite + ".json";
  info.suite_json = R"({"name":")" + suite + R"("})";
  info.suite_hash = "abc123";
  info.host = "testhost";
  info.threads = 2;
  info.seeds = {0, 1, 2};
  return info;
}

Cell sample_cell(const std::string& key, int n_results = 3, bool passed = true) {
  Cell cell;
  cell.key = key;
  cell.model = "vit_tiny_patch16_224";
  cell.dataset = "imagenet";
  cell.measurement = "accuracy";
  cell.settings_json = R"({"batch_size":1})";
  cell.seed = 7;
  cell.passed = passed;
  cell.error = passed ? "" : "CUDA out of memory";
  for (int i = 0; i < (passed ? n_results : 0); ++i)
    cell.results.push_back({"metric" + std::to_string(i), 1.5 * i, "%", "timm"});
  return cell;
}

template <typename F>
void expect_store_error(F&& f, const std::string& must_contain) {
  try {
    f();
    ADD_FAILURE() << "expected a StoreError containing '" << must_contain << "'";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(must_contain), std::string::npos) << e.what();
  }
}

// Runs `body` in a child process; the child exits 0 when body returns, 1 when it throws.
pid_t fork_child(const std::function<void()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    int code = 0;
    try {
      body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child %d: %s\n", getpid(), e.what());
      code = 1;
    }
    _exit(code);  // never run the parent's destructors or gtest's exit handlers in the child
  }
  return pid;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Store, CreatesSchemaInNewFile) {
  auto db = testing::temp_dir("store_new") / "r.db";
  { Store store(db.string()); }
  EXPECT_EQ(sql_scalar(db, "PRAGMA user_version"), std::to_string(schema_version()));
  EXPECT_EQ(sql_scalar(db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN"
                           " ('runs','cells','results')"),
            "3");
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM sqlite_master WHERE type='index' AND name IN"
                           " ('cells_run_id','results_cell_id','runs_suite_name')"),
            "3");
}

TEST(Store, MigratesEmptyFile) {
  auto db = testing::temp_dir("store_empty") / "r.db";
  testing::write_bytes(db, "");
  Store store(db.string());
  EXPECT_GT(store.begin_run(sample_run()), 0);
  EXPECT_EQ(sql_scalar(db, "PRAGMA user_version"), std::to_string(schema_version()));
}

TEST(Store, MigratesVersionZeroDatabaseKeepingItsData) {
  auto db = testing::temp_dir("store_v0") / "r.db";
  sql_exec(db, "CREATE TABLE notes(text TEXT); INSERT INTO notes VALUES('kept');");
  ASSERT_EQ(sql_scalar(db, "PRAGMA user_version"), "0");
  { Store store(db.string()); }
  EXPECT_EQ(sql_scalar(db, "PRAGMA user_version"), std::to_string(schema_version()));
  EXPECT_EQ(sql_scalar(db, "SELECT text FROM notes"), "kept");
}

TEST(Store, CellsKeepTheirCheckpointAndItsSha256) {
  auto db = testing::temp_dir("store_checkpoint") / "r.db";
  Store store(db.string());
  const int64_t run_id = store.begin_run(sample_run());
  Cell with = sample_cell("with");
  with.checkpoint_path = "/cache/models--timm--vit/snapshots/abc/model.safetensors";
  with.checkpoint_sha256 = std::string(64, 'e');
  store.record_cell(run_id, with);
  store.record_cell(run_id, sample_cell("without"));
  const auto cells = store.cells(run_id);
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[0].checkpoint_path, with.checkpoint_path);
  EXPECT_EQ(cells[0].checkpoint_sha256, with.checkpoint_sha256);
  EXPECT_EQ(cells[1].checkpoint_path, "");
  EXPECT_EQ(sql_scalar(db, "SELECT checkpoint_sha256 FROM cells WHERE cell_key='without'"), "<null>");
}

// A file as a bench of schema `version` wrote it: what every later migration step added, dropped again.
void downgrade_to(const fs::path& db, int version) {
  static const std::map<int, std::string> undo = {
      {4, R"sql(
        DROP TABLE samples;
        ALTER TABLE runs DROP COLUMN environment;
        ALTER TABLE cells DROP COLUMN label;
        ALTER TABLE cells DROP COLUMN checkpoint_path;
        ALTER TABLE cells DROP COLUMN checkpoint_sha256;
        ALTER TABLE cells DROP COLUMN provenance;
      )sql"},
      {5, "ALTER TABLE runs DROP COLUMN pid;"},
      {6, "ALTER TABLE runs DROP COLUMN allocator;"},
      {7, R"sql(
        DROP INDEX runs_part_of;
        ALTER TABLE runs DROP COLUMN backend;
        ALTER TABLE runs DROP COLUMN world_size;
        ALTER TABLE runs DROP COLUMN shard;
        ALTER TABLE runs DROP COLUMN part_of;
        ALTER TABLE cells DROP COLUMN part;
      )sql"}};
  for (int v = schema_version(); v > version; --v) sql_exec(db, undo.at(v));  // a new step needs its undo here
  sql_exec(db, "PRAGMA user_version=" + std::to_string(version));
}

TEST(Store, MigratesAVersionThreeDatabaseToCheckpointColumns) {
  auto db = testing::temp_dir("store_v3") / "r.db";
  { Store store(db.string()); store.record_cell(store.begin_run(sample_run()), sample_cell("old")); }
  // Back to version 3 as a file written before the columns existed would be.
  downgrade_to(db, 3);
  Store store(db.string());
  EXPECT_EQ(sql_scalar(db, "PRAGMA user_version"), std::to_string(schema_version()));
  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), 1u);
  const auto cells = store.cells(runs[0].id);
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].key, "old");
  EXPECT_EQ(cells[0].checkpoint_sha256, "");
}

// Version 4 as it was released (provenance, checkpoint columns and samples, but no runs.pid or runs.allocator): the
// later steps add only what it lacks, and its rows read back.
TEST(Store, MigratesAVersionFourDatabase) {
  auto db = testing::temp_dir("store_v4_released") / "r.db";
  {
    Store store(db.string());
    const int64_t run = store.begin_run(sample_run());
    Cell c = sample_cell("v4");
    c.checkpoint_path = "/weights/w.safetensors";
    c.checkpoint_sha256 = std::string(64, 'a');
    store.record_cell(run, c);
  }
  downgrade_to(db, 4);
  Store store(db.string());
  EXPECT_EQ(sql_scalar(db, "PRAGMA user_version"), std::to_string(schema_version()));
  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].info.allocator, "");
  const auto cells = store.cells(runs[0].id);
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].checkpoint_sha256, std::string(64, 'a'));
}

TEST(Store, ReopeningKeepsRunsAndCells) {
  auto db = testing::temp_dir("store_reopen") / "r.db";
  int64_t run_id = 0;
  {
    Store store(db.string());
    run_id = store.begin_run(sample_run());
    store.record_cell(run_id, sample_cell("a"));
  }
  Store store(db.string());
  auto run = store.run(run_id);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->info.suite_name, "smoke");
  EXPECT_EQ(run->info.seeds, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(run->info.threads, 2);
  EXPECT_EQ(run->status, "running");
  auto cells = store.cells(run_id);
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].results.size(), 3u);
  EXPECT_EQ(cells[0].seed, 7);
  EXPECT_EQ(cells[0].settings_json, R"({"batch_size":1})");
}

TEST(Store, RefusesNewerSchemaNamingTheFile) {
  auto db = testing::temp_dir("store_newer") / "r.db";
  { Store store(db.string()); }
  sql_exec(db, "PRAGMA user_version=" + std::to_string(schema_version() + 1));
  expect_store_error([&] { Store store(db.string()); }, db.string() + ": database schema version");
  expect_store_error([&] { Store store(db.string()); }, "newer");
}

TEST(Store, RefusesFileThatIsNotADatabaseInOneLine) {
  auto db = testing::temp_dir("store_notdb") / "results.db";
  testing::write_bytes(db, std::string(4096, 'x'));
  try {
    Store store(db.string());
    FAIL() << "opened a non-database";
  } catch (const StoreError& e) {
    EXPECT_EQ(std::string(e.what()), db.string() + " is not a SQLite database");
  }
}

TEST(Store, MissingFolderIsAnErrorNamingThePath) {
  auto db = testing::temp_dir("store_nofolder") / "missing" / "r.db";
  expect_store_error([&] { Store store(db.string()); }, db.string());
}

TEST(Store, FailedResultInsertLeavesNoCell) {
  auto db = testing::temp_dir("store_atomic") / "r.db";
  Store store(db.string());
  int64_t run_id = store.begin_run(sample_run());
  // A forced constraint violation on the second result of the cell.
  sql_exec(db, "CREATE TRIGGER refuse_boom BEFORE INSERT ON results WHEN NEW.metric = 'boom'"
               " BEGIN SELECT RAISE(ABORT, 'forced failure'); END;");
  Cell cell = sample_cell("atomic");
  cell.results.insert(cell.results.begin() + 1, Result{"boom", 1.0, "", ""});
  expect_store_error([&] { store.record_cell(run_id, cell); }, "forced failure");
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM cells"), "0");
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM results"), "0");
  // The connection is usable afterwards: no transaction was left open.
  store.record_cell(run_id, sample_cell("after"));
  EXPECT_EQ(store.cells(run_id).size(), 1u);
}

TEST(Store, ResumeRetriesFailedCellsAndKeepsPassedOnes) {
  auto db = testing::temp_dir("store_resume") / "r.db";
  Store store(db.string());
  int64_t run_id = store.begin_run(sample_run());
  store.record_cell(run_id, sample_cell("a", 3, /*passed=*/false));
  store.record_cell(run_id, sample_cell("b"));
  store.end_run(run_id, "interrupted");
  EXPECT_EQ(store.passed_cells(run_id), (std::set<std::string>{"b"}));
  EXPECT_EQ(store.run(run_id)->status, "interrupted");
  EXPECT_FALSE(store.run(run_id)->ended_at.empty());

  store.reopen_run(run_id);
  EXPECT_EQ(store.run(run_id)->status, "running");
  EXPECT_TRUE(store.run(run_id)->ended_at.empty());
  store.record_cell(run_id, sample_cell("a", 2));  // replaces the failed row
  EXPECT_EQ(store.passed_cells(run_id), (std::set<std::string>{"a", "b"}));
  auto cells = store.cells(run_id);
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[1].key, "a");
  EXPECT_EQ(cells[1].results.size(), 2u);
  expect_store_error([&] { store.record_cell(run_id, sample_cell("b")); }, "already recorded as passed");
  store.end_run(run_id, "passed");
  EXPECT_EQ(store.run(run_id)->status, "passed");
  expect_store_error([&] { store.end_run(run_id, "done"); }, "not 'done'");
  expect_store_error([&] { store.reopen_run(run_id + 100); }, "does not exist");
  expect_store_error([&] { store.record_cell(run_id + 100, sample_cell("c")); }, "run does not exist");
}

TEST(Store, NanValueIsStoredAsNull) {
  auto db = testing::temp_dir("store_nan") / "r.db";
  Store store(db.string());
  int64_t run_id = store.begin_run(sample_run());
  Cell cell = sample_cell("nan", 0);
  cell.results.push_back({"miou", std::nan(""), "%", "mmseg"});
  store.record_cell(run_id, cell);
  EXPECT_EQ(sql_scalar(db, "SELECT value IS NULL FROM results"), "1");
  EXPECT_TRUE(std::isnan(store.cells(run_id)[0].results[0].value));
}

TEST(Store, FindsNewestRunOfASuite) {
  auto db = testing::temp_dir("store_last") / "r.db";
  std::vector<std::string> stamps = {"2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z",
                                     "2026-01-03T00:00:00.000Z"};
  size_t tick = 0;
  Store store(db.string(), [&] { return stamps[tick++ % stamps.size()]; });
  EXPECT_FALSE(store.latest_run());
  int64_t a1 = store.begin_run(sample_run("a"));
  int64_t b1 = store.begin_run(sample_run("b"));
  int64_t a2 = store.begin_run(sample_run("a"));
  EXPECT_EQ(store.last_run("a"), a2);
  EXPECT_EQ(store.last_run("b"), b1);
  EXPECT_FALSE(store.last_run("c"));
  EXPECT_EQ(store.latest_run(), a2);
  EXPECT_EQ(store.run(a1)->started_at, "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(store.runs().size(), 3u);
}

TEST(Store, TimestampsAreIso8601UtcWithMilliseconds) {
  std::string t = now_iso8601();
  ASSERT_EQ(t.size(), 24u) << t;
  EXPECT_EQ(t[4], '-');
  EXPECT_EQ(t[10], 'T');
  EXPECT_EQ(t[19], '.');
  EXPECT_EQ(t.back(), 'Z');
}

TEST(Store, TwoConcurrentWritersLoseNothing) {
  auto db = testing::temp_dir("store_concurrent") / "r.db";
  int64_t run_id = 0;
  { run_id = Store(db.string()).begin_run(sample_run()); }
  constexpr int kCellsPerWriter = 150;
  auto writer = [&](const std::string& prefix) {
    return [&, prefix] {
      Store store(db.string());
      for (int i = 0; i < kCellsPerWriter; ++i) store.record_cell(run_id, sample_cell(prefix + std::to_string(i), 5));
    };
  };
  pid_t first = fork_child(writer("w1-"));
  pid_t second = fork_child(writer("w2-"));
  EXPECT_EQ(wait_exit_code(first), 0);
  EXPECT_EQ(wait_exit_code(second), 0);
  EXPECT_EQ(sql_scalar(db, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM cells"), std::to_string(2 * kCellsPerWriter));
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM results"), std::to_string(2 * kCellsPerWriter * 5));
}

TEST(Store, KilledWriterLeavesNoHalfWrittenCell) {
  auto db = testing::temp_dir("store_crash") / "r.db";
  int64_t run_id = 0;
  { run_id = Store(db.string()).begin_run(sample_run()); }
  constexpr int kResultsPerCell = 40;
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_ms(10, 120);
  for (int round = 0; round < 6; ++round) {
    pid_t child = fork_child([&] {
      Store store(db.string());
      for (int i = 0;; ++i)
        store.record_cell(run_id, sample_cell("r" + std::to_string(round) + "-" + std::to_string(i), kResultsPerCell));
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped before it was killed";
    ASSERT_EQ(sql_scalar(db, "PRAGMA integrity_check"), "ok") << "round " << round;
  }
  EXPECT_NE(sql_scalar(db, "SELECT count(*) FROM cells"), "0") << "the writer never committed a cell";
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM cells c WHERE (SELECT count(*) FROM results r"
                           " WHERE r.cell_id = c.id) <> " + std::to_string(kResultsPerCell)),
            "0");
  Store store(db.string());  // and the Store itself still opens and reads it
  for (const auto& cell : store.cells(run_id)) EXPECT_EQ(cell.results.size(), size_t{kResultsPerCell}) << cell.key;
}

// A profile with two kernels and one runtime call (CUDA) or two ops (CPU).
Profile sample_profile(bool cuda) {
  Profile p;
  p.tracer = cuda ? "cupti" : "libtorch-record-function";
  p.cupti_version = cuda ? 26 : 0;
  p.dropped_records = cuda ? 3 : 0;
  p.warmup = 2;
  p.iterations = 4;
  p.total_rows = cuda ? 5 : 2;
  p.sdpa_backend = cuda ? "cudnn" : "";
  if (cuda) {
    ProfileRow k{"kernel", "cudnn_generated_fort_native_sdpa_sm90_knob_7", 48, 960.0, 20.0, 960.0};
    k.grid = {2, 12, 64}, k.block = {128, 1, 1}, k.registers_per_thread = 168, k.static_shared_bytes = 0;
    k.dynamic_shared_bytes = 98304, k.stream = 7;
    ProfileRow gemm{"kernel", "sm90_xmma_gemm_bf16bf16_bf16f32", 96, 480.0, 5.0, 480.0};
    gemm.grid = {8, 4, 1}, gemm.block = {384, 1, 1}, gemm.registers_per_thread = 168, gemm.stream = 7;
    p.rows = {k, gemm, {"runtime", "cudaLaunchKernel", 144, 300.0, 300.0 / 144, 300.0}};
  } else {
    p.rows = {{"op", "aten::linear", 8, 400.0, 50.0, 40.0}, {"op", "aten::addmm", 8, 360.0, 45.0, 360.0}};
  }
  return p;
}

// The schema as version 2 released it, with one run, cell, result and curve point.
void write_version_two_file(const fs::path& db) {
  sql_exec(db, R"sql(
    CREATE TABLE runs(id INTEGER PRIMARY KEY, suite_name TEXT NOT NULL, suite_path TEXT, suite_json TEXT NOT NULL,
      suite_hash TEXT NOT NULL, git_commit TEXT, started_at TEXT NOT NULL, ended_at TEXT,
      status TEXT NOT NULL CHECK (status IN ('running','passed','failed','interrupted')),
      host TEXT, cpu_name TEXT, gpu_name TEXT, driver_version TEXT, cuda_version TEXT,
      libtorch_version TEXT, threads INTEGER, seeds TEXT, locbench_version TEXT);
    CREATE TABLE cells(id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      cell_key TEXT NOT NULL, model TEXT NOT NULL, dataset TEXT, measurement TEXT NOT NULL, settings TEXT NOT NULL,
      seed INTEGER, status TEXT NOT NULL CHECK (status IN ('passed','failed')),
      error TEXT, started_at TEXT, ended_at TEXT, UNIQUE(run_id, cell_key));
    CREATE TABLE results(id INTEGER PRIMARY KEY, cell_id INTEGER NOT NULL REFERENCES cells(id) ON DELETE CASCADE,
      metric TEXT NOT NULL, value REAL, unit TEXT, convention TEXT);
    CREATE INDEX cells_run_id ON cells(run_id);
    CREATE INDEX results_cell_id ON results(cell_id);
    CREATE INDEX runs_suite_name ON runs(suite_name);
    CREATE TABLE curves(id INTEGER PRIMARY KEY, cell_id INTEGER NOT NULL REFERENCES cells(id) ON DELETE CASCADE,
      run_id INTEGER NOT NULL, series TEXT NOT NULL, step INTEGER NOT NULL, value REAL);
    CREATE INDEX curves_cell_id ON curves(cell_id);
    INSERT INTO runs(id, suite_name, suite_json, suite_hash, started_at, status)
      VALUES(1, 'old', '{}', 'h', '2026-01-01T00:00:00.000Z', 'passed');
    INSERT INTO cells(id, run_id, cell_key, model, measurement, settings, status)
      VALUES(1, 1, 'k', 'vit_tiny_patch16_224', 'params', '{}', 'passed');
    INSERT INTO results(cell_id, metric, value, unit, convention) VALUES(1, 'params', 5717416, 'count', 'timm');
    INSERT INTO curves(cell_id, run_id, series, step, value) VALUES(1, 1, 'loss', 1, 2.5);
    PRAGMA user_version=2;
  )sql");
}

TEST(StoreProfiles, MigratesVersionTwoFileKeepingItsData) {
  auto db = testing::temp_dir("store_v2") / "r.db";
  write_version_two_file(db);
  ASSERT_EQ(sql_scalar(db, "PRAGMA user_version"), "2");
  Store store(db.string());
  EXPECT_EQ(sql_scalar(db, "PRAGMA user_version"), std::to_string(schema_version()));
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN"
                           " ('profiles','profile_rows')"),
            "2");
  auto cells = store.cells(1);
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].results.at(0).value, 5717416);
  EXPECT_EQ(store.curves(1, "k").size(), 1u);
  EXPECT_FALSE(store.profile(1, "k"));  // an old cell has no profile
  Cell cell = sample_cell("profiled");
  cell.profile = sample_profile(/*cuda=*/false);
  store.record_cell(1, cell);
  ASSERT_TRUE(store.profile(1, "profiled"));
  EXPECT_EQ(store.profile(1, "profiled")->rows.size(), 2u);
}

// Schema version 6: the run's heap policy is provenance; runs recorded before it read back empty.
TEST(Store, RunAllocatorRoundTripsAndOlderRunsReadEmpty) {
  auto db = testing::temp_dir("store_allocator") / "r.db";
  write_version_two_file(db);
  Store store(db.string());
  EXPECT_EQ(store.run(1)->info.allocator, "");
  RunInfo info = sample_run();
  info.allocator = "glibc 2.36 retain (mmap_threshold 32 MiB, trim_threshold 256 MiB)";
  const int64_t id = store.begin_run(info);
  EXPECT_EQ(store.run(id)->info.allocator, info.allocator);
}

TEST(StoreProfiles, RoundTripKeepsEveryFieldAndTheRowOrder) {
  auto db = testing::temp_dir("store_profile") / "r.db";
  Store store(db.string());
  int64_t run_id = store.begin_run(sample_run());
  Cell gpu = sample_cell("gpu");
  gpu.profile = sample_profile(/*cuda=*/true);
  Cell cpu = sample_cell("cpu");
  cpu.profile = sample_profile(/*cuda=*/false);
  store.record_cell(run_id, gpu);
  store.record_cell(run_id, cpu);
  store.record_cell(run_id, sample_cell("plain"));

  const auto p = store.profile(run_id, "gpu");
  ASSERT_TRUE(p);
  const Profile& want = *gpu.profile;
  EXPECT_EQ(p->tracer, "cupti");
  EXPECT_EQ(p->cupti_version, 26);
  EXPECT_EQ(p->dropped_records, 3);
  EXPECT_EQ(p->warmup, 2);
  EXPECT_EQ(p->iterations, 4);
  EXPECT_EQ(p->total_rows, 5);
  EXPECT_EQ(p->sdpa_backend, "cudnn");
  ASSERT_EQ(p->rows.size(), want.rows.size());
  for (size_t i = 0; i < want.rows.size(); ++i) {
    const ProfileRow &a = p->rows[i], &b = want.rows[i];
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.calls, b.calls);
    EXPECT_DOUBLE_EQ(a.total_us, b.total_us);
    EXPECT_DOUBLE_EQ(a.mean_us, b.mean_us);
    EXPECT_DOUBLE_EQ(a.self_us, b.self_us);
    EXPECT_EQ(a.grid, b.grid);
    EXPECT_EQ(a.block, b.block);
    EXPECT_EQ(a.registers_per_thread, b.registers_per_thread);
    EXPECT_EQ(a.static_shared_bytes, b.static_shared_bytes);
    EXPECT_EQ(a.dynamic_shared_bytes, b.dynamic_shared_bytes);
    EXPECT_EQ(a.stream, b.stream);
  }
  // Without CUPTI the version is NULL, and ops and API calls leave the launch columns NULL.
  const auto ops = store.profile(run_id, "cpu");
  ASSERT_TRUE(ops);
  EXPECT_EQ(ops->cupti_version, 0);
  EXPECT_TRUE(ops->sdpa_backend.empty());
  EXPECT_EQ(ops->rows.at(0).name, "aten::linear");
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM profiles WHERE cupti_version IS NULL AND sdpa_backend IS NULL"), "1");
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM profile_rows WHERE kind <> 'kernel' AND grid_x IS NULL AND"
                           " stream IS NULL AND registers_per_thread IS NULL"),
            "3");
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM profile_rows WHERE run_id = " + std::to_string(run_id) +
                           " AND tracer = 'cupti'"),
            "3");
  EXPECT_FALSE(store.profile(run_id, "plain"));
  EXPECT_FALSE(store.profile(run_id, "missing"));
  EXPECT_EQ(store.cells(run_id).size(), 3u);
}

TEST(StoreProfiles, DeletingACellOrItsRunDeletesItsProfile) {
  auto db = testing::temp_dir("store_profile_cascade") / "r.db";
  Store store(db.string());
  int64_t run_id = store.begin_run(sample_run());
  // A failed attempt that carried a profile is replaced, rows and all, by the retry.
  Cell failed = sample_cell("a", 0, /*passed=*/false);
  failed.profile = sample_profile(/*cuda=*/true);
  store.record_cell(run_id, failed);
  Cell retry = sample_cell("a");
  retry.profile = sample_profile(/*cuda=*/false);
  store.record_cell(run_id, retry);
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM profiles"), "1");
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM profile_rows"), "2");
  EXPECT_EQ(store.profile(run_id, "a")->tracer, "libtorch-record-function");
  sql_exec(db, "PRAGMA foreign_keys=ON; DELETE FROM runs;");
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM profiles"), "0");
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM profile_rows"), "0");
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM cells"), "0");
}

TEST(StoreProfiles, FailedProfileRowInsertLeavesNoCell) {
  auto db = testing::temp_dir("store_profile_atomic") / "r.db";
  Store store(db.string());
  int64_t run_id = store.begin_run(sample_run());
  sql_exec(db, "CREATE TRIGGER refuse_boom BEFORE INSERT ON profile_rows WHEN NEW.name = 'boom'"
               " BEGIN SELECT RAISE(ABORT, 'forced failure'); END;");
  Cell cell = sample_cell("atomic");
  cell.profile = sample_profile(/*cuda=*/true);
  cell.profile->rows.push_back({"kernel", "boom", 1, 1.0, 1.0, 1.0});
  expect_store_error([&] { store.record_cell(run_id, cell); }, "forced failure");
  for (const char* table : {"cells", "results", "profiles", "profile_rows"})
    EXPECT_EQ(sql_scalar(db, std::string("SELECT count(*) FROM ") + table), "0") << table;
  Cell after = sample_cell("after");
  after.profile = sample_profile(/*cuda=*/false);
  store.record_cell(run_id, after);
  EXPECT_EQ(store.profile(run_id, "after")->rows.size(), 2u);
}

TEST(StoreProfiles, KilledWriterLeavesNoCellWithoutItsRows) {
  auto db = testing::temp_dir("store_profile_crash") / "r.db";
  int64_t run_id = 0;
  { run_id = Store(db.string()).begin_run(sample_run()); }
  constexpr int kRows = 60;
  Profile big = sample_profile(/*cuda=*/false);
  big.rows.assign(kRows, big.rows.front());
  std::mt19937 rng(54321);
  std::uniform_int_distribution<int> delay_ms(10, 120);
  for (int round = 0; round < 4; ++round) {
    pid_t child = fork_child([&] {
      Store store(db.string());
      for (int i = 0;; ++i) {
        Cell cell = sample_cell("p" + std::to_string(round) + "-" + std::to_string(i));
        cell.profile = big;
        store.record_cell(run_id, cell);
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped before it was killed";
    ASSERT_EQ(sql_scalar(db, "PRAGMA integrity_check"), "ok") << "round " << round;
  }
  EXPECT_NE(sql_scalar(db, "SELECT count(*) FROM cells"), "0") << "the writer never committed a cell";
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM cells c WHERE NOT EXISTS (SELECT 1 FROM profiles p"
                           " WHERE p.cell_id = c.id) OR (SELECT count(*) FROM profile_rows r WHERE r.cell_id = c.id)"
                           " <> " + std::to_string(kRows)),
            "0");
}

TEST(StoreStaleRuns, ARunWhoseProcessDiedIsMarkedInterruptedOnlyOnItsHost) {
  auto db = testing::temp_dir("store_stale") / "r.db";
  // A child begins two runs (on this host and another) and dies without ending them, as a kill -9 would.
  pid_t child = fork_child([&] {
    Store store(db.string());
    store.begin_run(sample_run("here"));
    RunInfo elsewhere = sample_run("elsewhere");
    elsewhere.host = "otherhost";
    store.begin_run(elsewhere);
  });
  ASSERT_EQ(wait_exit_code(child), 0);
  Store store(db.string());
  EXPECT_EQ(store.run(1)->pid, child);
  const int64_t alive = store.begin_run(sample_run("alive"));  // this process: alive
  EXPECT_EQ(store.run(alive)->pid, ::getpid());
  // An older bench recorded no pid: it cannot be judged and stays as it is.
  sql_exec(db, "INSERT INTO runs(suite_name, suite_json, suite_hash, started_at, status, host)"
               " VALUES('old', '{}', 'h', '2026-01-01T00:00:00.000Z', 'running', 'testhost')");
  EXPECT_EQ(store.mark_stale_runs("testhost"), (std::vector<int64_t>{1, alive}))
      << "run 1's process is gone; this process has not begun the run it is about to begin, so its own pid is stale";
  EXPECT_EQ(store.run(1)->status, "interrupted");
  EXPECT_FALSE(store.run(1)->ended_at.empty());
  EXPECT_EQ(store.run(2)->status, "running") << "another host's process cannot be checked from here";
  EXPECT_EQ(store.run(4)->status, "running");
  EXPECT_TRUE(store.mark_stale_runs("testhost").empty());
}

TEST(StoreStaleRuns, ALiveProcessKeepsItsRunAndResumeRecordsTheNewPid) {
  auto db = testing::temp_dir("store_alive") / "r.db";
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t child = fork();
  if (child == 0) {
    { Store(db.string()).begin_run(sample_run()); }
    char byte = 0;
    ::close(pipe_fds[1]);
    (void)::read(pipe_fds[0], &byte, 1);  // alive until the parent closes the pipe
    _exit(0);
  }
  ::close(pipe_fds[0]);
  for (int i = 0; i < 500 && !fs::exists(db); ++i) ::usleep(10000);
  for (int i = 0; i < 500 && sql_scalar(db, "SELECT count(*) FROM runs") != "1"; ++i) ::usleep(10000);
  {
    Store store(db.string());
    EXPECT_TRUE(store.mark_stale_runs("testhost").empty()) << "the child is alive";
    EXPECT_EQ(store.run(1)->status, "running");
  }
  ::close(pipe_fds[1]);
  EXPECT_EQ(wait_exit_code(child), 0);
  Store store(db.string());
  EXPECT_EQ(store.mark_stale_runs("testhost"), std::vector<int64_t>{1});
  store.reopen_run(1);
  EXPECT_EQ(store.run(1)->pid, ::getpid());
  EXPECT_EQ(store.run(1)->status, "running");
}

TEST(StoreReadOnly, ReadsWithoutWritingAndRefusesToWriteOrMigrate) {
  auto db = testing::temp_dir("store_ro") / "r.db";
  {
    Store store(db.string());
    store.record_cell(store.begin_run(sample_run()), sample_cell("a"));
  }
  const std::string before = testing::read_bytes(db);
  {
    Store store(db.string(), Store::Mode::read_only);
    EXPECT_EQ(store.cells(1).size(), 1u);
    EXPECT_EQ(store.runs().size(), 1u);
    expect_store_error([&] { store.begin_run(sample_run()); }, db.string() + ": ");
  }
  EXPECT_EQ(testing::read_bytes(db), before);
  expect_store_error([&] { Store store((db.parent_path() / "none.db").string(), Store::Mode::read_only); },
                     "cannot open the database read-only");
  EXPECT_FALSE(fs::exists(db.parent_path() / "none.db"));
  auto old = testing::temp_dir("store_ro_v2") / "r.db";
  write_version_two_file(old);
  expect_store_error([&] { Store store(old.string(), Store::Mode::read_only); },
                     "database schema version 2 is older than this bench's (" + std::to_string(schema_version()) +
                         "); reports open it read-only and never migrate: run `bench migrate --db " + old.string());
  EXPECT_EQ(sql_scalar(old, "PRAGMA user_version"), "2");
}

TEST(StoreMigrations, VersionThreeGainsTheRunsPidKeepingItsRuns) {
  auto db = testing::temp_dir("store_v3") / "r.db";
  write_version_two_file(db);
  { Store store(db.string()); }
  EXPECT_EQ(sql_scalar(db, "PRAGMA user_version"), std::to_string(schema_version()));
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM pragma_table_info('runs') WHERE name='pid'"), "1");
  Store store(db.string());
  EXPECT_EQ(store.run(1)->pid, 0) << "unknown for a run an older bench began";
  EXPECT_EQ(store.run(1)->status, "passed");
}

// Version 6: the row label beside the registry name, the checkpoint and its hash, the cell's and the run's
// provenance, and every sample of a distribution, read back as written.
TEST(StoreProvenance, RoundTripKeepsLabelCheckpointProvenanceAndSamples) {
  auto db = testing::temp_dir("store_v4") / "r.db";
  Store store(db.string());
  RunInfo info = sample_run();
  info.environment_json = R"({"cudnn_version":"9.1","device":"cpu","build":{"commit":"abc","dirty":true}})";
  const int64_t run = store.begin_run(info);
  EXPECT_EQ(store.run(run)->info.environment_json, info.environment_json);
  Cell cell = sample_cell("timed");
  cell.label = "ViT-T (ours)";
  cell.checkpoint_path = "/ckpt/vit.safetensors";
  cell.checkpoint_sha256 = std::string(64, 'a');
  cell.provenance_json = R"({"threads":2,"variables":{"DATA":"/d"}})";
  cell.samples = {{"latency", {3.5, 3.25, 4.0}}, {"latency_cpu", {7.0, 6.5, 8.0}}};
  store.record_cell(run, cell);
  Cell plain = sample_cell("plain");
  store.record_cell(run, plain);
  const auto cells = store.cells(run);
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[0].model, "vit_tiny_patch16_224");
  EXPECT_EQ(cells[0].label, "ViT-T (ours)");
  EXPECT_EQ(cells[0].row_label(), "ViT-T (ours)");
  EXPECT_EQ(cells[0].checkpoint_path, "/ckpt/vit.safetensors");
  EXPECT_EQ(cells[0].checkpoint_sha256, std::string(64, 'a'));
  EXPECT_EQ(cells[0].provenance_json, cell.provenance_json);
  ASSERT_EQ(cells[0].samples.size(), 2u);
  EXPECT_EQ(cells[0].samples[0].metric, "latency");
  EXPECT_EQ(cells[0].samples[0].values, (std::vector<double>{3.5, 3.25, 4.0}));  // measurement order
  EXPECT_EQ(cells[0].samples[1].values, (std::vector<double>{7.0, 6.5, 8.0}));
  EXPECT_TRUE(cells[1].samples.empty());
  EXPECT_EQ(cells[1].row_label(), "vit_tiny_patch16_224");  // no label: the registry name
  EXPECT_EQ(cells[1].provenance_json, "{}");
}

TEST(StoreProvenance, MigratesVersionThreeFileKeepingItsData) {
  auto db = testing::temp_dir("store_v3") / "r.db";
  write_version_two_file(db);
  {
    Store upgraded(db.string());  // to the newest version, then back to a version-3 file by hand
  }
  downgrade_to(db, 3);
  Store store(db.string());
  EXPECT_EQ(sql_scalar(db, "PRAGMA user_version"), std::to_string(schema_version()));
  const auto cells = store.cells(1);
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].row_label(), "vit_tiny_patch16_224");
  EXPECT_EQ(cells[0].provenance_json, "{}");
  EXPECT_EQ(store.run(1)->info.environment_json, "{}");
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM samples"), "0");
}

TEST(StoreProvenance, FailedSampleInsertLeavesNoCell) {
  auto db = testing::temp_dir("store_samples_fail") / "r.db";
  Store store(db.string());
  const int64_t run = store.begin_run(sample_run());
  sql_exec(db, "CREATE TRIGGER no_samples BEFORE INSERT ON samples BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
  Cell cell = sample_cell("timed");
  cell.samples = {{"latency", {1.0, 2.0}}};
  EXPECT_THROW(store.record_cell(run, cell), StoreError);
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM cells"), "0");
  EXPECT_EQ(sql_scalar(db, "SELECT count(*) FROM results"), "0");
}

}  // namespace
}  // namespace locbench::store
