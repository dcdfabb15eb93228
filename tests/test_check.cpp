// Tests of `bench check` (harness/check): repetitions read from Google Benchmark JSON, the median change gated by a
// Mann-Whitney U test, reference-variant normalisation, the threshold edge, and every input the gate cannot decide on
// (missing or renamed benchmarks, empty files, too few repetitions, zero, negative or infinite times, errors,
// malformed files, hostile names).
#include "harness/check/check.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using locbench::check::CheckOptions;
using locbench::check::read_benchmark_json;
using locbench::check::run_check;
using nlohmann::json;

struct Row {
  std::string name;
  std::vector<double> us;  // one per repetition
};

// The spread of a quiet machine: ten repetitions within +-2% of the centre, in a fixed order.
std::vector<double> reps(double centre, int n = 10) {
  static const double jitter[] = {0.0, 0.012, -0.008, 0.019, -0.015, 0.004, -0.02, 0.009, -0.003, 0.014,
                                  -0.011, 0.017};
  std::vector<double> out;
  for (int i = 0; i < n; ++i) out.push_back(centre * (1.0 + jitter[i % 12]));
  return out;
}

// A file shaped like --benchmark_out of a manual-time run with --benchmark_repetitions: one iteration row per
// repetition, then the aggregates (the gate recomputes them), with context and counters the gate must ignore.
json gbench_file(const std::vector<Row>& rows) {
  json doc = {{"context", {{"date", "2026-11-21"}, {"num_cpus", 16}, {"library_version", "v1.9.1"}}},
              {"benchmarks", json::array()}};
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.us.size(); ++i)
      doc["benchmarks"].push_back({{"name", r.name + "/manual_time"}, {"run_name", r.name + "/manual_time"},
                                   {"run_type", "iteration"}, {"repetitions", r.us.size()}, {"repetition_index", i},
                                   {"iterations", 1000}, {"real_time", r.us[i]}, {"cpu_time", r.us[i] * 0.1},
                                   {"time_unit", "us"}, {"TFLOP/s", 123.0}});
    doc["benchmarks"].push_back({{"name", r.name + "/manual_time_median"}, {"run_name", r.name + "/manual_time"},
                                 {"run_type", "aggregate"}, {"aggregate_name", "median"}, {"real_time", 1.0},
                                 {"time_unit", "us"}});
  }
  return doc;
}

