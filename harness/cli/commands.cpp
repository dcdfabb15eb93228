#include "harness/cli/commands.h"

#include "harness/check/check.h"
#include "harness/checkpoint/checkpoint.h"
#include "harness/compute/macs.h"
#include "harness/data/imagefolder.h"
#include "harness/model/registry.h"
#include "harness/profile/profile.h"
#include "harness/runner/runner.h"
#include "harness/seg/eval_seg.h"
#include "harness/store/store.h"
#include "harness/suite/suite.h"
#include "harness/train/train.h"
#include "report/report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

namespace locbench::cli {

namespace {

int g_exit_code = 0;

void run_guarded(const char* command, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const suite::SuiteError& e) {
    std::cerr << e.what() << "\n";  // one line per problem, each naming the file and the field
    g_exit_code = 2;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    // c10 errors carry a C++ backtrace after the first line; users need only the message.
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
    std::cerr << "bench " << command << ": " << msg << "\n";
    g_exit_code = 1;
  }
}

std::array<int64_t, 2> parse_img_size(const std::string& text) {
  const auto x = text.find('x');
  try {
    size_t used = 0;
    if (x == std::string::npos) {
      const int64_t s = std::stoll(text, &used);
      if (used != text.size() || s <= 0) throw std::invalid_argument("");
      return {s, s};
    }
    size_t used2 = 0;
    const int64_t h = std::stoll(text.substr(0, x), &used), w = std::stoll(text.substr(x + 1), &used2);
    if (used != x || used2 != text.size() - x - 1 || h <= 0 || w <= 0) throw std::invalid_argument("");
    return {h, w};
  } catch (const std::exception&) {
    throw std::invalid_argument("--img-size: expected H or HxW with positive integers, got '" + text + "'");
  }
}

const VariantInfo& lookup(const std::string& name) {
  const VariantInfo* info = Registry::instance().find(name);
  if (!info) create_model(name);  // throws with a "did you mean"
  return *info;
}

void list_models(bool json) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto* info : Registry::instance().list())
    rows.push_back({{"name", info->name}, {"method", info->method}, {"task", info->task},
                    {"paper", info->paper}, {"aliases", info->aliases}});
  if (json) {
    std::cout << rows.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{:<40} {:<10} {:<15} {}\n", "model", "method", "task", "paper");
  for (const auto& r : rows)
    std::cout << fmt::format("{:<40} {:<10} {:<15} {}\n", r["name"].get<std::string>(),
                             r["method"].get<std::string>(), r["task"].get<std::string>(),
                             r["paper"].get<std::string>());
}

void info(const std::string& name, const std::string& img_size, bool json) {
  const VariantInfo& variant = lookup(name);
  ModelArgs args;
  if (!img_size.empty()) args.img_size = parse_img_size(img_size);
  torch::manual_seed(0);
  ModelPtr model = create_model(name, args);
  model->eval();
  const auto& cfg = model->variant_config();
  const int64_t H = cfg.input_size[1], W = cfg.input_size[2];
  auto input = torch::zeros({1, cfg.input_size[0], H, W});
  MacCount count = count_macs([&] {
    torch::InferenceMode guard;
    model->forward(input);
  });
  const int64_t params = count_params(*model);
  nlohmann::json out{{"model", variant.name},
                     {"method", variant.method},
                     {"task", variant.task},
                     {"paper", variant.paper},
                     {"img_size", {H, W}},
                     {"batch_size", 1},
                     {"params", params},
                     {"macs", static_cast<int64_t>(count.macs)},
                     {"gmacs", count.macs / 1e9},
                     {"flops", static_cast<int64_t>(2 * count.macs)},
                     {"convention", "fvcore: one multiply-add = 1 MAC; flops = 2 x macs; SDPA = its two matmuls; "
                                    "layer/group norm 5 per element"},
                     {"macs_by_op", count.macs_by_op},
                     {"unhandled_ops", count.unhandled_ops},
                     {"config",
                      {{"input_size", cfg.input_size}, {"mean", cfg.mean}, {"std", cfg.std},
                       {"crop_pct", cfg.crop_pct}, {"interpolation", cfg.interpolation},
                       {"patch_size", cfg.patch_size}, {"num_classes", cfg.num_classes}}}};
  if (json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{}  ({}, {})\n  input     {}x{}\n  params    {:L} ({:.2f} M)\n  MACs      {:.3f} G\n"
                           "  FLOPs     {:.3f} G\n",
                           variant.name, variant.method, variant.paper, H, W, params, params / 1e6,
                           count.macs / 1e9, 2 * count.macs / 1e9);
  for (const auto& [op, macs] : count.macs_by_op)
    std::cout << fmt::format("    {:<34} {:>10.3f} GMACs\n", op, macs / 1e9);
  if (!count.unhandled_ops.empty()) {
    std::cout << "  not counted (no handler):";
    for (const auto& [op, calls] : count.unhandled_ops) std::cout << " " << op << " x" << calls;
    std::cout << "\n";
  }
}

