// The training stage of `miou`/`train` cells (train_stage.h).
#include "harness/measure/train_stage.h"

#include "harness/measure/accuracy.h"
#include "harness/measure/common.h"

#include <sstream>

namespace locbench::measure {

train::TrainOptions train_options(const Context& ctx) {
  const auto& m = *ctx.cell.measurement;
  const auto& ds = *ctx.cell.dataset;
  const nlohmann::json t = m.options.value("train", nlohmann::json::object());
  train::TrainOptions o;
  o.task = t.value("task", std::string("head"));
  // A segmentation model's released recipe first (crop, scales, test mode, optimiser); the suite's settings win.
  if (const VariantInfo* info = Registry::instance().find(ctx.cell.model->name); info && info->task == "segmentation")
    train::apply_recipe(o, ctx.model.variant_config());
  o.model = ctx.cell.model->name;
  o.checkpoint = ctx.cell.model->checkpoint;
  o.model_args = ctx.cell.model->args;
  o.dataset_kind = ds.kind;
  o.root = ds.root;
  o.limits = decode_limits(ds);
  o.num_classes = ds.num_classes;
  o.iterations = t.value("iterations", o.iterations);
  o.batch_size = t.value("batch_size", o.batch_size);
  o.lr = t.value("lr", o.lr);
  o.weight_decay = t.value("weight_decay", o.weight_decay);
  o.cls_iterations = t.value("cls_iterations", o.cls_iterations);
  o.cls_batch_size = t.value("cls_batch_size", o.cls_batch_size);
  o.cls_lr = t.value("cls_lr", o.cls_lr);
  o.log_interval = t.value("log_interval", o.log_interval);
  o.eval_interval = t.value("eval_interval", o.eval_interval);
  o.checkpoint_interval = t.value("checkpoint_interval", o.checkpoint_interval);
  if (t.contains("work_dir")) o.work_dir = suite::expand_env(t["work_dir"].get<std::string>(), "train.work_dir");
  o.head_lr_mult = t.value("head_lr_mult", o.head_lr_mult);
  o.warmup_iters = t.value("warmup_iters", o.warmup_iters);
  o.power = t.value("power", o.power);
  o.clip_grad = t.value("clip_grad", o.clip_grad);
  o.pipeline.crop_size = pair_option(t, "crop", o.pipeline.crop_size);
  const auto scale = pair_option(t, "scale", {o.pipeline.scale.first, o.pipeline.scale.second});
  o.pipeline.scale = {scale[0], scale[1]};
  o.seed = static_cast<uint64_t>(ctx.cell.seed.value_or(0));
  o.device = ctx.device;
  return o;
}

TrainedModel train_stage(Context& ctx, train::TrainOptions o) {
  if (o.task == "head") o.backbone = ModelPtr(ModelPtr(), &ctx.model);  // the runner owns the model
  o.progress = ctx.progress;
  o.final_eval = false;  // the measurement scores the product
  std::ostringstream log;  // the curves keep what matters; the log is for `bench train`
  train::TrainResult r = train::train(o, log);
  if (r.stopped) throw std::runtime_error("training stopped before its last iteration");
  return {r.model, r.checkpoint, std::move(r.curves), r.iterations, r.seconds};
}

}  // namespace locbench::measure
