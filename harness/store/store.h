// The results store: one SQLite database holding runs, their cells and each cell's results.
// Torch-free on purpose (the report reads it without LibTorch). Schema: harness/store/SCHEMA.md.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace locbench::store {

// Every failure of the store; the message names the database file.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a run records about its suite, its provenance and its machine.
struct RunInfo {
  std::string suite_name, suite_path, suite_json, suite_hash, git_commit, host, cpu_name, gpu_name,
      driver_version, cuda_version, libtorch_version, locbench_version;
  std::string allocator;  // the process's heap policy (harness/allocator), schema version 6
  int threads = 0;
  std::vector<int64_t> seeds;
  // Schema version 4: the rest of the environment as a JSON object (device, cuDNN version, build commit and dirty
  // flag, ...); readers ignore keys they do not know. "{}" for older runs.
  std::string environment_json = "{}";
  // Schema version 7: how the run was spread. backend: the c10d backend of a run under a launcher ("gloo" on the
  // CPU, "nccl" on CUDA), empty for one process; world_size: its processes; shard: "I/N" for `bench run --shard I/N`
  // (every N-th cell of the plan from the I-th, 0-based), empty for the whole plan.
  std::string backend, shard;
  int world_size = 1;
};

// One row of `runs`, as read back.
struct Run {
  int64_t id = 0;
  RunInfo info;
  std::string started_at, ended_at, status;
  int64_t pid = 0;  // the process that began or last resumed it (schema version 5; 0 when unknown)
  // Schema version 7: a shard run that `bench merge` folded into run `part_of` (its cells live there; this row keeps
  // the shard's provenance). last_run and latest_run never return a part.
  std::optional<int64_t> part_of;
};

// One measured number. A NaN value is stored as NULL (a metric that could not be computed).
struct Result {
  std::string metric;
  double value = 0.0;
  std::string unit, convention;  // convention: counting convention or protocol, e.g. "fvcore", "median"
};

// One point of a training curve (schema version 2): e.g. series "loss" or "lr" at an iteration, "miou" at an
// evaluation. A NaN value is stored as NULL.
struct CurvePoint {
  std::string series;
  int64_t step = 0;
  double value = 0.0;
};

// One line of an op- or kernel-level profile (schema version 3): an ATen op ("op"), a GPU kernel ("kernel") or a
// CUDA runtime/driver API call ("runtime", "driver"), summed over the profiled forwards.
struct ProfileRow {
  std::string kind, name;
  int64_t calls = 0;
  double total_us = 0, mean_us = 0, self_us = 0;
  // Kernels only (NULL in the database for other kinds): launch configuration as CUPTI reports it.
  std::array<int64_t, 3> grid{0, 0, 0}, block{0, 0, 0};
  int64_t registers_per_thread = 0, static_shared_bytes = 0, dynamic_shared_bytes = 0, stream = 0;
};

// The profile of a `kernels` cell: how it was traced and its rows (largest total first within each kind).
struct Profile {
  std::string tracer;           // "libtorch-record-function" or "cupti"
  int64_t cupti_version = 0;    // cuptiGetVersion; 0 (NULL in the database) without CUPTI
  int64_t dropped_records = 0;  // records CUPTI dropped; rows are incomplete when not 0
  int64_t warmup = 0, iterations = 0;  // forwards before tracing, forwards traced (rows sum over them)
  int64_t total_rows = 0;       // rows the profile had before keeping the `top` of each kind
  std::string sdpa_backend;     // flash, efficient, cudnn or math; empty when no attention was seen
  std::vector<ProfileRow> rows;
};

// Every sample of a measured distribution (schema version 4), e.g. the wall time of each timed forward of a
// `latency` cell ("latency", ms) and its process CPU time ("latency_cpu", ms), in measurement order.
struct Samples {
  std::string metric;
  std::vector<double> values;
};

// One finished cell of the plan (model x dataset x measurement x settings [x seed]) and its results.
struct Cell {
  // model: the registry name; label: the suite's row label (schema version 4; the model for older files).
  std::string key, model, label, dataset, measurement, settings_json = "{}";
  // Schema version 4: a JSON object of what else the cell ran with: device, device_name, threads, precision, and
  // the resolved value of every ${VAR} of the suite. "{}" for older files.
  std::string provenance_json = "{}";
  std::optional<int64_t> seed;
  bool passed = true;
  std::string error, started_at, ended_at;
  // The weights file the cell's model was loaded from (schema version 4) and its SHA-256; empty (NULL) for a
  // seeded initialisation.
  std::string checkpoint_path, checkpoint_sha256;
  std::vector<Result> results;
  std::vector<CurvePoint> curves;  // written in the cell's transaction; empty for most measurements
  std::optional<Profile> profile;  // written in the cell's transaction; set by the `kernels` measurement
  std::vector<Samples> samples;    // written in the cell's transaction; read back by cells()
  const std::string& row_label() const { return label.empty() ? model : label; }
  // Schema version 7: in a merged run, the part (a run row, see Run::part_of) whose provenance the cell carries.
  std::optional<int64_t> part;
};

// ISO-8601 UTC with milliseconds, e.g. "2026-11-21T23:05:09.123Z".
std::string now_iso8601();

// The schema version this code writes; a database with a newer one is refused.
int schema_version();

class Store {
 public:
  using Clock = std::function<std::string()>;
  enum class Mode {
    read_write,  // creates a missing file (its folder must exist) and migrates it to schema_version()
    read_only,   // never writes, not even a migration: works on a read-only file or disk; an older schema is
                 // refused with a message saying how to migrate
  };

  // `clock` gives run timestamps; tests pass a fixed one.
  explicit Store(const std::string& path, Clock clock = now_iso8601) : Store(path, Mode::read_write, std::move(clock)) {}
  Store(const std::string& path, Mode mode, Clock clock = now_iso8601);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }

  // Writing. Each call is one IMMEDIATE transaction, so several processes may share one database.
  int64_t begin_run(const RunInfo& info);                          // status 'running', started_at now
  void reopen_run(int64_t run_id);                                 // --resume: status back to 'running'
  void record_cell(int64_t run_id, const Cell& cell);              // replaces a failed row of the same key
  void end_run(int64_t run_id, const std::string& status);         // 'passed', 'failed' or 'interrupted'
  // Runs still 'running' on `host` whose process no longer exists (killed, crashed, powered off) become
  // 'interrupted'; returns their ids. Begin and resume record the process id this needs.
  std::vector<int64_t> mark_stale_runs(const std::string& host);

  // Reading.
  std::optional<int64_t> last_run(const std::string& suite_name) const;  // newest run of a suite
  std::optional<int64_t> latest_run() const;                             // newest run of any suite
  std::optional<Run> run(int64_t run_id) const;
  std::vector<Run> runs() const;                                          // oldest first
  std::set<std::string> passed_cells(int64_t run_id) const;               // keys a resume may skip
  std::vector<Cell> cells(int64_t run_id) const;                          // in recording order, with results
  std::vector<CurvePoint> curves(int64_t run_id, const std::string& cell_key) const;  // by series, step
  std::optional<Profile> profile(int64_t run_id, const std::string& cell_key) const;  // rows in recorded order

 private:
  void open_connection(Mode mode);
  void open_read_only();
  void migrate();
  void record_profile(int64_t cell_id, int64_t run_id, const Profile& profile, const std::string& where);
  std::optional<int64_t> newest_run_where(const std::string& where_sql, const std::string* bind_text) const;

  std::string path_;
  Clock clock_;
  sqlite3* db_ = nullptr;
};

}  // namespace locbench::store
