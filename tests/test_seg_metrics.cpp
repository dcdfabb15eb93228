// Torch-free segmentation tests: mmseg IoUMetric on hand-computed cases, reduce_zero_label, the slide grid and
// keep-ratio rescale against mmseg's formulas, dataset readers and eval-seg on generated folders.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "harness/seg/datasets.h"
#include "harness/seg/eval_seg.h"
#include "harness/seg/iou_metric.h"
#include "harness/seg/sliding_window.h"
#include "harness/seg/synth.h"
#include "test_helpers.h"

namespace fs = std::filesystem;
using namespace locbench;
using namespace locbench::seg;

namespace {

data::Image label_image(int width, int height, std::vector<uint8_t> pixels) {
  return data::Image{width, height, 1, std::move(pixels)};
}

// label [0,0,1,1,255,2], pred [0,1,1,1,0,0], K=3: I=[1,2,0], P=[2,3,0], L=[2,2,1], U=[3,3,1].
const std::vector<uint8_t> kLabel{0, 0, 1, 1, 255, 2};
const std::vector<uint8_t> kPred{0, 1, 1, 1, 0, 0};

template <typename T>
std::string message_of(T&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(IoUMetric, AccumulatesAreasAndDropsIgnoredPixels) {
  IoUMetric metric(3);
  metric.process(kPred.data(), kLabel.data(), kLabel.size());
  EXPECT_EQ(metric.area_intersect(), (std::vector<int64_t>{1, 2, 0}));
  EXPECT_EQ(metric.area_pred_label(), (std::vector<int64_t>{2, 3, 0}));
  EXPECT_EQ(metric.area_label(), (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(metric.area_union(), (std::vector<int64_t>{3, 3, 1}));
  const IoUResult r = metric.compute();
  EXPECT_NEAR(r.iou[0], 100.0 / 3, 1e-9);
  EXPECT_NEAR(r.iou[1], 200.0 / 3, 1e-9);
  EXPECT_DOUBLE_EQ(r.iou[2], 0.0);
  EXPECT_DOUBLE_EQ(r.acc[0], 50.0);
  EXPECT_DOUBLE_EQ(r.acc[1], 100.0);
  EXPECT_DOUBLE_EQ(r.acc[2], 0.0);
  EXPECT_DOUBLE_EQ(r.aAcc, 60.0);
  EXPECT_NEAR(r.mIoU, 100.0 / 3, 1e-9);
  EXPECT_DOUBLE_EQ(r.mAcc, 50.0);
}

TEST(IoUMetric, AbsentClassIsNaNAndExcludedFromMeans) {
  IoUMetric metric(4);
  metric.process(kPred.data(), kLabel.data(), kLabel.size());
  const IoUResult r = metric.compute();
  EXPECT_TRUE(std::isnan(r.iou[3]));
  EXPECT_TRUE(std::isnan(r.acc[3]));
  EXPECT_NEAR(r.mIoU, 100.0 / 3, 1e-9);
  EXPECT_DOUBLE_EQ(r.mAcc, 50.0);
}

TEST(IoUMetric, PredictingAClassAbsentFromLabelsGivesIoUZero) {
  std::vector<uint8_t> pred = kPred;
  pred[5] = 3;  // the class-2 pixel predicted as class 3, which no label has
  IoUMetric metric(4);
  metric.process(pred.data(), kLabel.data(), kLabel.size());
  const IoUResult r = metric.compute();
  EXPECT_DOUBLE_EQ(r.iou[3], 0.0);
  EXPECT_TRUE(std::isnan(r.acc[3]));
  EXPECT_DOUBLE_EQ(r.iou[0], 50.0);  // I=1, P=1, L=2
  EXPECT_NEAR(r.mIoU, (50.0 + 200.0 / 3 + 0 + 0) / 4, 1e-9);
  EXPECT_DOUBLE_EQ(r.mAcc, 50.0);
}

TEST(IoUMetric, PredictionsOutsideTheClassRangeAreNotCounted) {
  const std::vector<uint8_t> label{0, 1}, pred{7, 1};
  IoUMetric metric(2);
  metric.process(pred.data(), label.data(), label.size());
  EXPECT_EQ(metric.area_pred_label(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(metric.area_union(), (std::vector<int64_t>{1, 1}));
  EXPECT_DOUBLE_EQ(metric.compute().iou[0], 0.0);
  EXPECT_DOUBLE_EQ(metric.compute().aAcc, 50.0);
}

TEST(IoUMetric, SumsStatisticsOverImagesNotPerImageIoU) {
  // Image 1: class 0 perfect on 1 pixel; image 2: class 0 wrong on 3 pixels. Per-image mean would be 50.
  const std::vector<uint8_t> l1{0}, p1{0}, l2{0, 0, 0}, p2{1, 1, 1};
  IoUMetric metric(2);
  metric.process(p1.data(), l1.data(), 1);
  metric.process(p2.data(), l2.data(), 3);
  EXPECT_DOUBLE_EQ(metric.compute().iou[0], 25.0);
}

TEST(IoUMetric, MergeEqualsProcessingEverythingInOne) {
  IoUMetric whole(3), a(3), b(3);
  whole.process(kPred.data(), kLabel.data(), 6);
  a.process(kPred.data(), kLabel.data(), 2);
  b.process(kPred.data() + 2, kLabel.data() + 2, 4);
  a.merge(b);
  EXPECT_EQ(a.area_intersect(), whole.area_intersect());
  EXPECT_EQ(a.area_union(), whole.area_union());
  EXPECT_EQ(a.area_pred_label(), whole.area_pred_label());
  EXPECT_EQ(a.area_label(), whole.area_label());
  EXPECT_THROW(a.merge(IoUMetric(4)), std::invalid_argument);
}

// What the ranks of a multi-process evaluation sum: the four areas, and back.
TEST(IoUMetric, StatisticsSummedElsewhereComputeTheWholeResult) {
  IoUMetric whole(3), a(3), b(3);
  whole.process(kPred.data(), kLabel.data(), 6);
  a.process(kPred.data(), kLabel.data(), 2);
  b.process(kPred.data() + 2, kLabel.data() + 2, 4);
  auto sum = a.statistics();
  ASSERT_EQ(sum.size(), 12u);
  const auto other = b.statistics();
  for (size_t i = 0; i < sum.size(); ++i) sum[i] += other[i];
  IoUMetric reduced(3);
  reduced.set_statistics(sum);
  EXPECT_EQ(reduced.statistics(), whole.statistics());
  EXPECT_EQ(reduced.compute().mIoU, whole.compute().mIoU);
  EXPECT_THROW(reduced.set_statistics({1, 2, 3}), std::invalid_argument);
}

TEST(ReduceZeroLabel, MapsZeroAndTopToIgnoreAndShiftsTheRest) {
  std::vector<uint8_t> label{0, 1, 2, 150, 254, 255};
  reduce_zero_label(label);
  EXPECT_EQ(label, (std::vector<uint8_t>{255, 0, 1, 149, 253, 255}));
}

TEST(SlideGrid, MatchesMmsegForTypicalAde20kSizes) {
  // 512 x 683, crop 512, stride 341: h_grids = 340 // 341 + 1 = 1, w_grids = 511 // 341 + 1 = 2.
  SlideGrid g = slide_grid(512, 683, 512, 512, 341, 341);
  EXPECT_EQ(g.h_grids, 1);
  EXPECT_EQ(g.w_grids, 2);
  ASSERT_EQ(g.windows.size(), 2u);
  EXPECT_EQ(g.windows[0], (SlideWindow{0, 512, 0, 512}));
  EXPECT_EQ(g.windows[1], (SlideWindow{0, 512, 171, 683}));  // 341..853 clipped to 683, shifted back to 171
  // 512 x 2048: w_grids = 1876 // 341 + 1 = 6; the last window starts at 2048 - 512.
  g = slide_grid(512, 2048, 512, 512, 341, 341);
  EXPECT_EQ(g.h_grids * g.w_grids, 6);
  EXPECT_EQ(g.windows[4], (SlideWindow{0, 512, 1364, 1876}));
  EXPECT_EQ(g.windows[5], (SlideWindow{0, 512, 1536, 2048}));
  // Smaller than the crop: one window, the image itself.
  g = slide_grid(300, 300, 512, 512, 341, 341);
  ASSERT_EQ(g.windows.size(), 1u);
  EXPECT_EQ(g.windows[0], (SlideWindow{0, 300, 0, 300}));
  // 1000 x 700 with PASCAL-Context's crop 480 stride 320: h = 839 // 320 + 1 = 3, w = 539 // 320 + 1 = 2.
  g = slide_grid(1000, 700, 480, 480, 320, 320);
  EXPECT_EQ(g.h_grids, 3);
  EXPECT_EQ(g.w_grids, 2);
  EXPECT_EQ(g.windows.back(), (SlideWindow{520, 1000, 220, 700}));
}

TEST(SlideGrid, WindowsCoverEveryPixelAndShareOneShape) {
  for (auto [h, w] : {std::pair<int64_t, int64_t>{512, 683}, {517, 1999}, {64, 64}, {1, 900}}) {
    const SlideGrid g = slide_grid(h, w, 512, 512, 341, 341);
    std::vector<int> count(static_cast<size_t>(h * w), 0);
    for (const SlideWindow& win : g.windows) {
      EXPECT_EQ(win.height(), std::min<int64_t>(512, h));
      EXPECT_EQ(win.width(), std::min<int64_t>(512, w));
      for (int64_t y = win.y1; y < win.y2; ++y)
        for (int64_t x = win.x1; x < win.x2; ++x) ++count[y * w + x];
    }
    for (int c : count) ASSERT_GT(c, 0);
  }
}

TEST(RescaleSize, FollowsMmcvKeepRatioRule) {
  EXPECT_EQ(rescale_size(512, 683, {2048, 512}), (std::pair<int64_t, int64_t>{512, 683}));
  EXPECT_EQ(rescale_size(375, 500, {2048, 512}), (std::pair<int64_t, int64_t>{512, 683}));  // 500 * 512/375 = 682.7
  EXPECT_EQ(rescale_size(100, 3000, {2048, 512}), (std::pair<int64_t, int64_t>{68, 2048}));  // long side binds
  EXPECT_EQ(rescale_size(333, 500, {520, 520}), (std::pair<int64_t, int64_t>{346, 520}));   // 333 * 1.04 = 346.3
}

// mmseg 0.x Resize(min_size): short side max(min(scale), min_size), long side unbounded (SegViT's PC and COCO-10K).
TEST(RescaleSize, MinSizeSetsTheShortSideAndLiftsTheLongEdgeBound) {
  EXPECT_EQ(rescale_size(333, 500, {520, 520}, 480), (std::pair<int64_t, int64_t>{520, 781}));  // 500*520/333 = 780.8
  EXPECT_EQ(rescale_size(500, 333, {520, 520}, 480), (std::pair<int64_t, int64_t>{781, 520}));
  EXPECT_EQ(rescale_size(100, 3000, {2048, 512}, 512), (std::pair<int64_t, int64_t>{512, 15360}));
  EXPECT_EQ(rescale_size(300, 400, {2048, 256}, 512), (std::pair<int64_t, int64_t>{512, 683}));  // min_size binds
}

// --- Synthetic data and dataset readers.

TEST(Synth, IsDeterministicFromTheSeedAndUsesAdeEncoding) {
  SynthOptions o;
  o.num_classes = 5;
  o.seed = 7;
  const SynthSample a = synth_sample(o, 3), b = synth_sample(o, 3);
  EXPECT_EQ(a.image.pixels, b.image.pixels);
  EXPECT_EQ(a.label.pixels, b.label.pixels);
  o.seed = 8;
  EXPECT_NE(synth_sample(o, 3).image.pixels, a.image.pixels);
  EXPECT_GE(a.image.width, o.min_size);
  EXPECT_LE(a.image.width, o.max_size);
  for (uint8_t v : a.label.pixels) EXPECT_LE(v, 5);
}

TEST(Synth, ClassColoursOverlapSoOnlyTextureSeparatesClasses) {
  // Mean colour per class over many images: every class draws colours from one distribution, so the class
  // means lie close together, while the class textures differ.
  SynthOptions o;
  o.num_classes = 3;
  o.other_fraction = 0;
  std::vector<double> sum(4, 0), n(4, 0);
  for (int64_t i = 0; i < 40; ++i) {
    const SynthSample s = synth_sample(o, i);
    for (size_t p = 0; p < s.label.pixels.size(); ++p) {
      sum[s.label.pixels[p]] += s.image.pixels[p * 3];
      n[s.label.pixels[p]] += 1;
    }
  }
  for (int k = 1; k <= 3; ++k) {
    ASSERT_GT(n[k], 0);
    EXPECT_NEAR(sum[k] / n[k], 127.5, 30) << "class " << k;
  }
}

// The "period" pattern: stripes whose period alone is the class, at an orientation drawn per region. Along any line
// a region's stripes change colour about twice per period, so the transition rate falls with the class.
TEST(Synth, PeriodPatternSetsTheClassByStripePeriod) {
  SynthOptions o;
  o.num_classes = 3;
  o.pattern = "period";
  o.period = 6;
  o.period_ratio = 2;
  o.other_fraction = 0;
  o.regions = 1;  // one region, one class per image
  o.min_size = o.max_size = 96;
  std::map<int, std::vector<double>> rate;  // colour changes per pixel along rows and columns, by class
  for (int64_t i = 0; i < 30; ++i) {
    const SynthSample s = synth_sample(o, i);
    const int k = s.label.pixels[0];
    double changes = 0, steps = 0;
    auto bright = [&](int x, int y) {
      const size_t p = (static_cast<size_t>(y) * 96 + x) * 3;
      return s.image.pixels[p] + s.image.pixels[p + 1] + s.image.pixels[p + 2];
    };
    // Two colours per region: a change is a jump by more than half their difference.
    int lo = 765, hi = 0;
    for (int y = 0; y < 96; ++y)
      for (int x = 0; x < 96; ++x) lo = std::min(lo, bright(x, y)), hi = std::max(hi, bright(x, y));
    if (hi - lo < 120) continue;  // two colours too close to tell apart in this image
    for (int y = 0; y < 96; ++y)
      for (int x = 1; x < 96; ++x, ++steps) changes += std::abs(bright(x, y) - bright(x - 1, y)) > (hi - lo) / 2;
    for (int x = 0; x < 96; ++x)
      for (int y = 1; y < 96; ++y, ++steps) changes += std::abs(bright(x, y) - bright(x, y - 1)) > (hi - lo) / 2;
    rate[k].push_back(changes / steps);
  }
  auto mean = [](const std::vector<double>& v) { double s = 0; for (double x : v) s += x; return s / v.size(); };
  ASSERT_TRUE(rate.count(1) && rate.count(2) && rate.count(3));
  EXPECT_GT(mean(rate[1]), 1.5 * mean(rate[2]));
  EXPECT_GT(mean(rate[2]), 1.5 * mean(rate[3]));
  o.pattern = "spots";
  EXPECT_THROW(synth_sample(o, 0), std::invalid_argument);
}

TEST(Ade20kReader, PairsSyntheticImagesWithLabelsAndReducesZero) {
  const fs::path root = locbench::testing::temp_dir("seg_ade") / "ADEChallengeData2016";
  SynthOptions o;
  o.count = 3;
  o.num_classes = 4;
  write_synthetic_ade20k(root.string(), "validation", o);
  write_synthetic_ade20k(root.string(), "training", o);
  const SegDataset ds = ade20k(root.string(), "validation");
  EXPECT_EQ(ds.num_classes, 150);
  EXPECT_TRUE(ds.reduce_zero_label);
  ASSERT_EQ(ds.samples.size(), 3u);
  EXPECT_EQ(ds.samples[0].stem, "ADE_val_00000001");
  const SegExample ex = load_sample(ds, ds.samples[0]);
  const SynthSample truth = synth_sample(o, 0);
  EXPECT_EQ(ex.image.width, truth.image.width);
  ASSERT_EQ(ex.label.pixels.size(), truth.label.pixels.size());
  for (size_t p = 0; p < truth.label.pixels.size(); ++p)
    ASSERT_EQ(ex.label.pixels[p], truth.label.pixels[p] == 0 ? 255 : truth.label.pixels[p] - 1);
  EXPECT_EQ(ade20k(root.string(), "training").samples.size(), 3u);
}

TEST(Ade20kReader, MissingRootNamesDatasetPathAndVariable) {
  const std::string msg = message_of([] { ade20k("/nonexistent/ADEChallengeData2016"); });
  EXPECT_NE(msg.find("ADE20K"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/nonexistent/ADEChallengeData2016/images/validation"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ADE20K_ROOT"), std::string::npos) << msg;
}

TEST(Ade20kReader, ImageWithoutLabelAndSizeMismatchNameTheFile) {
  const fs::path root = locbench::testing::temp_dir("seg_ade_bad");
  SynthOptions o;
  o.count = 2;
  write_synthetic_ade20k(root.string(), "validation", o);
  const fs::path label = root / "annotations/validation/ADE_val_00000002.png";
  data::write_png(label.string(), label_image(3, 2, {1, 1, 1, 1, 1, 1}));
  const SegDataset ds = ade20k(root.string());
  std::string msg = message_of([&] { load_sample(ds, ds.samples[1]); });
  EXPECT_NE(msg.find(label.string()), std::string::npos) << msg;
  fs::remove(label);
  msg = message_of([&] { ade20k(root.string()); });
  EXPECT_NE(msg.find("ADE_val_00000002.jpg"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no label"), std::string::npos) << msg;
}

TEST(Ade20kReader, CorruptImageNamesTheFile) {
  const fs::path root = locbench::testing::temp_dir("seg_ade_corrupt");
  SynthOptions o;
  o.count = 1;
  write_synthetic_ade20k(root.string(), "validation", o);
  const fs::path image = root / "images/validation/ADE_val_00000001.jpg";
  locbench::testing::write_bytes(image, "not a jpeg");
  const SegDataset ds = ade20k(root.string());
  const std::string msg = message_of([&] { load_sample(ds, ds.samples[0]); });
  EXPECT_NE(msg.find(image.string()), std::string::npos) << msg;
}

TEST(CocoStuffReader, PairsLabelTrainIdsAndKeepsLabels) {
  const fs::path root = locbench::testing::temp_dir("seg_coco");
  fs::create_directories(root / "images/val2017");
  fs::create_directories(root / "annotations/val2017");
  data::write_jpeg((root / "images/val2017/000000000139.jpg").string(), data::Image{2, 1, 3, {9, 9, 9, 9, 9, 9}});
  data::write_png((root / "annotations/val2017/000000000139_labelTrainIds.png").string(), label_image(2, 1, {0, 255}));
  data::write_png((root / "annotations/val2017/000000000139.png").string(), label_image(2, 1, {7, 7}));  // original ids
  const SegDataset ds = coco_stuff164k(root.string());
  EXPECT_EQ(ds.num_classes, 171);
  ASSERT_EQ(ds.samples.size(), 1u);
  EXPECT_EQ(load_sample(ds, ds.samples[0]).label.pixels, (std::vector<uint8_t>{0, 255}));
  EXPECT_NE(message_of([&] { coco_stuff164k(root.string(), "train2017"); }).find("COCO-Stuff-164k"),
            std::string::npos);
}

TEST(PascalContextReader, ReadsTheSplitListAndNamesMissingFiles) {
  const fs::path root = locbench::testing::temp_dir("seg_pc") / "VOC2010";
  fs::create_directories(root / "JPEGImages");
  fs::create_directories(root / "SegmentationClassContext");
  fs::create_directories(root / "ImageSets/SegmentationContext");
  data::write_jpeg((root / "JPEGImages/2008_000002.jpg").string(), data::Image{2, 1, 3, {9, 9, 9, 9, 9, 9}});
  data::write_png((root / "SegmentationClassContext/2008_000002.png").string(), label_image(2, 1, {0, 59}));
  locbench::testing::write_bytes(root / "ImageSets/SegmentationContext/val.txt", "2008_000002\n");
  const SegDataset ds = pascal_context_59(root.string());
  EXPECT_EQ(ds.num_classes, 59);
  ASSERT_EQ(ds.samples.size(), 1u);
  EXPECT_EQ(load_sample(ds, ds.samples[0]).label.pixels, (std::vector<uint8_t>{255, 58}));
  locbench::testing::write_bytes(root / "ImageSets/SegmentationContext/val.txt", "2008_000002\n2008_000003\n");
  const std::string msg = message_of([&] { pascal_context_59(root.string()); });
  EXPECT_NE(msg.find("2008_000003.jpg"), std::string::npos) << msg;
}

TEST(PascalContextReader, SixtyClassesKeepTheBackground) {
  const fs::path root = locbench::testing::temp_dir("seg_pc60") / "VOC2010";
  fs::create_directories(root / "JPEGImages");
  fs::create_directories(root / "SegmentationClassContext");
  fs::create_directories(root / "ImageSets/SegmentationContext");
  data::write_jpeg((root / "JPEGImages/2008_000002.jpg").string(), data::Image{2, 1, 3, {9, 9, 9, 9, 9, 9}});
  data::write_png((root / "SegmentationClassContext/2008_000002.png").string(), label_image(2, 1, {0, 59}));
  locbench::testing::write_bytes(root / "ImageSets/SegmentationContext/val.txt", "2008_000002\n");
  const SegDataset ds = pascal_context_60(root.string());
  EXPECT_EQ(ds.name, "PASCAL-Context-60");
  EXPECT_EQ(ds.num_classes, 60);
  ASSERT_EQ(ds.samples.size(), 1u);
  EXPECT_EQ(load_sample(ds, ds.samples[0]).label.pixels, (std::vector<uint8_t>{0, 59}));
}

TEST(CocoStuffReader, TenKReducesZeroLabel) {
  const fs::path root = locbench::testing::temp_dir("seg_coco10k");
  fs::create_directories(root / "images/test2014");
  fs::create_directories(root / "annotations/test2014");
  data::write_jpeg((root / "images/test2014/COCO_train2014_000000000077.jpg").string(),
                   data::Image{2, 1, 3, {9, 9, 9, 9, 9, 9}});
  data::write_png((root / "annotations/test2014/COCO_train2014_000000000077_labelTrainIds.png").string(),
                  label_image(2, 1, {0, 5}));
  const SegDataset ds = coco_stuff10k(root.string());
  EXPECT_EQ(ds.num_classes, 171);
  ASSERT_EQ(ds.samples.size(), 1u);
  EXPECT_EQ(load_sample(ds, ds.samples[0]).label.pixels, (std::vector<uint8_t>{255, 4}));
  EXPECT_NE(message_of([&] { coco_stuff10k(root.string(), "train2014"); }).find("COCO-Stuff-10k"), std::string::npos);
}

// --- eval-seg.

class EvalSegTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = locbench::testing::temp_dir("seg_eval");
    fs::create_directories(dir_ / "gt");
    fs::create_directories(dir_ / "pred");
    // ADE encoding: 0 = other. Two images; after reduce the labels are those of kLabel split in two.
    data::write_png((dir_ / "gt/a.png").string(), label_image(3, 1, {1, 1, 2}));
    data::write_png((dir_ / "gt/b.png").string(), label_image(3, 1, {2, 0, 3}));
    data::write_png((dir_ / "pred/a.png").string(), label_image(3, 1, {0, 1, 1}));
    data::write_png((dir_ / "pred/b.png").string(), label_image(3, 1, {1, 0, 0}));
    options_ = {(dir_ / "pred").string(), (dir_ / "gt").string(), 4, true, true};
  }
  fs::path dir_;
  EvalSegOptions options_;
};

TEST_F(EvalSegTest, ScoresFoldersAsJsonWithNaNAsNull) {
  std::ostringstream out, err;
  ASSERT_EQ(eval_seg(options_, out, err), 0) << err.str();
  const auto j = nlohmann::json::parse(out.str());
  // Same pixels as kLabel/kPred with 4 classes: IoU [33.33, 66.67, 0, NaN].
  EXPECT_DOUBLE_EQ(j["aAcc"].get<double>(), 60.0);
  EXPECT_DOUBLE_EQ(j["mIoU"].get<double>(), 33.33);
  EXPECT_DOUBLE_EQ(j["mAcc"].get<double>(), 50.0);
  ASSERT_EQ(j["per_class"].size(), 4u);
  EXPECT_DOUBLE_EQ(j["per_class"][1]["IoU"].get<double>(), 66.67);
  EXPECT_TRUE(j["per_class"][3]["IoU"].is_null());
  EXPECT_TRUE(j["per_class"][3]["Acc"].is_null());
  EXPECT_EQ(j["per_class"][2]["class"].get<int>(), 2);
}

TEST_F(EvalSegTest, TextTableListsClassesAndSummary) {
  options_.json = false;
  std::ostringstream out, err;
  ASSERT_EQ(eval_seg(options_, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("mIoU 33.33"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("nan"), std::string::npos) << out.str();
}

TEST_F(EvalSegTest, MissingPredictionIsAnErrorNamingTheFile) {
  fs::remove(dir_ / "pred/b.png");
  std::ostringstream out, err;
  EXPECT_EQ(eval_seg(options_, out, err), 2);  // unusable input
  EXPECT_NE(err.str().find((dir_ / "pred/b.png").string()), std::string::npos) << err.str();
  EXPECT_TRUE(out.str().empty());
}

TEST_F(EvalSegTest, CorruptOrMisSizedPredictionIsAnErrorNamingTheFile) {
  locbench::testing::write_bytes(dir_ / "pred/b.png", "garbage");
  std::ostringstream out, err;
  EXPECT_EQ(eval_seg(options_, out, err), 2);
  EXPECT_NE(err.str().find((dir_ / "pred/b.png").string()), std::string::npos) << err.str();
  data::write_png((dir_ / "pred/b.png").string(), label_image(2, 1, {0, 0}));
  std::ostringstream out2, err2;
  EXPECT_EQ(eval_seg(options_, out2, err2), 2);
  EXPECT_NE(err2.str().find((dir_ / "gt/b.png").string()), std::string::npos) << err2.str();
}

TEST(EvalSeg, PerfectPredictionsOfSyntheticDataScoreHundred) {
  const fs::path root = locbench::testing::temp_dir("seg_eval_synth");
  SynthOptions o;
  o.count = 4;
  o.num_classes = 6;
  write_synthetic_ade20k(root.string(), "validation", o);
  const SegDataset ds = ade20k(root.string());
  fs::create_directories(root / "pred");
  for (const SegSample& s : ds.samples)
    data::write_png((root / "pred" / (s.stem + ".png")).string(), load_sample(ds, s).label);
  const IoUResult r =
      score_folders({(root / "pred").string(), (root / "annotations/validation").string(), 6, true, true}).compute();
  EXPECT_DOUBLE_EQ(r.mIoU, 100.0);
  EXPECT_DOUBLE_EQ(r.aAcc, 100.0);
}