class CheckTest : public ::testing::Test {
 protected:
  fs::path dir_ = fs::temp_directory_path() / ("locbench_check_" + std::to_string(::getpid()) + "_" +
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void SetUp() override { fs::create_directories(dir_); }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::string write(const std::string& name, const json& doc) { return write(name, doc.dump(2)); }

  int check(const json& baseline, const json& current, std::optional<std::string> reference = std::nullopt,
            double threshold = 0.10) {
    CheckOptions options;
    options.baseline = {write("baseline.json", baseline)};
    options.current = {write("current.json", current)};
    options.reference = reference;
    options.threshold = threshold;
    return check(options);
  }
  int check(const CheckOptions& options) {
    out_.str("");
    err_.str("");
    return run_check(options, out_, err_);
  }
  bool says(const std::string& text) const { return out_.str().find(text) != std::string::npos; }
  std::ostringstream out_, err_;
};

const std::string kShape = "B64_H3_N197_D64";

TEST_F(CheckTest, SameDistributionPasses) {
  auto base = gbench_file({{"op/fused/s", reps(100)}});
  auto again = gbench_file({{"op/fused/s", reps(100.5)}});  // a rerun: shifted by less than the noise
  EXPECT_EQ(check(base, again), 0) << out_.str();
  EXPECT_TRUE(says("1 compared, 0 regression(s)")) << out_.str();
}

TEST_F(CheckTest, SlowerKernelFailsOnlyWhenSignificant) {
  auto base = gbench_file({{"op/fused/s", reps(100)}});
  EXPECT_EQ(check(base, gbench_file({{"op/fused/s", reps(130)}})), 1) << out_.str();
  EXPECT_TRUE(says("REGRESSION") && says("+30.0%")) << out_.str();
  // +30% in the median but the two sets overlap (a bimodal, noisy current run): not significant, not a regression.
  std::vector<double> overlap{95, 140, 97, 135, 99, 131, 101, 133, 98, 138};
  EXPECT_EQ(check(base, gbench_file({{"op/fused/s", overlap}})), 0) << out_.str();
  EXPECT_TRUE(says("slower, not significant")) << out_.str();
  EXPECT_TRUE(says("noisy")) << out_.str();
}

TEST_F(CheckTest, UniformlySlowerMachinePassesWithReference) {
  auto base = gbench_file({{"gaussian_attention/fused/" + kShape, reps(100)},
                           {"gaussian_attention/sdpa_math/" + kShape, reps(400)}});
  auto slow = gbench_file({{"gaussian_attention/fused/" + kShape, reps(150)},
                           {"gaussian_attention/sdpa_math/" + kShape, reps(600)}});
  EXPECT_EQ(check(base, slow, "sdpa_math"), 0) << out_.str();
  // Without the reference the same files are a 50% regression: the normalisation is what makes it pass.
  EXPECT_EQ(check(base, slow), 1) << out_.str();
  EXPECT_TRUE(says("REGRESSION"));
}

TEST_F(CheckTest, SlowerKernelFailsWithReference) {
  auto base = gbench_file({{"gaussian_attention/fused/" + kShape, reps(100)},
                           {"gaussian_attention/sdpa_math/" + kShape, reps(400)}});
  auto worse = gbench_file({{"gaussian_attention/fused/" + kShape, reps(130)},
                            {"gaussian_attention/sdpa_math/" + kShape, reps(400)}});
  EXPECT_EQ(check(base, worse, "sdpa_math"), 1) << out_.str();
  EXPECT_TRUE(says("gaussian_attention/fused/" + kShape));
  EXPECT_TRUE(says("+30.0%")) << out_.str();
}

TEST_F(CheckTest, ThresholdIsInclusive) {
  auto base = gbench_file({{"op/fused/s", reps(100)}});
  EXPECT_EQ(check(base, gbench_file({{"op/fused/s", reps(110)}})), 0) << out_.str();  // exactly +10%
  EXPECT_EQ(check(base, gbench_file({{"op/fused/s", reps(110.1)}})), 1) << out_.str();
  EXPECT_EQ(check(base, gbench_file({{"op/fused/s", reps(110.1)}}), std::nullopt, 0.20), 0) << out_.str();
  EXPECT_EQ(check(base, gbench_file({{"op/fused/s", reps(50)}})), 0);  // faster never fails
  EXPECT_TRUE(says("faster"));
}

TEST_F(CheckTest, MissingOrRenamedBenchmarksFail) {
  auto base = gbench_file({{"op/fused/a", reps(100)}, {"op/fused/gone", reps(100)}});
  auto cur = gbench_file({{"op/fused/a", reps(100)}, {"op/fused/new", reps(100)}});
  EXPECT_EQ(check(base, cur), 1) << out_.str();
  EXPECT_TRUE(says("op/fused/gone: missing from")) << out_.str();
  EXPECT_TRUE(says("only in the current run, not gated (1):\n  op/fused/new")) << out_.str();
  // Every benchmark renamed: nothing compared, and the gate says so instead of "0 regression(s)" and exit 0.
  EXPECT_EQ(check(base, gbench_file({{"op/other/a", reps(100)}})), 1) << out_.str();
  EXPECT_TRUE(says("0 compared")) << out_.str();
}

TEST_F(CheckTest, EmptyFilesFail) {
  auto base = gbench_file({{"op/fused/a", reps(100)}});
  EXPECT_EQ(check(base, gbench_file({})), 1) << out_.str();
  EXPECT_TRUE(says("current.json has no benchmarks")) << out_.str();
  EXPECT_EQ(check(gbench_file({}), gbench_file({})), 1) << out_.str();
  EXPECT_TRUE(says("baseline.json has no benchmarks")) << out_.str();
}

TEST_F(CheckTest, ZeroNegativeAndInfiniteTimesFail) {
  // 0 -> 0 and inf -> inf are not "ok": a time must be a finite positive number.
  EXPECT_EQ(check(gbench_file({{"op/v/s", std::vector<double>(10, 0.0)}}),
                  gbench_file({{"op/v/s", std::vector<double>(10, 0.0)}})),
            1);
  EXPECT_TRUE(says("not a finite positive number")) << out_.str();
  std::vector<double> negative = reps(100);
  negative[3] = -5;
  EXPECT_EQ(check(gbench_file({{"op/v/s", reps(100)}}), gbench_file({{"op/v/s", negative}})), 1);
  EXPECT_TRUE(says("current.json has a time that is not a finite positive number")) << out_.str();
  // JSON has no infinity: a number too large for a double is the nearest a file gets, and it is refused by name.
  std::string text = gbench_file({{"op/v/s", reps(100)}}).dump();
  const auto at = text.find("\"real_time\":100");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, std::string("\"real_time\":100").size(), "\"real_time\":1e999");
  CheckOptions options;
  options.baseline = {write("inf.json", text)};
  options.current = {write("inf2.json", text)};
  EXPECT_EQ(check(options), 2) << out_.str();
  EXPECT_NE(err_.str().find("inf.json"), std::string::npos) << err_.str();
}

