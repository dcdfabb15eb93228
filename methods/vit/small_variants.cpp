// Small ViTs (Dosovitskiy et al., ICLR 2021, arXiv 2010.11929) for CPU-scale experiments: the timm
// VisionTransformer shrunk to patch 8 on 64-96 px images, so a model trains from scratch in minutes on 2 cores.
// Not in timm; the names follow timm's pattern (family_size_patchP_resolution).
#include "harness/model/registry.h"
#include "methods/vit/small_config.h"

namespace locbench::vit {

VitConfig small_config(int64_t img, int64_t dim, int64_t depth, int64_t heads) {
  VitConfig config;
  config.img_size = {img, img};
  config.patch_size = 8;
  config.embed_dim = dim;
  config.depth = depth;
  config.num_heads = heads;
  return config;
}

VariantConfig small_variant_config(int64_t img) {
  VariantConfig config;
  config.input_size = {3, img, img};
  config.patch_size = 8;
  config.crop_pct = 1.0;  // trained on whole small images, no centre crop
  return config;
}

namespace {

constexpr const char* kPaper = "Dosovitskiy et al., ICLR 2021 (arXiv 2010.11929); locbench small variant";

VariantInfo small_vit_variant(const std::string& name, int64_t img, int64_t dim, int64_t depth, int64_t heads) {
  const VitConfig base = small_config(img, dim, depth, heads);
  VariantInfo info;
  info.name = name;
  info.method = "vit";
  info.task = "classification";
  info.paper = kPaper;
  info.config = small_variant_config(img);
  info.factory = [base](const ModelArgs& args) -> ModelPtr {
    return std::make_shared<VisionTransformer>(apply_args(base, args));
  };
  return info;
}

// Parameters (timm count, 1000-class head): pico 1,352,040 (0.085 GMACs at 64 px), nano 2,071,240 (0.314 GMACs
// at 96 px); with a 4-class head pico has 1,223,556.
const RegisterVariant kPico{small_vit_variant("vit_pico_patch8_64", 64, 128, 6, 2)};
const RegisterVariant kNano{small_vit_variant("vit_nano_patch8_96", 96, 160, 6, 4)};

}  // namespace
}  // namespace locbench::vit
