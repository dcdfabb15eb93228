// Training for segmentation benchmarks, as LocAtViT's evaluations/segmentation (mmseg 1.x) runs it: a
// LinearSegHead on a frozen backbone, AdamW, mmcv's OneCycle schedule stepped per iteration, and the mmseg
// train pipeline (RandomResize, RandomCrop with cat_max_ratio, RandomFlip, PhotoMetricDistortion, normalise,
// pad). Also a whole small model from scratch: classification pre-training on the crops' dominant class, then
// the same frozen-backbone segmentation protocol. Checkpoints are safetensors and resumable.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "harness/seg/datasets.h"
#include "harness/seg/inference.h"
#include "harness/seg/iou_metric.h"
#include "harness/seg/transforms.h"
#include "harness/store/store.h"

namespace locbench::train {

// mmcv's OneCycleLrUpdaterHook (mmcv/runner/hooks/lr_updater.py, two phases, by iteration): from
// max_lr / div_factor up to max_lr over iterations [0, pct_start * total - 1], then down to
// max_lr / (div_factor * final_div_factor) at iteration total - 1, with linear (or cos) annealing.
struct OneCycle {
  double max_lr = 1e-3;
  int64_t total_steps = 20000;
  double pct_start = 0.25;
  double div_factor = 1e4;
  double final_div_factor = 1e4;
  bool anneal_cos = false;  // LocAtViT sets anneal_strategy='linear'
  // Learning rate set before iteration `iter` (0-based, runner.iter).
  double lr(int64_t iter) const;
};

// mmcv's PolyLrUpdaterHook with linear warm-up (by iteration, SegViT's configs): the regular rate
// (max_lr - min_lr) * (1 - iter / total_steps)^power + min_lr, scaled during the first warmup_iters iterations by
// 1 - (1 - iter / warmup_iters) * (1 - warmup_ratio).
struct PolySchedule {
  double max_lr = 2e-5;
  int64_t total_steps = 160000;
  double power = 1.0;
  double min_lr = 0.0;
  int64_t warmup_iters = 1500;
  double warmup_ratio = 1e-6;
  double lr(int64_t iter) const;
};

// numpy.random-like draws from a seeded engine (each sample of each iteration has its own, so a resumed run
// draws exactly what an uninterrupted one does).
using Rng = seg::Rng;

// The mmseg train pipeline of configs/_base_/datasets/ade20k.py after loading.
struct TrainPipeline {
  std::pair<int64_t, int64_t> scale{2048, 512};
  std::pair<double, double> ratio_range{0.5, 2.0};
  std::array<int64_t, 2> crop_size{512, 512};  // (h, w)
  double cat_max_ratio = 0.75;
  double flip_prob = 0.5;
  bool photo_metric_distortion = true;
  seg::Normalization norm;
};

// A training sample as the model sees it.
struct SegPair {
  torch::Tensor image, label;
};

// The whole pipeline: the 8-bit transforms of harness/seg/transforms.h (Resize with ratio_range, RandomCrop with
// cat_max_ratio, RandomFlip, PhotoMetricDistortion), then Normalize and Pad: normalised image (3, crop_h, crop_w)
// padded with 0 and label (crop_h, crop_w) int64 padded with 255 (Pad's pad_val / seg_pad_val).
SegPair train_transform(const seg::SegExample& example, const TrainPipeline& pipeline, seg::RandomSource& random);

// How a model is scored on a validation split.
struct EvalOptions {
  std::string mode = "whole";  // whole | slide
  std::optional<std::pair<int64_t, int64_t>> scale{{2048, 512}};
  int64_t min_size = 0;  // test Resize min_size (seg::rescale_size)
  seg::Normalization norm;
  std::array<int64_t, 2> crop_size{512, 512};
  std::array<int64_t, 2> stride{341, 341};
  int64_t limit = 0;  // at most this many images (evenly spaced); 0 = all
  std::string pred_dir;  // when set: each prediction written there as <stem>.png (train ids, 255 = none)
};
seg::IoUMetric evaluate(seg::SegmentationModelImpl& model, const seg::SegDataset& dataset, const EvalOptions& options,
                        const std::function<void(double)>& progress = {});

// The segmentation dataset kinds of suites and the CLI.
const std::vector<std::string>& segmentation_dataset_kinds();
// A segmentation dataset by suite kind: ade20k, synthetic_ade20k, pascal_context59, pascal_context60,
// cocostuff10k, cocostuff164k.
// `train` picks the training split. synthetic_ade20k has `num_classes` classes (ADE20K's layout and encoding).
seg::SegDataset open_seg_dataset(const std::string& kind, const std::string& root, bool train, int64_t num_classes = 0,
                                 const data::DecodeLimits& limits = {});

struct TrainOptions {
  // head: the registered `linear` head on a frozen backbone; scratch: classification, then head; segmentor: a whole
  // segmentation model (registry task "segmentation", e.g. SegViT) trained end to end with its own loss
  // (Model::segmentation_loss)
  std::string task = "head";
  std::string model;          // registered name
  std::string checkpoint;     // backbone weights (task head); empty = seeded initialisation
  ModelArgs model_args;       // create_model overrides
  ModelPtr backbone;          // task head: use this backbone (frozen, not modified) instead of building one
  std::string dataset_kind = "ade20k";
  std::string root;
  int64_t num_classes = 0;  // synthetic_ade20k only
  data::DecodeLimits limits;  // for every image and label map read
  // Segmentation head (LocAtViT's protocol).
  int64_t iterations = 20000;
  int64_t batch_size = 32;
  double lr = 1e-3;
  double weight_decay = 0.01;
  double pct_start = 0.25, div_factor = 1e4, final_div_factor = 1e4;
  TrainPipeline pipeline;
  // Classification pre-training (task scratch): timm's regime at small scale (AdamW wd 0.05, clip 5, warm-up then
  // linear decay), on crops of the pipeline whose target is the crop's most frequent class.
  int64_t cls_iterations = 300;
  int64_t cls_batch_size = 32;
  double cls_lr = 1e-3;
  double cls_weight_decay = 0.05;
  double cls_clip_grad = 5.0;
  // Task segmentor: AdamW at `lr` with weight_decay, a poly schedule with linear warm-up, mmcv custom_keys
  // (parameter names with "head": lr x head_lr_mult; else with "norm" or "ln": no weight decay), gradient clipping.
  double head_lr_mult = 10;
  int64_t warmup_iters = 1500;
  double warmup_ratio = 1e-6, power = 1.0, clip_grad = 35;
  // Evaluation, logging, checkpoints.
  EvalOptions eval;
  int64_t eval_interval = 0;  // 0: only at the end
  int64_t log_interval = 10;
  int64_t checkpoint_interval = 0;  // 0: only at the end (and at stop_after)
  std::string work_dir;             // checkpoints; empty: none written
  bool resume = false;              // continue from work_dir's checkpoints at their saved iteration
  int64_t stop_after = 0;           // stop (with a checkpoint) after this many iterations of a stage: interruption
  bool final_eval = true;           // score the validation split at the end (TrainResult::val); false: the caller does
  uint64_t seed = 0;
  torch::Device device = torch::kCPU;
  std::function<void(double)> progress;
};

struct TrainResult {
  seg::IoUResult val;  // on the validation split; empty when stopped early
  std::vector<store::CurvePoint> curves;
  int64_t iterations = 0;  // segmentation iterations done
  double seconds = 0;
  bool stopped = false;
  std::string checkpoint;  // the segmentation model's final checkpoint (backbone.* and decode_head.*)
  seg::SegmentationModel model{nullptr};
};

// A segmentation variant's released recipe (VariantConfig::seg) as options: crop = the variant's input size,
// RandomResize and test Resize scale, min_size, slide (crop, stride) or whole inference, the variant's mean/std on
// 0-255, and for task segmentor the optimiser and schedule. Callers apply explicit settings after it.
void apply_recipe(TrainOptions& options, const VariantConfig& config);

// Trains as `options` say; throws with an actionable message on bad input.
TrainResult train(const TrainOptions& options, std::ostream& log);

// `bench train`: trains, prints mIoU/aAcc/mAcc; returns 0, or 1 after printing one line for an error.
int run_train(const TrainOptions& options, std::ostream& log);

// `bench eval-seg --model`: a backbone (+ its checkpoint) and a head checkpoint of train() scored on a validation
// split. Prints mIoU, aAcc, mAcc (JSON with --json) to `out`; returns 0, or 1 after one line naming the problem.
// A segmentation model (task "segmentation") is scored as it is, with its checkpoint and no head.
struct SegEvalOptions {
  std::string model, checkpoint, head;
  std::string dataset_kind = "ade20k";
  std::string root;
  int64_t num_classes = 0;  // synthetic_ade20k only
  data::DecodeLimits limits;
  EvalOptions eval;
  bool json = false;
  torch::Device device = torch::kCPU;
};
int run_eval_seg(const SegEvalOptions& options, std::ostream& out, std::ostream& err);

// The model `bench eval-seg --model` and suites score: a segmentation model (task "segmentation") as it is, with
// its checkpoint and optionally the seg.safetensors of a segmentor training (`head`); or a backbone with its
// checkpoint and the `linear` head of `head`. Classes must match the dataset's.
seg::SegmentationModel segmentation_model(const std::string& name, const std::string& checkpoint,
                                          const std::string& head, const seg::SegDataset& dataset,
                                          const ModelArgs& args = {});

// Loads the decode_head.* (and, when present, backbone.*) tensors of a checkpoint written by train().
void load_segmentation_checkpoint(seg::SegmentationModelImpl& model, const std::string& path);

}  // namespace locbench::train
