// Tests of `bench check` (harness/check): reading Google Benchmark JSON, reference-variant normalisation,
// the threshold edge, missing benchmarks and malformed input.
#include "harness/check/check.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
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
  double us;
};

// A file shaped like --benchmark_out of a manual-time run, with context and counters the gate must ignore.
json gbench_file(const std::vector<Row>& rows) {
  json doc = {{"context", {{"date", "2026-11-21"}, {"num_cpus", 16}, {"library_version", "v1.9.1"}}},
              {"benchmarks", json::array()}};
  for (const auto& r : rows)
    doc["benchmarks"].push_back({{"name", r.name + "/manual_time"}, {"run_name", r.name + "/manual_time"},
                                 {"run_type", "iteration"}, {"repetitions", 1}, {"iterations", 1000},
                                 {"real_time", r.us}, {"cpu_time", r.us * 0.1}, {"time_unit", "us"},
                                 {"TFLOP/s", 123.0}});
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
    CheckOptions options{write("baseline.json", baseline), write("current.json", current), reference, threshold};
    out_.str("");
    err_.str("");
    return run_check(options, out_, err_);
  }
  std::ostringstream out_, err_;
};

const std::string kShape = "B64_H3_N197_D64";

TEST_F(CheckTest, UniformlySlowerMachinePassesWithReference) {
  auto base = gbench_file({{"gaussian_attention/fused/" + kShape, 100}, {"gaussian_attention/sdpa_math/" + kShape, 400}});
  auto slow = gbench_file({{"gaussian_attention/fused/" + kShape, 150}, {"gaussian_attention/sdpa_math/" + kShape, 600}});
  EXPECT_EQ(check(base, slow, "sdpa_math"), 0) << out_.str();
  // Without the reference the same files are a 50% regression: the normalisation is what makes it pass.
  EXPECT_EQ(check(base, slow), 1) << out_.str();
  EXPECT_NE(out_.str().find("REGRESSION"), std::string::npos);
}

TEST_F(CheckTest, SlowerKernelFailsWithReference) {
  auto base = gbench_file({{"gaussian_attention/fused/" + kShape, 100}, {"gaussian_attention/sdpa_math/" + kShape, 400}});
  auto worse = gbench_file({{"gaussian_attention/fused/" + kShape, 130}, {"gaussian_attention/sdpa_math/" + kShape, 400}});
  EXPECT_EQ(check(base, worse, "sdpa_math"), 1) << out_.str();
  EXPECT_NE(out_.str().find("gaussian_attention/fused/" + kShape), std::string::npos);
  EXPECT_NE(out_.str().find("+30.0%"), std::string::npos) << out_.str();
}

TEST_F(CheckTest, ThresholdIsInclusive) {
  auto base = gbench_file({{"op/fused/s", 100}});
  EXPECT_EQ(check(base, gbench_file({{"op/fused/s", 110}})), 0) << out_.str();  // exactly +10%
  EXPECT_EQ(check(base, gbench_file({{"op/fused/s", 110.1}})), 1) << out_.str();
  EXPECT_EQ(check(base, gbench_file({{"op/fused/s", 110.1}}), std::nullopt, 0.20), 0) << out_.str();
  EXPECT_EQ(check(base, gbench_file({{"op/fused/s", 50}})), 0);  // faster never fails
  EXPECT_NE(out_.str().find("faster"), std::string::npos);
}

