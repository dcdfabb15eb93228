// build/bench end to end: exit codes, one-line errors naming the file or field, no partial output files.
#include "harness/checkpoint/checkpoint.h"
#include "harness/data/image.h"
#include "tests/image_test_helpers.h"
#include "tests/test_helpers.h"
#include "tests/bench_cli.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include <nlohmann/json.hpp>

using namespace locbench;
using namespace locbench::testing;

namespace {

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

std::string fixture_root() { return source_dir() + "/tests/fixtures/e2e_ade20k"; }

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

TEST(Cli, ProfileRunsTheModelAtTheAskedSize) {
  auto dir = temp_dir("cli_profile");
  const auto r = bench("profile vit_pico_patch8_64 --img-size 96x128 --json", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("input"), nlohmann::json({1, 3, 96, 128}));
  bool attention = false;
  for (const auto& row : j.at("rows")) attention |= row.at("name") == "aten::scaled_dot_product_attention";
  EXPECT_TRUE(attention) << r.out;
}

TEST(Cli, UnknownModelIsOneLineWithSuggestion) {
  auto dir = temp_dir("cli_unknown");
  auto r = bench("info vitt_tiny", dir);
  EXPECT_EQ(r.code, 2);  // a usage error
  EXPECT_EQ(r.err, "bench info: unknown model 'vitt_tiny' (did you mean vit_tiny_patch16_224?)\n");
  EXPECT_EQ(bench("info vit_tiny_patch16_224 --img-size 22q", dir).code, 2);
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

TEST(Cli, ForwardPadsPartialPatchesAsDynamicImgPad) {
  // 30 x 40 on a patch-16 ViT: zero-padded right/bottom to 32 x 48 (a 2 x 3 grid), as timm's dynamic_img_pad pads
  // inside the patch embedding, instead of refusing the input or dropping the partial patches.
  auto dir = temp_dir("cli_forward_pad");
  const auto in = (dir / "in.safetensors").string(), padded = (dir / "padded.safetensors").string();
  const auto out = (dir / "out.safetensors").string(), ref = (dir / "ref.safetensors").string();
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({1, 3, 30, 40});
  write_safetensors(in, {{"image", x}});
  write_safetensors(padded, {{"image", torch::nn::functional::pad(
                                           x, torch::nn::functional::PadFuncOptions({0, 8, 0, 2}))}});
  ASSERT_EQ(bench("forward --model vit_tiny_patch16_224 --features --input " + in + " --output " + out, dir).code, 0);
  ASSERT_EQ(bench("forward --model vit_tiny_patch16_224 --features --input " + padded + " --output " + ref, dir).code,
            0);
  const torch::Tensor features = read_safetensors(out).at("features");
  EXPECT_EQ(features.sizes(), (std::vector<int64_t>{1, 192, 2, 3}));
  EXPECT_TRUE(torch::equal(features, read_safetensors(ref).at("features")));
}

TEST(Cli, BadInputsFailWithoutWritingOutput) {
  auto dir = temp_dir("cli_bad");
  const auto out = (dir / "out.safetensors").string();
  auto missing = bench("forward --model vit_tiny_patch16_224 --input " + (dir / "nope.safetensors").string() +
                           " --output " + out,
                       dir);
  EXPECT_EQ(missing.code, 2);  // an unusable input file
  EXPECT_NE(missing.err.find("nope.safetensors"), std::string::npos) << missing.err;
  EXPECT_EQ(lines(missing.err), 1) << missing.err;

  const auto wrong = (dir / "wrong.safetensors").string();
  write_safetensors(wrong, {{"pixels", torch::zeros({1, 3, 32, 32})}});
  auto no_image = bench("forward --model vit_tiny_patch16_224 --input " + wrong + " --output " + out, dir);
  EXPECT_EQ(no_image.code, 2);
  EXPECT_NE(no_image.err.find(wrong + ": no tensor 'image'"), std::string::npos) << no_image.err;

  write_bytes(wrong, "not a safetensors file at all");
  auto corrupt = bench("forward --model vit_tiny_patch16_224 --input " + wrong + " --output " + out, dir);
  EXPECT_EQ(corrupt.code, 2);
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
  EXPECT_EQ(r.code, 2);  // a missing prediction: unusable input
  EXPECT_NE(r.err.find("a.png"), std::string::npos) << r.err;
}

TEST(Cli, ExitCodesAreTwoForUsageErrorsAndZeroForHelp) {
  auto dir = temp_dir("cli_codes");
  for (const char* args : {"nope", "info", "info vit_tiny_patch16_224 --no-such-flag", "report --run x",
                           "report --format docx", "data synth --out x --classes 1", "profile m --batch-size 0",
                           "info vit_tiny_patch16_224 --img-size 100000", ""}) {
    const auto r = bench(args, dir);
    EXPECT_EQ(r.code, 2) << "bench " << args << ": " << r.err;
    EXPECT_FALSE(r.err.empty()) << args;
  }
  EXPECT_EQ(bench("--help", dir).code, 0);
  EXPECT_EQ(bench("run --help", dir).code, 0);
  const auto missing = bench("report --db " + (dir / "none.db").string(), dir);
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(lines(missing.err), 1) << missing.err;
}

TEST(Cli, OutputThatCannotBeWrittenIsAFailure) {
  auto dir = temp_dir("cli_full");
  const std::string cmd = std::string(LOCBENCH_BENCH_BIN) + " list models >/dev/full 2>" + (dir / "err").string();
  const int status = std::system(cmd.c_str());
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 1);
  EXPECT_EQ(read_bytes(dir / "err"), "bench: cannot write to standard output: No space left on device\n");
}

TEST(Cli, DataSynthOntoAFullDiskFailsAndLeavesNoDataset) {
  auto dir = temp_dir("cli_synth_ulimit");
  const auto out = (dir / "ds").string();
  // bash counts ulimit -f in KiB: every 96 x 96 noise PNG (about 27 KiB) is larger than 8 KiB.
  const std::string cmd = "ulimit -f 8; " + std::string(LOCBENCH_BENCH_BIN) + " data synth --out " + out +
                          " --classes 2 --per-class 20 --size 96 --format png 2>" + (dir / "err").string();
  const int status = std::system(("bash -c '" + cmd + "'").c_str());
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 1) << read_bytes(dir / "err");
  const std::string err = read_bytes(dir / "err");
  EXPECT_NE(err.find("cannot write: File too large"), std::string::npos) << err;
  EXPECT_EQ(lines(err), 1) << err;
  size_t left = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++left;
  EXPECT_EQ(left, 1u) << "only the error file: no dataset, no partial folder";
  // The same command with room to write makes a complete dataset, and a second one checks and keeps it.
  ASSERT_EQ(bench("data synth --out " + out + " --classes 2 --per-class 20 --size 96 --format png", dir).code, 0);
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(out) / "locbench-dataset.json"));
  EXPECT_EQ(bench("data synth --out " + out + " --classes 2 --per-class 20 --size 96 --format png", dir).code, 0);
  const auto other = bench("data synth --out " + out + " --classes 3", dir);
  EXPECT_EQ(other.code, 2);
  EXPECT_NE(other.err.find("exists but is not the dataset to generate"), std::string::npos) << other.err;
}

