// timm names: `arch.tag` with each tag's pretrained config (checked both ways against timm's own dump), DeiT and
// ViT-B/384 registered with timm's parameter counts, tags of the LocAtViT releases, and the one-line messages for
// unknown names, tags and releases.
#include "harness/checkpoint/weights.h"
#include "harness/compute/macs.h"
#include "harness/model/registry.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

using namespace locbench;
using locbench::testing::error_of;

namespace {

nlohmann::json timm_dump() {
  std::ifstream in(locbench::testing::source_dir() + "/tests/fixtures/timm_pretrained_cfgs.json");
  return nlohmann::json::parse(in);
}

void expect_config(const VariantConfig& c, const nlohmann::json& row, const std::string& what) {
  EXPECT_EQ(c.input_size, (row["input_size"].get<std::array<int64_t, 3>>())) << what;
  for (int i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(c.mean[i], row["mean"][i].get<double>()) << what;
    EXPECT_DOUBLE_EQ(c.std[i], row["std"][i].get<double>()) << what;
  }
  EXPECT_DOUBLE_EQ(c.crop_pct, row["crop_pct"].get<double>()) << what;
  EXPECT_EQ(c.interpolation, row["interpolation"].get<std::string>()) << what;
  EXPECT_EQ(c.num_classes, row["num_classes"].get<int64_t>()) << what;
}

}  // namespace

TEST(PretrainedTags, EveryTimmTagIsKnownWithTimmsConfig) {
  const auto dump = timm_dump();
  size_t checked = 0;
  for (const auto& [arch, rows] : dump.items()) {
    if (arch == "_meta") continue;
    const VariantInfo* info = Registry::instance().find(arch);
    ASSERT_NE(info, nullptr) << arch;
    ASSERT_EQ(info->pretrained.size(), rows.size()) << arch;
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& row = rows[i];
      const std::string tag = row["tag"].get<std::string>();
      const PretrainedTag& t = info->pretrained[i];  // same order: timm's default first
      EXPECT_EQ(t.tag, tag) << arch;
      EXPECT_EQ(t.hf_hub_id, row["hf_hub_id"].get<std::string>()) << arch << "." << tag;
      EXPECT_EQ(t.license, row["license"].is_null() ? "" : row["license"].get<std::string>()) << arch << "." << tag;
      expect_config(t.config, row, arch + "." + tag);
      const VariantInfo* tagged = Registry::instance().find(arch + "." + tag);
      ASSERT_NE(tagged, nullptr) << arch << "." << tag;
      EXPECT_EQ(tagged->name, arch + "." + tag);
      EXPECT_EQ(tagged->architecture, arch);
      expect_config(tagged->config, row, "entry " + arch + "." + tag);
      ++checked;
    }
    // Without a tag, timm's create_model uses the default tag's config.
    expect_config(info->config, rows[0], arch + " (default tag)");
  }
  EXPECT_EQ(checked, 29u);
  // And the other way: every timm-sourced tag locbench knows is in timm's dump.
  for (const auto* info : Registry::instance().list())
    for (const auto& t : info->pretrained)
      if (t.hf_hub_id.rfind("timm/", 0) == 0) EXPECT_TRUE(dump.contains(info->name)) << info->name << "." << t.tag;
}

TEST(PretrainedTags, ATagBuildsTheModelItsWeightsNeed) {
  auto in21k = create_model("vit_tiny_patch16_224.augreg_in21k");
  EXPECT_EQ(in21k->variant_config().num_classes, 21843);
  EXPECT_EQ(count_params(*in21k), 5717416 + 192 * (21843 - 1000) + (21843 - 1000));
  auto dino = create_model("vit_small_patch16_224.dino");  // no head
  EXPECT_EQ(dino->variant_config().num_classes, 0);
  EXPECT_EQ(dino->variant_config().mean[0], 0.485);
  ModelArgs args;
  args.num_classes = 10;  // an override still wins, as in timm
  EXPECT_EQ(create_model("vit_tiny_patch16_224.augreg_in21k", args)->variant_config().num_classes, 10);
}

