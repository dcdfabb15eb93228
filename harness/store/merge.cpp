// `bench merge` (merge.h): rows copied column by column, so provenance columns added by later schema versions
// travel without this file knowing them; ids are rewritten, never reused.
#include "harness/store/merge.h"

#include "harness/store/sqlite.h"

#include <filesystem>
#include <functional>
#include <map>
#include <set>

namespace locbench::store {
namespace {

using sqlite::Statement;
using sqlite::Transaction;

class Connection {
 public:
  Connection(const std::string& path, bool read_only) : path_(path) {
    const int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw StoreError(path + ": cannot open the database (" + msg + ")");
    }
    sqlite3_busy_timeout(db_, 30'000);
    sqlite::exec(db_, path_, "PRAGMA foreign_keys=ON", "enabling foreign keys");
  }
  ~Connection() { sqlite3_close(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  sqlite3* db() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

std::vector<std::string> columns_of(const Connection& c, const std::string& table) {
  Statement st(c.db(), c.path(), ("PRAGMA table_info(\"" + table + "\")").c_str());
  std::vector<std::string> out;
  while (st.step("reading the columns of " + table)) out.push_back(st.text(1));
  return out;
}

// Tables other than runs and cells that hang off a cell (a cell_id column) or, failing that, off a run (run_id).
struct Children {
  std::vector<std::string> of_cell, of_run;
};

Children children_of(const Connection& c) {
  Children out;
  Statement st(c.db(), c.path(), "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                                 " ORDER BY name");
  std::vector<std::string> tables;
  while (st.step("listing tables")) tables.push_back(st.text(0));
  for (const auto& t : tables) {
    if (t == "runs" || t == "cells") continue;
    const auto cols = columns_of(c, t);
    auto has = [&](const char* name) { return std::find(cols.begin(), cols.end(), name) != cols.end(); };
    if (has("cell_id")) out.of_cell.push_back(t);
    else if (has("run_id")) out.of_run.push_back(t);
  }
  return out;
}

// A column's value in the target given its value in the source (nullopt: NULL).
using Rewrite = std::function<std::optional<int64_t>(std::optional<int64_t>)>;
Rewrite constant(int64_t v) {
  return [v](std::optional<int64_t>) { return std::optional<int64_t>(v); };
}
Rewrite through(const std::map<int64_t, int64_t>& ids) {
  return [&ids](std::optional<int64_t> v) -> std::optional<int64_t> {
    if (!v) return std::nullopt;
    auto it = ids.find(*v);
    return it == ids.end() ? std::nullopt : std::optional<int64_t>(it->second);
  };
}

// Copies the rows of `table` whose `key` column equals `value` from src to dst, in rowid order, with the `rewrite`
// columns rewritten and `id` left to the target. Returns (source rowid, target rowid) per row.
std::vector<std::pair<int64_t, int64_t>> copy_rows(const Connection& src, const Connection& dst, const std::string& table,
                                                   const std::string& key, int64_t value,
                                                   const std::map<std::string, Rewrite>& rewrite) {
  const auto src_cols = columns_of(src, table), dst_cols = columns_of(dst, table);
  std::vector<std::string> cols;
  for (const auto& c : src_cols)
    if (c != "id" && std::find(dst_cols.begin(), dst_cols.end(), c) != dst_cols.end()) cols.push_back(c);
  std::string select = "SELECT rowid", insert = "INSERT INTO \"" + table + "\"(", marks;
  for (size_t i = 0; i < cols.size(); ++i) {
    select += ", \"" + cols[i] + "\"";
    insert += (i ? ", \"" : "\"") + cols[i] + "\"";
    marks += i ? ",?" : "?";
  }
  select += " FROM \"" + table + "\" WHERE \"" + key + "\"=? ORDER BY rowid";
  insert += ") VALUES(" + marks + ")";
  Statement read(src.db(), src.path(), select.c_str());
  Statement write(dst.db(), dst.path(), insert.c_str());
  read.bind(1, value);
  std::vector<std::pair<int64_t, int64_t>> out;
  while (read.step("reading " + table)) {
    for (size_t i = 0; i < cols.size(); ++i) {
      const int col = static_cast<int>(i) + 1;
      auto it = rewrite.find(cols[i]);
      if (it == rewrite.end()) {
        write.bind_value(col, read.value(col));
      } else {
        write.bind(col, it->second(read.is_null(col) ? std::nullopt : std::optional<int64_t>(read.int64(col))));
      }
    }
    write.step("writing " + table);
    write.reset();
    out.emplace_back(read.int64(0), sqlite3_last_insert_rowid(dst.db()));
  }
  return out;
}

struct SourceRun {
  int64_t id;
  std::string suite, hash, commit, started, host, shard;
};

std::string describe(const std::string& path, const SourceRun& r) {
  return path + " run " + std::to_string(r.id) + " (suite '" + r.suite + "'" +
         (r.shard.empty() ? "" : ", shard " + r.shard) + ")";
}

// The cells of run `from` go to run `to` (as parts `part` when given), with everything hanging off them.
int64_t copy_cells(const Connection& src, const Connection& dst, const Children& kids, int64_t from, int64_t to,
                   const std::map<std::string, Rewrite>& cell_rewrite) {
  auto rewrite = cell_rewrite;
  rewrite["run_id"] = constant(to);
  const auto cells = copy_rows(src, dst, "cells", "run_id", from, rewrite);
  for (const auto& [old_id, new_id] : cells)
    for (const auto& t : kids.of_cell)
      copy_rows(src, dst, t, "cell_id", old_id, {{"cell_id", constant(new_id)}, {"run_id", constant(to)}});
  return static_cast<int64_t>(cells.size());
}

class Merger {
 public:
  Merger(const Connection& target, MergeSummary& summary) : dst_(target), summary_(summary) {}

  void add(const std::string& path) {
    const Connection src(path, /*read_only=*/true);
    const Children kids = children_of(src);
    Statement st(src.db(), src.path(),
                 "SELECT id, suite_name, suite_hash, IFNULL(git_commit,''), started_at, IFNULL(host,''),"
                 " IFNULL(shard,'') FROM runs WHERE part_of IS NULL ORDER BY id");
    std::vector<SourceRun> runs;
    while (st.step("reading runs"))
      runs.push_back({st.int64(0), st.text(1), st.text(2), st.text(3), st.text(4), st.text(5), st.text(6)});
    for (const auto& r : runs) {
      if (r.shard.empty() || r.shard.rfind("*/", 0) == 0) whole(src, kids, r);
      else shard(src, kids, r);
    }
  }

  // Merged runs' status, times and machines from their parts.
  void finish() {
    for (const int64_t g : merged_) {
      Statement head(dst_.db(), dst_.path(), "SELECT shard FROM runs WHERE id=?");
      head.bind(1, g).step("reading a merged run");
      const int64_t n = std::stoll(head.text(0).substr(2));
      Statement st(dst_.db(), dst_.path(),
                   "SELECT shard, status, started_at, IFNULL(ended_at,''), IFNULL(host,''), IFNULL(cpu_name,''),"
                   " IFNULL(gpu_name,'') FROM runs WHERE part_of=? ORDER BY id");
      st.bind(1, g);
      std::set<std::string> shards, statuses;
      std::string started, ended;
      std::vector<std::string> hosts, cpus, gpus;
      auto add_unique = [](std::vector<std::string>& v, const std::string& s) {
        if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
      };
      while (st.step("reading the parts of a merged run")) {
        shards.insert(st.text(0));
        statuses.insert(st.text(1));
        if (started.empty() || st.text(2) < started) started = st.text(2);
        if (st.text(3) > ended) ended = st.text(3);
        add_unique(hosts, st.text(4)), add_unique(cpus, st.text(5)), add_unique(gpus, st.text(6));
      }
      const bool complete = static_cast<int64_t>(shards.size()) == n;
      std::string status = complete ? "passed" : "running";
      for (const char* s : {"running", "interrupted", "failed"})
        if (statuses.count(s)) status = s;  // failed over interrupted over running
      auto join = [](const std::vector<std::string>& v) {
        std::string out;
        for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
        return out;
      };
      Statement up(dst_.db(), dst_.path(),
                   "UPDATE runs SET status=?, started_at=?, ended_at=?, host=?, cpu_name=?, gpu_name=? WHERE id=?");
      up.bind(1, status).bind(2, started).bind_or_null(3, complete ? ended : "").bind_or_null(4, join(hosts));
      up.bind_or_null(5, join(cpus)).bind_or_null(6, join(gpus)).bind(7, g).step("finishing a merged run");
    }
  }

 private:
  void whole(const Connection& src, const Children& kids, const SourceRun& r) {
    Statement dup(dst_.db(), dst_.path(),
                  "SELECT id FROM runs WHERE part_of IS NULL AND suite_hash=? AND started_at=? AND IFNULL(host,'')=?"
                  " AND IFNULL(shard,'')=?");
    dup.bind(1, r.hash).bind(2, r.started).bind(3, r.host).bind(4, r.shard);
    if (dup.step("looking for a merged run"))
      throw StoreError(describe(src.path(), r) + " is already in " + dst_.path() + " as run " +
                       std::to_string(dup.int64(0)) + "; merging it again would count it twice");
    const int64_t to = copy_rows(src, dst_, "runs", "id", r.id, {}).at(0).second;
    // The parts of a run merged before, and what hangs off the run itself.
    const auto parts = copy_rows(src, dst_, "runs", "part_of", r.id, {{"part_of", constant(to)}});
    std::map<int64_t, int64_t> part_ids(parts.begin(), parts.end());
    const int64_t cells = copy_cells(src, dst_, kids, r.id, to, {{"part", through(part_ids)}});
    for (const auto& t : kids.of_run) copy_rows(src, dst_, t, "run_id", r.id, {{"run_id", constant(to)}});
    summary_.runs += 1 + static_cast<int64_t>(parts.size());
    summary_.cells += cells;
    summary_.lines.push_back(describe(src.path(), r) + " -> run " + std::to_string(to) + ", " +
                             std::to_string(cells) + " cells");
  }

  void shard(const Connection& src, const Children& kids, const SourceRun& r) {
    const auto slash = r.shard.find('/');
    const std::string of_n = "*" + r.shard.substr(slash);
    Statement find(dst_.db(), dst_.path(),
                   "SELECT id, IFNULL(git_commit,'') FROM runs WHERE part_of IS NULL AND suite_hash=? AND shard=?"
                   " ORDER BY id DESC LIMIT 1");
    find.bind(1, r.hash).bind(2, of_n);
    int64_t g = 0;
    if (find.step("looking for a merged run")) {
      g = find.int64(0);
      if (find.text(1) != r.commit)
        throw StoreError(describe(src.path(), r) + " ran commit " + r.commit + ", the shards merged in " +
                         dst_.path() + " run " + std::to_string(g) + " ran " + find.text(1) +
                         "; one merged run holds one commit");
      Statement dup(dst_.db(), dst_.path(), "SELECT id FROM runs WHERE part_of=? AND shard=?");
      dup.bind(1, g).bind(2, r.shard);
      if (dup.step("looking for a shard"))
        throw StoreError(describe(src.path(), r) + ": shard " + r.shard + " is already in " + dst_.path() +
                         " (run " + std::to_string(dup.int64(0)) + ", part of run " + std::to_string(g) + ")");
    } else {
      g = copy_rows(src, dst_, "runs", "id", r.id, {}).at(0).second;
      Statement mark(dst_.db(), dst_.path(), "UPDATE runs SET shard=? WHERE id=?");
      mark.bind(1, of_n).bind(2, g).step("creating a merged run");
      ++summary_.runs;
    }
    const int64_t part = copy_rows(src, dst_, "runs", "id", r.id, {{"part_of", constant(g)}}).at(0).second;
    int64_t cells = 0;
    try {
      cells = copy_cells(src, dst_, kids, r.id, g, {{"part", constant(part)}});
    } catch (const StoreError&) {
      if (sqlite3_errcode(dst_.db()) != SQLITE_CONSTRAINT) throw;
      throw StoreError(describe(src.path(), r) + ": one of its cells is already in " + dst_.path() + " run " +
                       std::to_string(g) + " (shards of different plans?)");
    }
    for (const auto& t : kids.of_run) copy_rows(src, dst_, t, "run_id", r.id, {{"run_id", constant(part)}});
    merged_.insert(g);
    ++summary_.runs;
    summary_.cells += cells;
    summary_.lines.push_back(describe(src.path(), r) + " -> run " + std::to_string(g) + " (part " +
                             std::to_string(part) + "), " + std::to_string(cells) + " cells");
  }

  const Connection& dst_;
  MergeSummary& summary_;
  std::set<int64_t> merged_;
};

}  // namespace

MergeSummary merge(const std::vector<std::string>& sources, const std::string& into) {
  namespace fs = std::filesystem;
  if (sources.empty()) throw StoreError("bench merge: no databases to merge");
  for (const auto& s : sources) {
    if (!fs::is_regular_file(s)) throw StoreError(s + ": no such database");
    if (fs::exists(into) && fs::equivalent(s, into))
      throw StoreError(s + " is the target database; merge it into another file");
  }
  for (const auto& s : sources) Store migrate(s);  // the same schema as the target's, and a real database
  { Store create(into); }
  const Connection target(into, /*read_only=*/false);
  MergeSummary summary;
  Transaction tx(target.db(), target.path(), /*write=*/true);
  Merger merger(target, summary);
  for (const auto& s : sources) merger.add(s);
  merger.finish();
  tx.commit();
  return summary;
}

}  // namespace locbench::store
