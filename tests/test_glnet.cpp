// GLNet equals the official rayleizhu/GLMix code (fixtures from make_localvit_glnet_fixtures.py: reduced 4G, 16G
// (LayerScale) and STL layouts, BN in eval with random running statistics), and the full variants have its sizes.
#include "harness/compute/macs.h"
#include "harness/model/registry.h"
#include "methods/glmix/glnet.h"
#include "tests/official_parity.h"

using namespace locbench;
using namespace locbench::testing;

namespace {

glmix::GlnetConfig glnet_config(const nlohmann::json& c, bool fused) {
  const auto& k = c["official_kwargs"];
  glmix::GlnetConfig g;
  for (size_t i = 0; i < 4; ++i) {
    g.depths[i] = k["depth"][i];
    g.embed_dims[i] = k["embed_dim"][i];
    g.mlp_ratios[i] = k["mlp_ratios"][i];
    g.mixing_modes[i] = k["mixing_modes"][i];
  }
  g.head_dim = k["head_dim"];
  g.local_dw_ks = k["local_dw_ks"];
  g.num_slots = k["num_slots"];
  g.cpe_ks = k.value("cpe_ks", 0);
  g.overlapped_stem = k.value("downsample_style", "non_ovlp") == "ovlp";
  g.transition_layout = k["transition_layout"];
  g.mlp_dw = k.value("mlp_dw", false);
  if (k.contains("layerscale")) g.layerscale = k["layerscale"].get<double>();
  g.num_classes = k["num_classes"];
  g.fused_attn = fused;
  return g;
}

void check(const std::string& name, bool fused) {
  glmix::GLNet model(glnet_config(fixture_config(name), fused));
  check_official_fixture(name, model, 4);
}

}  // namespace

TEST(GlnetParity, HybridLayoutMatchesTheOfficialCodeWithSdpa) { check("glnet_micro", true); }
TEST(GlnetParity, HybridLayoutMatchesTheOfficialCodeWithExplicitSoftmax) { check("glnet_micro", false); }
TEST(GlnetParity, LayerScaleLayoutMatchesTheOfficialCode) { check("glnet_ls_micro", true); }
TEST(GlnetParity, StlLayoutMatchesTheOfficialCode) { check("glnet_stl_micro", true); }

TEST(GlnetParity, SlotsComeFromTheBlockInputBeforeThePositionEncoding) {
  // The block equals its parts recomposed with slots pooled from the raw input x; pooling after the (randomly
  // initialised) CPE or after norm1 would give other slots and another output.
  glmix::GlnetConfig c;
  glmix::GLMixBlock block(glmix::BlockOptions{32, 3.0, 0.0, &c});
  block.eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, 32, 16, 16});
  auto pooled = torch::adaptive_avg_pool2d(x, {8, 8}).permute({0, 2, 3, 1}).flatten(1, 2);
  auto u = block.norm1->forward(x + block.pos_conv->forward(x));
  auto expected = block.global_mix(u, pooled) + block.feature_conv->forward(u);
  auto shortcut = x + block.pos_conv->forward(x);
  auto h = shortcut + expected;
  h = h + block.mlp->forward(block.norm2->forward(h));
  EXPECT_TRUE(torch::allclose(block.forward(x), h, 1e-5, 1e-5));
}

TEST(GlnetVariants, ParameterCountsAreTheOfficialOnes) {
  // Counts of the official models built with rayleizhu/GLMix, measured for this port.
  const std::vector<std::pair<std::string, int64_t>> expected = {
      {"glnet_stl", 30296786}, {"glnet_4g", 27001593}, {"glnet_9g", 60010617}, {"glnet_16g", 106055161}};
  for (const auto& [name, count] : expected) EXPECT_EQ(count_params(*create_model(name)), count) << name;
}

TEST(GlnetVariants, MacsAt224MatchTheReadme) {
  // README GFLOPs (MACs) at 224: STL 4.4, 4G 4.5, 9G 9.7, 16G 16.7, given to one decimal.
  const std::vector<std::pair<std::string, double>> expected = {
      {"glnet_stl", 4.4}, {"glnet_4g", 4.5}, {"glnet_9g", 9.7}, {"glnet_16g", 16.7}};
  for (const auto& [name, gmacs] : expected) {
    auto model = create_model(name);
    model->eval();
    torch::NoGradGuard no_grad;
    auto x = torch::zeros({1, 3, 224, 224});
    const MacCount count = count_macs([&] { model->forward(x); });
    const double measured = count.macs / 1e9;
    std::printf("[macs] %s: %.3f G (README %.1f G)\n", name.c_str(), measured, gmacs);
    for (const auto& [op, calls] : count.unhandled_ops) std::printf("  unhandled %s x%lld\n", op.c_str(), (long long)calls);
    EXPECT_NEAR(measured, gmacs, 0.1) << name;
  }
}

TEST(GlnetVariants, DenseFeaturesAreTheStride16Stage) {
  auto model = create_model("glnet_4g");
  model->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, 3, 160, 224});
  auto stages = model->forward_intermediates(x, {0, 1, 2, 3});
  EXPECT_EQ(stages[0].sizes(), (std::vector<int64_t>{1, 64, 40, 56}));
  EXPECT_EQ(stages[3].sizes(), (std::vector<int64_t>{1, 512, 5, 7}));
  EXPECT_TRUE(torch::equal(model->forward_dense(x), stages[2]));
  EXPECT_EQ(model->feature_stride(), 16);
  EXPECT_EQ(model->num_features(), 256);
}
