// LocAtViT equals the official code (sinahmr/LocAtViT, run by tests/fixtures/make_locatvit_gab_fixtures.py) at
// 224 x 224 and 256 x 320, has the official parameter counts and the fvcore-style MACs, and GAug's constants and
// initial values are those of the paper's code.
#include "harness/compute/macs.h"
#include "harness/model/registry.h"
#include "methods/locatvit/locatvit.h"
#include "tests/fixture_parity.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace locbench;
using namespace locbench::testing;

namespace {

std::shared_ptr<locatvit::LocAtViT> build_micro(const nlohmann::json& c, bool fused) {
  vit::VitConfig v;
  v.img_size = {c["img_size"][0], c["img_size"][1]};
  v.patch_size = c["patch_size"];
  v.embed_dim = c["embed_dim"];
  v.depth = c["depth"];
  v.num_heads = c["num_heads"];
  v.num_classes = c["num_classes"];
  v.dynamic_img_pad = c["dynamic_img_pad"];
  v.fused_attn = fused;
  return std::make_shared<locatvit::LocAtViT>(v);
}

TEST(LocAtViTParity, MatchesOfficialCodeWithSdpaAndExplicitAttention) {
  const auto f = load_parity_fixture("locatvit_micro");
  for (bool fused : {true, false}) {
    auto model = build_micro(f.config, fused);
    expect_fixture_parity(*model, f, fused ? "locatvit_micro sdpa" : "locatvit_micro explicit");
  }
}

TEST(LocAtViTParity, SdpaAndExplicitPathsAgreeOnRandomWeights) {
  torch::manual_seed(0);
  ModelArgs args;
  args.num_classes = 10;
  args.fused_attn = true;
  auto fused = create_model("locatvit_tiny", args);
  args.fused_attn = false;
  auto manual = create_model("locatvit_tiny", args);
  torch::NoGradGuard no_grad;
  auto src = fused->named_parameters(), dst = manual->named_parameters();
  for (const auto& item : src) dst[item.key()].copy_(item.value() + 0.1 * torch::randn_like(item.value()));
  for (const auto& item : dst) src[item.key()].copy_(item.value());
  fused->eval();
  manual->eval();
  auto x = torch::randn({1, 3, 96, 128});
  EXPECT_LT(max_abs_diff(fused->forward(x), manual->forward(x)), 1e-4);
  EXPECT_LT(max_abs_diff(fused->forward_dense(x), manual->forward_dense(x)), 1e-4);
}

TEST(LocAtViT, ParameterCountsMatchOfficialModels) {
  const std::vector<std::pair<std::string, int64_t>> expected = {
      {"locatvit_tiny", 5719756}, {"locatvit_small", 22053004}, {"locatvit_base", 86569996}};
  for (const auto& [name, params] : expected) EXPECT_EQ(count_params(*create_model(name)), params) << name;
}

TEST(LocAtViT, CheckpointKeysAreTheOfficialOnes) {
  auto model = create_model("locatvit_tiny");
  auto params = model->named_parameters();
  for (const char* key : {"blocks.0.attn.gaug.log_var.weight", "blocks.11.attn.gaug.log_var.bias",
                          "blocks.5.attn.gaug.log_alpha.weight", "blocks.5.attn.gaug.log_alpha.bias"})
    EXPECT_TRUE(params.contains(key)) << key;
  EXPECT_EQ(params["blocks.0.attn.gaug.log_var.weight"].sizes(), (std::vector<int64_t>{2, 64}));
  EXPECT_EQ(params["blocks.0.attn.gaug.log_alpha.weight"].sizes(), (std::vector<int64_t>{1, 64}));
}

TEST(LocAtViT, MacsMatchFvcoreReconstructionIncludingPrr) {
  const std::vector<std::pair<std::string, double>> expected = {
      {"locatvit_tiny", 1.275}, {"locatvit_small", 4.641}, {"locatvit_base", 17.648}};
  torch::NoGradGuard no_grad;
  for (const auto& [name, gmacs] : expected) {
    auto model = create_model(name);
    model->eval();
    auto x = torch::randn({1, 3, 224, 224});
    const double measured = count_macs([&] { model->forward(x); }).macs / 1e9;
    std::printf("[macs] %s %.4f G (target %.3f)\n", name.c_str(), measured, gmacs);
    EXPECT_NEAR(measured, gmacs, 0.0006) << name;
  }
}

TEST(GaussianAugment, ConstantsFollowTheInitialGrid) {
  auto c = locatvit::gaussian_augment_constants({14, 14});
  EXPECT_DOUBLE_EQ(c.var_ceiling, 196.0);
  EXPECT_NEAR(c.sigmoid_shift, 5.272999558563747, 1e-12);
  EXPECT_DOUBLE_EQ(c.eps, 0.1);
  EXPECT_DOUBLE_EQ(c.clamp, -84.5);
  EXPECT_DOUBLE_EQ(locatvit::gaussian_augment_constants({30, 30}).eps, 0.2);
  EXPECT_DOUBLE_EQ(locatvit::gaussian_augment_constants({30, 30}).clamp, -420.5);
  EXPECT_DOUBLE_EQ(locatvit::gaussian_augment_constants({32, 32}).clamp, -480.5);
  EXPECT_DOUBLE_EQ(locatvit::gaussian_augment_constants({64, 64}).eps, 0.4);
  EXPECT_DOUBLE_EQ(locatvit::gaussian_augment_constants({7, 7}).clamp, -18.0);
}

TEST(GaussianAugment, ZeroLinearsGiveThePapersInitialBias) {
  locatvit::GaussianAugment gaug(64, std::array<int64_t, 2>{14, 14});
  torch::NoGradGuard no_grad;
  for (auto& p : gaug->parameters()) p.zero_();
  layers::TokenGrid grid{14, 14, 1};
  auto s = gaug->bias(torch::randn({1, 3, 197, 64}), grid);  // (1, 3, 197, 197)
  ASSERT_EQ(s.sizes(), (std::vector<int64_t>{1, 3, 197, 197}));
  auto at = [&](int64_t dr, int64_t dc) { return s[0][1][1 + 5 * 14 + 5][1 + (5 + dr) * 14 + 5 + dc].item<double>(); };
  EXPECT_NEAR(at(0, 0), 0.69315, 1e-5);
  EXPECT_NEAR(at(0, 1), 0.43997, 1e-5);
  EXPECT_NEAR(at(1, 1), 0.27926, 1e-5);
  EXPECT_NEAR(at(0, 2), 0.11251, 1e-5);
  EXPECT_NEAR(at(2, 2), 0.01826, 1e-5);
  EXPECT_NEAR(at(-2, 0), 0.11251, 1e-5);
  // The class token neither gives nor receives the bias.
  EXPECT_EQ(s.select(2, 0).abs().max().item<double>(), 0.0);
  EXPECT_EQ(s.select(3, 0).abs().max().item<double>(), 0.0);
}

TEST(GaussianAugment, LargerGridScalesVarianceAndClampsDistance) {
  locatvit::GaussianAugment gaug(64, std::array<int64_t, 2>{14, 14});
  torch::NoGradGuard no_grad;
  for (auto& p : gaug->parameters()) p.zero_();
  gaug->log_var->bias.fill_(10.0);  // var ~ K = 196 at the initial grid
  layers::TokenGrid grid{20, 32, 0};
  auto p = gaug->params(torch::randn({1, 1, 640, 64}), grid);
  const double var = 196.0 / (1.0 + std::exp(-(10.0 - std::log(195.0)))) * 20.0 / 14.0;
  EXPECT_NEAR(p.var.max().item<double>(), var, 1e-3);
  auto s = gaug->bias(torch::randn({1, 1, 640, 64}), grid);
  // Offsets of 13 and of 31 columns saturate at the same clamped numerator -84.5.
  EXPECT_NEAR(s[0][0][0][13].item<double>(), s[0][0][0][31].item<double>(), 1e-7);
  EXPECT_GT(s[0][0][0][12].item<double>(), s[0][0][0][13].item<double>());
}

TEST(PatchRepresentationRefinement, IsParameterFreeSelfAttention) {
  auto x = torch::randn({2, 5, 12});
  auto out = locatvit::patch_representation_refinement(x, 3, true);
  auto h = x.reshape({2, 5, 3, 4}).permute({0, 2, 1, 3});
  auto ref = torch::matmul((torch::matmul(h, h.transpose(-2, -1)) / 2.0).softmax(-1), h);
  EXPECT_LT(max_abs_diff(out, ref.permute({0, 2, 1, 3}).reshape({2, 5, 12})), 1e-6);
  EXPECT_LT(max_abs_diff(locatvit::patch_representation_refinement(x, 3, false), out), 1e-6);
}

}  // namespace
