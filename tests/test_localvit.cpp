// LocalViT and PVT equal the official ofsoundof/LocalViT code (fixtures from make_localvit_glnet_fixtures.py:
// reduced configurations, BN in eval with random running statistics), and the full variants have its sizes.
#include "harness/compute/macs.h"
#include "harness/model/registry.h"
#include "methods/localvit/localvit.h"
#include "methods/localvit/pvt.h"
#include "tests/official_parity.h"

using namespace locbench;
using namespace locbench::testing;

namespace {

template <size_t N, typename T>
std::array<T, N> array_of(const nlohmann::json& j) {
  std::array<T, N> out{};
  for (size_t i = 0; i < N; ++i) out[i] = j[i].get<T>();
  return out;
}

localvit::LocalVitConfig localvit_config(const nlohmann::json& c, bool fused) {
  const auto& k = c["official_kwargs"];
  localvit::LocalVitConfig v;
  v.img_size = {c["img_size"], c["img_size"]};
  v.patch_size = k["patch_size"];
  v.embed_dim = k["embed_dim"];
  v.depth = k["depth"];
  v.num_heads = k["num_heads"];
  v.mlp_ratio = k["mlp_ratio"];
  v.reduction = k["reduction"];
  EXPECT_EQ(k["act"], 3);  // hs+se
  v.num_classes = k["num_classes"];
  v.fused_attn = fused;
  return v;
}

localvit::PvtConfig pvt_config(const nlohmann::json& c, bool locality) {
  const auto& k = c["official_kwargs"];
  localvit::PvtConfig p;
  p.img_size = c["img_size"];
  p.patch_size = k["patch_size"];
  p.embed_dims = array_of<4, int64_t>(k["embed_dims"]);
  p.num_heads = array_of<4, int64_t>(k["num_heads"]);
  p.mlp_ratios = array_of<4, double>(k["mlp_ratios"]);
  p.depths = array_of<4, int64_t>(k["depths"]);
  p.sr_ratios = array_of<4, int64_t>(k["sr_ratios"]);
  p.num_classes = k["num_classes"];
  p.locality = locality;
  return p;
}

}  // namespace

TEST(LocalVitParity, MatchesTheOfficialCodeWithSdpa) {
  localvit::LocalVisionTransformer model(localvit_config(fixture_config("localvit_micro"), true));
  check_official_fixture("localvit_micro", model, model.num_blocks());
}

TEST(LocalVitParity, MatchesTheOfficialCodeWithExplicitSoftmax) {
  localvit::LocalVisionTransformer model(localvit_config(fixture_config("localvit_micro"), false));
  check_official_fixture("localvit_micro", model, model.num_blocks());
}

TEST(LocalVitParity, LocalVitPvtMatchesTheOfficialCode) {
  localvit::PyramidVisionTransformer model(pvt_config(fixture_config("localvit_pvt_micro"), true));
  check_official_fixture("localvit_pvt_micro", model, 4);
}

TEST(LocalVitParity, PvtTinyBaselineMatchesTheOfficialCode) {
  localvit::PyramidVisionTransformer model(pvt_config(fixture_config("pvt_micro"), false));
  check_official_fixture("pvt_micro", model, 4);
}

TEST(LocalVitParity, ClassTokenBypassesTheLocalityFeedForward) {
  // Changing the feed-forward's weights must leave a one-block model's class token untouched.
  localvit::LocalVitConfig c;
  c.embed_dim = 32, c.depth = 1, c.num_heads = 4, c.reduction = 32, c.num_classes = 0, c.img_size = {64, 64};
  localvit::LocalVisionTransformer model(c);
  model.eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, 3, 64, 64});
  auto before = model.forward_intermediates(x, {0})[0];
  auto cls_before = model.forward(x);
  for (auto& p : model.named_parameters())
    if (p.key().find(".conv.") != std::string::npos) p.value().add_(0.5);
  EXPECT_TRUE(torch::allclose(model.forward(x), cls_before));                  // class token unchanged
  EXPECT_FALSE(torch::allclose(model.forward_intermediates(x, {0})[0], before));  // patch tokens changed
}

TEST(LocalVitVariants, ParameterCountsAreTheOfficialOnes) {
  // Counts of the official models built with ofsoundof/LocalViT (timm 0.3.2), measured for this port.
  const std::vector<std::pair<std::string, int64_t>> expected = {
      {"localvit_tiny_mlp4_act3_r192", 5908696}, {"localvit_tiny_mlp4_act3_r4", 9376168},
      {"localvit_small_mlp4_act3_r384", 22433176}, {"localvit_pvt_tiny", 13456152}, {"pvt_tiny", 13229288}};
  for (const auto& [name, count] : expected) EXPECT_EQ(count_params(*create_model(name)), count) << name;
}

TEST(LocalVitVariants, AliasesAndDenseFeatures) {
  EXPECT_EQ(Registry::instance().find("localvit_tiny")->name, "localvit_tiny_mlp4_act3_r192");
  EXPECT_EQ(Registry::instance().find("localvit_small")->name, "localvit_small_mlp4_act3_r384");
  torch::NoGradGuard no_grad;
  auto tiny = create_model("localvit_tiny");
  tiny->eval();
  EXPECT_EQ(tiny->forward_dense(torch::zeros({1, 3, 224, 224})).sizes(), (std::vector<int64_t>{1, 192, 14, 14}));
  auto pvt = create_model("localvit_pvt_tiny");
  pvt->eval();
  auto x = torch::randn({1, 3, 224, 224});
  auto stages = pvt->forward_intermediates(x, {0, 1, 2, 3});
  EXPECT_EQ(stages[0].sizes(), (std::vector<int64_t>{1, 64, 56, 56}));
  EXPECT_EQ(stages[3].sizes(), (std::vector<int64_t>{1, 512, 7, 7}));
  EXPECT_TRUE(torch::equal(pvt->forward_dense(x), stages[2]));
  EXPECT_EQ(pvt->forward_dense(x).size(1), pvt->num_features());
}
