// Segmentation inference (mmseg EncoderDecoder whole/slide) and LocAtViT's LinearSegHead: slide averaging against
// hand-computed averages, whole-image resize/pad shapes on a fake backbone, head keys, shapes, params and MACs.
#include <gtest/gtest.h>

#include <set>

#include "harness/compute/macs.h"
#include "harness/model/registry.h"
#include "harness/seg/inference.h"
#include "methods/common/seg_heads.h"

using namespace locbench;
using namespace locbench::seg;

namespace {

// Dense features = average pooling of the image by `stride`; remembers the input shape it saw.
class FakeBackbone : public Model {
 public:
  explicit FakeBackbone(int64_t stride) : stride_(stride) {}
  torch::Tensor forward(const torch::Tensor& images) override { return images.mean({2, 3}); }
  torch::Tensor forward_dense(const torch::Tensor& images) override {
    seen.push_back(images.sizes().vec());
    return torch::avg_pool2d(images, stride_);
  }
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& images,
                                                   const std::vector<int64_t>&) override {
    return {forward_dense(images)};
  }
  int64_t num_blocks() const override { return 1; }
  int64_t num_features() const override { return 3; }
  int64_t feature_stride() const override { return stride_; }
  std::vector<std::vector<int64_t>> seen;

 private:
  int64_t stride_;
};

// The registered `linear` head (LocAtViT's) with a narrow hidden width.
DecodeHeadPtr linear_head(int64_t in_channels, int64_t channels, int64_t classes) {
  return std::make_shared<layers::LinearSegHeadImpl>(
      layers::LinearSegHeadOptions{.in_channels = in_channels, .channels = channels, .num_classes = classes});
}

data::Image rgb_image(int width, int height, uint64_t seed) {
  data::Image image{width, height, 3, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<uint8_t>((i * 37 + seed * 11) % 256);
  return image;
}

}  // namespace

TEST(SlideInference, AveragesRawLogitsOverOverlappingWindows) {
  // 5 x 5 image, crop 3, stride 2: windows at (0,0), (0,2), (2,0), (2,2); window i outputs the constant i + 1.
  for (int64_t max_batch : {0, 3}) {
    int64_t next = 0, calls = 0;
    const EncodeDecode constant_per_window = [&](const torch::Tensor& crops) {
      ++calls;
      std::vector<torch::Tensor> out;
      for (int64_t b = 0; b < crops.size(0); ++b)
        out.push_back(torch::full({1, 1, crops.size(2), crops.size(3)}, static_cast<float>(++next)));
      return torch::cat(out, 0);
    };
    const torch::Tensor avg = slide_logits(constant_per_window, torch::zeros({1, 3, 5, 5}), {3, 3}, {2, 2}, max_batch);
    EXPECT_EQ(calls, max_batch == 0 ? 1 : 2);
    EXPECT_FLOAT_EQ(avg[0][0][0][0].item<float>(), 1.0f);                  // window 1 only
    EXPECT_FLOAT_EQ(avg[0][0][0][2].item<float>(), (1 + 2) / 2.0f);        // windows 1, 2
    EXPECT_FLOAT_EQ(avg[0][0][2][0].item<float>(), (1 + 3) / 2.0f);        // windows 1, 3
    EXPECT_FLOAT_EQ(avg[0][0][2][2].item<float>(), (1 + 2 + 3 + 4) / 4.0f);  // all four
    EXPECT_FLOAT_EQ(avg[0][0][4][4].item<float>(), 4.0f);                  // window 4 only
    EXPECT_FLOAT_EQ(avg[0][0][3][1].item<float>(), 3.0f);                  // window 3 only
  }
}

TEST(SlideInference, IdentityModelGivesBackTheImage) {
  torch::manual_seed(0);
  const torch::Tensor image = torch::randn({1, 2, 7, 9});
  const EncodeDecode identity = [](const torch::Tensor& crops) { return crops * 1; };
  EXPECT_TRUE(torch::allclose(slide_logits(identity, image, {4, 4}, {3, 3}), image, 1e-6, 1e-6));
}

