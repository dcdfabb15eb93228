// Measurements of one cell. Each kind lives in its own file (harness/measure/<kind>.cpp) and has the mmseg shape:
// `process` accumulates per step (a timing, a batch of logits), `compute` turns the accumulated statistics into
// results once, at the end. Training is a stage (train_stage.h) whose product a measurement consumes.
#pragma once

#include "harness/measure/accuracy.h"
#include "harness/measure/latency.h"
#include "harness/measure/memory.h"
#include "harness/model/registry.h"
#include "harness/store/store.h"
#include "harness/suite/suite.h"

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace locbench::measure {

struct Context {
  Model& model;
  const VariantInfo& variant;
  const suite::Cell& cell;
  torch::Device device;
  std::string precision;  // fp32, bf16, fp16 (autocast)
  int64_t batch_size = 1;
  std::array<int64_t, 2> img_size{224, 224};
  int warmup = 5;
  int repeats = 20;
  std::function<void(double)> progress;  // fraction of the cell done
  bool isolated = false;  // measured in a process of its own (the runner's child for `memory` cells)
  std::vector<store::CurvePoint> curves;  // out: training curves of the `train`/`miou` kinds, stored with the cell
  std::optional<store::Profile> profile;  // out: op/kernel rows of the `kernels` kind, stored with the cell
  std::vector<store::Samples> samples;    // out: every sample of the timing kinds, stored with the cell
};

// Runs the measurement kind of the cell and returns its results (metric, value, unit, convention).
std::vector<store::Result> run(Context& ctx);

// The kinds that score a model on data (accuracy, miou, train): each runs its model on one intra-op thread
// (common.h, DeterministicThreads), and under a launcher splits its images or batches over the ranks.
bool data_driven(const std::string& kind);

// Generates a synthetic_ade20k dataset (both splits) at its root, or checks the one there (data/generated.h).
void prepare_synthetic_ade20k(const suite::DatasetEntry& dataset);

}  // namespace locbench::measure