struct ForwardOptions {
  std::string model, weights, input, output, img_size;
  int64_t num_classes = -1;
  bool features = false;
  uint64_t seed = 0;
};

void forward(const ForwardOptions& o) {
  lookup(o.model);
  auto inputs = read_safetensors(o.input);
  auto it = inputs.find("image");
  if (it == inputs.end()) throw std::invalid_argument(o.input + ": no tensor 'image'");
  torch::Tensor image = it->second;
  if (image.dim() != 4 || image.size(1) != 3 || image.scalar_type() != torch::kFloat32)
    throw std::invalid_argument(fmt::format("{}: image: expected float32 (B, 3, H, W), got {} {}", o.input,
                                            c10::toString(image.scalar_type()), fmt::join(image.sizes(), "x")));
  ModelArgs args;
  if (o.num_classes >= 0) args.num_classes = o.num_classes;
  if (!o.img_size.empty()) args.img_size = parse_img_size(o.img_size);
  torch::manual_seed(o.seed);
  ModelPtr model = create_model(o.model, args);
  if (!o.weights.empty()) load_checkpoint(*model, o.weights);
  model->eval();
  torch::Tensor result;
  {
    torch::InferenceMode guard;
    result = o.features ? model->forward_dense(image) : model->forward(image);
  }
  write_safetensors(o.output, {{o.features ? "features" : "logits", result}},
                    {{"model", o.model}, {"producer", "locbench"}});
}

}  // namespace

int exit_code() { return g_exit_code; }

