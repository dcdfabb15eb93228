// Training (harness/train): mmcv's OneCycle values, the mmseg train pipeline's invariants, a smoke run whose loss
// falls, resume equality with an uninterrupted run, training curves in the store, suite validation of seg data.
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "harness/checkpoint/checkpoint.h"
#include "harness/model/registry.h"
#include "harness/seg/synth.h"
#include "harness/store/store.h"
#include "harness/suite/suite.h"
#include "harness/train/train.h"
#include "kernels/resized_cross_entropy/resized_cross_entropy_op.h"
#include "test_helpers.h"
#include "tests/filled_tensors.h"
#include "tests/image_test_helpers.h"
#include "tests/scripted_random.h"

using namespace locbench;
using namespace locbench::train;

namespace {

// mmcv OneCycleLrUpdaterHook, written out: phases [pct*T - 1, 1, div] and [T - 1, div, 1/final_div] on
// base = max_lr / div, annealing_linear(start, end, pct) = start + (end - start) * pct.
double mmcv_one_cycle(int64_t iter, int64_t total, double max_lr, double pct_start, double div, double final_div) {
  const double base = max_lr / div;
  const double end1 = pct_start * total - 1, end2 = total - 1;
  if (iter <= end1) return base + (base * div - base) * (iter / end1);
  const double pct = (iter - end1) / (end2 - end1);
  return base * div + (base / final_div - base * div) * pct;
}

TEST(OneCycle, MatchesMmcvAtSeveralIterations) {
  OneCycle schedule;  // LocAtViT: max 1e-3, 20k iterations, pct 0.25, div 1e4, final_div 1e4, linear
  for (int64_t iter : {0, 1, 2500, 4998, 4999, 5000, 12345, 19998, 19999})
    EXPECT_NEAR(schedule.lr(iter), mmcv_one_cycle(iter, 20000, 1e-3, 0.25, 1e4, 1e4), 1e-15) << iter;
  EXPECT_DOUBLE_EQ(schedule.lr(0), 1e-7);     // starts at max_lr / div_factor
  EXPECT_DOUBLE_EQ(schedule.lr(4999), 1e-3);  // peak at pct_start * total - 1
  EXPECT_NEAR(schedule.lr(19999), 1e-11, 1e-16);  // ends at max_lr / (div * final_div), up to rounding
  OneCycle small{5e-3, 40, 0.3, 25, 100, false};
  for (int64_t iter = 0; iter < 40; ++iter)
    EXPECT_NEAR(small.lr(iter), mmcv_one_cycle(iter, 40, 5e-3, 0.3, 25, 100), 1e-15) << iter;
}

// mmcv PolyLrUpdaterHook + linear warm-up, written out for SegViT's ADE20K config (2e-5, 160k, power 1, 1500
// warm-up iterations from ratio 1e-6).
TEST(PolySchedule, MatchesMmcvWithLinearWarmup) {
  const PolySchedule schedule;
  auto mmcv = [](int64_t iter) {
    const double regular = 2e-5 * (1.0 - iter / 160000.0);
    if (iter >= 1500) return regular;
    return regular * (1.0 - (1.0 - iter / 1500.0) * (1.0 - 1e-6));
  };
  for (int64_t iter : {0, 1, 749, 1499, 1500, 1501, 80000, 159999})
    EXPECT_NEAR(schedule.lr(iter), mmcv(iter), 1e-18) << iter;
  EXPECT_NEAR(schedule.lr(0), 2e-11, 1e-20);  // warmup_ratio * lr
  const PolySchedule squared{1e-3, 100, 2.0, 0.0, 0, 1e-6};  // COCO-Stuff-10K: power 2, here without warm-up
  EXPECT_NEAR(squared.lr(50), 1e-3 * 0.25, 1e-18);
}

seg::SegExample make_example(int height, int width, const std::function<uint8_t(int, int)>& label_at) {
  seg::SegExample ex;
  ex.image = {width, height, 3, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  ex.label = {width, height, 1, std::vector<uint8_t>(static_cast<size_t>(width) * height)};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) ex.image.pixels[(y * width + x) * 3 + c] = static_cast<uint8_t>((x * 7 + y * 3 + c * 50) % 256);
      ex.label.pixels[y * width + x] = label_at(y, x);
    }
  return ex;
}

