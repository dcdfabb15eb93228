// The `miou` and `train` kinds: mmseg's IoUMetric (per-image intersection/union counts in `process`, mIoU/aAcc/mAcc
// in `compute`) over a segmentation validation split, scoring either the cell's model as it is (a segmentation
// model, or a backbone with a head checkpoint) or the product of the training stage (train_stage.h). Also the
// helpers the segmentation kinds share (segmentation.h).
#include "harness/measure/common.h"
#include "harness/measure/kinds.h"
#include "harness/measure/segmentation.h"
#include "harness/measure/train_stage.h"

#include "harness/data/generated.h"
#include "harness/measure/accuracy.h"
#include "harness/seg/synth.h"

#include <filesystem>

namespace locbench::measure {
namespace {

std::string fmt_pair(int64_t a, int64_t b, const std::string& sep) { return std::to_string(a) + sep + std::to_string(b); }

std::vector<store::Result> iou_results(const seg::IoUResult& r, const std::string& convention) {
  return {{"miou", r.mIoU, "%", convention}, {"aacc", r.aAcc, "%", convention}, {"macc", r.mAcc, "%", convention}};
}

}  // namespace

train::EvalOptions eval_options(const nlohmann::json& options, const train::TrainOptions& trained) {
  train::EvalOptions e = trained.eval;
  e.mode = options.value("mode", e.mode);
  // The test Resize scale is the training scale (mmseg configs share one img_scale).
  const auto scale = pair_option(options, "scale", {trained.pipeline.scale.first, trained.pipeline.scale.second});
  e.scale = std::pair<int64_t, int64_t>{scale[0], scale[1]};
  e.crop_size = pair_option(options, "crop", trained.pipeline.crop_size);
  // The trained stride goes with the trained window (a recipe's); another window gets 2/3 of it (512 -> 341, as
  // mmseg's ViT configs).
  const bool same_window = !options.contains("crop") && e.crop_size == trained.eval.crop_size;
  e.stride = pair_option(options, "stride",
                         same_window ? trained.eval.stride
                                     : std::array<int64_t, 2>{e.crop_size[0] * 2 / 3, e.crop_size[1] * 2 / 3});
  e.limit = options.value("limit", int64_t{0});
  return e;
}

std::string eval_convention(const train::EvalOptions& e) {
  const std::string slide =
      e.mode == "slide" ? fmt_pair(e.crop_size[0], e.stride[0], "/") : std::string();
  const std::string resize = e.scale ? ", resize " + fmt_pair(e.scale->first, e.scale->second, "x") : std::string();
  const std::string min_size = e.min_size > 0 ? ", min " + std::to_string(e.min_size) : std::string();
  return e.mode + (slide.empty() ? "" : " ") + slide + resize + min_size;
}

seg::SegmentationModel cell_segmentation_model(Context& ctx, const seg::SegDataset& val) {
  const auto& m = *ctx.cell.measurement;
  const VariantInfo* info = Registry::instance().find(ctx.cell.model->name);
  ModelPtr borrowed(ModelPtr(), &ctx.model);
  seg::SegmentationModel model{nullptr};
  if (info && info->task == "segmentation") {
    if (ctx.model.variant_config().num_classes != val.num_classes)
      throw std::runtime_error("model '" + ctx.cell.model->label + "' predicts " +
                               std::to_string(ctx.model.variant_config().num_classes) + " classes, " + val.name +
                               " has " + std::to_string(val.num_classes) + " (set num_classes on the model)");
    model = seg::SegmentationModel(borrowed);
  } else {
    model = seg::SegmentationModel(borrowed, "linear", val.num_classes);
  }
  if (m.options.contains("head"))
    train::load_segmentation_checkpoint(*model, suite::expand_env(m.options["head"].get<std::string>(), "head"));
  model->to(ctx.device);
  return model;
}

void prepare_synthetic_ade20k(const suite::DatasetEntry& d) {
  if (d.kind != "synthetic_ade20k") return;
  seg::SynthOptions o;
  o.num_classes = d.generate.value("classes", o.num_classes);
  o.count = d.generate.value("count", int64_t{64});
  o.min_size = d.generate.value("min_size", o.min_size);
  o.max_size = d.generate.value("max_size", o.max_size);
  o.regions = d.generate.value("regions", o.regions);
  o.seed = d.generate.value("seed", uint64_t{0});
  o.pattern = d.generate.value("pattern", o.pattern);
  o.period = d.generate.value("period", o.period);
  o.period_ratio = d.generate.value("period_ratio", o.period_ratio);
  const int64_t val_count = d.generate.value("val_count", std::max<int64_t>(8, o.count / 4));
  // Made all or nothing, and checked against this recipe when it is already there (data/generated.h).
  const nlohmann::json recipe{{"generator", "synthetic_ade20k"}, {"classes", o.num_classes}, {"count", o.count},
                              {"val_count", val_count},          {"min_size", o.min_size},   {"max_size", o.max_size},
                              {"regions", o.regions},            {"seed", o.seed},           {"pattern", o.pattern},
                              {"period", o.period},              {"period_ratio", o.period_ratio}};
  data::generate_dataset(d.root, recipe, [&](const std::string& folder) {
    seg::write_synthetic_ade20k(folder, "training", o);
    seg::SynthOptions val = o;
    val.count = val_count;
    seg::write_synthetic_ade20k(folder, "validation", val);
  });
}

namespace kinds {

// `miou` with a head checkpoint (or of a segmentation model): score the cell's model. `miou` with train settings
// and `train`: the training stage first (head on the frozen backbone, a small model from scratch, or a segmentor),
// then score its product, keeping the curves.
std::vector<store::Result> miou(Context& ctx) {
  DeterministicThreads threads;
  const auto& m = *ctx.cell.measurement;
  const auto& ds = *ctx.cell.dataset;
  prepare_synthetic_ade20k(ds);
  train::TrainOptions o = train_options(ctx);
  o.eval = eval_options(m.options, o);
  const VariantInfo* info = Registry::instance().find(ctx.cell.model->name);
  const bool segmentor = info && info->task == "segmentation";
  const seg::SegDataset val = train::open_seg_dataset(ds.kind, ds.root, false, ds.num_classes, decode_limits(ds));
  if (m.options.contains("head") || (segmentor && !m.options.contains("train"))) {
    seg::SegmentationModel model = cell_segmentation_model(ctx, val);
    return iou_results(train::evaluate(*model, val, o.eval, ctx.progress).compute(), eval_convention(o.eval));
  }
  TrainedModel trained = train_stage(ctx, o);
  const seg::IoUResult r = train::evaluate(*trained.model, val, o.eval).compute();
  ctx.curves = std::move(trained.curves);
  ctx.curves.push_back({"miou", trained.iterations, r.mIoU});
  auto out = iou_results(r, eval_convention(o.eval) + ", " + std::to_string(o.iterations) + " it bs" +
                                std::to_string(o.batch_size) + " crop " + std::to_string(o.pipeline.crop_size[0]));
  out.push_back({"train_time", trained.seconds, "s", o.task});
  return out;
}

}  // namespace kinds
}  // namespace locbench::measure