void add_commands(CLI::App& app) {
  auto* list = app.add_subcommand("list", "List registered things");
  list->require_subcommand(1);
  auto* models = list->add_subcommand("models", "Every model variant with its method, task and paper");
  static bool list_json = false;
  models->add_flag("--json", list_json, "Print JSON");
  models->callback([] { run_guarded("list models", [] { list_models(list_json); }); });

  auto* info_cmd = app.add_subcommand("info", "Parameters and compute (MACs, fvcore convention) of a model");
  static std::string info_model, info_size;
  static bool info_json = false;
  info_cmd->add_option("model", info_model, "Registered model name")->required();
  info_cmd->add_option("--img-size", info_size, "Input size H or HxW (default: the variant's)");
  info_cmd->add_flag("--json", info_json, "Print JSON");
  info_cmd->callback([] { run_guarded("info", [] { info(info_model, info_size, info_json); }); });

  auto* fwd = app.add_subcommand("forward", "Run a model on images from a safetensors file");
  static ForwardOptions f;
  fwd->add_option("--model", f.model, "Registered model name")->required();
  fwd->add_option("--weights", f.weights, "Checkpoint (.safetensors, timm/official keys)");
  fwd->add_option("--input", f.input, "safetensors with 'image' (float32 B x 3 x H x W, normalised)")->required();
  fwd->add_option("--output", f.output, "safetensors to write 'logits' or 'features' to")->required();
  fwd->add_flag("--features", f.features, "Write dense features (B x C x H/p x W/p) instead of logits");
  fwd->add_option("--seed", f.seed, "Seed of the initialisation when no weights are given");
  fwd->add_option("--num-classes", f.num_classes, "Override the number of classes");
  fwd->add_option("--img-size", f.img_size, "Override the size the model is built for (H or HxW)");
  fwd->callback([] { run_guarded("forward", [] { forward(f); }); });

  auto* validate = app.add_subcommand("validate", "Check a suite without running it");
  static std::string validate_path;
  validate->add_option("suite", validate_path, "Suite JSON file")->required();
  validate->callback([] {
    run_guarded("validate", [] {
      const auto errors = suite::validate_suite(validate_path);
      for (const auto& e : errors) std::cerr << e << "\n";
      if (!errors.empty()) {
        g_exit_code = 2;
        return;
      }
      const auto s = suite::load_suite(validate_path);
      std::cout << validate_path << ": valid, " << suite::plan(s).size() << " cells\n";
    });
  });

  auto* run = app.add_subcommand("run", "Run a suite: every cell measured and stored in SQLite");
  static runner::RunOptions r;
  run->add_option("suite", r.suite, "Suite JSON file")->required();
  run->add_option("--db", r.db, "Results database")->capture_default_str();
  run->add_flag("--resume", r.resume, "Run only the unfinished cells of the last run of this suite");
  run->add_option("--device", r.device, "Override the suite's device")->check(CLI::IsMember({"cpu", "cuda"}));
  run->add_option("--only", r.only, "Run cells whose model/measurement[/dataset] or model matches this glob");
  run->add_flag("--dry-run", r.dry_run, "Print the cells without running them");
  run->callback([] {
    run_guarded("run", [] {
      const int code = runner::run_suite(r);
      if (code) g_exit_code = code;
    });
  });

  auto* rep = app.add_subcommand("report", "A paper-style table of a run (the latest unless named)");
  static report::ReportOptions ro;
  static int64_t report_run = -1;
  static std::string report_suite, report_baseline;
  rep->add_option("--db", ro.db, "Results database")->capture_default_str();
  rep->add_option("--run", report_run, "Run id");
  rep->add_option("--suite", report_suite, "The latest run of this suite");
  rep->add_option("--format", ro.format, "md, csv, latex, html, json or svg")
      ->check(CLI::IsMember({"md", "csv", "latex", "html", "json", "svg"}))
      ->capture_default_str();
  rep->add_option("--baseline", report_baseline, "Model whose values the deltas are taken against");
  rep->add_option("--published", ro.published, "Papers' numbers to show beside reproduced ones ('' for none)")
      ->capture_default_str();
  rep->add_option("--out", ro.out, "Write to this file instead of stdout");
  rep->callback([] {
    run_guarded("report", [] {
      if (report_run >= 0) ro.run = report_run;
      if (!report_suite.empty()) ro.suite = report_suite;
      if (!report_baseline.empty()) ro.baseline = report_baseline;
      const int code = report::run_report(ro, std::cout, std::cerr);
      if (code) g_exit_code = code;
    });
  });

  auto* plot = app.add_subcommand("plot", "An SVG figure of a run: one metric against another or a setting");
  static report::PlotOptions po;
  static int64_t plot_run = -1;
  static std::string plot_suite;
  plot->add_option("--db", po.db, "Results database")->capture_default_str();
  plot->add_option("--run", plot_run, "Run id");
  plot->add_option("--suite", plot_suite, "The latest run of this suite");
  plot->add_option("--x", po.x, "x axis: a metric (macs, latency, ...) or a setting (batch_size, resolution)")
      ->capture_default_str();
  plot->add_option("--y", po.y, "y axis: a metric (top1, miou, latency, ...)")->capture_default_str();
  plot->add_option("--out", po.out, "Write to this file instead of stdout");
  plot->callback([] {
    run_guarded("plot", [] {
      if (plot_run >= 0) po.run = plot_run;
      if (!plot_suite.empty()) po.suite = plot_suite;
      const int code = report::run_plot(po, std::cout, std::cerr);
      if (code) g_exit_code = code;
    });
  });

  auto* train_cmd = app.add_subcommand(
      "train", "Train a LinearSegHead on a frozen backbone (LocAtViT protocol) or a small model from scratch");
  static train::TrainOptions to;
  static std::string to_device = "cpu";
  static std::vector<int64_t> to_crop, to_scale;
  train_cmd->add_option("--model", to.model, "Registered backbone (bench list models)")->required();
  train_cmd->add_option("--checkpoint", to.checkpoint, "Backbone weights (safetensors, timm keys)");
  train_cmd->add_option("--task", to.task,
                        "head: frozen backbone; scratch: classification pre-training, then head; segmentor: a "
                        "segmentation model (SegViT) end to end with its own loss")
      ->check(CLI::IsMember({"head", "scratch", "segmentor"}))
      ->capture_default_str();
  train_cmd->add_option("--dataset", to.dataset_kind, "Dataset kind")
      ->check(CLI::IsMember(train::segmentation_dataset_kinds()))
      ->capture_default_str();
  train_cmd->add_option("--root", to.root, "Dataset root (ADEChallengeData2016, VOC2010, coco_stuff164k)")->required();
  train_cmd->add_option("--num-classes", to.num_classes, "Classes of synthetic_ade20k data");
  train_cmd->add_option("--iterations", to.iterations, "Head iterations")->capture_default_str();
  train_cmd->add_option("--batch-size", to.batch_size, "Images per iteration")->capture_default_str();
  train_cmd->add_option("--crop", to_crop, "Crop H [W] (default 512)")->expected(1, 2);
  train_cmd->add_option("--scale", to_scale, "RandomResize and test Resize scale W H (default 2048 512)")->expected(2);
  train_cmd->add_option("--lr", to.lr, "OneCycle max_lr (segmentor: poly base lr, default the model's recipe)")
      ->capture_default_str();
  train_cmd->add_option("--warmup-iters", to.warmup_iters, "Segmentor: linear warm-up iterations (default: recipe)");
  train_cmd->add_option("--cls-iterations", to.cls_iterations, "Pre-training iterations (--task scratch)")
      ->capture_default_str();
  train_cmd->add_option("--eval-interval", to.eval_interval, "mIoU every N iterations (0: at the end)")
      ->capture_default_str();
  train_cmd->add_option("--eval-mode", to.eval.mode, "whole or slide")
      ->check(CLI::IsMember({"whole", "slide"}))
      ->capture_default_str();
  train_cmd->add_option("--checkpoint-interval", to.checkpoint_interval, "0: at the end only")->capture_default_str();
  train_cmd->add_option("--work-dir", to.work_dir, "Checkpoints go here (cls.safetensors, seg.safetensors)");
  train_cmd->add_flag("--resume", to.resume, "Continue from --work-dir's checkpoints at their saved iteration");
  train_cmd->add_option("--seed", to.seed, "Seed")->capture_default_str();
  train_cmd->add_option("--device", to_device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  train_cmd->callback([train_cmd] {
    run_guarded("train", [train_cmd] {
      train::TrainOptions o = to;
      // A segmentation model's released recipe, then what the command line says.
      if (const VariantInfo* info = Registry::instance().find(to.model); info && info->task == "segmentation") {
        train::apply_recipe(o, info->config);
        if (train_cmd->count("--lr")) o.lr = to.lr;
        if (train_cmd->count("--warmup-iters")) o.warmup_iters = to.warmup_iters;
        if (train_cmd->count("--eval-mode")) o.eval.mode = to.eval.mode;
      } else {
        o.eval.scale = o.pipeline.scale;
      }
      if (!to_crop.empty()) o.pipeline.crop_size = o.eval.crop_size = {to_crop.front(), to_crop.back()};
      if (!to_scale.empty()) o.pipeline.scale = {to_scale[0], to_scale[1]}, o.eval.scale = o.pipeline.scale;
      if (!to_crop.empty() && o.eval.mode == "slide")
        o.eval.stride = {o.eval.crop_size[0] * 2 / 3, o.eval.crop_size[1] * 2 / 3};
      if (o.eval.mode != "slide") o.eval.crop_size = o.pipeline.crop_size;
      o.device = to_device == "cuda" ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
      const int code = train::run_train(o, std::cout);
      if (code) g_exit_code = code;
    });
  });

  // PNG folders (any model's predictions), or a backbone with a head checkpoint written by `bench train`.
  auto* eval_seg = app.add_subcommand("eval-seg", "mIoU (mmseg IoUMetric) of prediction PNGs, or of a model + head");
  static seg::EvalSegOptions eo;
  static train::SegEvalOptions mo;
  static std::vector<int64_t> mo_scale, mo_crop, mo_stride;
  auto* pred = eval_seg->add_option("--pred", eo.pred_dir, "Folder of prediction PNGs (train ids 0..K-1, 255 = none)");
  auto* gt = eval_seg->add_option("--gt", eo.gt_dir, "Folder of label PNGs in the dataset's own encoding");
  eval_seg->add_option("--num-classes", eo.num_classes, "Number of classes K")->check(CLI::PositiveNumber);
  eval_seg->add_flag("--reduce-zero-label", eo.reduce_zero_label, "Labels: 0 is ignored, k becomes k-1 (ADE20K)");
  auto* model = eval_seg->add_option("--model", mo.model,
                                     "Registered backbone scored with --head, or segmentation model (SegViT), on --root");
  eval_seg->add_option("--checkpoint", mo.checkpoint, "Model weights (safetensors)");
  eval_seg->add_option("--head", mo.head, "seg.safetensors written by bench train (needed for a backbone)");
  eval_seg->add_option("--dataset", mo.dataset_kind, "Dataset kind")
      ->check(CLI::IsMember(train::segmentation_dataset_kinds()))
      ->capture_default_str();
  eval_seg->add_option("--root", mo.root, "Dataset root");
  eval_seg->add_option("--mode", mo.eval.mode, "whole or slide")
      ->check(CLI::IsMember({"whole", "slide"}))
      ->capture_default_str();
  eval_seg->add_option("--scale", mo_scale, "Test Resize scale W H (default 2048 512)")->expected(2);
  eval_seg->add_option("--crop", mo_crop, "Slide window H [W] (default 512)")->expected(1, 2);
  eval_seg->add_option("--stride", mo_stride, "Slide stride H [W] (default 341)")->expected(1, 2);
  eval_seg->add_option("--limit", mo.eval.limit, "At most N images (evenly spaced); 0: all");
  eval_seg->add_flag("--json", eo.json, "Print JSON (aAcc, mIoU, mAcc, per_class)");
  pred->excludes(model);
  gt->excludes(model);
  eval_seg->callback([eval_seg] {
    if (mo.model.empty()) {
      if (eo.pred_dir.empty() || eo.gt_dir.empty()) {
        std::cerr << "bench eval-seg: give --pred and --gt (PNG folders) or --model, --head and --root\n";
        g_exit_code = 2;
        return;
      }
      const int code = seg::eval_seg(eo, std::cout, std::cerr);
      if (code) g_exit_code = code;
      return;
    }
    run_guarded("eval-seg", [eval_seg] {
      // A segmentation model is scored with its released test settings unless the command line says otherwise.
      if (const VariantInfo* info = Registry::instance().find(mo.model); info && info->task == "segmentation") {
        train::TrainOptions recipe;
        train::apply_recipe(recipe, info->config);
        const std::string mode = mo.eval.mode;
        const int64_t limit = mo.eval.limit;
        mo.eval = recipe.eval;
        mo.eval.limit = limit;
        if (eval_seg->count("--mode")) mo.eval.mode = mode;
      }
      if (!mo_scale.empty()) mo.eval.scale = std::pair<int64_t, int64_t>{mo_scale[0], mo_scale[1]};
      if (!mo_crop.empty()) mo.eval.crop_size = {mo_crop.front(), mo_crop.back()};
      if (!mo_stride.empty()) mo.eval.stride = {mo_stride.front(), mo_stride.back()};
      if (mo.dataset_kind == "synthetic_ade20k") mo.num_classes = eo.num_classes;
      mo.json = eo.json;
      const int code = train::run_eval_seg(mo, std::cout, std::cerr);
      if (code) g_exit_code = code;
    });
  });

  auto* chk = app.add_subcommand("check", "Gate Google Benchmark results against a baseline (exit 1 on a regression)");
  static check::CheckOptions co;
  static std::string check_reference;
  chk->add_option("--baseline", co.baseline, "Google Benchmark JSON of the baseline")->required();
  chk->add_option("--current", co.current, "Google Benchmark JSON of this run")->required();
  chk->add_option("--reference", check_reference, "Variant that divides every op/shape's time (same file)");
  chk->add_option("--threshold", co.threshold, "Relative slow-down counted as a regression")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  chk->callback([] {
    run_guarded("check", [] {
      if (!check_reference.empty()) co.reference = check_reference;
      const int code = check::run_check(co, std::cout, std::cerr);
      if (code) g_exit_code = code;
    });
  });

  auto* prof = app.add_subcommand("profile", "Per-op (CPU) or per-kernel (CUDA, CUPTI) profile of a forward");
  static std::string prof_model, prof_device = "cpu";
  static int64_t prof_batch = 1;
  static int prof_iterations = 1;
  static bool prof_json = false;
  prof->add_option("model", prof_model, "Registered model name")->required();
  prof->add_option("--device", prof_device, "cpu or cuda[:N]")->capture_default_str();
  prof->add_option("--batch-size", prof_batch, "Images per forward")->capture_default_str();
  prof->add_option("--iterations", prof_iterations, "Forwards traced after one warm-up")->capture_default_str();
  prof->add_flag("--json", prof_json, "Print JSON");
  prof->callback([] {
    run_guarded("profile", [] {
      lookup(prof_model);
      auto model = create_model(prof_model);
      model->eval();
      const auto& in = model->variant_config().input_size;
      profile::ProfileOptions o;
      o.iterations = prof_iterations;
      const auto p = profile::profile_model(*model, torch::randn({prof_batch, in[0], in[1], in[2]}),
                                            torch::Device(prof_device), o);
      if (prof_json) std::cout << profile::to_json(p).dump(2) << "\n";
      else profile::print_table(p, std::cout, 40);
    });
  });

  auto* kern = app.add_subcommand("kernels", "The op/kernel profiles a run stored (its `kernels` cells)");
  static std::string kern_db = "results/bench.db";
  static int64_t kern_run = -1;
  static size_t kern_top = 20;
  static bool kern_json = false;
  kern->add_option("--db", kern_db, "Results database")->capture_default_str();
  kern->add_option("--run", kern_run, "Run id (default: the latest)");
  kern->add_option("--top", kern_top, "Rows shown per cell (0: all)")->capture_default_str();
  kern->add_flag("--json", kern_json, "Print JSON");
  kern->callback([] {
    run_guarded("kernels", [] {
      if (!std::filesystem::is_regular_file(kern_db)) throw std::invalid_argument(kern_db + ": no such database");
      const store::Store db(kern_db);
      const auto run = kern_run >= 0 ? std::optional<int64_t>(kern_run) : db.latest_run();
      if (!run || !db.run(*run))
        throw std::invalid_argument(kern_db + ": no run" + (kern_run >= 0 ? " " + std::to_string(kern_run) : ""));
      nlohmann::json out = nlohmann::json::array();
      size_t shown = 0;
      for (const auto& cell : db.cells(*run)) {
        const auto stored = db.profile(*run, cell.key);
        if (!stored) continue;
        ++shown;
        profile::ProfileRows p;
        p.tracer = stored->tracer;
        p.cupti_version = static_cast<uint32_t>(stored->cupti_version);
        p.dropped_records = static_cast<uint64_t>(stored->dropped_records);
        p.iterations = static_cast<int>(stored->iterations);
        for (const auto& r : stored->rows) {
          profile::ProfileRow row;
          row.kind = r.kind, row.name = r.name, row.calls = r.calls;
          row.total_us = r.total_us, row.mean_us = r.mean_us, row.self_us = r.self_us;
          for (int i = 0; i < 3; ++i) {
            row.grid[i] = static_cast<int>(r.grid[i]);
            row.block[i] = static_cast<int>(r.block[i]);
          }
          row.registers_per_thread = static_cast<int>(r.registers_per_thread);
          row.static_shared_bytes = static_cast<int>(r.static_shared_bytes);
          row.dynamic_shared_bytes = static_cast<int>(r.dynamic_shared_bytes);
          row.stream = static_cast<uint32_t>(r.stream);
          p.rows.push_back(std::move(row));
        }
        if (kern_json) {
          auto j = profile::to_json(p);
          j["sdpa_backend"] = stored->sdpa_backend;  // named from every row, before the measurement's `top`
          j["model"] = cell.model;
          j["measurement"] = cell.measurement;
          j["settings"] = nlohmann::json::parse(cell.settings_json);
          out.push_back(std::move(j));
        } else {
          std::cout << cell.model << " " << cell.measurement << " " << cell.settings_json << "\n";
          profile::print_table(p, std::cout, kern_top);
          std::cout << "\n";
        }
      }
      if (kern_json) std::cout << out.dump(2) << "\n";
      else if (!shown) std::cout << "run " << *run << " has no kernels cells\n";
    });
  });

  auto* data = app.add_subcommand("data", "Datasets");
  data->require_subcommand(1);
  auto* synth = data->add_subcommand("synth", "Write a synthetic ImageFolder dataset (texture classes)");
  static std::string synth_out;
  static data::SynthOptions so;
  synth->add_option("--out", synth_out, "Folder to create (root/<class>/<image>)")->required();
  synth->add_option("--classes", so.classes, "Number of classes")->capture_default_str();
  synth->add_option("--per-class", so.per_class, "Images per class")->capture_default_str();
  synth->add_option("--size", so.size, "Image side in pixels")->capture_default_str();
  synth->add_option("--seed", so.seed, "Seed")->capture_default_str();
  synth->add_option("--format", so.format, "jpg or png")->check(CLI::IsMember({"jpg", "png"}))->capture_default_str();
  synth->callback([] {
    run_guarded("data synth", [] {
      data::write_synthetic_image_folder(synth_out, so);
      std::cout << synth_out << ": " << so.classes << " classes x " << so.per_class << " images\n";
    });
  });
}

}  // namespace locbench::cli