TEST(TrainPipeline, OutputHasTheCropSizeAndPadsLabelsWith255) {
  const auto ex = make_example(30, 40, [](int, int x) { return static_cast<uint8_t>(x < 20 ? 0 : 1); });
  TrainPipeline p;
  p.scale = {40, 20};  // keep-ratio resize to at most 20 px high: always smaller than the crop
  p.ratio_range = {1.0, 1.0};
  p.crop_size = {32, 48};
  for (uint64_t seed = 0; seed < 8; ++seed) {
    Rng rng(seed);
    const SegPair out = train_transform(ex, p, rng);
    ASSERT_EQ(out.image.sizes(), (std::vector<int64_t>{3, 32, 48}));
    ASSERT_EQ(out.label.sizes(), (std::vector<int64_t>{32, 48}));
    // 30x40 scaled by min(40/40, 20/30) -> 20x27 (int(40 * 2/3 + 0.5)): the rest is padding.
    EXPECT_TRUE(out.label.narrow(0, 20, 12).eq(255).all().item<bool>());
    EXPECT_TRUE(out.label.narrow(1, 27, 21).eq(255).all().item<bool>());
    EXPECT_TRUE(out.image.narrow(1, 20, 12).eq(0).all().item<bool>());
    EXPECT_TRUE(out.label.narrow(0, 0, 20).narrow(1, 0, 27).le(1).all().item<bool>());
  }
  // A large image is cropped to exactly the crop size, nothing padded.
  const auto big = make_example(100, 120, [](int y, int) { return static_cast<uint8_t>(y % 3); });
  p.scale = {400, 100};
  Rng rng(3);
  const SegPair out = train_transform(big, p, rng);
  EXPECT_EQ(out.label.sizes(), (std::vector<int64_t>{32, 48}));
  EXPECT_TRUE(out.label.le(2).all().item<bool>());
}