TEST_F(CheckTest, TooFewRepetitionsFailWithTheFix) {
  auto base = gbench_file({{"op/v/s", reps(100, 3)}});
  EXPECT_EQ(check(base, base), 1) << out_.str();
  EXPECT_TRUE(says("has 3 repetition(s), the gate needs at least 9 (--benchmark_repetitions=9")) << out_.str();
  // A file of aggregates alone (--benchmark_report_aggregates_only) has no repetitions to test.
  json aggregates = gbench_file({{"op/v/s", reps(100)}});
  json kept = json::array();
  for (const auto& row : aggregates["benchmarks"])
    if (row["run_type"] == "aggregate") kept.push_back(row);
  aggregates["benchmarks"] = kept;
  EXPECT_EQ(check(gbench_file({{"op/v/s", reps(100)}}), aggregates), 1) << out_.str();
  EXPECT_TRUE(says("has 0 repetition(s)")) << out_.str();
}

TEST_F(CheckTest, ErroredBenchmarkFails) {
  json cur = gbench_file({{"op/v/s", reps(100)}});
  for (auto& row : cur["benchmarks"]) {
    row["error_occurred"] = true;
    row["error_message"] = "CUDA out of memory";
  }
  EXPECT_EQ(check(gbench_file({{"op/v/s", reps(100)}}), cur), 1) << out_.str();
  EXPECT_TRUE(says("reports an error: CUDA out of memory")) << out_.str();
}

TEST_F(CheckTest, BenchmarkWithoutReferenceIsListedNotDropped) {
  auto base = gbench_file({{"op/fused/a", reps(100)}, {"op/math/a", reps(100)}, {"op/fused/b", reps(100)}});
  EXPECT_EQ(check(base, base, "math"), 0) << out_.str();
  EXPECT_TRUE(says("op/fused/b (no usable math benchmark")) << out_.str();
  // The current file lost the reference the baseline normalised with: the gate cannot decide.
  auto cur = gbench_file({{"op/fused/a", reps(100)}, {"op/fused/b", reps(100)}});
  EXPECT_EQ(check(base, cur, "math"), 1) << out_.str();
  EXPECT_TRUE(says("op/fused/a: cannot normalise in")) << out_.str();
}

TEST_F(CheckTest, MalformedJsonNamesTheFile) {
  CheckOptions options;
  options.baseline = {write("broken.json", std::string("{\"benchmarks\": [ {\"name\": "))};
  options.current = {write("ok.json", gbench_file({}))};
  EXPECT_EQ(check(options), 2);
  EXPECT_NE(err_.str().find("broken.json"), std::string::npos) << err_.str();

  options.baseline = {write("not_gbench.json", json{{"rows", json::array()}})};
  EXPECT_EQ(check(options), 2);
  EXPECT_NE(err_.str().find("not_gbench.json"), std::string::npos) << err_.str();

  options.baseline = {write("bad_row.json", json{{"benchmarks", json::array({{{"name", "a/b/c"}, {"real_time", "x"}}})}})};
  EXPECT_EQ(check(options), 2);
  EXPECT_NE(err_.str().find("bad_row.json: benchmarks[0]"), std::string::npos) << err_.str();

  options.baseline = {(dir_ / "absent.json").string()};
  EXPECT_EQ(check(options), 2);
  EXPECT_NE(err_.str().find("absent.json"), std::string::npos) << err_.str();
}

