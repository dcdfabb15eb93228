// End to end against mmsegmentation 0.24 (tests/fixtures/make_e2e_mmseg_fixtures.py): the committed ADE20K-layout
// JPEG set scored by `bench eval-seg --model` with the weights mmseg used, in whole and slide mode, SegViT and a
// ViT + linear head. aAcc, mIoU and mAcc must equal mmseg's to 0.01 points (mmseg rounds them to 2 decimals) and
// the predicted maps must equal mmseg's pixel for pixel (at most 1 in 10,000 pixels may flip at a float tie).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "harness/checkpoint/checkpoint.h"
#include "harness/data/image.h"
#include "harness/model/registry.h"
#include "harness/seg/inference.h"
#include "tests/filled_tensors.h"
#include "tests/image_test_helpers.h"

using namespace locbench;
using namespace locbench::testing;

namespace {

// Every floating-point tensor of `module` whose name starts with `prefix`, filled; its names must be the ones mmseg's
// model had (the fixture records them with their shapes).
std::map<std::string, torch::Tensor> filled(torch::nn::Module& module, const std::string& prefix,
                                            const nlohmann::json& reference_names, const Model* model = nullptr) {
  std::map<std::string, torch::Tensor> out;
  auto add = [&](const std::string& name, const torch::Tensor& t) {
    if (name.rfind(prefix, 0) != 0 || !t.is_floating_point()) return;
    if (model && model->ignores_checkpoint_key(name)) return;
    EXPECT_TRUE(reference_names.contains(name)) << name << " has no counterpart in mmseg's model";
    if (reference_names.contains(name)) EXPECT_EQ(reference_names[name].get<std::vector<int64_t>>(), t.sizes().vec());
    out[name] = fill_tensor(name, t.sizes().vec());
  };
  for (const auto& p : module.named_parameters()) add(p.key(), p.value());
  for (const auto& b : module.named_buffers()) add(b.key(), b.value());
  return out;
}

struct BenchRun {
  int code;
  std::string out, err;
};

BenchRun bench(const std::string& args, const std::filesystem::path& dir) {
  const auto out = dir / "stdout.txt", err = dir / "stderr.txt";
  const std::string cmd = "cd " + dir.string() + " && " + LOCBENCH_BENCH_BIN + " " + args + " >" + out.string() +
                          " 2>" + err.string();
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_bytes(out), read_bytes(err)};
}

double round2(double v) { return std::round(v * 100.0) / 100.0; }

}  // namespace

TEST(EndToEndMmseg, EvalSegEqualsMmsegDatasetEvaluate) {
  const auto refs = read_json(fixture("e2e_ade20k/mmseg_metrics.json"));
  const auto dir = temp_dir("e2e_mmseg");
  const int64_t classes = refs["num_classes"];
  ASSERT_GE(refs["cases"].size(), 4u);
  for (const auto& [name, ref] : refs["cases"].items()) {
    SCOPED_TRACE(name);
    const std::string args = ref["bench_args"];
    // The weights mmseg ran with, rebuilt from their names.
    if (args.find("segvit") != std::string::npos) {
      ModelArgs a;
      a.num_classes = classes;
      ModelPtr model = create_model("segvit_atm_vit_pico_64", a);
      write_safetensors((dir / "segvit.safetensors").string(), filled(*model, "", ref["weights"], model.get()));
    } else {
      ModelPtr backbone = create_model("vit_pico_patch8_64");
      seg::SegmentationModel model(backbone, "linear", classes);
      write_safetensors((dir / "vit.safetensors").string(), filled(*backbone, "", ref["weights"]));
      write_safetensors((dir / "head.safetensors").string(), filled(*model, "decode_head.", ref["weights"]));
    }
    const auto pred_dir = dir / ("pred_" + name);
    const BenchRun r = bench("eval-seg " + args + " --dataset synthetic_ade20k --num-classes " + std::to_string(classes) +
                            " --root " + fixture("e2e_ade20k") + " --json --pred-out " + pred_dir.string(),
                        dir);
    ASSERT_EQ(r.code, 0) << r.err;
    // Every predicted pixel as mmseg predicted it, up to float rounding at exact ties of the class scores.
    int64_t pixels = 0, differing = 0, images = 0;
    for (const auto& entry : std::filesystem::directory_iterator(fixture("e2e_ade20k/mmseg_pred/" + name))) {
      const data::Image theirs = data::read_label(entry.path().string());
      const data::Image ours = data::read_label((pred_dir / entry.path().filename()).string());
      ASSERT_EQ(ours.width, theirs.width);
      ASSERT_EQ(ours.height, theirs.height);
      for (size_t i = 0; i < ours.pixels.size(); ++i) differing += ours.pixels[i] != theirs.pixels[i];
      pixels += static_cast<int64_t>(ours.pixels.size());
      ++images;
    }
    EXPECT_EQ(images, 16);
    EXPECT_LE(differing, pixels / 10000) << differing << " of " << pixels << " pixels differ from mmseg's predictions";
    const auto got = nlohmann::json::parse(r.out);
    EXPECT_EQ(got.at("images").get<int64_t>(), 16);
    EXPECT_GT(got.at("seconds").get<double>(), 0.0);  // the scoring loop's time, beside the metrics
    EXPECT_GT(got.at("cpu_seconds").get<double>(), 0.0);
    for (const char* metric : {"aAcc", "mIoU", "mAcc"}) {
      const double ours = round2(got[metric].get<double>()), theirs = ref[metric].get<double>();
      EXPECT_LE(std::abs(ours - theirs), 0.01 + 1e-9) << metric << ": bench " << ours << ", mmseg " << theirs;
    }
    std::cout << "[ e2e " << name << " ] bench aAcc " << got["aAcc"] << " mIoU " << got["mIoU"] << " mAcc "
              << got["mAcc"] << " | mmseg " << ref["aAcc"] << " " << ref["mIoU"] << " " << ref["mAcc"] << " | "
              << differing << " of " << pixels << " pixels differ\n";
  }
}

TEST(EndToEndMmseg, FixtureIsNotDegenerate) {
  // The weights must make image-dependent predictions: several classes predicted, metrics off their extremes.
  const auto refs = read_json(fixture("e2e_ade20k/mmseg_metrics.json"));
  for (const auto& [name, ref] : refs["cases"].items()) {
    int predicted = 0;
    for (const auto& n : ref["predicted_pixels_per_class"]) predicted += n.get<int64_t>() > 1000;
    EXPECT_GE(predicted, 2) << name;
    EXPECT_GT(ref["aAcc"].get<double>(), 5.0) << name;
    EXPECT_LT(ref["aAcc"].get<double>(), 95.0) << name;
  }
}
