// SegViT variants (Zhang et al., NeurIPS 2022, arXiv 2210.05844): the released zbwxp/SegVit configs (ViT-L ATM and
// Shrunk on ADE20K 640, COCO-Stuff-10K 512, PASCAL-Context 480) and the dev-repo ViT-B ATM config (ADE20K 512).
#include "harness/model/registry.h"
#include "methods/segvit/segvit.h"

namespace locbench::segvit {
namespace {

constexpr const char* kPaper = "Zhang et al., SegViT, NeurIPS 2022 (arXiv 2210.05844)";

struct Backbone {
  int64_t dims, layers, heads;
  double drop_path;
  std::vector<int64_t> taps;  // 0-based out_indices
};
const Backbone kVitB{768, 12, 12, 0.1, {5, 7, 11}};
const Backbone kVitL{1024, 24, 16, 0.3, {7, 15, 23}};

// An img_size override rebuilds the whole model for that (square) crop, as the official img_size setting does:
// position-embedding grid, the head's output size and (Shrunk) its query grid.
int64_t crop_of(int64_t crop, const ModelArgs& args) {
  if (!args.img_size) return crop;
  TORCH_CHECK((*args.img_size)[0] == (*args.img_size)[1], "SegViT is built for square crops, got ",
              (*args.img_size)[0], "x", (*args.img_size)[1]);
  return (*args.img_size)[0];
}

VitOptions vit_options(const Backbone& b, int64_t crop, const ModelArgs& args) {
  VitOptions o;
  o.img_size = {crop, crop};
  o.embed_dims = b.dims;
  o.num_layers = b.layers;
  o.num_heads = b.heads;
  o.drop_path_rate = args.drop_path_rate.value_or(b.drop_path);
  o.out_indices = b.taps;
  return o;
}

VariantConfig seg_config(int64_t crop, int64_t num_classes) {
  VariantConfig c;
  c.input_size = {3, crop, crop};
  // (x - 127.5) / 127.5 on 0-255 RGB: the JAX-pretrained ViT configs.
  c.mean = {0.5, 0.5, 0.5};
  c.std = {0.5, 0.5, 0.5};
  c.crop_pct = 1.0;
  c.interpolation = "bilinear";
  c.patch_size = 16;
  c.num_classes = num_classes;
  return c;
}

VariantInfo atm_variant(const std::string& name, const Backbone& b, int64_t crop, int64_t num_classes) {
  VariantInfo info;
  info.name = name;
  info.method = "segvit";
  info.task = "segmentation";
  info.paper = kPaper;
  info.config = seg_config(crop, num_classes);
  info.factory = [b, default_crop = crop, num_classes, base = info.config](const ModelArgs& args) -> ModelPtr {
    const int64_t crop = crop_of(default_crop, args);
    AtmHeadOptions head;
    head.in_channels = std::vector<int64_t>(b.taps.size(), b.dims);
    head.embed_dims = b.dims / 2;
    head.num_heads = b.heads;
    head.num_classes = args.num_classes.value_or(num_classes);
    head.img_size = crop;
    auto model = std::make_shared<SegVit>(vit_options(b, crop, args), head);
    VariantConfig config = base;
    config.input_size = {3, crop, crop};
    config.num_classes = head.num_classes;
    model->set_variant_config(config);
    return model;
  };
  return info;
}

VariantInfo shrunk_variant(const std::string& name, int64_t crop, int64_t num_classes) {
  VariantInfo info;
  info.name = name;
  info.method = "segvit";
  info.task = "segmentation";
  info.paper = kPaper;
  info.config = seg_config(crop, num_classes);
  info.factory = [default_crop = crop, num_classes, base = info.config](const ModelArgs& args) -> ModelPtr {
    const int64_t crop = crop_of(default_crop, args);
    VitOptions vit = vit_options(kVitL, crop, args);
    vit.shrink_idx = 8;
    vit.out_indices = {7, 23};
    TpnAtmHeadOptions head;
    head.in_channels = {kVitL.dims, kVitL.dims};
    head.embed_dims = kVitL.dims / 2;
    head.num_heads = kVitL.heads;
    head.num_classes = args.num_classes.value_or(num_classes);
    head.img_size = crop;
    auto model = std::make_shared<SegVit>(vit, head);
    VariantConfig config = base;
    config.input_size = {3, crop, crop};
    config.num_classes = head.num_classes;
    model->set_variant_config(config);
    return model;
  };
  return info;
}

const RegisterVariant kAtmBaseAde{atm_variant("segvit_atm_vit_base_ade20k_512", kVitB, 512, 150)};
const RegisterVariant kAtmLargeAde{atm_variant("segvit_atm_vit_large_ade20k_640", kVitL, 640, 150)};
const RegisterVariant kAtmLargeCoco{atm_variant("segvit_atm_vit_large_cocostuff10k_512", kVitL, 512, 171)};
const RegisterVariant kAtmLargePc{atm_variant("segvit_atm_vit_large_pcontext_480", kVitL, 480, 60)};
const RegisterVariant kShrunkAde{shrunk_variant("segvit_shrunk_vit_large_ade20k_640", 640, 150)};
const RegisterVariant kShrunkCoco{shrunk_variant("segvit_shrunk_vit_large_cocostuff10k_512", 512, 171)};
const RegisterVariant kShrunkPc{shrunk_variant("segvit_shrunk_vit_large_pcontext_480", 480, 60)};

}  // namespace
}  // namespace locbench::segvit
