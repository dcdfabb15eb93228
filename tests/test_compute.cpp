// Parameter and MAC counts against timm's published figures and fvcore's reference counts
// (tests/fixtures/reference_counts.json, written by tests/fixtures/make_vit_reference_counts.py).
#include "harness/compute/macs.h"
#include "harness/model/registry.h"
#include "methods/common/packed_linear.h"
#include "tests/test_helpers.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

using namespace locbench;

namespace {

MacCount count_model(const std::string& name, int64_t h = 224, int64_t w = 224) {
  auto model = create_model(name);
  model->eval();
  auto input = torch::zeros({1, 3, h, w});
  return count_macs([&] {
    torch::InferenceMode guard;
    model->forward(input);
  });
}

nlohmann::json reference_counts() {
  std::ifstream in(locbench::testing::source_dir() + "/tests/fixtures/reference_counts.json");
  return nlohmann::json::parse(in);
}

}  // namespace

TEST(Compute, VitParamsAndMacsMatchTimmAndFvcore) {
  const struct {
    const char* name;
    int64_t params;
    double gmacs;
  } targets[] = {{"vit_tiny_patch16_224", 5717416, 1.258},
                 {"vit_small_patch16_224", 22050664, 4.608},
                 {"vit_base_patch16_224", 86567656, 17.583}};
  const auto reference = reference_counts();
  for (const auto& t : targets) {
    SCOPED_TRACE(t.name);
    auto model = create_model(t.name);
    EXPECT_EQ(count_params(*model), t.params);
    const MacCount count = count_model(t.name);
    EXPECT_NEAR(count.macs / 1e9, t.gmacs, t.gmacs * 0.005);
    // fvcore's own total, from tracing timm with explicit attention matmuls.
    const double fvcore = reference.at(t.name).at("macs").get<double>();
    EXPECT_NEAR(count.macs, fvcore, fvcore * 1e-9);
  }
}

TEST(Compute, VitLargeMatchesFvcore) {
  const auto reference = reference_counts();
  auto model = create_model("vit_large_patch16_224");
  EXPECT_EQ(count_params(*model), reference.at("vit_large_patch16_224").at("params").get<int64_t>());
}

TEST(Compute, UnhandledOpsAreListedNotDropped) {
  // On at::linear, as fvcore traces timm: GELU is an op of its own, which fvcore does not count.
  layers::set_packed_linear_enabled(false);
  const MacCount plain = count_model("vit_tiny_patch16_224");
  layers::set_packed_linear_enabled(true);
  ASSERT_TRUE(plain.unhandled_ops.count("aten::gelu"));
  EXPECT_EQ(plain.unhandled_ops.at("aten::gelu"), 12);
  EXPECT_FALSE(plain.unhandled_ops.count("aten::reshape"));  // ignored on purpose, as fvcore does
  // The packed oneDNN linear of inference runs GELU inside fc1: the same MACs, no GELU op left to list.
  if (!at::hasMKLDNN()) return;
  const MacCount packed = count_model("vit_tiny_patch16_224");
  EXPECT_EQ(packed.macs, plain.macs);
  EXPECT_FALSE(packed.unhandled_ops.count("aten::gelu"));
  EXPECT_FALSE(packed.unhandled_ops.count("mkldnn::_linear_pointwise"));
}

TEST(Compute, AttentionIsCountedAsItsTwoMatmulsOnEitherPath) {
  ModelArgs explicit_path;
  explicit_path.fused_attn = false;
  auto fused = create_model("vit_tiny_patch16_224");
  auto manual = create_model("vit_tiny_patch16_224", explicit_path);
  fused->eval();
  manual->eval();
  auto input = torch::zeros({1, 3, 224, 224});
  torch::InferenceMode guard;
  const auto a = count_macs([&] { fused->forward(input); });
  const auto b = count_macs([&] { manual->forward(input); });
  EXPECT_DOUBLE_EQ(a.macs, b.macs);
  EXPECT_GT(a.macs_by_op.at("aten::scaled_dot_product_attention"), 0);
}

TEST(Compute, HandlersFollowFvcoreFormulas) {
  torch::InferenceMode guard;
  auto x = torch::randn({2, 8, 16, 16});
  auto w = torch::randn({4, 2, 3, 3});  // groups = 4
  const auto conv = count_macs([&] { torch::conv2d(x, w, {}, 1, 1, 1, 4); });
  EXPECT_DOUBLE_EQ(conv.macs, 2.0 * 4 * 2 * 3 * 3 * 16 * 16);
  const auto einsum = count_macs([&] { torch::einsum("bqc,bchw->bqhw", {torch::randn({2, 5, 8}), x}); });
  EXPECT_DOUBLE_EQ(einsum.macs, 2.0 * 5 * 8 * 16 * 16);
  const auto gn = count_macs([&] { torch::group_norm(x, 1, torch::ones({8}), torch::zeros({8})); });
  EXPECT_DOUBLE_EQ(gn.macs, 5.0 * x.numel());
  namespace F = torch::nn::functional;
  const auto up = count_macs([&] {
    F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{32, 32}).mode(torch::kBilinear)
                          .align_corners(false));
  });
  EXPECT_DOUBLE_EQ(up.macs, 4.0 * 2 * 8 * 32 * 32);
  const auto bmm = count_macs([&] { torch::bmm(torch::randn({3, 4, 5}), torch::randn({3, 5, 6})); });
  EXPECT_DOUBLE_EQ(bmm.macs, 3.0 * 4 * 5 * 6);
}

TEST(Compute, CountsOnlyOutermostOps) {
  torch::InferenceMode guard;
  auto x = torch::randn({4, 8});
  auto w = torch::randn({16, 8});
  const auto linear = count_macs([&] { torch::nn::functional::linear(x, w, torch::zeros({16})); });
  EXPECT_DOUBLE_EQ(linear.macs, 4.0 * 8 * 16);  // not again for the addmm/mm it calls
}
