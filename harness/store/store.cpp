// SQLite store: schema migrations, connection settings for several writing processes, and the
// run/cell/result reads and writes. Every value goes through a bound prepared statement.
#include "harness/store/store.h"

#include "harness/store/sqlite.h"

#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <chrono>
#include <filesystem>
#include <cmath>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

namespace locbench::store {
namespace {

using sqlite::exec;
using sqlite::fail;
using sqlite::Statement;
using sqlite::Transaction;

constexpr int kBusyTimeoutMs = 30'000;  // writers queue behind each other's transactions this long

// Migration N (1-based) takes user_version N-1 to N. Append new steps; never edit a released one.
const std::vector<std::string>& migrations() {
  static const std::vector<std::string> steps = {
      // 1: runs, their cells, and each cell's results.
      R"sql(
        CREATE TABLE runs(
          id INTEGER PRIMARY KEY,
          suite_name TEXT NOT NULL,
          suite_path TEXT,
          suite_json TEXT NOT NULL,
          suite_hash TEXT NOT NULL,
          git_commit TEXT,
          started_at TEXT NOT NULL,
          ended_at TEXT,
          status TEXT NOT NULL CHECK (status IN ('running','passed','failed','interrupted')),
          host TEXT, cpu_name TEXT, gpu_name TEXT, driver_version TEXT, cuda_version TEXT,
          libtorch_version TEXT, threads INTEGER, seeds TEXT, locbench_version TEXT);
        CREATE TABLE cells(
          id INTEGER PRIMARY KEY,
          run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          cell_key TEXT NOT NULL,
          model TEXT NOT NULL,
          dataset TEXT,
          measurement TEXT NOT NULL,
          settings TEXT NOT NULL,
          seed INTEGER,
          status TEXT NOT NULL CHECK (status IN ('passed','failed')),
          error TEXT, started_at TEXT, ended_at TEXT,
          UNIQUE(run_id, cell_key));
        CREATE TABLE results(
          id INTEGER PRIMARY KEY,
          cell_id INTEGER NOT NULL REFERENCES cells(id) ON DELETE CASCADE,
          metric TEXT NOT NULL,
          value REAL,
          unit TEXT,
          convention TEXT);
        CREATE INDEX cells_run_id ON cells(run_id);
        CREATE INDEX results_cell_id ON results(cell_id);
        CREATE INDEX runs_suite_name ON runs(suite_name);
      )sql",
      // 2: training curves (loss, learning rate, evaluation metrics per step) of a cell.
      R"sql(
        CREATE TABLE curves(
          id INTEGER PRIMARY KEY,
          cell_id INTEGER NOT NULL REFERENCES cells(id) ON DELETE CASCADE,
          run_id INTEGER NOT NULL,
          series TEXT NOT NULL,
          step INTEGER NOT NULL,
          value REAL);
        CREATE INDEX curves_cell_id ON curves(cell_id);
      )sql",
      // 3: op- and kernel-level profiles of a cell (the `kernels` measurement): how it was traced, and its rows.
      R"sql(
        CREATE TABLE profiles(
          cell_id INTEGER PRIMARY KEY REFERENCES cells(id) ON DELETE CASCADE,
          run_id INTEGER NOT NULL,
          tracer TEXT NOT NULL,
          cupti_version INTEGER,
          dropped_records INTEGER NOT NULL,
          warmup INTEGER NOT NULL,
          iterations INTEGER NOT NULL,
          total_rows INTEGER NOT NULL,
          sdpa_backend TEXT);
        CREATE TABLE profile_rows(
          id INTEGER PRIMARY KEY,
          cell_id INTEGER NOT NULL REFERENCES cells(id) ON DELETE CASCADE,
          run_id INTEGER NOT NULL,
          tracer TEXT NOT NULL,
          kind TEXT NOT NULL,
          name TEXT NOT NULL,
          calls INTEGER NOT NULL,
          total_us REAL, mean_us REAL, self_us REAL,
          grid_x INTEGER, grid_y INTEGER, grid_z INTEGER,
          block_x INTEGER, block_y INTEGER, block_z INTEGER,
          registers_per_thread INTEGER,
          static_shared_bytes INTEGER,
          dynamic_shared_bytes INTEGER,
          stream INTEGER);
        CREATE INDEX profiles_run_id ON profiles(run_id);
        CREATE INDEX profile_rows_cell_id ON profile_rows(cell_id);
      )sql",
      // 4: provenance (the row label beside the registry name, the checkpoint and its SHA-256, what a cell and a run
      // ran with) and every sample of a measured distribution.
      R"sql(
        ALTER TABLE runs ADD COLUMN environment TEXT;
        ALTER TABLE cells ADD COLUMN label TEXT;
        ALTER TABLE cells ADD COLUMN checkpoint_path TEXT;
        ALTER TABLE cells ADD COLUMN checkpoint_sha256 TEXT;
        ALTER TABLE cells ADD COLUMN provenance TEXT;
        CREATE TABLE samples(
          id INTEGER PRIMARY KEY,
          cell_id INTEGER NOT NULL REFERENCES cells(id) ON DELETE CASCADE,
          run_id INTEGER NOT NULL,
          metric TEXT NOT NULL,
          idx INTEGER NOT NULL,
          value REAL);
        CREATE INDEX samples_cell_id ON samples(cell_id);
      )sql",
      // 5: the process of a run, so a run whose process died can be told from one still going.
      R"sql(
        ALTER TABLE runs ADD COLUMN pid INTEGER;
      )sql",
      // 6: the heap policy the run's process allocated with (it changes every CPU timing).
      R"sql(
        ALTER TABLE runs ADD COLUMN allocator TEXT;
      )sql",
      // 7: runs across processes: the c10d backend and world size, the shard of a sharded run, and the parts a
      // merged run was made of (bench merge).
      R"sql(
        ALTER TABLE runs ADD COLUMN backend TEXT;
        ALTER TABLE runs ADD COLUMN world_size INTEGER;
        ALTER TABLE runs ADD COLUMN shard TEXT;
        ALTER TABLE runs ADD COLUMN part_of INTEGER REFERENCES runs(id) ON DELETE CASCADE;
        ALTER TABLE cells ADD COLUMN part INTEGER REFERENCES runs(id);
        CREATE INDEX runs_part_of ON runs(part_of);
      )sql",
  };
  return steps;
}

