// timm's vit_relpos models equal timm, GAB on them equals the official GAB code (kmbmjn/GaussianAttentionBias
// 'vrelglmi', run by tests/fixtures/make_locatvit_gab_fixtures.py), ViT + GAB equals locbench's own Python reference,
// and the parameter counts are timm's plus 2 scalars per layer.
#include "harness/compute/macs.h"
#include "harness/model/registry.h"
#include "methods/gab/gab.h"
#include "tests/fixture_parity.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace locbench;
using namespace locbench::testing;

namespace {

vit::VitConfig micro_config(const nlohmann::json& c, bool fused) {
  vit::VitConfig v;
  v.img_size = {c["img_size"][0], c["img_size"][1]};
  v.patch_size = c["patch_size"];
  v.embed_dim = c["embed_dim"];
  v.depth = c["depth"];
  v.num_heads = c["num_heads"];
  v.num_classes = c["num_classes"];
  v.fused_attn = fused;
  return v;
}

std::shared_ptr<gab::VisionTransformerRelPos> build_relpos(const nlohmann::json& c, bool fused, bool with_gab) {
  gab::RelPosConfig config;
  config.vit = micro_config(c, fused);
  config.vit.qkv_bias = false;
  config.vit.class_token = false;
  config.vit.global_pool = "avg";
  config.vit.fc_norm = true;
  config.vit.init_values = 1e-6;
  config.gab = with_gab;
  return std::make_shared<gab::VisionTransformerRelPos>(config);
}

TEST(GabParity, RelPosMatchesTimm) {
  const auto f = load_parity_fixture("relpos_micro");
  for (bool fused : {true, false})
    expect_fixture_parity(*build_relpos(f.config, fused, false), f, fused ? "relpos sdpa" : "relpos explicit");
}

TEST(GabParity, RelPosWithGabMatchesOfficialCode) {
  const auto f = load_parity_fixture("relpos_gab_micro");
  // The official checkpoint carries relative_coords_H/W buffers; loading (strict) must accept and ignore them.
  auto keys = read_safetensors(f.weights);
  ASSERT_TRUE(keys.count("blocks.0.attn.rel_pos.relative_coords_H"));
  for (bool fused : {true, false})
    expect_fixture_parity(*build_relpos(f.config, fused, true), f, fused ? "relpos+gab sdpa" : "relpos+gab explicit");
}

TEST(GabParity, VitWithGabMatchesOwnReferenceOnAnyGrid) {
  const auto f = load_parity_fixture("vit_gab_micro");
  for (bool fused : {true, false}) {
    gab::VisionTransformerGab model(micro_config(f.config, fused));
    expect_fixture_parity(model, f, fused ? "vit+gab sdpa" : "vit+gab explicit");
  }
}

TEST(Gab, ParameterCountsAreTimmsPlusTwoScalarsPerLayer) {
  const std::vector<std::pair<std::string, int64_t>> expected = {
      {"vit_relpos_small_patch16_224", 21983920},      {"vit_relpos_small_patch16_224_gab", 21983944},
      {"vit_relpos_medium_patch16_224", 38747208},     {"vit_relpos_medium_patch16_224_gab", 38747232},
      {"vit_relpos_base_patch16_224", 86429560},       {"vit_relpos_base_patch16_224_gab", 86429584},
      {"vit_tiny_patch16_224_gab", 5717416 + 24},      {"vit_base_patch16_224_gab", 86567656 + 24}};
  for (const auto& [name, params] : expected) EXPECT_EQ(count_params(*create_model(name)), params) << name;
}

TEST(Gab, CheckpointKeysAreTheOfficialOnes) {
  auto params = create_model("vit_relpos_small_patch16_224_gab")->named_parameters();
  for (const char* key : {"blocks.0.attn.rel_pos.sigma_param", "blocks.11.attn.rel_pos.amplitude_param",
                          "blocks.3.attn.rel_pos.mlp.fc1.weight", "blocks.3.attn.rel_pos.mlp.fc2.bias",
                          "blocks.3.ls1.gamma", "fc_norm.weight"})
    EXPECT_TRUE(params.contains(key)) << key;
  EXPECT_EQ(params["blocks.0.attn.rel_pos.sigma_param"].item<double>(), gab::kInitSigma);
  EXPECT_EQ(params["blocks.0.attn.rel_pos.amplitude_param"].item<double>(), gab::kInitAmplitude);
  EXPECT_FALSE(params.contains("blocks.0.attn.qkv.bias"));
}

TEST(Gab, InitialBiasMatchesTheFormula) {
  gab::GaussianAttentionBias bias;
  layers::TokenGrid grid{14, 14, 1};
  auto b = bias->bias(torch::Tensor(), grid);  // (1, 1, 197, 197)
  const int64_t p = 1 + 6 * 14 + 6;
  auto at = [&](int64_t dr, int64_t dc) { return b[0][0][p][p + dr * 14 + dc].item<double>(); };
  EXPECT_NEAR(at(0, 0), 1.0, 1e-7);
  EXPECT_NEAR(at(0, 1), std::exp(-1.0 / 50.0), 1e-6);   // 0.980
  EXPECT_NEAR(at(0, 5), std::exp(-25.0 / 50.0), 1e-6);  // 0.607
  EXPECT_NEAR(at(3, -4), std::exp(-25.0 / 50.0), 1e-6);
  EXPECT_EQ(b.select(2, 0).abs().max().item<double>(), 0.0);
  EXPECT_EQ(b.select(3, 0).abs().max().item<double>(), 0.0);
}

TEST(Gab, NegativeAmplitudeIsSquared) {
  gab::GaussianAttentionBias bias;
  torch::NoGradGuard no_grad;
  bias->amplitude_param.fill_(-2.0);
  auto b = bias->bias(torch::Tensor(), layers::TokenGrid{3, 4, 0});
  EXPECT_NEAR(b.max().item<double>(), 4.0, 1e-6);
  EXPECT_GT(b.min().item<double>(), 0.0);
}

TEST(Gab, MacsOfRelPosSmall) {
  torch::NoGradGuard no_grad;
  for (const char* name : {"vit_relpos_small_patch16_224", "vit_relpos_small_patch16_224_gab"}) {
    auto model = create_model(name);
    model->eval();
    auto x = torch::randn({1, 3, 224, 224});
    const double gmacs = count_macs([&] { model->forward(x); }).macs / 1e9;
    std::printf("[macs] %s %.4f G\n", name, gmacs);
    // 196 x 384 x (768 + 12 x (12 x 384 + 2 x 196 + 10)) + 12 x 729 x (2 x 128 + 128 x 6) (the RelPosMlp on
    // its 27 x 27 offset table) + fc_norm 5 x 384 + head 384 x 1000; the elementwise Gaussian is not counted.
    EXPECT_NEAR(gmacs, 4.592018304, 1e-6) << name;
  }
}

}  // namespace
