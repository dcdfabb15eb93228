// The pretrained tags timm publishes for the architectures locbench takes from timm (ViT, DeiT, ViT-relpos): timm's
// `arch.tag` names with each tag's pretrained config (huggingface/pytorch-image-models, default_cfgs of
// timm/models/vision_transformer.py, deit.py and vision_transformer_relpos.py; timm 1.0.31).
#pragma once

#include "harness/model/registry.h"

#include <string>
#include <vector>

namespace locbench::vit {

// The tags of `arch`, timm's default first (empty for an architecture timm publishes no weights of).
std::vector<PretrainedTag> timm_pretrained_tags(const std::string& arch);

// A variant registered from timm: its tags, and the default tag's config as the architecture's own (timm's
// create_model without a tag uses the default tag's pretrained config).
VariantInfo with_timm_tags(VariantInfo info);

}  // namespace locbench::vit
