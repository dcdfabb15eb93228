// bench train and eval-seg: segmentation training (head, scratch, segmentor) and mIoU of predictions or models.
#include "harness/checkpoint/weights.h"
#include "harness/cli/cli_common.h"
#include "harness/dist/dist.h"
#include "harness/model/registry.h"
#include "harness/runner/runner.h"
#include "harness/seg/eval_seg.h"
#include "harness/train/train.h"

#include <iostream>
#include <memory>

namespace locbench::cli {

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "train", "Train a LinearSegHead on a frozen backbone (LocAtViT protocol) or a small model from scratch");
  struct Options {
    train::TrainOptions train;
    std::string device = "cpu";
    std::vector<int64_t> crop, scale;
  };
  auto o = std::make_shared<Options>();
  auto& to = o->train;
  cmd->add_option("--model", to.model, "Registered backbone (bench list models)")->required();
  cmd->add_option("--checkpoint", to.checkpoint, "Backbone weights: safetensors, 'pretrained', a tag or hf-hub:ORG/NAME");
  cmd->add_option("--task", to.task,
                  "head: frozen backbone; scratch: classification pre-training, then head; segmentor: a "
                  "segmentation model (SegViT) end to end with its own loss")
      ->check(CLI::IsMember({"head", "scratch", "segmentor"}))
      ->capture_default_str();
  cmd->add_option("--dataset", to.dataset_kind, "Dataset kind")
      ->check(CLI::IsMember(train::segmentation_dataset_kinds()))
      ->capture_default_str();
  cmd->add_option("--root", to.root, "Dataset root (ADEChallengeData2016, VOC2010, coco_stuff164k)")->required();
  // The bounds of a suite's train settings (suites/README.md).
  const auto image_side = CLI::Range(int64_t{1}, kMaxImageSide);
  cmd->add_option("--num-classes", to.num_classes, "Classes of synthetic_ade20k data")->check(CLI::Range(2, 254));
  cmd->add_option("--iterations", to.iterations, "Head iterations")->check(greater_than(0))->capture_default_str();
  cmd->add_option("--batch-size", to.batch_size,
                  "Images per iteration: the global batch (under a launcher each rank takes an equal share)")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  cmd->add_option("--crop", o->crop, "Crop H [W] (default 512)")->expected(1, 2)->check(image_side);
  cmd->add_option("--scale", o->scale, "RandomResize and test Resize scale W H (default 2048 512)")
      ->expected(2)
      ->check(image_side);
  cmd->add_option("--lr", to.lr, "OneCycle max_lr (segmentor: poly base lr, default the model's recipe)")
      ->check(at_least(0))
      ->capture_default_str();
  cmd->add_option("--warmup-iters", to.warmup_iters, "Segmentor: linear warm-up iterations (default: recipe)")
      ->check(at_least(0));
  cmd->add_option("--cls-iterations", to.cls_iterations, "Pre-training iterations (--task scratch)")
      ->check(at_least(0))
      ->capture_default_str();
  cmd->add_option("--cls-batch-size", to.cls_batch_size, "Pre-training images per iteration (--task scratch)")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  cmd->add_option("--eval-interval", to.eval_interval, "mIoU every N iterations (0: at the end)")
      ->check(at_least(0))
      ->capture_default_str();
  cmd->add_option("--eval-mode", to.eval.mode, "whole or slide")
      ->check(CLI::IsMember({"whole", "slide"}))
      ->capture_default_str();
  cmd->add_option("--checkpoint-interval", to.checkpoint_interval, "0: at the end only")
      ->check(at_least(0))
      ->capture_default_str();
  cmd->add_option("--work-dir", to.work_dir, "Checkpoints go here (cls.safetensors, seg.safetensors)");
  cmd->add_flag("--resume", to.resume, "Continue from --work-dir's checkpoints at their saved iteration");
  cmd->add_option("--stop-after", to.stop_after, "Stop with a checkpoint after N iterations of a stage (0: never)")
      ->check(at_least(0))
      ->capture_default_str();
  cmd->add_option("--log-interval", to.log_interval, "Curve points (mean loss, lr) every N iterations")
      ->check(greater_than(0))
      ->capture_default_str();
  cmd->add_option("--seed", to.seed, "Seed")->capture_default_str();
  cmd->add_option("--device", o->device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  cmd->add_option("--max-pixels", to.limits.max_pixels, "Refuse images whose header claims more pixels")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->callback([cmd, o] {
    run_guarded("train", [&] {
      train::TrainOptions t = o->train;
      const ResolvedWeights w = resolve_weights(t.model, t.checkpoint);  // a file, a tag, hf-hub:, pretrained
      t.model = w.model;
      t.checkpoint = w.path;
      // A segmentation model's released recipe, then what the command line says.
      if (const VariantInfo* info = Registry::instance().find(t.model); info && info->task == "segmentation") {
        train::apply_recipe(t, info->config);
        if (cmd->count("--lr")) t.lr = o->train.lr;
        if (cmd->count("--warmup-iters")) t.warmup_iters = o->train.warmup_iters;
        if (cmd->count("--eval-mode")) t.eval.mode = o->train.eval.mode;
      } else {
        t.eval.scale = t.pipeline.scale;
      }
      if (!o->crop.empty()) t.pipeline.crop_size = t.eval.crop_size = {o->crop.front(), o->crop.back()};
      if (!o->scale.empty()) t.pipeline.scale = {o->scale[0], o->scale[1]}, t.eval.scale = t.pipeline.scale;
      if (!o->crop.empty() && t.eval.mode == "slide")
        t.eval.stride = {t.eval.crop_size[0] * 2 / 3, t.eval.crop_size[1] * 2 / 3};
      if (t.eval.mode != "slide") t.eval.crop_size = t.pipeline.crop_size;
      // Under torchrun or srun every rank trains its share of each global batch; rank 0 writes and prints.
      dist::Group& group = dist::init({dist::timeout_from_environment(), o->device == "cuda"});
      group.agree("train", {{"commit", runner::describe_environment().git_commit},
                            {"options", options_digest(*cmd)}});
      t.device = o->device == "cuda" ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(group.local_rank()))
                                     : torch::Device(torch::kCPU);
      std::ostream quiet(nullptr);
      set_exit_code(train::run_train(t, group.is_main() ? std::cout : quiet));
      group.finish();
    });
  });
}

