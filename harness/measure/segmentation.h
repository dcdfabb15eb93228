// What the segmentation kinds (`miou`, `train`, `fps`) share: the test settings of a suite entry, how they are
// named in results, the cell's model as a segmentation model, and the generated synthetic data. Implemented in
// miou.cpp. Internal to harness/measure.
#pragma once

#include "harness/measure/measure.h"
#include "harness/train/train.h"

#include <string>

namespace locbench::measure {

// The test settings of a miou/train/fps entry on top of the trained ones (a segmentation model's recipe included).
train::EvalOptions eval_options(const nlohmann::json& options, const train::TrainOptions& trained);

// "whole, resize 256x64", "slide 512/341, resize 2048x512, min 512".
std::string eval_convention(const train::EvalOptions& e);

// The cell's model as a segmentation model: a segmentation model (SegViT) as it is, or the backbone with a
// LinearSegHead (loaded from the entry's head checkpoint; seeded when there is none). The runner owns the model;
// the segmentation model borrows it.
seg::SegmentationModel cell_segmentation_model(Context& ctx, const seg::SegDataset& val);

}  // namespace locbench::measure
