// The `fps` kind as mmseg's tools/analysis_tools/benchmark.py measures it: real validation images at batch 1
// through the whole inference of the model (whole or slide, logits resized to the original image, argmax), the
// data pipeline (loading, test Resize, normalisation) outside the timed region, the first images as warm-up;
// fps = timed images / their total time.
#include "harness/measure/accuracy.h"
#include "harness/measure/common.h"
#include "harness/measure/kinds.h"
#include "harness/measure/latency.h"
#include "harness/measure/segmentation.h"
#include "harness/measure/train_stage.h"

namespace locbench::measure::kinds {

std::vector<store::Result> fps(Context& ctx) {
  const auto& m = *ctx.cell.measurement;
  const auto& ds = *ctx.cell.dataset;
  prepare_synthetic_ade20k(ds);
  const train::EvalOptions e = eval_options(m.options, train_options(ctx));
  const seg::SegDataset val = train::open_seg_dataset(ds.kind, ds.root, false, ds.num_classes, decode_limits(ds));
  seg::SegmentationModel model = cell_segmentation_model(ctx, val);
  model->eval();
  const int64_t warmup = m.options.value("warmup", int64_t{5});
  const int64_t total = std::min<int64_t>(m.options.value("limit", int64_t{200}), val.samples.size());
  if (total <= warmup)
    throw std::invalid_argument(ds.name + " has " + std::to_string(val.samples.size()) + " validation images; fps "
                                "needs more than its " + std::to_string(warmup) + " warm-up images");
  LatencyStats stats;
  Precision precision(ctx.precision, ctx.device);
  torch::InferenceMode guard;
  for (int64_t i = 0; i < total; ++i) {
    const seg::SegExample ex = seg::load_sample(val, val.samples[i]);
    const torch::Tensor x = seg::preprocess(ex.image, e.scale, e.norm, e.min_size).to(ctx.device);
    synchronize(ctx.device);
    LatencyStats warm;
    time_step(i < warmup ? warm : stats, ctx.device, [&] {
      torch::Tensor logits =
          e.mode == "slide"
              ? seg::slide_logits([&](const torch::Tensor& crops) { return model->forward(crops); }, x, e.crop_size,
                                  e.stride)
              : model->forward(x);
      logits = seg::resize_logits(logits, {ex.image.height, ex.image.width});
      (void)logits.argmax(1);
    });
    if (ctx.progress) ctx.progress(static_cast<double>(i + 1) / total);
  }
  const auto s = stats.compute();
  const std::string protocol = "mmseg benchmark.py: " + eval_convention(e) + ", " + std::to_string(s.n) +
                               " images after " + std::to_string(warmup) + ", bs1";
  std::vector<store::Result> out{{"fps", s.n / (s.total / 1000.0), "img/s", protocol},
                                 {"image_latency", s.median, "ms", "median, " + protocol}};
  keep_step_samples(ctx, stats, s, "image_latency", protocol, out);
  return out;
}

}  // namespace locbench::measure::kinds
