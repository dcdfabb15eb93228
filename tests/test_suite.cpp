// Suite validation against hostile and broken files, without LibTorch: every integer against the range of the type
// it lands in, bounded nesting, numbers JSON cannot hold, unreadable paths, hostile strings in messages.
#include "harness/suite/suite.h"
#include "tests/test_helpers.h"

#include <gtest/gtest.h>

#include <climits>

using namespace locbench;
using namespace locbench::testing;
namespace fs = std::filesystem;

namespace {

// Two registered models, as the registry would answer.
class TwoModels : public suite::ModelCatalogue {
 public:
  std::optional<std::string> task(const std::string& name) const override {
    if (name == "vit_tiny_patch16_224") return "classification";
    if (name == "segvit_tiny") return "segmentation";
    return std::nullopt;
  }
  std::vector<std::string> suggest(const std::string&) const override { return {"vit_tiny_patch16_224"}; }
};

const TwoModels kModels;

// The errors of a suite whose body is `{"name": "s", "models": [...], "measurements": [...], <fields>}`.
std::vector<std::string> errors_of(const std::string& text) {
  auto dir = temp_dir("suite_input");
  const auto path = (dir / "s.json").string();
  write_bytes(path, text);
  return suite::validate_suite(path, kModels);
}

std::string only_error(const std::string& text) {
  const auto errors = errors_of(text);
  EXPECT_EQ(errors.size(), 1u) << (errors.empty() ? "valid" : errors.front());
  return errors.empty() ? "" : errors.front();
}

std::string with_settings(const std::string& settings) {
  return R"({"name": "s", "models": ["vit_tiny_patch16_224"], "measurements": ["latency"], "settings": )" + settings +
         "}";
}

}  // namespace

TEST(SuiteInput, IntegersAreCheckedAgainstTheTypeTheyLandIn) {
  struct Case {
    std::string settings, error;
  };
  const std::vector<Case> cases = {
      {R"({"repeats": 4294967296})",
       "settings.repeats: must be at most 2147483647 (it is held in a 32-bit signed integer), got 4294967296"},
      {R"({"repeats": 0})", "settings.repeats: must be at least 1"},
      {R"({"warmup": -1})", "settings.warmup: must be at least 0"},
      {R"({"warmup": 2147483648})", "settings.warmup: must be at most 2147483647"},
      {R"({"threads": 100000})", "settings.threads: must be between 0 and 1024, got 100000"},
      {R"({"repeats": 1.5})", "settings.repeats: expected an integer, got a number 1.5"},
      {R"({"repeats": 1e20})", "settings.repeats: expected an integer, got a number 1e+20"},
      {R"({"batch_sizes": [1, 18446744073709551615]})", "settings.batch_sizes[1]: must be between 1 and 65536"},
      {R"({"seeds": [-9223372036854775808]})", "settings.seeds[0]: must be at least 0"},
      {R"({"seeds": [18446744073709551615]})", "settings.seeds[0]: must be at most 9223372036854775807 (it is held in a 64-bit signed integer)"},
      {R"({"img_size": 100000})", "settings.img_size: expected a size N or \"HxW\" from 1 to 8192, got 100000"},
      // A list in settings is a resolution sweep: each item a size of its own.
      {R"({"img_size": [224, 0]})", "settings.img_size[1]: expected a size N or \"HxW\" from 1 to 8192, got 0"},
      {R"({"batch_sizes": []})", "settings.batch_sizes: must not be empty"},
  };
  for (const auto& c : cases) {
    const std::string e = only_error(with_settings(c.settings));
    EXPECT_NE(e.find(c.error), std::string::npos) << c.settings << " -> " << e;
    EXPECT_EQ(e.rfind(fs::temp_directory_path().string(), 0), 0u) << "the message starts with the file: " << e;
  }
  EXPECT_TRUE(errors_of(with_settings(R"({"repeats": 2147483647, "warmup": 0, "threads": 1024})")).empty());
}

TEST(SuiteInput, DatasetAndMeasurementIntegersAreBounded) {
  const std::string base = R"({"name": "s", "models": ["vit_tiny_patch16_224"], "measurements": [)";
  EXPECT_NE(only_error(base + R"({"kind": "accuracy", "dataset": "d"}], "datasets": [{"name": "d", "kind": "imagefolder",
      "root": "/nonexistent/d", "workers": 100000, "generate": {"classes": 2}}]})")
                .find("datasets[0].workers: must be between 0 and 1024, got 100000"),
            std::string::npos);
  EXPECT_NE(only_error(base + R"({"kind": "kernels", "iterations": 4294967297}]})")
                .find("measurements[0].iterations: must be at most 2147483647"),
            std::string::npos);
  EXPECT_NE(only_error(base + R"({"kind": "accuracy", "dataset": "d"}], "datasets": [{"name": "d", "kind": "imagefolder",
      "root": "/nonexistent/d", "generate": {"classes": 2, "per_class": 3000000000}}]})")
                .find("datasets[0].generate.per_class: must be between 1 and 100000"),
            std::string::npos);
  EXPECT_NE(only_error(base + R"({"kind": "latency", "batch_sizes": [0]}]})").find("measurements[0].batch_sizes[0]"),
            std::string::npos);
}

