// mmseg's training transforms on 8-bit images, transform by transform against mmseg 0.24 / mmcv 1.4.4 given the same
// draws (tests/fixtures/make_transform_fixtures.py). The whole pipeline with Normalize and Pad is in test_train.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include "harness/seg/transforms.h"
#include "tests/image_test_helpers.h"
#include "tests/scripted_random.h"

using namespace locbench;
using namespace locbench::testing;

namespace {

const nlohmann::json& references() {
  static const nlohmann::json refs = read_json(fixture("transform_references.json"));
  return refs;
}

seg::SegImage run_chain(const nlohmann::json& c, seg::RandomSource& random) {
  const auto& r = references();
  const int h = c["src"][0], w = c["src"][1];
  const uint64_t seed = c["seed"];
  seg::SegImage x{pattern_image(h, w, seed), transform_fixture_label(h, w, seed)};
  for (const auto& step : c["chain"]) {
    if (step == "resize")
      x = seg::random_resize(x, {c["img_scale"][0], c["img_scale"][1]}, {r["ratio_range"][0], r["ratio_range"][1]},
                             random);
    else if (step == "crop")
      x = seg::random_crop(x, {r["crop_size"][0], r["crop_size"][1]}, r["cat_max_ratio"], random);
    else if (step == "flip")
      x = seg::random_flip(x, r["flip_prob"], random);
    else if (step == "pmd")
      x.image = seg::photo_metric_distortion(x.image, random);
  }
  return x;
}

}  // namespace

TEST(SegTransforms, EqualMmsegTransformByTransformGivenTheSameDraws) {
  std::map<std::string, int> checked;
  for (const auto& c : references()["cases"]) {
    if (c["name"] == "pipeline") continue;
    ScriptedRandom random(c["draws"]);
    const seg::SegImage out = run_chain(c, random);
    const std::string what = c["name"].get<std::string>() + " seed " + std::to_string(c["seed"].get<int>());
    EXPECT_TRUE(random.exhausted()) << what << ": fewer draws than mmseg";
    EXPECT_EQ(out.image.height, c["shape"][0].get<int>()) << what;
    EXPECT_EQ(out.image.width, c["shape"][1].get<int>()) << what;
    EXPECT_EQ(sha256_hex(out.image), c["image"]) << what;
    EXPECT_EQ(sha256_hex(out.label), c["label"]) << what;
    ++checked[c["name"]];
  }
  EXPECT_GE(checked["resize"], 6);
  EXPECT_GE(checked["crop"], 10);
  EXPECT_GE(checked["flip"], 4);
  EXPECT_GE(checked["photo_metric_distortion"], 20);
}

TEST(SegTransforms, RandomCropRetriesUntilNoClassExceedsCatMaxRatio) {
  // Class 1 fills the 25 leftmost columns of 100: only crops 20 wide starting at x in [11, 19] have both classes
  // under 75% (9 of 81 offsets). With 10 retries most crops qualify; without them few do.
  data::Image label{100, 100, 1, std::vector<uint8_t>(100 * 100)};
  for (int y = 0; y < 100; ++y)
    for (int x = 0; x < 100; ++x) label.pixels[y * 100 + x] = x < 25 ? 1 : 0;
  const seg::SegImage in{pattern_image(100, 100, 0), label};
  auto max_ratio = [](const data::Image& l) {
    int64_t counts[256] = {0};
    for (uint8_t v : l.pixels) ++counts[v];
    return static_cast<double>(*std::max_element(counts, counts + 255)) / l.pixels.size();
  };
  int with_retries = 0, without = 0;
  const int n = 300;
  for (int seed = 0; seed < n; ++seed) {
    seg::Rng a(seed), b(seed);
    with_retries += max_ratio(seg::random_crop(in, {20, 20}, 0.75, a).label) < 0.75;
    without += max_ratio(seg::random_crop(in, {20, 20}, 1.0, b).label) < 0.75;
  }
  EXPECT_GT(with_retries, n / 2);  // expected 1 - (72/81)^11 = 73%
  EXPECT_LT(without, n / 4);       // expected 9/81 = 11%
}

TEST(SegTransforms, MismatchedImageAndLabelAreRejected) {
  seg::Rng rng(0);
  const seg::SegImage bad{pattern_image(10, 12, 0), pattern_image(10, 11, 0, 1)};
  EXPECT_THROW(seg::random_crop(bad, {4, 4}, 1.0, rng), std::invalid_argument);
  EXPECT_THROW(seg::resize_by_ratio(bad, {64, 16}, 1.0), std::invalid_argument);
}
