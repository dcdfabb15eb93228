// `bench merge` (harness/store/merge.h): shards fold into one run with their parts' provenance; whole runs copy with
// everything hanging off their cells; conflicts are refused with a message and write nothing.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>

#include "harness/store/merge.h"
#include "harness/store/store.h"
#include "test_helpers.h"

namespace locbench::store {
namespace {

namespace fs = std::filesystem;

RunInfo shard_info(const std::string& shard, const std::string& host, const std::string& commit = "c0ffee") {
  RunInfo info;
  info.suite_name = "grid";
  info.suite_json = R"({"name":"grid"})";
  info.suite_hash = "h1";
  info.git_commit = commit;
  info.host = host;
  info.shard = shard;
  info.backend = "gloo";
  info.world_size = 2;
  return info;
}

Cell cell(const std::string& key, double value, bool passed = true) {
  Cell c;
  c.key = key;
  c.model = "m_" + key;
  c.measurement = "params";
  c.passed = passed;
  if (passed) c.results = {{"params", value, "count", "fvcore"}};
  else c.error = "boom";
  return c;
}

// A database holding one run of `info` with `cells`, ended as `status`; returns its path.
std::string database(const fs::path& dir, const std::string& name, const RunInfo& info, const std::vector<Cell>& cells,
                     const std::string& status = "passed") {
  const auto path = (dir / name).string();
  Store s(path);
  const int64_t run = s.begin_run(info);
  for (const auto& c : cells) s.record_cell(run, c);
  s.end_run(run, status);
  return path;
}

std::string refusal(const std::vector<std::string>& sources, const std::string& into) {
  try {
    merge(sources, into);
  } catch (const StoreError& e) {
    return e.what();
  }
  return "";
}

TEST(Merge, ShardsFoldIntoOneRunWithTheirPartsProvenance) {
  const auto dir = testing::temp_dir("merge_shards");
  Cell with_curve = cell("b", 2);
  with_curve.curves = {{"loss", 1, 0.5}, {"loss", 2, 0.25}};
  Profile profile;
  profile.tracer = "libtorch-record-function";
  profile.iterations = 3;
  profile.rows = {{"op", "aten::mm", 3, 30.0, 10.0, 30.0}};
  with_curve.profile = profile;
  const auto s0 = database(dir, "s0.db", shard_info("0/2", "node01"), {cell("a", 1), cell("c", 3)});
  const auto s1 = database(dir, "s1.db", shard_info("1/2", "node02"), {with_curve});
  const auto into = (dir / "merged.db").string();
  const MergeSummary summary = merge({s0}, into);
  EXPECT_EQ(summary.cells, 2);
  {
    const Store db(into);
    const auto run = db.run(*db.latest_run());
    EXPECT_EQ(run->status, "running") << "one shard of two so far";
    EXPECT_EQ(run->info.shard, "*/2");
  }
  merge({s1}, into);  // the second shard joins the same merged run
  const Store db(into);
  const auto runs = db.runs();
  ASSERT_EQ(runs.size(), 3u);  // the merged run and its two parts
  const auto run = db.run(*db.latest_run());
  EXPECT_EQ(run->id, runs[0].id);
  EXPECT_EQ(run->status, "passed");
  EXPECT_EQ(run->info.host, "node01, node02");
  EXPECT_EQ(runs[1].part_of, run->id);
  EXPECT_EQ(runs[1].info.shard, "0/2");
  EXPECT_EQ(runs[1].info.host, "node01");
  EXPECT_EQ(runs[2].info.shard, "1/2");
  EXPECT_EQ(runs[2].info.backend, "gloo");
  EXPECT_EQ(runs[2].info.world_size, 2);
  const auto cells = db.cells(run->id);
  ASSERT_EQ(cells.size(), 3u);
  std::map<std::string, int64_t> part_of_cell;
  for (const auto& c : cells) part_of_cell[c.key] = c.part.value_or(-1);
  EXPECT_EQ(part_of_cell["a"], runs[1].id);
  EXPECT_EQ(part_of_cell["b"], runs[2].id);
  EXPECT_EQ(db.curves(run->id, "b").size(), 2u);
  ASSERT_TRUE(db.profile(run->id, "b").has_value());
  EXPECT_EQ(db.profile(run->id, "b")->rows.at(0).name, "aten::mm");
  EXPECT_EQ(db.passed_cells(run->id).size(), 3u);
}

TEST(Merge, AFailedShardFailsTheMergedRun) {
  const auto dir = testing::temp_dir("merge_failed");
  const auto s0 = database(dir, "s0.db", shard_info("0/2", "h"), {cell("a", 1)});
  const auto s1 = database(dir, "s1.db", shard_info("1/2", "h"), {cell("b", 0, false)}, "failed");
  merge({s0, s1}, (dir / "m.db").string());
  const Store db((dir / "m.db").string());
  EXPECT_EQ(db.run(*db.latest_run())->status, "failed");
}

TEST(Merge, ConflictsAreRefusedAndWriteNothing) {
  const auto dir = testing::temp_dir("merge_conflicts");
  const auto s0 = database(dir, "s0.db", shard_info("0/2", "h"), {cell("a", 1)});
  const auto again = database(dir, "again.db", shard_info("0/2", "h"), {cell("a", 1)});
  const auto other = database(dir, "other.db", shard_info("1/2", "h", "deadbeef"), {cell("b", 2)});
  const auto twice = database(dir, "twice.db", shard_info("1/2", "h"), {cell("a", 5)});
  const auto whole = database(dir, "whole.db", shard_info("", "h"), {cell("a", 1)});
  const auto into = (dir / "m.db").string();
  merge({s0, whole}, into);
  const auto before = testing::read_bytes(into);
  EXPECT_NE(refusal({again}, into).find("shard 0/2 is already in " + into), std::string::npos);
  EXPECT_NE(refusal({other}, into).find("ran commit deadbeef"), std::string::npos);
  EXPECT_NE(refusal({twice}, into).find("one of its cells is already in"), std::string::npos);
  EXPECT_NE(refusal({whole}, into).find("is already in " + into + " as run"), std::string::npos);
  EXPECT_NE(refusal({into}, into).find("is the target database"), std::string::npos);
  EXPECT_NE(refusal({(dir / "missing.db").string()}, into).find("no such database"), std::string::npos);
  const Store db(into);
  EXPECT_EQ(db.runs().size(), 3u) << "refused merges left the target as it was";
  EXPECT_EQ(db.cells(*db.latest_run()).size(), 1u);
}

TEST(Merge, AMergedDatabaseMergesAgainWithItsParts) {
  const auto dir = testing::temp_dir("merge_nested");
  const auto s0 = database(dir, "s0.db", shard_info("0/2", "a"), {cell("x", 1)});
  const auto s1 = database(dir, "s1.db", shard_info("1/2", "b"), {cell("y", 2)});
  const auto first = (dir / "first.db").string();
  merge({s0, s1}, first);
  const auto second = (dir / "second.db").string();
  merge({first}, second);
  const Store db(second);
  const auto run = db.run(*db.latest_run());
  EXPECT_EQ(run->status, "passed");
  int parts = 0;
  for (const auto& r : db.runs()) parts += r.part_of == run->id;
  EXPECT_EQ(parts, 2);
  for (const auto& c : db.cells(run->id)) {
    ASSERT_TRUE(c.part.has_value());
    EXPECT_EQ(db.run(*c.part)->part_of, run->id) << c.key;
  }
}

}  // namespace
}  // namespace locbench::store