TEST(SuiteInput, ModelOverridesHaveTheirRanges) {
  auto model = [](const std::string& fields) {
    return R"({"name": "s", "measurements": ["params"], "models": [{"name": "vit_tiny_patch16_224", )" + fields + "}]}";
  };
  EXPECT_NE(only_error(model(R"("drop_rate": 1.5)")).find("models[0].drop_rate: must be in [0.0, 1.0), got 1.5"),
            std::string::npos);
  EXPECT_NE(only_error(model(R"("drop_path_rate": -0.1)")).find("models[0].drop_path_rate: must be in [0.0, 1.0)"),
            std::string::npos);
  EXPECT_NE(only_error(model(R"("img_size": 1000000)")).find("models[0].img_size: must be between 1 and 8192"),
            std::string::npos);
  EXPECT_NE(only_error(model(R"("num_classes": 10000000000)")).find("models[0].num_classes: must be between 0 and"),
            std::string::npos);
  EXPECT_TRUE(errors_of(model(R"("drop_rate": 0.1, "drop_path_rate": 0.0, "img_size": [64, 96])")).empty());
}

TEST(SuiteInput, BrokenJsonIsOneLineNamingTheFileAndField) {
  std::string deep = R"({"name": "s", "models": )";
  for (int i = 0; i < 100000; ++i) deep += "[";
  EXPECT_NE(only_error(deep).find("s.json: models[0][0][0]"), std::string::npos);
  EXPECT_NE(only_error(deep).find("nested deeper than 64 levels"), std::string::npos);
  EXPECT_NE(only_error(with_settings(R"({"repeats": 1e400})")).find("s.json: settings.repeats: number overflow"),
            std::string::npos);
  EXPECT_NE(only_error(with_settings(R"({"repeats": 2, "repeats": 4})"))
                .find("s.json: settings: duplicate key 'repeats'"),
            std::string::npos);
  EXPECT_NE(only_error("").find("s.json: invalid JSON: parse error at line 1, column 1"), std::string::npos)
      << only_error("");
}

TEST(SuiteInput, PathsThatCannotBeSuitesSayWhy) {
  auto dir = temp_dir("suite_paths");
  auto first = [](const std::string& path) {
    const auto errors = suite::validate_suite(path, kModels);
    return errors.empty() ? std::string() : errors.front();
  };
  EXPECT_EQ(first(dir.string()), dir.string() + ": is a directory, expected a suite file");
  EXPECT_EQ(first((dir / "missing.json").string()), (dir / "missing.json").string() + ": no such suite file");
  EXPECT_NE(first((dir / std::string(NAME_MAX + 1, 'x')).string()).find("too long"), std::string::npos);
}

TEST(SuiteInput, HostileStringsStayOnOneShortLine) {
  const auto errors = errors_of(R"({"name": "s", "measurements": ["params"], "models": ["vit\n\u001b[2Jtiny", ")" +
                                std::string(1 << 20, 'x') + R"("]})");
  ASSERT_EQ(errors.size(), 2u);
  for (const auto& e : errors) {
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    EXPECT_EQ(e.find('\x1b'), std::string::npos) << e;
    EXPECT_LT(e.size(), 500u);
  }
  EXPECT_NE(errors[0].find("unknown model 'vit\\n\\x1b[2Jtiny'"), std::string::npos) << errors[0];
}

TEST(SuiteInput, APlanTooLargeToHoldIsRefusedBeforeItIsBuilt) {
  std::string seeds, batches;
  for (int i = 0; i < 1000; ++i) seeds += (i ? "," : "") + std::to_string(i);
  for (int i = 1; i <= 1000; ++i) batches += (i > 1 ? "," : "") + std::to_string(i);
  const std::string e = only_error(R"({"name": "s", "models": ["vit_tiny_patch16_224"], "measurements":
      [{"kind": "accuracy", "dataset": "d", "batch_sizes": [)" + batches + R"(]}],
      "datasets": [{"name": "d", "kind": "imagefolder", "root": "/nonexistent/d", "generate": {"classes": 2}}],
      "settings": {"seeds": [)" + seeds + "]}}");
  EXPECT_NE(e.find("more than 100000; split the suite"), std::string::npos) << e;
}
