// LocAtViT variants (Hajimiri et al., ICLR 2026, arXiv 2603.04892): timm's ViT-Ti/S/B with GAug in every block and
// PRR before the head, registered under the official names (sinahmr/LocAtViT models/vit.py).
#include "harness/model/registry.h"
#include "methods/vit/small_config.h"
#include "methods/locatvit/locatvit.h"

namespace locbench::locatvit {
namespace {

constexpr const char* kPaper = "Hajimiri et al., ICLR 2026 (arXiv 2603.04892)";

VariantInfo locatvit_variant(const std::string& name, int64_t dim, int64_t heads) {
  vit::VitConfig base;
  base.embed_dim = dim;
  base.depth = 12;
  base.num_heads = heads;
  base.dynamic_img_pad = true;  // the official segmentation protocol pads inputs to a multiple of 16
  VariantInfo info;
  info.name = name;
  info.method = "locatvit";
  info.task = "classification";
  info.paper = kPaper;
  info.factory = [base](const ModelArgs& args) -> ModelPtr {
    return std::make_shared<LocAtViT>(vit::apply_args(base, args));
  };
  return info;
}

// locbench's CPU-scale variant (the geometry of vit_pico_patch8_64: patch 8, 64 px, 128 wide, depth 6, 2 heads of
// 64 so GAug's per-head Linear(64, .) keeps its official shape); not in the paper.
VariantInfo locatvit_pico() {
  VariantInfo info = locatvit_variant("locatvit_pico_patch8_64", 128, 2);
  vit::VitConfig base = vit::small_config(64, 128, 6, 2);
  base.dynamic_img_pad = true;
  info.paper = std::string(kPaper) + "; locbench small variant";
  info.config = vit::small_variant_config(64);
  info.factory = [base](const ModelArgs& args) -> ModelPtr {
    return std::make_shared<LocAtViT>(vit::apply_args(base, args));
  };
  return info;
}

// The authors' ImageNet-1k releases on the Hugging Face Hub (sinahmr/LocAtViT README: `validate.py --model
// hf-hub:sinahmr/locatvit_{tiny,base}`), with the official default_cfgs (timm's ViT _cfg(): mean = std = 0.5,
// crop_pct 0.9, bicubic, 224 px, 1000 classes), which are the variants' own configs. They carry no tag.
VariantInfo released(VariantInfo info, const std::string& hub_id) {
  PretrainedTag release;
  release.hf_hub_id = hub_id;
  release.source = "sinahmr/LocAtViT README (Hugging Face Hub release)";
  release.config = info.config;
  info.pretrained.push_back(std::move(release));
  return info;
}

const RegisterVariant kTiny{released(locatvit_variant("locatvit_tiny", 192, 3), "sinahmr/locatvit_tiny")};
const RegisterVariant kPico{locatvit_pico()};
const RegisterVariant kSmall{locatvit_variant("locatvit_small", 384, 6)};
const RegisterVariant kBase{released(locatvit_variant("locatvit_base", 768, 12), "sinahmr/locatvit_base")};

}  // namespace
}  // namespace locbench::locatvit
