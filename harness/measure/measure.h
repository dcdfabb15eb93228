// Measurements of one cell. Each has the mmseg shape: `process` accumulates per step (a timing, a batch of
// logits), `compute` turns the accumulated statistics into results once, at the end.
#pragma once

#include "harness/data/image.h"
#include "harness/model/registry.h"
#include "harness/store/store.h"
#include "harness/suite/suite.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace locbench::measure {

// Latency statistics over timed repeats, in milliseconds per batch.
class LatencyStats {
 public:
  void process(double ms) { samples_.push_back(ms); }
  struct Summary {
    double median = 0, p90 = 0, min = 0, mean = 0;
    int n = 0;
  };
  Summary compute() const;  // throws without samples: no timing is not a latency of 0

 private:
  std::vector<double> samples_;
};

// Top-k accuracy accumulated as correct counts (reduce counts, not percentages).
class TopKAccuracy {
 public:
  explicit TopKAccuracy(std::vector<int64_t> ks = {1, 5}) : ks_(std::move(ks)), correct_(ks_.size(), 0) {}
  void process(const torch::Tensor& logits, const torch::Tensor& targets);
  std::vector<double> compute() const;  // percent, one per k; throws when nothing was scored
  const std::vector<int64_t>& ks() const { return ks_; }
  int64_t count() const { return count_; }

 private:
  std::vector<int64_t> ks_;
  std::vector<int64_t> correct_;
  int64_t count_ = 0;
};

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
  std::vector<store::CurvePoint> curves;  // out: training curves of the `train`/`miou` kinds, stored with the cell
  std::optional<store::Profile> profile;  // out: op/kernel rows of the `kernels` kind, stored with the cell
};

// Runs the measurement kind of the cell and returns its results (metric, value, unit, convention).
std::vector<store::Result> run(Context& ctx);

// Generates a synthetic_ade20k dataset (both splits) at its root, or checks the one there (data/generated.h).
void prepare_synthetic_ade20k(const suite::DatasetEntry& dataset);

// Eval preprocessing of a model as timm's loader and create_transform(**resolve_data_config({}, model)) do: the file
// read as PIL.Image.open(f).convert('RGB') (data::ReadProtocol::timm), Resize + CenterCrop on the 8-bit image with
// Pillow's resampling (data::timm_eval_transform), then ToTensor and Normalize. Returns (3, H, W) float32.
torch::Tensor preprocess_eval(const std::string& path, const VariantConfig& config, std::array<int64_t, 2> img_size,
                              const data::DecodeLimits& limits = {});

// Peak resident memory of this process since the last reset (VmHWM), in bytes; reset through clear_refs.
int64_t process_peak_rss();
void reset_process_peak_rss();

}  // namespace locbench::measure