TEST(Cli, TwoProcessesSynthesisingOneFolderBothSucceed) {
  auto dir = temp_dir("cli_synth_race");
  const auto out = (dir / "ds").string();
  const std::string one = std::string(LOCBENCH_BENCH_BIN) + " data synth --out " + out +
                          " --classes 3 --per-class 30 --size 48 >/dev/null 2>>" + (dir / "err").string();
  const int status = std::system(("bash -c '(" + one + "; echo $? >> " + (dir / "codes").string() + ") & (" + one +
                                  "; echo $? >> " + (dir / "codes").string() + ") & wait'")
                                     .c_str());
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(read_bytes(dir / "codes"), "0\n0\n") << read_bytes(dir / "err");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 3u) << "ds, codes and err: the loser's temporary folder is gone";
  size_t images = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(out)) images += e.path().extension() == ".jpg";
  EXPECT_EQ(images, 90u);
}

namespace {

struct Measured {
  int code;
  std::string err;
  long max_rss_kb;
};

// Runs build/bench with its own rusage (wait4), so the peak RSS is that command's alone.
Measured bench_measured(const std::vector<std::string>& args, const std::filesystem::path& dir) {
  const auto err_path = dir / "stderr.txt";
  const pid_t pid = ::fork();
  if (pid == 0) {
    FILE* err = std::freopen(err_path.c_str(), "w", stderr);
    if (!err || !std::freopen("/dev/null", "w", stdout)) ::_exit(127);
    std::vector<char*> argv{const_cast<char*>(LOCBENCH_BENCH_BIN)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(LOCBENCH_BENCH_BIN, argv.data());
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_bytes(err_path), usage.ru_maxrss};
}

}  // namespace

TEST(Cli, DecompressionBombsAreOneLineErrorsWithBoundedMemory) {
  // A 69-byte label map claiming 50000 x 50000 pixels and an image claiming 40000 x 40000: refused from the header
  // (one line naming the file, exit 1), so the process never holds more than its own code and the model.
  auto dir = temp_dir("cli_bombs");
  std::filesystem::create_directories(dir / "pred");
  std::filesystem::create_directories(dir / "gt");
  data::write_png((dir / "gt" / "a.png").string(), data::Image{2, 1, 1, {1, 2}});
  const std::string bomb = (dir / "pred" / "a.png").string();
  write_bytes(bomb, png_claiming(50000, 50000, '\0'));
  Measured r = bench_measured({"eval-seg", "--pred", (dir / "pred").string(), "--gt", (dir / "gt").string(),
                               "--num-classes", "2"},
                              dir);
  EXPECT_EQ(r.code, 2);  // an unusable input
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(bomb + ": image is 50000x50000"), std::string::npos) << r.err;
  EXPECT_LT(r.max_rss_kb, 512 * 1024) << "peak RSS " << r.max_rss_kb << " kB";
  std::cout << "[ bomb label ] peak RSS " << r.max_rss_kb / 1024 << " MiB\n";

