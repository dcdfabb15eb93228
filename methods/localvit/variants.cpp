// LocalViT variants (Li et al., arXiv 2104.05707) and the PVT-Tiny baseline, registered under the official
// ofsoundof/LocalViT names; each one's 1x1 -> dw3x3 -> SE -> 1x1 feed-forward is the paper's locality mechanism.
#include "harness/model/registry.h"
#include "methods/localvit/localvit.h"
#include "methods/localvit/pvt.h"
#include "methods/vit/small_config.h"

namespace locbench::localvit {
namespace {

constexpr const char* kPaper = "Li et al., LocalViT, IROS 2023 (arXiv 2104.05707)";
constexpr const char* kPvtPaper = "Wang et al., PVT, ICCV 2021 (arXiv 2102.12122)";

// DeiT's evaluation: ImageNet mean/std, resize 256 bicubic, center crop 224.
VariantConfig imagenet_config() {
  VariantConfig config;
  config.mean = {0.485, 0.456, 0.406};
  config.std = {0.229, 0.224, 0.225};
  config.crop_pct = 0.875;
  config.patch_size = 16;
  return config;
}

VariantInfo localvit_variant(const std::string& name, int64_t dim, int64_t heads, int64_t reduction,
                             std::vector<std::string> aliases = {}) {
  LocalVitConfig base;
  base.embed_dim = dim;
  base.num_heads = heads;
  base.reduction = reduction;
  VariantInfo info;
  info.name = name;
  info.method = "localvit";
  info.task = "classification";
  info.paper = kPaper;
  info.config = imagenet_config();
  info.aliases = std::move(aliases);
  info.factory = [base](const ModelArgs& args) -> ModelPtr {
    return std::make_shared<LocalVisionTransformer>(apply_args(base, args));
  };
  return info;
}

// locbench's CPU-scale LocalViT on the small ViT geometry (methods/vit/small_config.h): patch 8 on 64 px, the
// locality feed-forward in every block. Not from the paper; the SE hidden width is 4 as in LocalViT-T (512 / 128).
VariantInfo small_localvit_variant(const std::string& name, int64_t img, int64_t dim, int64_t depth, int64_t heads,
                                   int64_t reduction) {
  const vit::VitConfig geometry = vit::small_config(img, dim, depth, heads);
  LocalVitConfig base;
  base.img_size = geometry.img_size;
  base.patch_size = geometry.patch_size;
  base.embed_dim = geometry.embed_dim;
  base.depth = geometry.depth;
  base.num_heads = geometry.num_heads;
  base.reduction = reduction;
  VariantInfo info = localvit_variant(name, dim, heads, reduction);
  info.paper = std::string(kPaper) + "; locbench small variant";
  info.config = vit::small_variant_config(img);
  info.factory = [base](const ModelArgs& args) -> ModelPtr {
    return std::make_shared<LocalVisionTransformer>(apply_args(base, args));
  };
  return info;
}

VariantInfo pvt_variant(const std::string& name, bool locality) {
  PvtConfig base;
  base.locality = locality;
  VariantInfo info;
  info.name = name;
  info.method = locality ? "localvit" : "pvt";
  info.task = "classification";
  info.paper = locality ? kPaper : kPvtPaper;
  info.config = imagenet_config();
  info.factory = [base](const ModelArgs& args) -> ModelPtr {
    return std::make_shared<PyramidVisionTransformer>(apply_args(base, args));
  };
  return info;
}

// LocalViT-T/-S use 4/8 heads (DeiT has 3/6); `reduction` divides the 4x hidden width for the SE layer.
const RegisterVariant kTiny{localvit_variant("localvit_tiny_mlp4_act3_r192", 192, 4, 192, {"localvit_tiny"})};
const RegisterVariant kTinySe4{localvit_variant("localvit_tiny_mlp4_act3_r4", 192, 4, 4)};
const RegisterVariant kSmall{localvit_variant("localvit_small_mlp4_act3_r384", 384, 8, 384, {"localvit_small"})};
const RegisterVariant kPvt{pvt_variant("localvit_pvt_tiny", true)};
const RegisterVariant kPico{small_localvit_variant("localvit_pico_patch8_64", 64, 128, 6, 2, 128)};
const RegisterVariant kPvtTiny{pvt_variant("pvt_tiny", false)};

}  // namespace
}  // namespace locbench::localvit