// PNG folders (any model's predictions), or a backbone with a head checkpoint written by `bench train`.
void add_eval_seg_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval-seg", "mIoU (mmseg IoUMetric) of prediction PNGs, or of a model + head");
  struct Options {
    seg::EvalSegOptions pngs;
    train::SegEvalOptions model;
    std::vector<int64_t> scale, crop, stride;
    std::string pred_out;
  };
  auto o = std::make_shared<Options>();
  auto& eo = o->pngs;
  auto& mo = o->model;
  auto* pred = cmd->add_option("--pred", eo.pred_dir, "Folder of prediction PNGs (train ids 0..K-1, 255 = none)");
  auto* gt = cmd->add_option("--gt", eo.gt_dir, "Folder of label PNGs in the dataset's own encoding");
  cmd->add_option("--num-classes", eo.num_classes, "Number of classes K")->check(CLI::Range(1, 255));  // 8-bit labels
  cmd->add_flag("--reduce-zero-label", eo.reduce_zero_label, "Labels: 0 is ignored, k becomes k-1 (ADE20K)");
  auto* model = cmd->add_option("--model", mo.model,
                                "Registered backbone scored with --head, or segmentation model (SegViT), on --root");
  cmd->add_option("--checkpoint", mo.checkpoint, "Model weights: safetensors, 'pretrained', a tag or hf-hub:ORG/NAME");
  cmd->add_option("--head", mo.head, "seg.safetensors written by bench train (needed for a backbone)");
  cmd->add_option("--dataset", mo.dataset_kind, "Dataset kind")
      ->check(CLI::IsMember(train::segmentation_dataset_kinds()))
      ->capture_default_str();
  cmd->add_option("--root", mo.root, "Dataset root");
  cmd->add_option("--mode", mo.eval.mode, "whole or slide")
      ->check(CLI::IsMember({"whole", "slide"}))
      ->capture_default_str();
  const auto side = CLI::Range(int64_t{1}, kMaxImageSide);
  cmd->add_option("--scale", o->scale, "Test Resize scale W H (default 2048 512)")->expected(2)->check(side);
  cmd->add_option("--crop", o->crop, "Slide window H [W] (default 512)")->expected(1, 2)->check(side);
  cmd->add_option("--stride", o->stride, "Slide stride H [W] (default 341)")->expected(1, 2)->check(side);
  cmd->add_option("--limit", mo.eval.limit, "At most N images (evenly spaced); 0: all")->check(at_least(0));
  cmd->add_flag("--json", eo.json, "Print JSON (aAcc, mIoU, mAcc, per_class)");
  cmd->add_option("--max-pixels", eo.limits.max_pixels, "Refuse images and label maps whose header claims more pixels")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  auto* pred_out = cmd->add_option("--pred-out", o->pred_out, "With --model: write each prediction here (<stem>.png, "
                                                              "train ids, 255 = none; the --pred format)");
  pred_out->needs(model);
  pred->excludes(model);
  gt->excludes(model);
  cmd->callback([cmd, o] {
    if (o->model.model.empty()) {
      if (o->pngs.pred_dir.empty() || o->pngs.gt_dir.empty()) {
        std::cerr << "bench eval-seg: give --pred and --gt (PNG folders) or --model, --head and --root\n";
        set_exit_code(2);
        return;
      }
      set_exit_code(seg::eval_seg(o->pngs, std::cout, std::cerr));
      return;
    }
    run_guarded("eval-seg", [&] {
      train::SegEvalOptions m = o->model;
      const ResolvedWeights w = resolve_weights(m.model, m.checkpoint);
      m.model = w.model;
      m.checkpoint = w.path;
      // A segmentation model is scored with its released test settings unless the command line says otherwise.
      if (const VariantInfo* info = Registry::instance().find(m.model); info && info->task == "segmentation") {
        train::TrainOptions recipe;
        train::apply_recipe(recipe, info->config);
        m.eval = recipe.eval;
        m.eval.limit = o->model.eval.limit;
        if (cmd->count("--mode")) m.eval.mode = o->model.eval.mode;
      }
      if (!o->scale.empty()) m.eval.scale = std::pair<int64_t, int64_t>{o->scale[0], o->scale[1]};
      if (!o->crop.empty()) m.eval.crop_size = {o->crop.front(), o->crop.back()};
      if (!o->stride.empty()) m.eval.stride = {o->stride.front(), o->stride.back()};
      if (m.dataset_kind == "synthetic_ade20k") m.num_classes = o->pngs.num_classes;
      m.json = o->pngs.json;
      m.limits = o->pngs.limits;
      m.eval.pred_dir = o->pred_out;
      dist::Group& group = dist::init({dist::timeout_from_environment(), false});
      group.agree("eval-seg", {{"commit", runner::describe_environment().git_commit},
                               {"options", options_digest(*cmd)}});
      std::ostream quiet(nullptr);
      set_exit_code(train::run_eval_seg(m, group.is_main() ? std::cout : quiet, std::cerr));
      group.finish();
    });
  });
}

}  // namespace locbench::cli
