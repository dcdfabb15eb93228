// GLNet variants (Zhu et al., NeurIPS 2024, arXiv 2411.14429) under the official rayleizhu/GLMix names; every
// GLMix block mixes a slot-MHSA global branch with a 1x1-dw5x5-1x1 local branch (Sec. 3, Fig. 2).
#include "harness/model/registry.h"
#include "methods/glmix/glnet.h"

namespace locbench::glmix {
namespace {

constexpr const char* kPaper = "Zhu et al., GLMix, NeurIPS 2024 (arXiv 2411.14429)";

VariantInfo glnet_variant(const std::string& name, const GlnetConfig& base) {
  VariantInfo info;
  info.name = name;
  info.method = "glmix";
  info.task = "classification";
  info.paper = kPaper;
  // ConvNeXt-V2 evaluation: ImageNet mean/std, resize 256 bicubic, center crop 224.
  info.config.mean = {0.485, 0.456, 0.406};
  info.config.std = {0.229, 0.224, 0.225};
  info.config.crop_pct = 0.875;
  info.config.patch_size = 16;
  info.factory = [base](const ModelArgs& args) -> ModelPtr { return std::make_shared<GLNet>(apply_args(base, args)); };
  return info;
}

// Swin-T layout: non-overlapped 4x4 stem, BN -> 2x2 conv transitions, no CPE, plain MLP, token MHSA stage 4.
GlnetConfig stl() {
  GlnetConfig c;
  c.depths = {2, 2, 6, 2};
  c.embed_dims = {96, 192, 384, 768};
  c.mlp_ratios = {4, 4, 4, 4};
  c.mixing_modes = {"glmix", "glmix", "glmix", "mha"};
  c.cpe_ks = 0;
  c.overlapped_stem = false;
  c.transition_layout = "norm.proj";
  c.mlp_dw = false;
  return c;
}

GlnetConfig hybrid(std::array<int64_t, 4> dims, std::optional<double> layerscale = std::nullopt) {
  GlnetConfig c;  // the defaults are the 4G/9G/16G layout
  c.embed_dims = dims;
  c.layerscale = layerscale;
  return c;
}

// locbench's CPU-scale GLNet (not from the paper): the 4G layout (overlapped stem, CPE, GLMix stages 1-2, the
// hybrid stage 3, MHSA stage 4) narrowed to 32-256 channels and 1-1-2-1 blocks, with 16 slots (a 4x4 pool) for
// 64 px inputs, whose stage grids are 16/8/4/2. Whole images at 64 px, as the small ViTs.
VariantInfo glnet_small_variant(const std::string& name, int64_t img) {
  GlnetConfig c = hybrid({32, 64, 128, 256});
  c.depths = {1, 1, 2, 1};
  c.num_slots = 16;
  VariantInfo info = glnet_variant(name, c);
  info.paper = std::string(kPaper) + "; locbench small variant";
  info.config = VariantConfig{};
  info.config.input_size = {3, img, img};
  info.config.crop_pct = 1.0;
  info.config.patch_size = 16;
  return info;
}

const RegisterVariant kStl{glnet_variant("glnet_stl", stl())};
const RegisterVariant k4g{glnet_variant("glnet_4g", hybrid({64, 128, 256, 512}))};
const RegisterVariant k9g{glnet_variant("glnet_9g", hybrid({96, 192, 384, 768}))};
const RegisterVariant k16g{glnet_variant("glnet_16g", hybrid({128, 256, 512, 1024}, 1e-4))};
const RegisterVariant kPico{glnet_small_variant("glnet_pico_64", 64)};

}  // namespace
}  // namespace locbench::glmix
