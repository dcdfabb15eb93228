// The registry: every variant listed with its method, task and paper; overrides; "did you mean".
#include "harness/model/registry.h"

#include <gtest/gtest.h>

using namespace locbench;

TEST(Registry, ListsTheVitBaselines) {
  for (const char* name : {"vit_tiny_patch16_224", "vit_small_patch16_224", "vit_base_patch16_224",
                           "vit_large_patch16_224"}) {
    const VariantInfo* info = Registry::instance().find(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(info->method, "vit");
    EXPECT_EQ(info->task, "classification");
    EXPECT_NE(info->paper.find("2010.11929"), std::string::npos);
    EXPECT_EQ(info->config.mean[0], 0.5);
    EXPECT_EQ(info->config.crop_pct, 0.9);
    EXPECT_EQ(info->config.interpolation, "bicubic");
  }
}

TEST(Registry, UnknownNameSuggestsTheClosest) {
  try {
    create_model("vitt_tiny");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "unknown model 'vitt_tiny' (did you mean vit_tiny_patch16_224?)");
  }
}

TEST(Registry, OverridesReachTheModel) {
  ModelArgs args;
  args.num_classes = 7;
  args.img_size = std::array<int64_t, 2>{96, 128};
  auto model = create_model("vit_tiny_patch16_224", args);
  EXPECT_EQ(model->variant_config().num_classes, 7);
  EXPECT_EQ(model->variant_config().input_size[1], 96);
  model->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(model->forward(torch::zeros({2, 3, 96, 128})).sizes(), (std::vector<int64_t>{2, 7}));
  EXPECT_EQ(model->forward_dense(torch::zeros({1, 3, 96, 128})).sizes(), (std::vector<int64_t>{1, 192, 6, 8}));
  for (const auto& p : model->named_parameters())
    if (p.key() == "pos_embed") EXPECT_EQ(p.value().size(1), 1 + 6 * 8);
}

TEST(Registry, StateDictKeysAreTimms) {
  auto model = create_model("vit_tiny_patch16_224");
  std::set<std::string> keys;
  for (const auto& p : model->named_parameters()) keys.insert(p.key());
  for (const char* key : {"cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
                          "blocks.0.norm1.weight", "blocks.0.attn.qkv.weight", "blocks.0.attn.qkv.bias",
                          "blocks.0.attn.proj.weight", "blocks.11.norm2.bias", "blocks.11.mlp.fc1.weight",
                          "blocks.11.mlp.fc2.bias", "norm.weight", "norm.bias", "head.weight", "head.bias"})
    EXPECT_TRUE(keys.count(key)) << key;
  EXPECT_EQ(keys.size(), 4u + 2 + 12 * 12 + 2);
}
