// The timm ViT variants locbench compares every method against.
#include "harness/model/registry.h"
#include "methods/vit/vision_transformer.h"

namespace locbench::vit {
namespace {

constexpr const char* kPaper = "Dosovitskiy et al., ICLR 2021 (arXiv 2010.11929)";

VariantInfo vit_variant(const std::string& name, int64_t dim, int64_t depth, int64_t heads) {
  VitConfig base;
  base.embed_dim = dim;
  base.depth = depth;
  base.num_heads = heads;
  VariantInfo info;
  info.name = name;
  info.method = "vit";
  info.task = "classification";
  info.paper = kPaper;
  info.factory = [base](const ModelArgs& args) -> ModelPtr {
    return std::make_shared<VisionTransformer>(apply_args(base, args));
  };
  return info;
}

const RegisterVariant kTiny{vit_variant("vit_tiny_patch16_224", 192, 12, 3)};
const RegisterVariant kSmall{vit_variant("vit_small_patch16_224", 384, 12, 6)};
const RegisterVariant kBase{vit_variant("vit_base_patch16_224", 768, 12, 12)};
const RegisterVariant kLarge{vit_variant("vit_large_patch16_224", 1024, 24, 16)};

}  // namespace
}  // namespace locbench::vit