TEST(TrainPipeline, EqualsMmsegWithNormalizeAndPadGivenTheSameDraws) {
  // mmseg 0.24's Resize(ratio_range) -> RandomCrop(cat_max_ratio) -> RandomFlip -> PhotoMetricDistortion ->
  // Normalize -> Pad, fed the draws it made (tests/fixtures/make_transform_fixtures.py): float32 outputs bit-exact.
  const auto refs = locbench::testing::read_json(locbench::testing::fixture("transform_references.json"));
  int checked = 0;
  for (const auto& c : refs["cases"]) {
    if (c["name"] != "pipeline") continue;
    const int h = c["src"][0], w = c["src"][1];
    const uint64_t seed = c["seed"];
    seg::SegExample ex{locbench::testing::pattern_image(h, w, seed),
                       locbench::testing::transform_fixture_label(h, w, seed)};
    TrainPipeline p;
    p.scale = {c["img_scale"][0], c["img_scale"][1]};
    p.ratio_range = {refs["ratio_range"][0], refs["ratio_range"][1]};
    p.crop_size = {refs["crop_size"][0], refs["crop_size"][1]};
    p.cat_max_ratio = refs["cat_max_ratio"];
    p.flip_prob = refs["flip_prob"];
    for (int k = 0; k < 3; ++k) p.norm.mean[k] = refs["norm"]["mean"][k], p.norm.std[k] = refs["norm"]["std"][k];
    locbench::testing::ScriptedRandom random(c["draws"]);
    const SegPair out = train_transform(ex, p, random);
    EXPECT_TRUE(random.exhausted());
    const torch::Tensor image = out.image.contiguous(), label = out.label.contiguous();
    ASSERT_EQ(image.scalar_type(), torch::kFloat32);
    ASSERT_EQ(label.scalar_type(), torch::kLong);
    EXPECT_EQ(locbench::testing::sha256_hex(image.data_ptr(), image.nbytes()), c["image_f32_chw"]) << seed;
    EXPECT_EQ(locbench::testing::sha256_hex(label.data_ptr(), label.nbytes()), c["label_i64"]) << seed;
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

std::filesystem::path synthetic_root(const std::string& name) {
  auto root = locbench::testing::temp_dir(name) / "ade";
  seg::SynthOptions o;
  o.count = 12;
  o.min_size = 48;
  o.max_size = 72;
  o.num_classes = 3;
  seg::write_synthetic_ade20k(root.string(), "training", o);
  o.count = 4;
  seg::write_synthetic_ade20k(root.string(), "validation", o);
  return root;
}

TrainOptions small_options(const std::filesystem::path& root) {
  TrainOptions o;
  o.model = "vit_pico_patch8_64";
  o.dataset_kind = "synthetic_ade20k";
  o.root = root.string();
  o.num_classes = 3;
  o.iterations = 40;
  o.batch_size = 4;
  o.lr = 5e-3;
  o.pipeline.scale = {128, 64};
  o.pipeline.crop_size = {48, 48};
  o.eval.scale = std::pair<int64_t, int64_t>{128, 64};
  o.log_interval = 1;
  return o;
}

std::vector<double> series(const std::vector<store::CurvePoint>& curves, const std::string& name) {
  std::vector<double> out;
  for (const auto& c : curves)
    if (c.series == name) out.push_back(c.value);
  return out;
}

double mean(const std::vector<double>& v, size_t from, size_t n) {
  double s = 0;
  for (size_t i = from; i < from + n; ++i) s += v[i];
  return s / n;
}

// The loss head training minimises, as it calls it (the fused CPU op, divided by every pixel of the batch), against
// mmseg 0.24's own BaseDecodeHead loss: resize, then CrossEntropyLoss() with ignore 255 (avg_non_ignore=False).
// Inputs rebuilt bit for bit from tests/fixtures/make_seg_loss_fixture.py's recipe.
TEST(Train, HeadLossIsMmsegsDecodeHeadLoss) {
  const auto refs = locbench::testing::read_json(locbench::testing::fixture("seg_loss_references.json"));
  ASSERT_EQ(refs.at("cases").size(), 3u);
  for (const auto& c : refs.at("cases")) {
    const auto s = c.at("shape").get<std::vector<int64_t>>();
    const int64_t B = s[0], K = s[1], h = s[2], w = s[3], H = s[4], W = s[5];
    const torch::Tensor logits = (locbench::testing::fill_tensor("logits", {B, K, h, w}) * 400).requires_grad_(true);
    const torch::Tensor v = locbench::testing::fill_tensor("label", {B, H, W}).to(torch::kDouble);
    const double scale = static_cast<float>(std::sqrt(3.0 / static_cast<double>(H * W)));
    torch::Tensor label = ((v / scale + 1.0) / 2.0 * static_cast<double>(K + 1)).floor().to(torch::kLong);
    label.masked_fill_(label >= K, 255);
    label[B - 1].slice(0, H / 2).fill_(255);
    ASSERT_EQ(label.eq(255).sum().item<int64_t>(), c.at("ignored").get<int64_t>());
    ASSERT_EQ(locbench::kernels::fused_rejection(logits, label), "");  // the fused kernel is what is checked
    const torch::Tensor loss =
        locbench::kernels::resized_cross_entropy(logits, label, 255, static_cast<double>(label.numel()));
    loss.backward();
    const torch::Tensor grad = logits.grad().to(torch::kDouble);
    const torch::Tensor probe = locbench::testing::fill_tensor("probe", {B, K, h, w}).to(torch::kDouble);
    const double ref_loss = c.at("loss").get<double>(), ref_norm = c.at("grad_norm").get<double>();
    EXPECT_NEAR(loss.item<double>(), ref_loss, 1e-5 * ref_loss) << K << " classes";
    EXPECT_NEAR(grad.norm().item<double>(), ref_norm, 1e-5 * ref_norm) << K << " classes";
    // A dot product with a probe moves with any single wrong entry; its scale is |grad| |probe|.
    EXPECT_NEAR((grad * probe).sum().item<double>(), c.at("grad_dot_probe").get<double>(),
                1e-5 * ref_norm * probe.norm().item<double>())
        << K << " classes";
  }
}

TEST(Train, HeadOnFrozenBackboneLossFalls) {
  // Paired against a control run with lr 0: the same seed draws the same batches, so the difference per iteration
  // is the training alone, not which images an iteration happened to draw (40 iterations of batch 4 are noisy).
  const auto root = synthetic_root("train_smoke");
  std::ostringstream log;
  TrainOptions o = small_options(root);
  const TrainResult r = locbench::train::train(o, log);
  const auto loss = series(r.curves, "loss");
  ASSERT_EQ(loss.size(), 40u);
  o.lr = 0;
  std::ostringstream control_log;
  const auto control = series(locbench::train::train(o, control_log).curves, "loss");
  ASSERT_EQ(control.size(), 40u);
  double difference = 0;
  int lower = 0;
  for (size_t i = 30; i < 40; ++i) difference += (loss[i] - control[i]) / 10, lower += loss[i] < control[i];
  EXPECT_LT(difference, -0.05) << log.str();  // seeds 0-3 give -0.08 to -0.14 (8-9 of 10 lower)
  EXPECT_GE(lower, 7) << log.str();
  EXPECT_EQ(series(r.curves, "miou").size(), 1u);
  EXPECT_GT(r.val.mIoU, 0.0);
  EXPECT_EQ(series(r.curves, "lr").front(), OneCycle({5e-3, 40, 0.25, 1e4, 1e4, false}).lr(0));
}

std::map<std::string, torch::Tensor> read_model(const std::filesystem::path& path) {
  std::map<std::string, torch::Tensor> out;
  for (auto& [k, v] : read_safetensors(path.string()))
    if (k.rfind("curves.", 0) != 0) out[k] = v;
  return out;
}

TEST(Train, ResumeGivesTheSameResultAsAnUninterruptedRun) {
  const auto root = synthetic_root("train_resume");
  TrainOptions o = small_options(root);
  o.task = "scratch";  // both stages: classification pre-training, then the head
  o.cls_iterations = 6;
  o.cls_batch_size = 4;
  o.iterations = 6;
  o.log_interval = 1;
  std::ostringstream log;
  o.work_dir = (root.parent_path() / "straight").string();
  const TrainResult straight = locbench::train::train(o, log);

  o.work_dir = (root.parent_path() / "resumed").string();
  o.stop_after = 3;  // interrupted in the classification stage
  EXPECT_TRUE(locbench::train::train(o, log).stopped);
  o.resume = true;  // then in the segmentation stage
  EXPECT_TRUE(locbench::train::train(o, log).stopped);
  o.stop_after = 0;
  const TrainResult resumed = locbench::train::train(o, log);
  ASSERT_FALSE(resumed.stopped) << log.str();

  const auto a = read_model(std::filesystem::path(straight.checkpoint));
  const auto b = read_model(std::filesystem::path(resumed.checkpoint));
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, tensor] : a) EXPECT_TRUE(tensor.equal(b.at(key))) << key;
  EXPECT_EQ(straight.val.mIoU, resumed.val.mIoU);
  EXPECT_EQ(series(straight.curves, "loss"), series(resumed.curves, "loss"));
  EXPECT_EQ(series(straight.curves, "cls_loss"), series(resumed.curves, "cls_loss"));
  EXPECT_NE(log.str().find("resumed at iteration 3"), std::string::npos) << log.str();
}