TEST(WholeInference, ResizesKeepingRatioPadsToStrideAndReturnsOriginalSize) {
  auto backbone = std::make_shared<FakeBackbone>(16);
  SegmentationModel model(backbone, linear_head(3, 8, 5));
  model->eval();
  const data::Image image = rgb_image(50, 40, 1);  // H 40, W 50
  WholeInferenceOptions options;
  options.scale = std::make_pair<int64_t, int64_t>(64, 32);  // factor min(64/50, 32/40) = 0.8 -> 32 x 40
  const torch::Tensor logits = whole_inference(*model, image, options);
  ASSERT_EQ(backbone->seen.size(), 1u);
  EXPECT_EQ(backbone->seen[0], (std::vector<int64_t>{1, 3, 32, 48}));  // 40 padded to 48
  EXPECT_EQ(logits.sizes().vec(), (std::vector<int64_t>{1, 5, 40, 50}));
  const data::Image label = argmax_label(logits);
  EXPECT_EQ(label.width, 50);
  EXPECT_EQ(label.height, 40);
  for (uint8_t v : label.pixels) ASSERT_LT(v, 5);
}

TEST(WholeInference, EqualsSlideWhenTheImageIsSmallerThanTheCrop) {
  auto backbone = std::make_shared<FakeBackbone>(4);
  SegmentationModel model(backbone, linear_head(3, 8, 3));
  model->eval();
  const data::Image image = rgb_image(30, 21, 2);
  const torch::Tensor whole = whole_inference(*model, image, {.scale = std::nullopt});
  SlideInferenceOptions slide;
  slide.scale = std::nullopt;
  const torch::Tensor by_windows = slide_inference(*model, image, slide);
  EXPECT_TRUE(torch::allclose(whole, by_windows, 1e-5, 1e-5));
  EXPECT_EQ(backbone->seen.back(), (std::vector<int64_t>{1, 3, 24, 32}));
}

TEST(SlideInference, BatchesTheWindowsOfOneImage) {
  auto backbone = std::make_shared<FakeBackbone>(4);
  SegmentationModel model(backbone, linear_head(3, 8, 3));
  model->eval();
  SlideInferenceOptions options;
  options.scale = std::nullopt;
  options.crop_size = {16, 16};
  options.stride = {10, 10};
  const torch::Tensor logits = slide_inference(*model, rgb_image(37, 16, 3), options);  // 1 x 4 windows
  ASSERT_EQ(backbone->seen.size(), 1u);
  EXPECT_EQ(backbone->seen[0], (std::vector<int64_t>{4, 3, 16, 16}));
  EXPECT_EQ(logits.sizes().vec(), (std::vector<int64_t>{1, 3, 16, 37}));
}

TEST(Preprocess, NormalisesWithMmsegMeanAndStd) {
  data::Image image{1, 1, 3, {124, 116, 104}};
  const torch::Tensor x = preprocess(image, std::nullopt, Normalization{});
  EXPECT_NEAR(x[0][0][0][0].item<float>(), (124 - 123.675) / 58.395, 1e-6);
  EXPECT_NEAR(x[0][2][0][0].item<float>(), (104 - 103.53) / 57.375, 1e-6);
  const torch::Tensor custom = preprocess(image, std::nullopt, Normalization{{0, 0, 0}, {2, 2, 2}});
  EXPECT_FLOAT_EQ(custom[0][1][0][0].item<float>(), 58.0f);
  // Keep-ratio resize: 375 x 500 -> 512 x 683.
  EXPECT_EQ(preprocess(rgb_image(500, 375, 4), std::make_pair<int64_t, int64_t>(2048, 512), {}).sizes().vec(),
            (std::vector<int64_t>{1, 3, 512, 683}));
}

TEST(LinearSegHead, KeysShapesParamsAndMacs) {
  layers::LinearSegHead head(layers::LinearSegHeadOptions{.in_channels = 192, .channels = 512, .num_classes = 150});
  std::set<std::string> keys;
  for (const auto& p : head->named_parameters()) keys.insert(p.key());
  EXPECT_EQ(keys, (std::set<std::string>{"conv.conv.weight", "conv.gn.weight", "conv.gn.bias", "conv_seg.weight",
                                          "conv_seg.bias"}));
  EXPECT_EQ(head->conv->conv->weight.sizes().vec(), (std::vector<int64_t>{512, 192, 1, 1}));
  EXPECT_EQ(count_params(*head), 192 * 512 + 2 * 512 + 512 * 150 + 150);
  head->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor features = torch::randn({1, 192, 8, 10});
  EXPECT_EQ(head->forward(features).sizes().vec(), (std::vector<int64_t>{1, 150, 8, 10}));
  torch::Tensor out;
  const MacCount macs = count_macs([&] { out = head->forward(features, {32, 40}); });
  EXPECT_EQ(out.sizes().vec(), (std::vector<int64_t>{1, 150, 32, 40}));
  const double expected = 192.0 * 512 * 80   // conv 1x1
                          + 5.0 * 512 * 80   // GroupNorm with affine
                          + 512.0 * 150 * 80  // conv_seg
                          + 4.0 * 150 * 32 * 40;  // bilinear upsampling
  EXPECT_DOUBLE_EQ(macs.macs, expected);
}