TEST_F(CheckTest, FilesOfOneSidePoolTheirRepetitions) {
  // Runs interleaved in time (A B A B) pool per side: five repetitions a file, ten a side.
  CheckOptions options;
  options.baseline = {write("a1.json", gbench_file({{"op/v/s", reps(100, 5)}})),
                      write("a2.json", gbench_file({{"op/v/s", reps(101, 5)}}))};
  options.current = {write("b1.json", gbench_file({{"op/v/s", reps(130, 5)}})),
                     write("b2.json", gbench_file({{"op/v/s", reps(131, 5)}}))};
  EXPECT_EQ(check(options), 1) << out_.str();
  EXPECT_TRUE(says("10/10  REGRESSION")) << out_.str();
  options.current = {options.current[0]};  // five repetitions: too few
  EXPECT_EQ(check(options), 1) << out_.str();
  EXPECT_TRUE(says("has 5 repetition(s)")) << out_.str();
  EXPECT_TRUE(says("b1.json has 5")) << out_.str();
}

TEST_F(CheckTest, RepetitionsAreReadAndUnitsConverted) {
  json doc = {{"benchmarks", json::array()}};
  for (double t : {1000.0, 5000.0, 1200.0})
    doc["benchmarks"].push_back({{"name", "op/v/s/manual_time"}, {"run_name", "op/v/s/manual_time"},
                                 {"run_type", "iteration"}, {"real_time", t}, {"time_unit", "us"}});
  doc["benchmarks"].push_back({{"name", "op/v/s/manual_time_median"}, {"run_name", "op/v/s/manual_time"},
                               {"run_type", "aggregate"}, {"aggregate_name", "median"}, {"real_time", 1.2},
                               {"time_unit", "ms"}});
  for (double t : {30.0, 10.0, 20.0})
    doc["benchmarks"].push_back({{"name", "op/w/s/repeats:3/threads:2"}, {"run_type", "iteration"},
                                 {"real_time", t}, {"time_unit", "ns"}});
  const auto times = read_benchmark_json(write("reps.json", doc));
  ASSERT_EQ(times.size(), 2u);
  EXPECT_EQ(times.at("op/v/s").samples, (std::vector<double>{1e6, 5e6, 1.2e6}));
  EXPECT_EQ(times.at("op/w/s/threads:2").samples, (std::vector<double>{30, 10, 20}));
}

TEST_F(CheckTest, HostileNameSegmentIsReadQuickly) {
  // A 30 KB name segment once sent a backtracking regex into unbounded recursion.
  const std::string name = "op/v/" + std::string(30000, 'x') + "/iterations:" + std::string(30000, '9');
  auto doc = gbench_file({{name, reps(100)}});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(check(doc, doc), 0) << out_.str().substr(0, 500);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_LT(out_.str().size(), 10000u);  // names are shortened in the table
}

}  // namespace

TEST_F(CheckTest, DeeplyNestedOrDuplicatedJsonIsOneLineNotACrash) {
  std::string deep = R"({"benchmarks": [{"name": "op/v/s", "real_time": )";
  for (int i = 0; i < 200000; ++i) deep += "[";
  CheckOptions options;
  options.baseline = {write("deep.json", deep)};
  options.current = {write("ok.json", gbench_file({}))};
  EXPECT_EQ(run_check(options, out_, err_), 2);
  EXPECT_NE(err_.str().find("deep.json: benchmarks[0].real_time"), std::string::npos) << err_.str().substr(0, 400);
  EXPECT_NE(err_.str().find("nested deeper than 64 levels"), std::string::npos);
  const std::string err = err_.str();
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1);
  err_.str("");
  options.baseline = {write("dup.json", std::string(R"({"benchmarks": [], "benchmarks": []})"))};
  EXPECT_EQ(run_check(options, out_, err_), 2);
  EXPECT_NE(err_.str().find("dup.json: duplicate key 'benchmarks'"), std::string::npos) << err_.str();
}
