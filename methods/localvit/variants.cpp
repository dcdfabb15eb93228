// LocalViT variants (Li et al., arXiv 2104.05707) and the PVT-Tiny baseline, registered under the official
// ofsoundof/LocalViT names; each one's 1x1 -> dw3x3 -> SE -> 1x1 feed-forward is the paper's locality mechanism.
#include "harness/model/registry.h"
#include "methods/localvit/localvit.h"
#include "methods/localvit/pvt.h"

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
const RegisterVariant kPvtTiny{pvt_variant("pvt_tiny", false)};

}  // namespace
}  // namespace locbench::localvit
