// bench list models, info, forward and profile: what a registered model is and what it computes.
#include "harness/checkpoint/checkpoint.h"
#include "harness/cli/cli_common.h"
#include "harness/compute/macs.h"
#include "harness/model/registry.h"
#include "harness/profile/profile.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

namespace locbench::cli {

namespace {

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
  // Sides that are not multiples of the feature stride are zero-padded right/bottom, as timm's dynamic_img_pad
  // (and mmseg's AdaptivePadding) pad inside the patch embedding: no partial patch is dropped. Segmentation models
  // pad inside themselves and give scores at the input size.
  if (lookup(o.model).task != "segmentation") {
    const int64_t s = model->feature_stride();
    const int64_t pad_h = (s - image.size(2) % s) % s, pad_w = (s - image.size(3) % s) % s;
    if (pad_h || pad_w)
      image = torch::nn::functional::pad(image, torch::nn::functional::PadFuncOptions({0, pad_w, 0, pad_h}));
  }
  torch::Tensor result;
  {
    torch::InferenceMode guard;
    result = o.features ? model->forward_dense(image) : model->forward(image);
  }
  write_safetensors(o.output, {{o.features ? "features" : "logits", result}},
                    {{"model", o.model}, {"producer", "locbench"}});
}

struct ProfileCommandOptions {
  std::string model, device = "cpu";
  int64_t batch = 1;
  int iterations = 1;
  bool json = false;
};

void profile_command(const ProfileCommandOptions& o) {
  lookup(o.model);
  auto model = create_model(o.model);
  model->eval();
  const auto& in = model->variant_config().input_size;
  profile::ProfileOptions po;
  po.iterations = o.iterations;
  const auto p = profile::profile_model(*model, torch::randn({o.batch, in[0], in[1], in[2]}),
                                        torch::Device(o.device), po);
  if (o.json) std::cout << profile::to_json(p).dump(2) << "\n";
  else profile::print_table(p, std::cout, 40);
}

}  // namespace

void add_list_command(CLI::App& app) {
  auto* list = app.add_subcommand("list", "List registered things");
  list->require_subcommand(1);
  auto* models = list->add_subcommand("models", "Every model variant with its method, task and paper");
  auto json = std::make_shared<bool>(false);
  models->add_flag("--json", *json, "Print JSON");
  models->callback([json] { run_guarded("list models", [&] { list_models(*json); }); });
  auto* heads = list->add_subcommand("heads", "Every decode head (bench train --task head, eval-seg --head)");
  heads->callback([] {
    run_guarded("list heads", [] {
      for (const HeadInfo* h : Registry::instance().heads()) std::cout << h->name << "  " << h->paper << "\n";
    });
  });
}

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Parameters and compute (MACs, fvcore convention) of a model");
  struct Options {
    std::string model, img_size;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("model", o->model, "Registered model name")->required();
  cmd->add_option("--img-size", o->img_size, "Input size H or HxW (default: the variant's)");
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->callback([o] { run_guarded("info", [&] { info(o->model, o->img_size, o->json); }); });
}

void add_forward_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("forward", "Run a model on images from a safetensors file (sides that are not "
                                            "multiples of the feature stride are zero-padded right/bottom)");
  auto f = std::make_shared<ForwardOptions>();
  cmd->add_option("--model", f->model, "Registered model name")->required();
  cmd->add_option("--weights", f->weights, "Checkpoint (.safetensors, timm/official keys)");
  cmd->add_option("--input", f->input, "safetensors with 'image' (float32 B x 3 x H x W, normalised)")->required();
  cmd->add_option("--output", f->output, "safetensors to write 'logits' or 'features' to")->required();
  cmd->add_flag("--features", f->features, "Write dense features (B x C x H/p x W/p) instead of logits");
  cmd->add_option("--seed", f->seed, "Seed of the initialisation when no weights are given");
  cmd->add_option("--num-classes", f->num_classes, "Override the number of classes");
  cmd->add_option("--img-size", f->img_size, "Override the size the model is built for (H or HxW)");
  cmd->callback([f] { run_guarded("forward", [&] { forward(*f); }); });
}

void add_profile_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("profile", "Per-op (CPU) or per-kernel (CUDA, CUPTI) profile of a forward");
  auto o = std::make_shared<ProfileCommandOptions>();
  cmd->add_option("model", o->model, "Registered model name")->required();
  cmd->add_option("--device", o->device, "cpu or cuda[:N]")->capture_default_str();
  cmd->add_option("--batch-size", o->batch, "Images per forward")->capture_default_str();
  cmd->add_option("--iterations", o->iterations, "Forwards traced after one warm-up")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->callback([o] { run_guarded("profile", [&] { profile_command(*o); }); });
}

}  // namespace locbench::cli