TEST_F(CheckTest, MissingBenchmarksAreListed) {
  auto base = gbench_file({{"op/fused/a", 100}, {"op/fused/gone", 100}});
  auto cur = gbench_file({{"op/fused/a", 100}, {"op/fused/new", 100}});
  EXPECT_EQ(check(base, cur), 0);
  EXPECT_NE(out_.str().find("only in the baseline (1):\n  op/fused/gone"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("only in the current run (1):\n  op/fused/new"), std::string::npos) << out_.str();
}

TEST_F(CheckTest, BenchmarkWithoutReferenceIsListedNotDropped) {
  auto base = gbench_file({{"op/fused/a", 100}, {"op/math/a", 100}, {"op/fused/b", 100}});
  EXPECT_EQ(check(base, base, "math"), 0);
  EXPECT_NE(out_.str().find("op/fused/b (no math benchmark"), std::string::npos) << out_.str();
}

TEST_F(CheckTest, MalformedJsonNamesTheFile) {
  CheckOptions options{write("broken.json", std::string("{\"benchmarks\": [ {\"name\": ")), write("ok.json", gbench_file({})),
                       std::nullopt, 0.1};
  EXPECT_EQ(run_check(options, out_, err_), 2);
  EXPECT_NE(err_.str().find("broken.json"), std::string::npos) << err_.str();

  options.baseline = write("not_gbench.json", json{{"rows", json::array()}});
  EXPECT_EQ(run_check(options, out_, err_), 2);
  EXPECT_NE(err_.str().find("not_gbench.json"), std::string::npos) << err_.str();

  options.baseline = (dir_ / "absent.json").string();
  EXPECT_EQ(run_check(options, out_, err_), 2);
  EXPECT_NE(err_.str().find("absent.json"), std::string::npos) << err_.str();
}

TEST_F(CheckTest, UsesMedianAggregateAndConvertsUnits) {
  // Repetitions: three iteration rows (us) plus mean/median aggregates (ms); only the median is used.
  json doc = {{"benchmarks", json::array()}};
  for (double t : {1000.0, 5000.0, 1200.0})
    doc["benchmarks"].push_back({{"name", "op/v/s/manual_time"}, {"run_name", "op/v/s/manual_time"},
                                 {"run_type", "iteration"}, {"real_time", t}, {"time_unit", "us"}});
  doc["benchmarks"].push_back({{"name", "op/v/s/manual_time_mean"}, {"run_name", "op/v/s/manual_time"},
                               {"run_type", "aggregate"}, {"aggregate_name", "mean"}, {"real_time", 2.4},
                               {"time_unit", "ms"}});
  doc["benchmarks"].push_back({{"name", "op/v/s/manual_time_median"}, {"run_name", "op/v/s/manual_time"},
                               {"run_type", "aggregate"}, {"aggregate_name", "median"}, {"real_time", 1.2},
                               {"time_unit", "ms"}});
  // Iteration rows only: their median.
  for (double t : {30.0, 10.0, 20.0})
    doc["benchmarks"].push_back({{"name", "op/w/s"}, {"run_type", "iteration"}, {"real_time", t}, {"time_unit", "ns"}});
  const auto times = read_benchmark_json(write("reps.json", doc));
  ASSERT_EQ(times.size(), 2u);
  EXPECT_DOUBLE_EQ(times.at("op/v/s"), 1.2e6);
  EXPECT_DOUBLE_EQ(times.at("op/w/s"), 20.0);
}

}  // namespace

TEST_F(CheckTest, DeeplyNestedOrDuplicatedJsonIsOneLineNotACrash) {
  std::string deep = R"({"benchmarks": [{"name": "op/v/s", "real_time": )";
  for (int i = 0; i < 200000; ++i) deep += "[";
  CheckOptions options{write("deep.json", deep), write("ok.json", gbench_file({})), std::nullopt, 0.1};
  EXPECT_EQ(run_check(options, out_, err_), 2);
  EXPECT_NE(err_.str().find("deep.json: benchmarks[0].real_time"), std::string::npos) << err_.str().substr(0, 400);
  EXPECT_NE(err_.str().find("nested deeper than 64 levels"), std::string::npos);
  const std::string err = err_.str();
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1);
  err_.str("");
  options.baseline = write("dup.json", std::string(R"({"benchmarks": [], "benchmarks": []})"));
  EXPECT_EQ(run_check(options, out_, err_), 2);
  EXPECT_NE(err_.str().find("dup.json: duplicate key 'benchmarks'"), std::string::npos) << err_.str();
}
