// Resizes against their references (tests/fixtures/make_resize_fixtures.py): Pillow's Image.resize for the timm
// protocol on 51 size pairs and five filters, cv2.resize for the mmseg protocol, and timm's eval transform
// (create_transform(**resolve_data_config({}, model=...)) up to ToTensor) on uint8.
#include <gtest/gtest.h>
#include <unistd.h>

#include "harness/data/resize.h"
#include "tests/image_test_helpers.h"

using namespace locbench;
using namespace locbench::testing;

namespace {

const nlohmann::json& references() {
  static const nlohmann::json refs = read_json(fixture("resize_references.json"));
  return refs;
}

data::Image source(int h, int w, int channels = 3) {
  return pattern_image(h, w, static_cast<uint64_t>(h) * 1000 + w, channels);
}

}  // namespace

TEST(PillowResize, EqualsPillowOnEverySizePairAndFilter) {
  const auto& pairs = references()["pairs"];
  ASSERT_GE(pairs.size(), 50u);
  int up = 0, down = 0, one_axis = 0, odd = 0;
  for (const auto& p : pairs) {
    const int sh = p[0], sw = p[1], dh = p[2], dw = p[3];
    up += dh > sh || dw > sw;
    down += dh < sh || dw < sw;
    one_axis += (dh == sh) != (dw == sw);
    odd += dh % 2 || dw % 2;
  }
  EXPECT_GE(up, 10);
  EXPECT_GE(down, 10);
  EXPECT_GE(one_axis, 5);
  EXPECT_GE(odd, 10);
  for (const auto& [name, digests] : references()["pil"].items()) {
    const data::PilFilter filter = data::pil_filter(name);
    for (size_t i = 0; i < pairs.size(); ++i) {
      const int sh = pairs[i][0], sw = pairs[i][1], dh = pairs[i][2], dw = pairs[i][3];
      const data::Image out = data::pil_resize(source(sh, sw), dw, dh, filter);
      ASSERT_EQ(out.width, dw);
      ASSERT_EQ(out.height, dh);
      EXPECT_EQ(sha256_hex(out), digests[i]) << name << " " << sh << "x" << sw << " -> " << dh << "x" << dw;
    }
  }
}

TEST(CvResize, EqualsCv2ResizeForImagesAndLabels) {
  const auto& pairs = references()["pairs"];
  const std::map<std::string, data::CvInterpolation> modes{{"bilinear", data::CvInterpolation::bilinear},
                                                           {"nearest", data::CvInterpolation::nearest}};
  for (const auto& [name, digests] : references()["cv2"].items()) {
    for (size_t i = 0; i < pairs.size(); ++i) {
      const int sh = pairs[i][0], sw = pairs[i][1], dh = pairs[i][2], dw = pairs[i][3];
      EXPECT_EQ(sha256_hex(data::cv_resize(source(sh, sw), dw, dh, modes.at(name))), digests[i])
          << name << " " << sh << "x" << sw << " -> " << dh << "x" << dw;
    }
  }
  const auto& labels = references()["cv2_label"]["nearest"];
  for (size_t i = 0; i < pairs.size(); ++i) {
    const int sh = pairs[i][0], sw = pairs[i][1], dh = pairs[i][2], dw = pairs[i][3];
    EXPECT_EQ(sha256_hex(data::cv_resize(source(sh, sw, 1), dw, dh, data::CvInterpolation::nearest)), labels[i]);
  }
}

TEST(TimmEvalTransform, EqualsTimmCreateTransformOnUint8) {
  int cases = 0, non_square = 0;
  for (const auto& rec : references()["timm_eval"]) {
    const auto& cfg = rec["config"];
    ASSERT_EQ(cfg["crop_mode"], "center");
    data::TimmEvalTransform t;
    t.img_size = {cfg["input_size"][1].get<int>(), cfg["input_size"][2].get<int>()};
    t.crop_pct = cfg["crop_pct"];
    t.interpolation = cfg["interpolation"];
    non_square += t.img_size[0] != t.img_size[1];
    const int h = rec["src"][0], w = rec["src"][1];
    const data::Image out = data::timm_eval_transform(source(h, w), t);
    EXPECT_EQ(out.height, rec["shape"][0].get<int>());
    EXPECT_EQ(out.width, rec["shape"][1].get<int>());
    EXPECT_EQ(sha256_hex(out), rec["sha256"]) << cfg.dump() << " on " << h << "x" << w;
    ++cases;
  }
  EXPECT_GE(cases, 50);
  EXPECT_GT(non_square, 0);
}

TEST(CenterCrop, RoundsHalfToEvenAndPadsSmallImages) {
  // torchvision: crop_top = int(round((h - ch) / 2.0)): (7 - 4) / 2 = 1.5 -> 2, (6 - 3) / 2 = 1.5 -> 2,
  // (5 - 2) / 2 = 1.5 -> 2, (9 - 4) / 2 = 2.5 -> 2.
  data::Image col{1, 9, 1, {0, 1, 2, 3, 4, 5, 6, 7, 8}};
  EXPECT_EQ(data::center_crop(col, 4, 1).pixels, (std::vector<uint8_t>{2, 3, 4, 5}));
  data::Image seven{1, 7, 1, {0, 1, 2, 3, 4, 5, 6}};
  EXPECT_EQ(data::center_crop(seven, 4, 1).pixels, (std::vector<uint8_t>{2, 3, 4, 5}));
  // Smaller than the crop: zeros, the smaller half before.
  data::Image two{1, 2, 1, {7, 9}};
  EXPECT_EQ(data::center_crop(two, 5, 1).pixels, (std::vector<uint8_t>{0, 7, 9, 0, 0}));
}

TEST(Resize, BadSizesAreErrors) {
  const data::Image img = source(4, 4);
  EXPECT_THROW(data::pil_resize(img, 0, 4, data::PilFilter::bicubic), std::invalid_argument);
  EXPECT_THROW(data::cv_resize(img, 4, -1, data::CvInterpolation::bilinear), std::invalid_argument);
  EXPECT_THROW(data::pil_filter("spline"), std::invalid_argument);
}
