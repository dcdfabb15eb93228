#include "methods/vit/pretrained_tags.h"

#include <stdexcept>

namespace locbench::vit {

namespace {

using Stats = std::array<double, 3>;
// timm/data/constants.py
constexpr Stats kInceptionMean{0.5, 0.5, 0.5}, kInceptionStd{0.5, 0.5, 0.5};
constexpr Stats kImagenetMean{0.485, 0.456, 0.406}, kImagenetStd{0.229, 0.224, 0.225};
constexpr Stats kClipMean{0.48145466, 0.4578275, 0.40821073}, kClipStd{0.26862954, 0.26130258, 0.27577711};

struct Row {
  const char* arch;
  const char* tag;
  int64_t size;  // input_size (3, size, size)
  Stats mean, std;
  double crop_pct;
  int64_t num_classes;
  const char* license;
};

// One row per `arch.tag`, each architecture's default tag first, as timm 1.0.31 lists them
// (tests/fixtures/timm_pretrained_cfgs.json is timm's own dump; tests/test_pretrained.cpp compares both ways).
// Every tag is bicubic with a centre crop; the weights are `model.safetensors` in the Hub repository timm/<arch>.<tag>.
constexpr Row kRows[] = {
    {"vit_tiny_patch16_224", "augreg_in21k_ft_in1k", 224, kInceptionMean, kInceptionStd, 0.9, 1000, "apache-2.0"},
    {"vit_tiny_patch16_224", "augreg_in21k", 224, kInceptionMean, kInceptionStd, 0.9, 21843, "apache-2.0"},
    {"vit_small_patch16_224", "augreg_in21k_ft_in1k", 224, kInceptionMean, kInceptionStd, 0.9, 1000, "apache-2.0"},
    {"vit_small_patch16_224", "augreg_in1k", 224, kInceptionMean, kInceptionStd, 0.9, 1000, "apache-2.0"},
    {"vit_small_patch16_224", "augreg_in21k", 224, kInceptionMean, kInceptionStd, 0.9, 21843, "apache-2.0"},
    {"vit_small_patch16_224", "dino", 224, kImagenetMean, kImagenetStd, 0.9, 0, "apache-2.0"},
    {"vit_base_patch16_224", "augreg2_in21k_ft_in1k", 224, kInceptionMean, kInceptionStd, 0.9, 1000, "apache-2.0"},
    {"vit_base_patch16_224", "augreg_in1k", 224, kInceptionMean, kInceptionStd, 0.9, 1000, "apache-2.0"},
    {"vit_base_patch16_224", "augreg_in21k", 224, kInceptionMean, kInceptionStd, 0.9, 21843, "apache-2.0"},
    {"vit_base_patch16_224", "augreg_in21k_ft_in1k", 224, kInceptionMean, kInceptionStd, 0.9, 1000, "apache-2.0"},
    {"vit_base_patch16_224", "bamboo", 224, kClipMean, kClipStd, 1.0, 115217, ""},
    {"vit_base_patch16_224", "dino", 224, kImagenetMean, kImagenetStd, 0.9, 0, "apache-2.0"},
    {"vit_base_patch16_224", "mae", 224, kImagenetMean, kImagenetStd, 0.9, 0, "cc-by-nc-4.0"},
    {"vit_base_patch16_224", "orig_in21k", 224, kInceptionMean, kInceptionStd, 0.9, 0, "apache-2.0"},
    {"vit_base_patch16_224", "orig_in21k_ft_in1k", 224, kInceptionMean, kInceptionStd, 0.9, 1000, "apache-2.0"},
    {"vit_base_patch16_224", "sam_in1k", 224, kInceptionMean, kInceptionStd, 0.9, 1000, "apache-2.0"},
    {"vit_large_patch16_224", "augreg_in21k_ft_in1k", 224, kInceptionMean, kInceptionStd, 0.9, 1000, "apache-2.0"},
    {"vit_large_patch16_224", "augreg_in21k", 224, kInceptionMean, kInceptionStd, 0.9, 21843, "apache-2.0"},
    {"vit_large_patch16_224", "mae", 224, kImagenetMean, kImagenetStd, 0.9, 0, "cc-by-nc-4.0"},
    {"vit_large_patch16_224", "orig_in21k", 224, kInceptionMean, kInceptionStd, 0.9, 0, "apache-2.0"},
    {"vit_base_patch16_384", "augreg_in21k_ft_in1k", 384, kInceptionMean, kInceptionStd, 1.0, 1000, "apache-2.0"},
    {"vit_base_patch16_384", "augreg_in1k", 384, kInceptionMean, kInceptionStd, 1.0, 1000, "apache-2.0"},
    {"vit_base_patch16_384", "orig_in21k_ft_in1k", 384, kInceptionMean, kInceptionStd, 1.0, 1000, "apache-2.0"},
    {"deit_tiny_patch16_224", "fb_in1k", 224, kImagenetMean, kImagenetStd, 0.9, 1000, "apache-2.0"},
    {"deit_small_patch16_224", "fb_in1k", 224, kImagenetMean, kImagenetStd, 0.9, 1000, "apache-2.0"},
    {"deit_base_patch16_224", "fb_in1k", 224, kImagenetMean, kImagenetStd, 0.9, 1000, "apache-2.0"},
    {"vit_relpos_small_patch16_224", "sw_in1k", 224, kInceptionMean, kInceptionStd, 0.9, 1000, "apache-2.0"},
    {"vit_relpos_medium_patch16_224", "sw_in1k", 224, kInceptionMean, kInceptionStd, 0.9, 1000, "apache-2.0"},
    {"vit_relpos_base_patch16_224", "sw_in1k", 224, kInceptionMean, kInceptionStd, 0.9, 1000, "apache-2.0"},
};

}  // namespace

std::vector<PretrainedTag> timm_pretrained_tags(const std::string& arch) {
  std::vector<PretrainedTag> out;
  for (const Row& row : kRows) {
    if (arch != row.arch) continue;
    PretrainedTag t;
    t.tag = row.tag;
    t.hf_hub_id = std::string("timm/") + row.arch + "." + row.tag;
    t.source = "timm 1.0.31 default_cfgs";
    t.license = row.license;
    t.config.input_size = {3, row.size, row.size};
    t.config.mean = row.mean;
    t.config.std = row.std;
    t.config.crop_pct = row.crop_pct;
    t.config.interpolation = "bicubic";
    t.config.patch_size = 16;
    t.config.num_classes = row.num_classes;
    out.push_back(std::move(t));
  }
  return out;
}

VariantInfo with_timm_tags(VariantInfo info) {
  info.pretrained = timm_pretrained_tags(info.name);
  if (info.pretrained.empty()) throw std::logic_error("timm publishes no tags of " + info.name);
  for (auto& t : info.pretrained) t.config.seg = info.config.seg;
  info.config = info.pretrained.front().config;
  return info;
}

}  // namespace locbench::vit