int user_version(sqlite3* db, const std::string& path) {
  Statement st(db, path, "PRAGMA user_version");
  st.step("reading the schema version");
  return static_cast<int>(st.int64(0));
}

void check_not_newer(int version, const std::string& path) {
  if (version > schema_version())
    throw StoreError(path + ": database schema version " + std::to_string(version) +
                     " is newer than this locbench understands (" + std::to_string(schema_version()) +
                     "); use a newer bench or another database file");
}

std::string seeds_to_json(const std::vector<int64_t>& seeds) { return nlohmann::json(seeds).dump(); }

std::vector<int64_t> seeds_from_json(const std::string& text) {
  if (text.empty()) return {};
  auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) return {};
  std::vector<int64_t> seeds;
  for (const auto& s : parsed)
    if (s.is_number_integer()) seeds.push_back(s.get<int64_t>());
  return seeds;
}

// A file name as the path of an SQLite URI: '?', '#' and '%' escaped.
std::string uri_path(const std::string& path) {
  std::string out;
  for (char ch : path) {
    if (ch == '?' || ch == '#' || ch == '%') {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(ch));
      out += hex;
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace

std::string now_iso8601() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(ms));
  return text;
}

int schema_version() { return static_cast<int>(migrations().size()); }

Store::Store(const std::string& path, Mode mode, Clock clock) : path_(path), clock_(std::move(clock)) {
  try {
    open_connection(mode);
    if (mode == Mode::read_write) migrate();
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

Store::~Store() { sqlite3_close(db_); }

void Store::open_connection(Mode mode) {
  if (mode == Mode::read_only) return open_read_only();
  if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK)
    fail(db_, path_, "opening");
  sqlite3_extended_result_codes(db_, 0);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  // Reading the schema version first makes a non-database file fail here, with a clear message.
  check_not_newer(user_version(db_, path_), path_);
  {
    Statement wal(db_, path_, "PRAGMA journal_mode=WAL");
    wal.step("switching to WAL journal mode");
    if (wal.text(0) != "wal" && path_ != ":memory:")
      throw StoreError(path_ + ": could not switch to WAL journal mode (got '" + wal.text(0) +
                       "'); put the database on a local file system");
  }
  exec(db_, path_, "PRAGMA foreign_keys=ON", "enabling foreign keys");
  // In WAL mode, NORMAL syncs the WAL only at checkpoints, not at every commit. A committed
  // transaction is already in the WAL file (written by the OS), so killing the process never loses
  // or tears it; a power loss may drop the last few commits but cannot corrupt the database,
  // because readers and recovery ignore WAL frames after the last valid commit frame.
  exec(db_, path_, "PRAGMA synchronous=NORMAL", "setting synchronous=NORMAL");
}

void Store::open_read_only() {
  // A WAL database read-only still needs its -shm file. When the folder is read-only too and none exists, the file
  // is opened as immutable: nothing can be writing to a database whose folder no one can write.
  for (const bool immutable : {false, true}) {
    const std::string uri = "file:" + uri_path(path_) + (immutable ? "?immutable=1" : "");
    if (sqlite3_open_v2(uri.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) != SQLITE_OK) {
      if (sqlite3_errcode(db_) == SQLITE_CANTOPEN)
        throw StoreError(path_ + ": cannot open the database read-only (does it exist, and may it be read?)");
      fail(db_, path_, "opening read-only");
    }
    sqlite3_extended_result_codes(db_, 0);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    int version = -1;
    try {
      version = user_version(db_, path_);
    } catch (const StoreError&) {
      const int code = sqlite3_errcode(db_);
      if (immutable || (code != SQLITE_CANTOPEN && code != SQLITE_READONLY)) throw;
      sqlite3_close(db_);
      db_ = nullptr;
      // Immutable ignores the write-ahead log: commits still there would be missing from the report, silently.
      std::error_code ec;
      if (std::filesystem::file_size(path_ + "-wal", ec) > 0 && !ec)
        throw StoreError(path_ + ": its write-ahead log (" + path_ + "-wal) holds commits a read-only folder cannot "
                         "read back; run `bench migrate --db " + path_ + "` once where the folder is writable");
      continue;
    }
    check_not_newer(version, path_);
    if (version < schema_version())
      throw StoreError(path_ + ": database schema version " + std::to_string(version) + " is older than this bench's (" +
                       std::to_string(schema_version()) + "); reports open it read-only and never migrate: run `bench "
                       "migrate --db " + path_ + "` once where the file is writable");
    exec(db_, path_, "PRAGMA query_only=ON", "making the connection read-only");
    return;
  }
}

void Store::migrate() {
  // Each step runs in its own write transaction and re-reads the version inside it, so two
  // processes opening a fresh file at once apply every step exactly once.
  for (;;) {
    Transaction tx(db_, path_, /*write=*/true);
    int version = user_version(db_, path_);
    check_not_newer(version, path_);
    if (version == schema_version()) {
      tx.commit();
      return;
    }
    exec(db_, path_, migrations()[version], "migrating to schema version " + std::to_string(version + 1));
    // The version is an integer from this code, not a user value; PRAGMA cannot take bound parameters.
    exec(db_, path_, "PRAGMA user_version=" + std::to_string(version + 1), "recording the schema version");
    tx.commit();
  }
}

int64_t Store::begin_run(const RunInfo& info) {
  Transaction tx(db_, path_, true);
  Statement st(db_, path_,
               "INSERT INTO runs(suite_name, suite_path, suite_json, suite_hash, git_commit, started_at, status,"
               " host, cpu_name, gpu_name, driver_version, cuda_version, libtorch_version, threads, seeds,"
               " locbench_version, pid, environment, allocator, backend, world_size, shard)"
               " VALUES(?,?,?,?,?,?,'running',?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  st.bind(1, info.suite_name).bind_or_null(2, info.suite_path).bind(3, info.suite_json).bind(4, info.suite_hash);
  st.bind_or_null(5, info.git_commit).bind(6, clock_()).bind_or_null(7, info.host).bind_or_null(8, info.cpu_name);
  st.bind_or_null(9, info.gpu_name).bind_or_null(10, info.driver_version).bind_or_null(11, info.cuda_version);
  st.bind_or_null(12, info.libtorch_version).bind(13, static_cast<int64_t>(info.threads));
  st.bind(14, seeds_to_json(info.seeds)).bind_or_null(15, info.locbench_version).bind(16, int64_t{::getpid()});
  st.bind(17, info.environment_json.empty() ? std::string("{}") : info.environment_json);
  st.bind_or_null(18, info.allocator);
  st.bind_or_null(19, info.backend).bind(20, static_cast<int64_t>(info.world_size)).bind_or_null(21, info.shard);
  st.step("recording a new run");
  int64_t id = sqlite3_last_insert_rowid(db_);
  tx.commit();
  return id;
}

void Store::reopen_run(int64_t run_id) {
  Transaction tx(db_, path_, true);
  Statement st(db_, path_, "UPDATE runs SET status='running', ended_at=NULL, pid=? WHERE id=?");
  st.bind(1, int64_t{::getpid()}).bind(2, run_id).step("reopening run " + std::to_string(run_id));
  if (sqlite3_changes(db_) != 1) throw StoreError(path_ + ": run " + std::to_string(run_id) + " does not exist");
  tx.commit();
}

void Store::end_run(int64_t run_id, const std::string& status) {
  if (status != "passed" && status != "failed" && status != "interrupted")
    throw StoreError(path_ + ": a run ends as 'passed', 'failed' or 'interrupted', not '" + status + "'");
  Transaction tx(db_, path_, true);
  Statement st(db_, path_, "UPDATE runs SET status=?, ended_at=? WHERE id=?");
  st.bind(1, status).bind(2, clock_()).bind(3, run_id).step("ending run " + std::to_string(run_id));
  if (sqlite3_changes(db_) != 1) throw StoreError(path_ + ": run " + std::to_string(run_id) + " does not exist");
  tx.commit();
}

std::vector<int64_t> Store::mark_stale_runs(const std::string& host) {
  Transaction tx(db_, path_, true);
  std::vector<int64_t> stale;
  {
    Statement st(db_, path_, "SELECT id, pid FROM runs WHERE status='running' AND host=? AND pid IS NOT NULL");
    st.bind(1, host);
    while (st.step("finding running runs")) {
      const auto pid = static_cast<pid_t>(st.int64(1));
      // Our own pid belongs to an earlier process: this one has not begun a run yet. EPERM means alive.
      if (pid > 0 && (pid == ::getpid() || (::kill(pid, 0) != 0 && errno == ESRCH))) stale.push_back(st.int64(0));
    }
  }
  Statement mark(db_, path_, "UPDATE runs SET status='interrupted', ended_at=? WHERE id=? AND status='running'");
  for (int64_t id : stale) {
    mark.bind(1, clock_()).bind(2, id).step("marking run " + std::to_string(id) + " interrupted");
    mark.reset();
  }
  tx.commit();
  return stale;
}

void Store::record_cell(int64_t run_id, const Cell& cell) {
  const std::string where = "cell '" + cell.key + "' of run " + std::to_string(run_id);
  Transaction tx(db_, path_, true);
  {
    Statement exists(db_, path_, "SELECT 1 FROM runs WHERE id=?");
    if (!exists.bind(1, run_id).step("looking up run " + std::to_string(run_id)))
      throw StoreError(path_ + ": cannot record " + where + ": the run does not exist");
  }
  {
    // A failed attempt is replaced by the new one (resume retries failures); a passed one is kept.
    Statement drop(db_, path_, "DELETE FROM cells WHERE run_id=? AND cell_key=? AND status='failed'");
    drop.bind(1, run_id).bind(2, cell.key).step("replacing the failed " + where);
  }
  Statement insert(db_, path_,
                   "INSERT INTO cells(run_id, cell_key, model, dataset, measurement, settings, seed, status,"
                   " error, started_at, ended_at, label, checkpoint_path, checkpoint_sha256, provenance)"
                   " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  insert.bind(1, run_id).bind(2, cell.key).bind(3, cell.model).bind_or_null(4, cell.dataset);
  insert.bind(5, cell.measurement).bind(6, cell.settings_json.empty() ? std::string("{}") : cell.settings_json);
  insert.bind(7, cell.seed).bind(8, std::string(cell.passed ? "passed" : "failed")).bind_or_null(9, cell.error);
  insert.bind_or_null(10, cell.started_at).bind_or_null(11, cell.ended_at).bind_or_null(12, cell.label);
  insert.bind_or_null(13, cell.checkpoint_path).bind_or_null(14, cell.checkpoint_sha256);
  insert.bind(15, cell.provenance_json.empty() ? std::string("{}") : cell.provenance_json);
  try {
    insert.step("recording " + where);
  } catch (const StoreError&) {
    if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE)  // not any constraint: a trigger's RAISE is one
      throw StoreError(path_ + ": cannot record " + where + ": it is already recorded as passed");
    throw;
  }
  int64_t cell_id = sqlite3_last_insert_rowid(db_);
  Statement result(db_, path_, "INSERT INTO results(cell_id, metric, value, unit, convention) VALUES(?,?,?,?,?)");
  for (const auto& r : cell.results) {
    result.bind(1, cell_id).bind(2, r.metric).bind(3, r.value).bind_or_null(4, r.unit).bind_or_null(5, r.convention);
    result.step("recording result '" + r.metric + "' of " + where);
    result.reset();
  }
  Statement curve(db_, path_, "INSERT INTO curves(cell_id, run_id, series, step, value) VALUES(?,?,?,?,?)");
  for (const auto& p : cell.curves) {
    curve.bind(1, cell_id).bind(2, run_id).bind(3, p.series).bind(4, p.step).bind(5, p.value);
    curve.step("recording curve '" + p.series + "' of " + where);
    curve.reset();
  }
  if (cell.profile) record_profile(cell_id, run_id, *cell.profile, where);
  Statement sample(db_, path_, "INSERT INTO samples(cell_id, run_id, metric, idx, value) VALUES(?,?,?,?,?)");
  for (const auto& series : cell.samples)
    for (size_t i = 0; i < series.values.size(); ++i) {
      sample.bind(1, cell_id).bind(2, run_id).bind(3, series.metric).bind(4, static_cast<int64_t>(i));
      sample.bind(5, series.values[i]).step("recording sample '" + series.metric + "' of " + where);
      sample.reset();
    }
  tx.commit();
}

void Store::record_profile(int64_t cell_id, int64_t run_id, const Profile& p, const std::string& where) {
  Statement meta(db_, path_,
                 "INSERT INTO profiles(cell_id, run_id, tracer, cupti_version, dropped_records, warmup, iterations,"
                 " total_rows, sdpa_backend) VALUES(?,?,?,?,?,?,?,?,?)");
  meta.bind(1, cell_id).bind(2, run_id).bind(3, p.tracer);
  meta.bind(4, p.cupti_version ? std::optional<int64_t>(p.cupti_version) : std::nullopt);
  meta.bind(5, p.dropped_records).bind(6, p.warmup).bind(7, p.iterations).bind(8, p.total_rows);
  meta.bind_or_null(9, p.sdpa_backend).step("recording the profile of " + where);
  Statement row(db_, path_,
                "INSERT INTO profile_rows(cell_id, run_id, tracer, kind, name, calls, total_us, mean_us, self_us,"
                " grid_x, grid_y, grid_z, block_x, block_y, block_z, registers_per_thread, static_shared_bytes,"
                " dynamic_shared_bytes, stream) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  for (const auto& r : p.rows) {
    row.bind(1, cell_id).bind(2, run_id).bind(3, p.tracer).bind(4, r.kind).bind(5, r.name).bind(6, r.calls);
    row.bind(7, r.total_us).bind(8, r.mean_us).bind(9, r.self_us);
    const int64_t launch[] = {r.grid[0], r.grid[1], r.grid[2], r.block[0], r.block[1], r.block[2],
                              r.registers_per_thread, r.static_shared_bytes, r.dynamic_shared_bytes, r.stream};
    // Launch columns belong to kernels; an op or API row leaves them NULL rather than a misleading 0.
    for (int i = 0; i < 10; ++i) {
      if (r.kind == "kernel") row.bind(10 + i, launch[i]);
      else row.bind_null(10 + i);
    }
    row.step("recording profile row '" + r.name + "' of " + where);
    row.reset();
  }
}

std::optional<Profile> Store::profile(int64_t run_id, const std::string& cell_key) const {
  const std::string what = "reading the profile of cell '" + cell_key + "'";
  Transaction snapshot(db_, path_, /*write=*/false);  // metadata and rows from one consistent state
  Statement meta(db_, path_,
                 "SELECT p.cell_id, p.tracer, p.cupti_version, p.dropped_records, p.warmup, p.iterations,"
                 " p.total_rows, p.sdpa_backend FROM profiles p JOIN cells c ON c.id = p.cell_id"
                 " WHERE c.run_id=? AND c.cell_key=?");
  if (!meta.bind(1, run_id).bind(2, cell_key).step(what)) return std::nullopt;
  Profile p;
  const int64_t cell_id = meta.int64(0);
  p.tracer = meta.text(1), p.cupti_version = meta.int64(2), p.dropped_records = meta.int64(3);
  p.warmup = meta.int64(4), p.iterations = meta.int64(5), p.total_rows = meta.int64(6), p.sdpa_backend = meta.text(7);
  Statement st(db_, path_,
               "SELECT kind, name, calls, total_us, mean_us, self_us, grid_x, grid_y, grid_z, block_x, block_y,"
               " block_z, registers_per_thread, static_shared_bytes, dynamic_shared_bytes, stream"
               " FROM profile_rows WHERE cell_id=? ORDER BY id");
  st.bind(1, cell_id);
  while (st.step(what)) {
    ProfileRow r;
    r.kind = st.text(0), r.name = st.text(1), r.calls = st.int64(2);
    r.total_us = st.real(3), r.mean_us = st.real(4), r.self_us = st.real(5);
    r.grid = {st.int64(6), st.int64(7), st.int64(8)};
    r.block = {st.int64(9), st.int64(10), st.int64(11)};
    r.registers_per_thread = st.int64(12), r.static_shared_bytes = st.int64(13);
    r.dynamic_shared_bytes = st.int64(14), r.stream = st.int64(15);
    p.rows.push_back(std::move(r));
  }
  snapshot.commit();
  return p;
}

std::vector<CurvePoint> Store::curves(int64_t run_id, const std::string& cell_key) const {
  Statement st(db_, path_,
               "SELECT k.series, k.step, k.value FROM curves k JOIN cells c ON c.id = k.cell_id"
               " WHERE c.run_id=? AND c.cell_key=? ORDER BY k.series, k.step, k.id");
  st.bind(1, run_id).bind(2, cell_key);
  std::vector<CurvePoint> out;
  while (st.step("reading the curves of cell '" + cell_key + "'")) out.push_back({st.text(0), st.int64(1), st.real(2)});
  return out;
}

std::optional<int64_t> Store::newest_run_where(const std::string& where_sql, const std::string* bind_text) const {
  // A part of a merged run is provenance, not a run of its own.
  Statement st(db_, path_, ("SELECT id FROM runs WHERE part_of IS NULL" + where_sql + " ORDER BY id DESC LIMIT 1").c_str());
  if (bind_text) st.bind(1, *bind_text);
  if (!st.step("finding the newest run")) return std::nullopt;
  return st.int64(0);
}

std::optional<int64_t> Store::last_run(const std::string& suite_name) const {
  return newest_run_where(" AND suite_name=?", &suite_name);
}

std::optional<int64_t> Store::latest_run() const { return newest_run_where("", nullptr); }

namespace {

constexpr const char* kRunColumns =
    "SELECT id, suite_name, suite_path, suite_json, suite_hash, git_commit, started_at, ended_at, status, host,"
    " cpu_name, gpu_name, driver_version, cuda_version, libtorch_version, threads, seeds, locbench_version, pid,"
    " environment, allocator, backend, world_size, shard, part_of FROM runs";

Run run_from_row(const Statement& st) {
  Run run;
  run.id = st.int64(0);
  RunInfo& i = run.info;
  i.suite_name = st.text(1), i.suite_path = st.text(2), i.suite_json = st.text(3), i.suite_hash = st.text(4);
  i.git_commit = st.text(5), run.started_at = st.text(6), run.ended_at = st.text(7), run.status = st.text(8);
  i.host = st.text(9), i.cpu_name = st.text(10), i.gpu_name = st.text(11), i.driver_version = st.text(12);
  i.cuda_version = st.text(13), i.libtorch_version = st.text(14), i.threads = static_cast<int>(st.int64(15));
  i.seeds = seeds_from_json(st.text(16)), i.locbench_version = st.text(17);
  run.pid = st.int64(18);
  i.environment_json = st.is_null(19) ? "{}" : st.text(19);
  i.allocator = st.text(20);
  i.backend = st.text(21), i.world_size = st.is_null(22) ? 1 : static_cast<int>(st.int64(22)), i.shard = st.text(23);
  if (!st.is_null(24)) run.part_of = st.int64(24);
  return run;
}

}  // namespace

std::optional<Run> Store::run(int64_t run_id) const {
  Statement st(db_, path_, (std::string(kRunColumns) + " WHERE id=?").c_str());
  if (!st.bind(1, run_id).step("reading run " + std::to_string(run_id))) return std::nullopt;
  return run_from_row(st);
}

std::vector<Run> Store::runs() const {
  Statement st(db_, path_, (std::string(kRunColumns) + " ORDER BY id").c_str());
  std::vector<Run> out;
  while (st.step("reading runs")) out.push_back(run_from_row(st));
  return out;
}

std::set<std::string> Store::passed_cells(int64_t run_id) const {
  Statement st(db_, path_, "SELECT cell_key FROM cells WHERE run_id=? AND status='passed'");
  st.bind(1, run_id);
  std::set<std::string> keys;
  while (st.step("reading the passed cells of run " + std::to_string(run_id))) keys.insert(st.text(0));
  return keys;
}

std::vector<Cell> Store::cells(int64_t run_id) const {
  const std::string what = "reading the cells of run " + std::to_string(run_id);
  Transaction snapshot(db_, path_, /*write=*/false);  // cells and results from one consistent state
  std::vector<Cell> cells;
  std::map<int64_t, size_t> index_of_id;
  {
    Statement st(db_, path_,
                 "SELECT id, cell_key, model, dataset, measurement, settings, seed, status, error, started_at,"
                 " ended_at, label, checkpoint_path, checkpoint_sha256, provenance, part FROM cells WHERE run_id=? ORDER BY id");
    st.bind(1, run_id);
    while (st.step(what)) {
      Cell c;
      c.key = st.text(1), c.model = st.text(2), c.dataset = st.text(3), c.measurement = st.text(4);
      c.settings_json = st.text(5);
      if (!st.is_null(6)) c.seed = st.int64(6);
      c.passed = st.text(7) == "passed";
      c.error = st.text(8), c.started_at = st.text(9), c.ended_at = st.text(10);
      c.label = st.text(11), c.checkpoint_path = st.text(12), c.checkpoint_sha256 = st.text(13);
      c.provenance_json = st.is_null(14) ? "{}" : st.text(14);
      if (!st.is_null(15)) c.part = st.int64(15);
      index_of_id[st.int64(0)] = cells.size();
      cells.push_back(std::move(c));
    }
  }
  Statement st(db_, path_,
               "SELECT r.cell_id, r.metric, r.value, r.unit, r.convention FROM results r"
               " JOIN cells c ON c.id = r.cell_id WHERE c.run_id=? ORDER BY r.id");
  st.bind(1, run_id);
  while (st.step(what)) {
    cells[index_of_id.at(st.int64(0))].results.push_back({st.text(1), st.real(2), st.text(3), st.text(4)});
  }
  Statement samples(db_, path_,
                    "SELECT s.cell_id, s.metric, s.value FROM samples s JOIN cells c ON c.id = s.cell_id"
                    " WHERE c.run_id=? ORDER BY s.cell_id, s.metric, s.idx");
  samples.bind(1, run_id);
  while (samples.step(what)) {
    auto& series = cells[index_of_id.at(samples.int64(0))].samples;
    if (series.empty() || series.back().metric != samples.text(1)) series.push_back({samples.text(1), {}});
    series.back().values.push_back(samples.real(2));
  }
  snapshot.commit();
  return cells;
}

}  // namespace locbench::store
