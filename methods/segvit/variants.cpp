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
  int64_t patch = 16;
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
  o.patch_size = b.patch;
  return o;
}

// The released configs' data and optimiser settings (zbwxp/SegVit configs/): ADE20K (2048, crop) Resize, slide with
// stride 341 (512 crop) or 608 (640); COCO-Stuff-10K (2048, 512) with min_size 512 at test, wd 0.02, poly power 2;
// PASCAL-Context (520, 520) with min_size 480, slide 480/320, wd 0.03. All: AdamW 2e-5, head lr x10, warm-up 1500.
SegRecipe recipe(std::array<int64_t, 2> scale, int64_t min_size, int64_t stride, double weight_decay, double power) {
  SegRecipe r;
  r.scale = scale;
  r.min_size = min_size;
  r.stride = {stride, stride};
  r.lr = 2e-5;
  r.weight_decay = weight_decay;
  r.power = power;
  return r;
}
const SegRecipe kAde512 = recipe({2048, 512}, 0, 341, 0.01, 1.0);
const SegRecipe kAde640 = recipe({2048, 640}, 0, 608, 0.01, 1.0);
const SegRecipe kCoco10k = recipe({2048, 512}, 512, 341, 0.02, 2.0);
const SegRecipe kPcontext = recipe({520, 520}, 480, 320, 0.03, 1.0);

VariantConfig seg_config(int64_t crop, int64_t num_classes, const SegRecipe& seg) {
  VariantConfig c;
  c.seg = seg;
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

VariantInfo atm_variant(const std::string& name, const Backbone& b, int64_t crop, int64_t num_classes,
                        const SegRecipe& seg) {
  VariantInfo info;
  info.name = name;
  info.method = "segvit";
  info.task = "segmentation";
  info.paper = kPaper;
  info.config = seg_config(crop, num_classes, seg);
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
    config.patch_size = b.patch;
    model->set_variant_config(config);
    return model;
  };
  info.config.patch_size = b.patch;
  return info;
}

VariantInfo shrunk_variant(const std::string& name, int64_t crop, int64_t num_classes, const SegRecipe& seg) {
  VariantInfo info;
  info.name = name;
  info.method = "segvit";
  info.task = "segmentation";
  info.paper = kPaper;
  info.config = seg_config(crop, num_classes, seg);
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

// locbench's CPU-scale SegViT (not from the paper): the mmseg ViT at patch 8 on 64 px crops with the small ViTs'
// width (128, 6 blocks, 2 heads), taps 2/4/6, an ATM head of width 64; trained from scratch, so a higher learning
// rate and a short warm-up.
VariantInfo pico_variant(const std::string& name) {
  const Backbone pico{128, 6, 2, 0.0, {1, 3, 5}, 8};
  SegRecipe seg = recipe({256, 64}, 0, 42, 0.01, 1.0);
  seg.lr = 3e-4;
  seg.warmup_iters = 30;
  VariantInfo info = atm_variant(name, pico, 64, 150, seg);
  info.paper = std::string(kPaper) + "; locbench small variant";
  return info;
}

const RegisterVariant kAtmBaseAde{atm_variant("segvit_atm_vit_base_ade20k_512", kVitB, 512, 150, kAde512)};
const RegisterVariant kAtmLargeAde{atm_variant("segvit_atm_vit_large_ade20k_640", kVitL, 640, 150, kAde640)};
const RegisterVariant kAtmLargeCoco{atm_variant("segvit_atm_vit_large_cocostuff10k_512", kVitL, 512, 171, kCoco10k)};
const RegisterVariant kAtmLargePc{atm_variant("segvit_atm_vit_large_pcontext_480", kVitL, 480, 60, kPcontext)};
const RegisterVariant kShrunkAde{shrunk_variant("segvit_shrunk_vit_large_ade20k_640", 640, 150, kAde640)};
const RegisterVariant kShrunkCoco{shrunk_variant("segvit_shrunk_vit_large_cocostuff10k_512", 512, 171, kCoco10k)};
const RegisterVariant kAtmPico{pico_variant("segvit_atm_vit_pico_64")};
const RegisterVariant kShrunkPc{shrunk_variant("segvit_shrunk_vit_large_pcontext_480", 480, 60, kPcontext)};

}  // namespace
}  // namespace locbench::segvit
