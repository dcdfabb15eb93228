// build/bench end to end: exit codes, one-line errors naming the file or field, no partial output files.
#include "harness/checkpoint/checkpoint.h"
#include "harness/data/image.h"
#include "tests/test_helpers.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace locbench;
using namespace locbench::testing;

namespace {

struct Result {
  int code;
  std::string out, err;
};

Result bench(const std::string& args, const std::filesystem::path& dir) {
  const auto out = dir / "stdout.txt", err = dir / "stderr.txt";
  const std::string cmd = std::string(LOCBENCH_BENCH_BIN) + " " + args + " >" + out.string() + " 2>" + err.string();
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_bytes(out), read_bytes(err)};
}

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST(Cli, EveryCommandHasHelp) {
  auto dir = temp_dir("cli_help");
  for (const char* cmd : {"--help", "list models --help", "info --help", "forward --help"}) {
    auto r = bench(cmd, dir);
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd;
  }
}

TEST(Cli, ListModelsAsJson) {
  auto dir = temp_dir("cli_list");
  auto r = bench("list models --json", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  auto rows = nlohmann::json::parse(r.out);
  bool found = false;
  for (const auto& row : rows)
    if (row["name"] == "vit_base_patch16_224") {
      found = true;
      EXPECT_EQ(row["method"], "vit");
      EXPECT_EQ(row["task"], "classification");
    }
  EXPECT_TRUE(found);
}

TEST(Cli, InfoPrintsParamsMacsAndFlops) {
  auto dir = temp_dir("cli_info");
  auto r = bench("info vit_tiny_patch16_224 --json", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["model"], "vit_tiny_patch16_224");
  EXPECT_EQ(j["params"].get<int64_t>(), 5717416);
  EXPECT_NEAR(j["macs"].get<double>() / 1e9, 1.258, 0.005);
  EXPECT_EQ(j["flops"].get<int64_t>(), 2 * j["macs"].get<int64_t>());
  EXPECT_TRUE(j["macs_by_op"].contains("aten::scaled_dot_product_attention"));
  // GELU is an op fvcore does not count, except where the packed oneDNN linear of inference runs it inside fc1.
  EXPECT_EQ(j["unhandled_ops"].contains("aten::gelu"), !at::hasMKLDNN());
  auto sized = nlohmann::json::parse(bench("info vit_tiny_patch16_224 --img-size 256x320 --json", dir).out);
  EXPECT_EQ(sized["img_size"], nlohmann::json::array({256, 320}));
  EXPECT_GT(sized["macs"].get<double>(), j["macs"].get<double>());
}

TEST(Cli, UnknownModelIsOneLineWithSuggestion) {
  auto dir = temp_dir("cli_unknown");
  auto r = bench("info vitt_tiny", dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "bench info: unknown model 'vitt_tiny' (did you mean vit_tiny_patch16_224?)\n");
  EXPECT_EQ(bench("info vit_tiny_patch16_224 --img-size 22q", dir).code, 1);
}

TEST(Cli, UnknownAllocatorPolicyIsOneLine) {
  auto dir = temp_dir("cli_allocator");
  auto r = bench("list models", dir);
  ASSERT_EQ(r.code, 0);
  setenv("LOCBENCH_ALLOCATOR", "tcmalloc-please", 1);
  r = bench("list models", dir);
  unsetenv("LOCBENCH_ALLOCATOR");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1);
  EXPECT_NE(r.err.find("LOCBENCH_ALLOCATOR: unknown policy 'tcmalloc-please'"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(Cli, ForwardWritesLogitsAndFeatures) {
  auto dir = temp_dir("cli_forward");
  const auto in = (dir / "in.safetensors").string(), out = (dir / "out.safetensors").string();
  torch::manual_seed(3);
  write_safetensors(in, {{"image", torch::randn({2, 3, 64, 48})}});
  auto r = bench("forward --model vit_tiny_patch16_224 --input " + in + " --output " + out + " --seed 5", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  auto logits = read_safetensors(out).at("logits");
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 1000}));
  // Deterministic initialisation from the seed.
  ASSERT_EQ(bench("forward --model vit_tiny_patch16_224 --input " + in + " --output " + out + " --seed 5", dir).code, 0);
  EXPECT_TRUE(torch::equal(logits, read_safetensors(out).at("logits")));
  ASSERT_EQ(bench("forward --model vit_tiny_patch16_224 --features --input " + in + " --output " + out, dir).code, 0);
  EXPECT_EQ(read_safetensors(out).at("features").sizes(), (std::vector<int64_t>{2, 192, 4, 3}));
}

TEST(Cli, ForwardWithTimmWeightsReproducesTimm) {
  auto dir = temp_dir("cli_forward_weights");
  const std::string fixture = source_dir() + "/tests/fixtures/vit_micro_avg";
  auto io = read_safetensors(fixture + "/io.safetensors");
  const auto in = (dir / "in.safetensors").string(), out = (dir / "out.safetensors").string();
  write_safetensors(in, {{"image", io.at("input_224x224").to(torch::kFloat32)}});
  // The fixture is a reduced ViT; the registered name only supplies the family, weights decide the rest.
  auto r = bench("forward --model vit_tiny_patch16_224 --weights " + fixture + "/weights.safetensors --input " + in +
                     " --output " + out,
                 dir);
  EXPECT_EQ(r.code, 1);  // a ViT-Ti cannot take a 48-wide checkpoint: the error lists the keys
  EXPECT_NE(r.err.find("wrong shapes"), std::string::npos) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(Cli, BadInputsFailWithoutWritingOutput) {
  auto dir = temp_dir("cli_bad");
  const auto out = (dir / "out.safetensors").string();
  auto missing = bench("forward --model vit_tiny_patch16_224 --input " + (dir / "nope.safetensors").string() +
                           " --output " + out,
                       dir);
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("nope.safetensors"), std::string::npos) << missing.err;
  EXPECT_EQ(lines(missing.err), 1) << missing.err;

  const auto wrong = (dir / "wrong.safetensors").string();
  write_safetensors(wrong, {{"pixels", torch::zeros({1, 3, 32, 32})}});
  auto no_image = bench("forward --model vit_tiny_patch16_224 --input " + wrong + " --output " + out, dir);
  EXPECT_EQ(no_image.code, 1);
  EXPECT_NE(no_image.err.find(wrong + ": no tensor 'image'"), std::string::npos) << no_image.err;

  write_safetensors(wrong, {{"image", torch::zeros({1, 3, 30, 32})}});
  auto bad_size = bench("forward --model vit_tiny_patch16_224 --input " + wrong + " --output " + out, dir);
  EXPECT_EQ(bad_size.code, 1);
  EXPECT_EQ(lines(bad_size.err), 1) << bad_size.err;
  EXPECT_NE(bad_size.err.find("multiple of the patch size"), std::string::npos) << bad_size.err;

  write_bytes(wrong, "not a safetensors file at all");
  auto corrupt = bench("forward --model vit_tiny_patch16_224 --input " + wrong + " --output " + out, dir);
  EXPECT_EQ(corrupt.code, 1);
  EXPECT_NE(corrupt.err.find(wrong), std::string::npos) << corrupt.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_NE(bench("forward --model vit_tiny_patch16_224", dir).code, 0);  // required options
}

TEST(Cli, EvalSegScoresFoldersAsJson) {
  auto dir = temp_dir("cli_eval_seg");
  std::filesystem::create_directories(dir / "pred");
  std::filesystem::create_directories(dir / "gt");
  // ADE encoding (0 = other), reduce_zero_label: gt 1,2 -> classes 0,1; gt 0 ignored.
  data::Image gt{4, 1, 1, {0, 1, 2, 2}}, pred{4, 1, 1, {1, 0, 1, 0}};
  data::write_png((dir / "gt" / "a.png").string(), gt);
  data::write_png((dir / "pred" / "a.png").string(), pred);
  auto r = bench("eval-seg --pred " + (dir / "pred").string() + " --gt " + (dir / "gt").string() +
                     " --num-classes 2 --reduce-zero-label --json",
                 dir);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  // class 0: I=1 (pixel 1), U=pred{1,3}+gt{1}-1 = 2 -> 50; class 1: I=1 (pixel 2), U=pred{0,2}... pixel 0 ignored
  // -> pred{2} + gt{2,3} - 1 = 2 -> 50.
  EXPECT_DOUBLE_EQ(j["mIoU"].get<double>(), 50.0);
  EXPECT_NEAR(j["aAcc"].get<double>(), 66.67, 1e-9);  // mmseg rounds to 2 decimals
  std::filesystem::remove(dir / "pred" / "a.png");
  r = bench("eval-seg --pred " + (dir / "pred").string() + " --gt " + (dir / "gt").string() + " --num-classes 2", dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("a.png"), std::string::npos) << r.err;
}