TEST(PretrainedTags, DeitAndVitB384AreTimmsModels) {
  const std::map<std::string, int64_t> params{{"deit_tiny_patch16_224", 5717416},
                                              {"deit_small_patch16_224", 22050664},
                                              {"deit_base_patch16_224", 86567656},
                                              {"vit_base_patch16_384", 86859496}};
  for (const auto& [name, count] : params) {
    const VariantInfo* info = Registry::instance().find(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(count_params(*create_model(name)), count) << name;
  }
  const auto& deit = Registry::instance().find("deit_tiny_patch16_224")->config;
  EXPECT_EQ(deit.mean, (std::array<double, 3>{0.485, 0.456, 0.406}));  // DeiT: ImageNet statistics
  EXPECT_EQ(Registry::instance().find("vit_base_patch16_384")->config.input_size[1], 384);
  EXPECT_EQ(Registry::instance().find("vit_base_patch16_384")->config.crop_pct, 1.0);
  EXPECT_NE(Registry::instance().find("deit_base_patch16_224")->paper.find("2012.12877"), std::string::npos);
}

TEST(PretrainedTags, LocatvitReleasesAreNamedByTheirHubRepository) {
  const VariantInfo* tiny = Registry::instance().find("hf-hub:sinahmr/locatvit_tiny");
  ASSERT_NE(tiny, nullptr);
  EXPECT_EQ(tiny->name, "locatvit_tiny");
  ASSERT_NE(tiny->default_tag(), nullptr);
  EXPECT_EQ(tiny->default_tag()->hf_hub_id, "sinahmr/locatvit_tiny");
  EXPECT_EQ(Registry::instance().find("hf-hub:sinahmr/locatvit_base")->name, "locatvit_base");
  EXPECT_EQ(Registry::instance().find("hf-hub:timm/deit_small_patch16_224.fb_in1k")->name,
            "deit_small_patch16_224.fb_in1k");
  EXPECT_EQ(Registry::instance().find("locatvit_small")->default_tag(), nullptr);  // no release announced
}

TEST(PretrainedTags, UnknownNamesAndTagsSayWhatIsKnown) {
  EXPECT_EQ(error_of([] { create_model("vit_tiny_patch16_224.augreg_in21k_ft_in1"); }),
            "locbench does not know the pretrained tag 'augreg_in21k_ft_in1' of vit_tiny_patch16_224 (did you mean "
            "vit_tiny_patch16_224.augreg_in21k_ft_in1k?); its tags: augreg_in21k_ft_in1k, augreg_in21k");
  EXPECT_EQ(error_of([] { create_model("deit_tiny_patch16_244.fb_in1k"); }),
            "unknown model 'deit_tiny_patch16_244' in 'deit_tiny_patch16_244.fb_in1k' (did you mean "
            "deit_tiny_patch16_224.fb_in1k?)");
  EXPECT_EQ(error_of([] { create_model("vit_pico_patch8_64.in1k"); }),
            "locbench knows no pretrained tags of vit_pico_patch8_64 ('vit_pico_patch8_64.in1k')");
  EXPECT_NE(error_of([] { create_model("hf-hub:someone/their_vit"); })
                .find("locbench does not know the release 'hf-hub:someone/their_vit'"),
            std::string::npos);
  EXPECT_EQ(error_of([] { create_model("deit_tiny"); }),
            "unknown model 'deit_tiny' (did you mean deit_tiny_patch16_224?)");
}

TEST(PretrainedTags, WeightsNamingATagSelectTheTaggedModel) {
  // resolve_weights looks in the Hugging Face cache, which is empty here: the error names the command.
  const std::string dir = locbench::testing::temp_dir("weights_tag").string();
  ::setenv("HF_HUB_CACHE", dir.c_str(), 1);
  const std::string missing = error_of([] { resolve_weights("vit_tiny_patch16_224", "augreg_in21k"); });
  EXPECT_NE(missing.find("hf download timm/vit_tiny_patch16_224.augreg_in21k model.safetensors"), std::string::npos)
      << missing;
  EXPECT_NE(missing.find(dir + "/models--timm--vit_tiny_patch16_224.augreg_in21k/snapshots/"), std::string::npos)
      << missing;
  EXPECT_EQ(error_of([] { resolve_weights("vit_tiny_patch16_224", "augreg_in12k"); }),
            "weights 'augreg_in12k': no such file, and locbench does not know the pretrained tag 'augreg_in12k' of "
            "vit_tiny_patch16_224 (did you mean vit_tiny_patch16_224.augreg_in21k?); its tags: augreg_in21k_ft_in1k, "
            "augreg_in21k (or 'pretrained', 'hf-hub:ORG/NAME')");
  EXPECT_EQ(error_of([] { resolve_weights("vit_tiny_patch16_224.augreg_in21k", "augreg_in21k_ft_in1k"); }),
            "model 'vit_tiny_patch16_224.augreg_in21k' names the tag 'augreg_in21k' but its weights name "
            "'augreg_in21k_ft_in1k'");
  EXPECT_EQ(error_of([] { resolve_weights("glnet_4g", "pretrained"); }),
            "locbench knows no pretrained weights of glnet_4g (bench list models --pretrained lists those it knows)");
  EXPECT_EQ(resolve_weights("vit_tiny_patch16_224", "").path, "");
  ::unsetenv("HF_HUB_CACHE");
}

TEST(PretrainedTags, EveryPublishedNumberNamesARegisteredModel) {
  std::ifstream in(locbench::testing::source_dir() + "/results/published.json");
  const auto doc = nlohmann::json::parse(in);
  std::set<std::string> models;
  for (const auto& n : doc["numbers"]) models.insert(n["model"].get<std::string>());
  EXPECT_GE(models.size(), 20u);
  for (const auto& name : models) EXPECT_NE(Registry::instance().find(name), nullptr) << name;
}
