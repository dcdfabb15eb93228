// GAB variants (Kim et al., BMVC 2023, arXiv 2305.04722): timm's vit_relpos_{small,medium,base}_patch16_224 with and
// without the per-layer Gaussian bias (the official 'vrelglmi' setting), and locbench's own ViT-Ti/S/B + GAB.
#include "harness/model/registry.h"
#include "methods/vit/pretrained_tags.h"
#include "methods/vit/small_config.h"
#include "methods/gab/gab.h"

namespace locbench::gab {
namespace {

constexpr const char* kPaper = "Kim et al., BMVC 2023 (arXiv 2305.04722)";
constexpr const char* kRelPosPaper = "timm vit_relpos (Swin-V2 log-coordinate MLP, arXiv 2111.09883)";

VariantInfo relpos_variant(const std::string& name, int64_t dim, int64_t heads, bool gab) {
  RelPosConfig base;
  base.vit.embed_dim = dim;
  base.vit.depth = 12;
  base.vit.num_heads = heads;
  base.vit.qkv_bias = false;
  base.vit.class_token = false;
  base.vit.global_pool = "avg";
  base.vit.fc_norm = true;
  base.vit.init_values = 1e-6;
  base.gab = gab;
  VariantInfo info;
  info.name = name;
  info.method = gab ? "gab" : "vit_relpos";
  info.task = "classification";
  info.paper = gab ? kPaper : kRelPosPaper;
  info.factory = [base](const ModelArgs& args) -> ModelPtr {
    RelPosConfig config = base;
    config.vit = vit::apply_args(base.vit, args);
    return std::make_shared<VisionTransformerRelPos>(config);
  };
  return gab ? info : vit::with_timm_tags(std::move(info));  // timm publishes the relpos baselines (sw_in1k)
}

VariantInfo vit_gab_variant(const std::string& name, int64_t dim, int64_t heads) {
  vit::VitConfig base;
  base.embed_dim = dim;
  base.depth = 12;
  base.num_heads = heads;
  VariantInfo info;
  info.name = name;
  info.method = "gab";
  info.task = "classification";
  info.paper = "locbench's own: GAB (arXiv 2305.04722) on a plain ViT, not in any paper";
  info.factory = [base](const ModelArgs& args) -> ModelPtr {
    return std::make_shared<VisionTransformerGab>(vit::apply_args(base, args));
  };
  return info;
}

const RegisterVariant kRelPosSmall{relpos_variant("vit_relpos_small_patch16_224", 384, 6, false)};
const RegisterVariant kRelPosMedium{relpos_variant("vit_relpos_medium_patch16_224", 512, 8, false)};
const RegisterVariant kRelPosBase{relpos_variant("vit_relpos_base_patch16_224", 768, 12, false)};
const RegisterVariant kRelPosSmallGab{relpos_variant("vit_relpos_small_patch16_224_gab", 384, 6, true)};
const RegisterVariant kRelPosMediumGab{relpos_variant("vit_relpos_medium_patch16_224_gab", 512, 8, true)};
const RegisterVariant kRelPosBaseGab{relpos_variant("vit_relpos_base_patch16_224_gab", 768, 12, true)};

// The CPU-scale geometry of vit_pico_patch8_64 with GAB (locbench's own).
VariantInfo vit_pico_gab() {
  VariantInfo info = vit_gab_variant("vit_pico_patch8_64_gab", 128, 2);
  const vit::VitConfig base = vit::small_config(64, 128, 6, 2);
  info.config = vit::small_variant_config(64);
  info.factory = [base](const ModelArgs& args) -> ModelPtr {
    return std::make_shared<VisionTransformerGab>(vit::apply_args(base, args));
  };
  return info;
}

const RegisterVariant kTinyGab{vit_gab_variant("vit_tiny_patch16_224_gab", 192, 3)};
const RegisterVariant kPicoGab{vit_pico_gab()};
const RegisterVariant kSmallGab{vit_gab_variant("vit_small_patch16_224_gab", 384, 6)};
const RegisterVariant kBaseGab{vit_gab_variant("vit_base_patch16_224_gab", 768, 12)};

}  // namespace
}  // namespace locbench::gab
