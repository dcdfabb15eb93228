// The ViT equals timm: logits, dense features and every block output on timm's own fixtures
// (tests/fixtures/make_vit_fixtures.py), at 224 x 224 and at a non-square 256 x 320.
#include "harness/checkpoint/checkpoint.h"
#include "methods/vit/vision_transformer.h"
#include "tests/test_helpers.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

using namespace locbench;
using namespace locbench::testing;

namespace {

constexpr double kTolerance = 1e-4;

struct Fixture {
  nlohmann::json config;
  std::string weights;
  std::map<std::string, torch::Tensor> io;
};

Fixture load_fixture(const std::string& name) {
  const std::string dir = source_dir() + "/tests/fixtures/" + name;
  Fixture f;
  std::ifstream in(dir + "/config.json");
  f.config = nlohmann::json::parse(in);
  f.weights = dir + "/weights.safetensors";
  f.io = read_safetensors(dir + "/io.safetensors");
  return f;
}

std::shared_ptr<vit::VisionTransformer> build(const nlohmann::json& c, bool fused) {
  vit::VitConfig v;
  v.img_size = {c["img_size"][0], c["img_size"][1]};
  v.patch_size = c["patch_size"];
  v.embed_dim = c["embed_dim"];
  v.depth = c["depth"];
  v.num_heads = c["num_heads"];
  v.mlp_ratio = c["mlp_ratio"];
  v.qkv_bias = c["qkv_bias"];
  v.class_token = c["class_token"];
  v.global_pool = c["global_pool"];
  v.num_classes = c["num_classes"];
  v.ln_eps = c["ln_eps"];
  v.fused_attn = fused;
  return std::make_shared<vit::VisionTransformer>(v);
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return INFINITY;
  return (a - b).abs().max().item<double>();
}

void check_case(const std::string& name, bool fused) {
  Fixture f = load_fixture(name);
  auto model = build(f.config, fused);
  load_checkpoint(*model, f.weights);
  model->eval();
  torch::NoGradGuard no_grad;
  const int64_t depth = f.config["depth"];
  for (const auto& size : f.config["sizes"]) {
    const std::string tag = std::to_string(size[0].get<int>()) + "x" + std::to_string(size[1].get<int>());
    SCOPED_TRACE(name + " " + tag + (fused ? " sdpa" : " explicit"));
    auto input = f.io.at("input_" + tag).to(torch::kFloat32);
    const double d_logits = max_abs_diff(model->forward(input), f.io.at("logits_" + tag));
    const double d_features = max_abs_diff(model->forward_dense(input), f.io.at("features_" + tag));
    std::vector<int64_t> all(depth);
    std::iota(all.begin(), all.end(), 0);
    auto inter = model->forward_intermediates(input, all);
    double d_inter = 0;
    for (int64_t i = 0; i < depth; ++i)
      d_inter = std::max(d_inter, max_abs_diff(inter[i], f.io.at("intermediates_" + tag + "_" + std::to_string(i))));
    EXPECT_LT(d_logits, kTolerance);
    EXPECT_LT(d_features, kTolerance);
    EXPECT_LT(d_inter, kTolerance);
    std::printf("[parity] %s %s %s: max|dlogits| %.2e  max|dfeatures| %.2e  max|dintermediates| %.2e\n",
                name.c_str(), tag.c_str(), fused ? "sdpa" : "explicit", d_logits, d_features, d_inter);
  }
}

}  // namespace

TEST(VitParity, TokenPoolingMatchesTimmWithSdpa) { check_case("vit_micro", true); }
TEST(VitParity, TokenPoolingMatchesTimmWithExplicitSoftmax) { check_case("vit_micro", false); }
TEST(VitParity, AveragePoolingWithFcNormMatchesTimm) { check_case("vit_micro_avg", true); }

TEST(VitParity, AveragePoolingHasFcNormInsteadOfFinalNorm) {
  vit::VitConfig c;
  c.embed_dim = 48;
  c.depth = 1;
  c.num_heads = 3;
  c.global_pool = "avg";
  vit::VisionTransformer model(c);
  bool has_norm = false, has_fc_norm = false;
  for (const auto& p : model.named_parameters(true)) {
    has_norm |= p.key().rfind("norm.", 0) == 0;
    has_fc_norm |= p.key().rfind("fc_norm.", 0) == 0;
  }
  EXPECT_FALSE(has_norm);
  EXPECT_TRUE(has_fc_norm);
}

TEST(VitParity, PositionEmbeddingIsResampledOnlyOffTheTrainedGrid) {
  auto pos = torch::randn({1, 1 + 14 * 14, 8});
  EXPECT_TRUE(layers::resample_abs_pos_embed(pos, {14, 14}, {14, 14}, 1).is_same(pos));
  auto resized = layers::resample_abs_pos_embed(pos, {16, 20}, {14, 14}, 1);
  EXPECT_EQ(resized.sizes(), (std::vector<int64_t>{1, 1 + 16 * 20, 8}));
  EXPECT_TRUE(torch::equal(resized.narrow(1, 0, 1), pos.narrow(1, 0, 1)));  // class-token entry untouched
  // Same token count, other shape: still resampled.
  auto reshaped = layers::resample_abs_pos_embed(pos, {7, 28}, {14, 14}, 1);
  EXPECT_FALSE(torch::equal(reshaped, pos));
}

TEST(VitParity, RejectsSidesThatAreNotMultiplesOfThePatch) {
  vit::VitConfig c;
  c.embed_dim = 48;
  c.depth = 1;
  c.num_heads = 3;
  vit::VisionTransformer model(c);
  EXPECT_THROW(model.forward(torch::zeros({1, 3, 224, 230})), c10::Error);
}