TEST(Train, CurvesAreStoredWithTheirCell) {
  const auto dir = locbench::testing::temp_dir("train_curves");
  store::Store db((dir / "bench.db").string());
  store::RunInfo info;
  info.suite_name = "s", info.suite_json = "{}", info.suite_hash = "h";
  const int64_t run = db.begin_run(info);
  store::Cell cell;
  cell.key = "k", cell.model = "vit_pico_patch8_64", cell.measurement = "train";
  cell.results = {{"miou", 12.5, "%", "whole"}};
  cell.curves = {{"loss", 1, 1.5}, {"loss", 2, 1.25}, {"miou", 2, NAN}};
  db.record_cell(run, cell);
  const auto curves = db.curves(run, "k");
  ASSERT_EQ(curves.size(), 3u);
  EXPECT_EQ(curves[0].series, "loss");
  EXPECT_EQ(curves[1].step, 2);
  EXPECT_DOUBLE_EQ(curves[1].value, 1.25);
  EXPECT_TRUE(std::isnan(curves[2].value));
  EXPECT_GE(store::schema_version(), 2);  // curves came with version 2
}

// SegViT trained end to end with its ATM loss (task segmentor), at CPU scale.
TrainOptions segmentor_options(const std::filesystem::path& root) {
  TrainOptions o;
  o.task = "segmentor";
  o.model = "segvit_atm_vit_pico_64";
  apply_recipe(o, Registry::instance().find(o.model)->config);
  o.dataset_kind = "synthetic_ade20k";
  o.root = root.string();
  o.num_classes = 3;
  o.iterations = 30;
  o.batch_size = 4;
  o.warmup_iters = 5;
  o.log_interval = 1;
  o.eval.limit = 2;
  return o;
}