  // The limit is configurable: a map under the limit but above --max-pixels is refused the same way.
  data::write_png(bomb, data::Image{2, 1, 1, {1, 0}});
  r = bench_measured({"eval-seg", "--pred", (dir / "pred").string(), "--gt", (dir / "gt").string(), "--num-classes",
                      "2", "--max-pixels", "1"},
                     dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("above the limit of 1"), std::string::npos) << r.err;

  // An ADE20K-layout image claiming 40000 x 40000 RGB pixels, scored with a model.
  const auto root = dir / "ade";
  std::filesystem::create_directories(root / "images" / "validation");
  std::filesystem::create_directories(root / "annotations" / "validation");
  const std::string image = (root / "images" / "validation" / "ADE_val_00000001.jpg").string();
  write_bytes(image, png_claiming(40000, 40000, '\x02'));  // content, not the extension, decides the format
  data::write_png((root / "annotations" / "validation" / "ADE_val_00000001.png").string(),
                  data::Image{2, 1, 1, {1, 2}});
  r = bench_measured({"eval-seg", "--model", "segvit_atm_vit_pico_64", "--dataset", "synthetic_ade20k",
                      "--num-classes", "4", "--root", root.string()},
                     dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(image + ": image is 40000x40000"), std::string::npos) << r.err;
  EXPECT_LT(r.max_rss_kb, 768 * 1024) << "peak RSS " << r.max_rss_kb << " kB";
  std::cout << "[ bomb image ] peak RSS " << r.max_rss_kb / 1024 << " MiB\n";
}

TEST(Cli, SlideStrideLargerThanTheCropIsAnError) {
  auto dir = temp_dir("cli_stride");
  const auto r = bench("eval-seg --model segvit_atm_vit_pico_64 --dataset synthetic_ade20k --num-classes 4 --root " +
                           fixture_root() + " --mode slide --crop 64 --stride 80",
                       dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("stride 80x80 is larger than the crop 64x64"), std::string::npos) << r.err;
}
