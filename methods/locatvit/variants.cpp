// LocAtViT variants (Hajimiri et al., ICLR 2026, arXiv 2603.04892): timm's ViT-Ti/S/B with GAug in every block and
// PRR before the head, registered under the official names (sinahmr/LocAtViT models/vit.py).
#include "harness/model/registry.h"
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

const RegisterVariant kTiny{locatvit_variant("locatvit_tiny", 192, 3)};
const RegisterVariant kSmall{locatvit_variant("locatvit_small", 384, 6)};
const RegisterVariant kBase{locatvit_variant("locatvit_base", 768, 12)};

}  // namespace
}  // namespace locbench::locatvit