TEST(Train, SegmentorRecipeComesFromTheVariant) {
  TrainOptions o;
  o.task = "segmentor";
  apply_recipe(o, Registry::instance().find("segvit_atm_vit_large_ade20k_640")->config);
  EXPECT_EQ(o.pipeline.crop_size, (std::array<int64_t, 2>{640, 640}));
  EXPECT_EQ(o.pipeline.scale, (std::pair<int64_t, int64_t>{2048, 640}));
  EXPECT_EQ(o.eval.mode, "slide");
  EXPECT_EQ(o.eval.stride, (std::array<int64_t, 2>{608, 608}));
  EXPECT_DOUBLE_EQ(o.pipeline.norm.mean[0], 127.5);
  EXPECT_DOUBLE_EQ(o.lr, 2e-5);
  EXPECT_DOUBLE_EQ(o.clip_grad, 35);
  TrainOptions pc;
  pc.task = "segmentor";
  apply_recipe(pc, Registry::instance().find("segvit_shrunk_vit_large_pcontext_480")->config);
  EXPECT_EQ(pc.eval.min_size, 480);
  EXPECT_EQ(pc.eval.stride, (std::array<int64_t, 2>{320, 320}));
  EXPECT_DOUBLE_EQ(pc.weight_decay, 0.03);
  TrainOptions coco;
  coco.task = "segmentor";
  apply_recipe(coco, Registry::instance().find("segvit_atm_vit_large_cocostuff10k_512")->config);
  EXPECT_DOUBLE_EQ(coco.power, 2.0);
  EXPECT_EQ(coco.eval.stride, (std::array<int64_t, 2>{341, 341}));
}

TEST(Train, SegmentorLossFallsAndItsCheckpointScoresTheSame) {
  const auto root = synthetic_root("train_segmentor");
  TrainOptions o = segmentor_options(root);
  o.work_dir = (root.parent_path() / "work").string();
  std::ostringstream log;
  const TrainResult r = locbench::train::train(o, log);
  const auto loss = series(r.curves, "loss");
  ASSERT_EQ(loss.size(), 30u) << log.str();
  EXPECT_LT(mean(loss, 24, 6), 0.8 * mean(loss, 0, 6)) << log.str();
  // Warm-up then poly: the logged base rate rises over 5 iterations, then falls.
  const auto lr = series(r.curves, "lr");
  EXPECT_LT(lr[0], lr[4]);
  EXPECT_GT(lr[5], lr[29]);
  // The checkpoint holds the model under its own keys and scores what the trained model scored.
  const auto tensors = read_model(r.checkpoint);
  EXPECT_TRUE(tensors.count("backbone.layers.0.ln1.weight"));
  EXPECT_TRUE(tensors.count("decode_head.q.weight"));
  const auto val = open_seg_dataset("synthetic_ade20k", root.string(), false, 3);
  auto model = segmentation_model(o.model, "", r.checkpoint, val);
  EXPECT_EQ(evaluate(*model, val, o.eval).compute().mIoU, r.val.mIoU);
  // A backbone is not a segmentor.
  o.model = "vit_pico_patch8_64";
  o.work_dir.clear();
  EXPECT_THROW(locbench::train::train(o, log), std::invalid_argument);
}

TEST(Train, SegmentorResumesExactly) {
  const auto root = synthetic_root("train_segmentor_resume");
  TrainOptions o = segmentor_options(root);
  o.iterations = 6;
  std::ostringstream log;
  o.work_dir = (root.parent_path() / "straight").string();
  const TrainResult straight = locbench::train::train(o, log);
  o.work_dir = (root.parent_path() / "resumed").string();
  o.stop_after = 3;
  EXPECT_TRUE(locbench::train::train(o, log).stopped);
  o.resume = true;
  o.stop_after = 0;
  const TrainResult resumed = locbench::train::train(o, log);
  ASSERT_FALSE(resumed.stopped) << log.str();
  const auto a = read_model(std::filesystem::path(straight.checkpoint));
  const auto b = read_model(std::filesystem::path(resumed.checkpoint));
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, tensor] : a) EXPECT_TRUE(tensor.equal(b.at(key))) << key;
  EXPECT_EQ(series(straight.curves, "loss"), series(resumed.curves, "loss"));
}

