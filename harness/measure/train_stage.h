// Training as a stage of a `miou`/`train` cell: the suite entry's settings become train::TrainOptions, training runs,
// and its product (the trained segmentation model, its checkpoint and curves) is what the measurement scores.
#pragma once

#include "harness/measure/measure.h"
#include "harness/train/train.h"

#include <string>
#include <vector>

namespace locbench::measure {

// The mmseg settings of a suite's miou/train entry, on top of LocAtViT's defaults (train.h).
train::TrainOptions train_options(const Context& ctx);

struct TrainedModel {
  seg::SegmentationModel model{nullptr};
  std::string checkpoint;  // seg.safetensors in the work directory; empty when none was written
  std::vector<store::CurvePoint> curves;
  int64_t iterations = 0;
  double seconds = 0;  // training time, the final evaluation excluded
};

// Trains as `options` say (the task head borrows ctx.model as its frozen backbone). Throws on bad input.
TrainedModel train_stage(Context& ctx, train::TrainOptions options);

}  // namespace locbench::measure
