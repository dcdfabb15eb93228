// The timm ViT variants locbench compares every method against, and DeiT (timm's deit_*: the same
// VisionTransformer, trained with the DeiT recipe; LocalViT's baseline), each with the pretrained tags timm publishes.
#include "harness/model/registry.h"
#include "methods/vit/pretrained_tags.h"
#include "methods/vit/vision_transformer.h"

namespace locbench::vit {
namespace {

constexpr const char* kPaper = "Dosovitskiy et al., ICLR 2021 (arXiv 2010.11929)";
constexpr const char* kDeitPaper = "Touvron et al., DeiT, ICML 2021 (arXiv 2012.12877)";

VariantInfo vit_variant(const std::string& name, int64_t dim, int64_t depth, int64_t heads, int64_t img = 224,
                        const char* paper = kPaper) {
  VitConfig base;
  base.img_size = {img, img};
  base.embed_dim = dim;
  base.depth = depth;
  base.num_heads = heads;
  VariantInfo info;
  info.name = name;
  info.method = "vit";
  info.task = "classification";
  info.paper = paper;
  info.factory = [base](const ModelArgs& args) -> ModelPtr {
    return std::make_shared<VisionTransformer>(apply_args(base, args));
  };
  return with_timm_tags(std::move(info));
}

// Parameters (1000 classes): Ti 5,717,416, S 22,050,664, B 86,567,656, B/384 86,859,496 (timm's counts; DeiT's
// equal the ViT's of the same width).
const RegisterVariant kTiny{vit_variant("vit_tiny_patch16_224", 192, 12, 3)};
const RegisterVariant kSmall{vit_variant("vit_small_patch16_224", 384, 12, 6)};
const RegisterVariant kBase{vit_variant("vit_base_patch16_224", 768, 12, 12)};
const RegisterVariant kLarge{vit_variant("vit_large_patch16_224", 1024, 24, 16)};
const RegisterVariant kBase384{vit_variant("vit_base_patch16_384", 768, 12, 12, 384)};
const RegisterVariant kDeitTiny{vit_variant("deit_tiny_patch16_224", 192, 12, 3, 224, kDeitPaper)};
const RegisterVariant kDeitSmall{vit_variant("deit_small_patch16_224", 384, 12, 6, 224, kDeitPaper)};
const RegisterVariant kDeitBase{vit_variant("deit_base_patch16_224", 768, 12, 12, 224, kDeitPaper)};

}  // namespace
}  // namespace locbench::vit