TEST(SegSuite, MissingAde20kRootNamesTheDatasetThePathAndTheVariable) {
  ::unsetenv("ADE20K_ROOT");
  const auto dir = locbench::testing::temp_dir("seg_suite");
  const auto path = dir / "ade.json";
  locbench::testing::write_bytes(path, R"({"name": "ade", "models": ["vit_pico_patch8_64"],
    "datasets": [{"name": "ade20k", "kind": "ade20k", "root": "${ADE20K_ROOT:-/nonexistent/ADEChallengeData2016}"}],
    "measurements": [{"kind": "miou", "dataset": "ade20k", "train": {"iterations": 10}}]})");
  const auto errors = suite::validate_suite(path.string());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], path.string() + ": datasets[0].root: dataset 'ade20k': no such directory "
                                       "'/nonexistent/ADEChallengeData2016' (set ADE20K_ROOT)");
  // The shipped protocol suite says the same without the data (and names each missing backbone checkpoint).
  const auto shipped = suite::validate_suite(locbench::testing::source_dir() + "/suites/ade20k.json");
  int dataset_lines = 0;
  for (const auto& line : shipped)
    dataset_lines += line.find("datasets[0].root: dataset 'ade20k': no such directory") != std::string::npos &&
                     line.find("(set ADE20K_ROOT)") != std::string::npos;
  EXPECT_EQ(dataset_lines, 1);
}

TEST(SegSuite, MiouNeedsAHeadOrTrainSettingsAndASegmentationDataset) {
  const auto dir = locbench::testing::temp_dir("seg_suite_opts");
  const auto path = dir / "s.json";
  locbench::testing::write_bytes(path, R"({"name": "s", "models": ["vit_pico_patch8_64"],
    "datasets": [{"name": "syn", "kind": "synthetic_ade20k", "root": ")" + (dir / "syn").string() + R"(",
                  "generate": {"classes": 3, "count": 8}},
                 {"name": "img", "kind": "imagefolder", "root": ")" + dir.string() + R"("}],
    "measurements": [{"kind": "miou", "dataset": "syn"}, {"kind": "train", "name": "t", "dataset": "img"},
                     {"kind": "miou", "name": "m2", "dataset": "syn", "mode": "tiles", "train": {"task": "x"}}]})");
  const auto errors = suite::validate_suite(path.string());
  std::string all;
  for (const auto& e : errors) all += e + "\n";
  EXPECT_NE(all.find("measurements[0]: 'miou' of backbone 'vit_pico_patch8_64' needs \"head\""), std::string::npos)
      << all;
  EXPECT_NE(all.find("measurements[1].dataset: 'train' needs a segmentation dataset"), std::string::npos) << all;
  EXPECT_NE(all.find("measurements[2].mode: expected \"whole\" or \"slide\""), std::string::npos) << all;
  EXPECT_NE(all.find("measurements[2].train.task"), std::string::npos) << all;
  EXPECT_EQ(errors.size(), 4u) << all;
}

TEST(SegSuite, SegmentationModelsAreScoredAsTheyAreAndTrainAsSegmentors) {
  const auto dir = locbench::testing::temp_dir("seg_suite_segvit");
  const auto path = dir / "s.json";
  locbench::testing::write_bytes(path, R"({"name": "s", "models": ["segvit_atm_vit_pico_64"],
    "datasets": [{"name": "syn", "kind": "synthetic_ade20k", "root": ")" + (dir / "syn").string() + R"(",
                  "generate": {"classes": 3, "count": 8}}],
    "measurements": [{"kind": "miou", "dataset": "syn"},
                     {"kind": "train", "name": "t", "dataset": "syn", "train": {"task": "head"}},
                     {"kind": "train", "name": "u", "dataset": "syn", "train": {"task": "segmentor", "power": 2}}]})");
  const auto errors = suite::validate_suite(path.string());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], path.string() + ": measurements[1].train.task: segmentation model 'segvit_atm_vit_pico_64' "
                                       "trains with task \"segmentor\"");
}

TEST(SmallVariants, AreRegisteredWithPatch8) {
  for (const char* name : {"vit_pico_patch8_64", "vit_nano_patch8_96", "localvit_pico_patch8_64", "glnet_pico_64",
                           "segvit_atm_vit_pico_64"}) {
    const auto* info = Registry::instance().find(name);
    ASSERT_NE(info, nullptr) << name;
    const int64_t stride = std::string(name).rfind("glnet", 0) == 0 ? 16 : 8;  // GLNet: its stride-16 stage
    EXPECT_EQ(info->config.patch_size, stride) << name;
    EXPECT_EQ(info->config.crop_pct, 1.0) << name;
    auto model = create_model(name);
    const int64_t size = info->config.input_size[1];
    EXPECT_EQ(model->forward_dense(torch::zeros({1, 3, size, size})).size(2), size / stride) << name;
  }
}

}  // namespace