TEST(SegmentationModel, KeysFollowMmsegEncoderDecoder) {
  // The head comes from the registry by name, sized from the backbone.
  SegmentationModel model(std::make_shared<FakeBackbone>(4), "linear", 2);
  std::map<std::string, std::vector<int64_t>> keys;
  for (const auto& p : model->named_parameters()) keys[p.key()] = p.value().sizes().vec();
  EXPECT_EQ(keys.at("decode_head.conv_seg.weight"), (std::vector<int64_t>{2, 512, 1, 1}));
  EXPECT_EQ(keys.at("decode_head.conv.conv.weight"), (std::vector<int64_t>{512, 3, 1, 1}));  // C from the backbone
  EXPECT_EQ(model->num_classes(), 2);
  EXPECT_THROW(SegmentationModel(std::make_shared<FakeBackbone>(4), "fcn", 2), std::invalid_argument);
}

TEST(SegmentationModel, HeadLogitsAreResizedToTheUnpaddedInputNotCropped) {
  // mmseg encode_decode: the head sees the padded grid (42 x 50 -> 48 x 56 at stride 8, 6 x 7 features) and its
  // logits are resized to 42 x 50, so the padded margin is squeezed in rather than cut off.
  auto backbone = std::make_shared<FakeBackbone>(8);
  SegmentationModel model(backbone, linear_head(3, 8, 3));
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({1, 3, 42, 50});
  const torch::Tensor logits = model->forward(x);
  ASSERT_EQ(backbone->seen.back(), (std::vector<int64_t>{1, 3, 48, 56}));
  const torch::Tensor padded = torch::nn::functional::pad(x, torch::nn::functional::PadFuncOptions({0, 6, 0, 6}));
  const torch::Tensor head = model->decode_head->forward(torch::avg_pool2d(padded, 8));
  EXPECT_TRUE(torch::allclose(logits, resize_logits(head, {42, 50}), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(logits, resize_logits(head, {48, 56}).narrow(2, 0, 42).narrow(3, 0, 50), 1e-3, 1e-3));
  // A side that is already a multiple of the stride is not padded.
  model->forward(torch::randn({1, 3, 40, 48}));
  EXPECT_EQ(backbone->seen.back(), (std::vector<int64_t>{1, 3, 40, 48}));
}

TEST(SlideInference, StrideLargerThanTheCropIsAnError) {
  const EncodeDecode identity = [](const torch::Tensor& crops) { return crops * 1; };
  // 5 x 12 image, crop 4, stride 6: columns 4 and 5 would belong to no window (NaN after the average).
  EXPECT_THROW(slide_logits(identity, torch::zeros({1, 1, 5, 12}), {4, 4}, {4, 6}), std::invalid_argument);
  EXPECT_THROW(slide_logits(identity, torch::zeros({1, 1, 12, 5}), {4, 4}, {6, 4}), std::invalid_argument);
  EXPECT_NO_THROW(slide_logits(identity, torch::zeros({1, 1, 5, 12}), {4, 4}, {4, 4}));
}

TEST(WholeInference, RunsARegisteredVitOnAnOddSizedImage) {
  // A real backbone: ViT-Ti/16 resamples its position embedding to the padded grid; 300 x 410 -> 512 x 700
  // (700 = int(410 * 512 / 300 + 0.5)), padded to 512 x 704, logits back at 300 x 410.
  SegmentationModel model(create_model("vit_tiny_patch16_224"), "linear", 150);
  model->eval();
  const torch::Tensor logits = whole_inference(*model, rgb_image(410, 300, 5));
  EXPECT_EQ(logits.sizes().vec(), (std::vector<int64_t>{1, 150, 300, 410}));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
}

TEST(ArgmaxResized, EqualsTheArgmaxOfTheFullResizeOneClassAtATime) {
  torch::manual_seed(3);
  const torch::Tensor logits = torch::randn({1, 7, 9, 13});
  const data::Image a = argmax_resized(logits, {37, 50});
  const data::Image b = argmax_label(resize_logits(logits, {37, 50}));
  EXPECT_EQ(a.width, 50);
  EXPECT_EQ(a.height, 37);
  EXPECT_EQ(a.pixels, b.pixels);
  // Ties keep the first class, as argmax does.
  const data::Image tie = argmax_resized(torch::zeros({1, 3, 2, 2}), {4, 4});
  for (uint8_t v : tie.pixels) EXPECT_EQ(v, 0);
}
