// bench list models, info, forward and profile: what a registered model is and what it computes.
#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/weights.h"
#include "harness/cli/cli_common.h"
#include "harness/compute/macs.h"
#include "harness/common/text.h"
#include "harness/model/registry.h"
#include "harness/profile/profile.h"
#include "methods/common/layers.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <iostream>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>

namespace locbench::cli {

namespace {

nlohmann::json config_json(const VariantConfig& cfg) {
  return {{"input_size", cfg.input_size}, {"mean", cfg.mean},           {"std", cfg.std},
          {"crop_pct", cfg.crop_pct},     {"interpolation", cfg.interpolation}, {"patch_size", cfg.patch_size},
          {"num_classes", cfg.num_classes}};
}

// Models exported from Python into the model folder, found by name (<dir>/<name>.pt or .pt2).
std::vector<const VariantInfo*> exported_models() {
  namespace fs = std::filesystem;
  std::vector<const VariantInfo*> out;
  std::error_code ec;
  const fs::path dir = Registry::model_dir();
  if (!fs::is_directory(dir, ec)) return out;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file(ec) && (entry.path().extension() == ".pt" || entry.path().extension() == ".pt2"))
      names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  for (const auto& name : names)
    if (const VariantInfo* info = Registry::instance().find(name); info && info->method == "exported")
      out.push_back(info);
  return out;
}

void list_models(bool json) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto* info : Registry::instance().list())
    rows.push_back({{"name", info->name}, {"method", info->method}, {"task", info->task},
                    {"paper", info->paper}, {"aliases", info->aliases}});
  for (const auto* info : exported_models())
    rows.push_back({{"name", info->name}, {"method", info->method}, {"task", info->task},
                    {"paper", info->paper}, {"aliases", nlohmann::json::array()}, {"file", info->file}});
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

// `bench list models --pretrained`: every release locbench knows, by the name that selects it (arch.tag), with its
// Hugging Face repository, where the facts come from and its config.
void list_pretrained(bool json) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto* info : Registry::instance().list())
    for (size_t i = 0; i < info->pretrained.size(); ++i) {
      const PretrainedTag& t = info->pretrained[i];
      rows.push_back({{"name", t.tag.empty() ? info->name : info->name + "." + t.tag},
                      {"architecture", info->name},
                      {"tag", t.tag},
                      {"default", i == 0},
                      {"hf_hub_id", t.hf_hub_id},
                      {"file", t.hf_filename},
                      {"source", t.source},
                      {"license", t.license},
                      {"config", config_json(t.config)}});
    }
  if (json) {
    std::cout << rows.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{:<48} {:<52} {}\n", "model (weights: \"pretrained\")", "hf-hub:", "source");
  for (const auto& r : rows)
    std::cout << fmt::format("{:<48} {:<52} {}{}\n", r["name"].get<std::string>(), r["hf_hub_id"].get<std::string>(),
                             r["source"].get<std::string>(),
                             r["default"].get<bool>() && !r["tag"].get<std::string>().empty() ? " (default tag)" : "");
  std::cout << "\nWeights are read from the Hugging Face cache; fetch one with `hf download ORG/NAME model.safetensors`"
               " (pip install huggingface_hub).\n";
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
  const std::string not_observable = model->compute_not_observable();
  MacCount count;
  if (not_observable.empty())
    count = count_macs([&] {
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
                     {"config", config_json(cfg)}};
  if (const PretrainedTag* tag = variant.default_tag())
    out["pretrained"] = {{"tag", tag->tag}, {"hf_hub_id", tag->hf_hub_id}, {"source", tag->source}};
  if (!variant.file.empty()) out["file"] = variant.file;
  if (!not_observable.empty()) {
    out["macs"] = out["gmacs"] = out["flops"] = nullptr;
    out["macs_not_counted"] = not_observable;
  }
  if (json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{}  ({}, {})\n  input     {}x{}, mean {}, std {}, crop_pct {}, {}\n"
                           "  params    {:L} ({:.2f} M)\n",
                           variant.name, variant.method, variant.paper, H, W, fmt::join(cfg.mean, "/"),
                           fmt::join(cfg.std, "/"), cfg.crop_pct, cfg.interpolation, params, params / 1e6);
  if (const PretrainedTag* tag = variant.default_tag())
    std::cout << "  weights   pretrained = hf-hub:" << tag->hf_hub_id << " (" << tag->source << ")\n";
  if (!not_observable.empty()) {
    std::cout << "  MACs      not counted: " << not_observable << "\n";
    return;
  }
  std::cout << fmt::format("  MACs      {:.3f} G\n  FLOPs     {:.3f} G\n", count.macs / 1e9, 2 * count.macs / 1e9);
  for (const auto& [op, macs] : count.macs_by_op)
    std::cout << fmt::format("    {:<34} {:>10.3f} GMACs\n", op, macs / 1e9);
  if (!count.unhandled_ops.empty()) {
    std::cout << "  not counted (no handler):";
    for (const auto& [op, calls] : count.unhandled_ops) std::cout << " " << op << " x" << calls;
    std::cout << "\n";
  }
}

struct ForwardOptions {
  std::string model, weights, input, output, img_size, save_weights;
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
  const ResolvedWeights w = resolve_weights(o.model, o.weights);  // a tag in the weights names the tagged model
  torch::manual_seed(o.seed);
  ModelPtr model = create_model(w.model, args);
  if (!w.path.empty()) load_checkpoint(*model, w.path, w.model);
  model->eval();
  if (!o.save_weights.empty()) {
    std::map<std::string, torch::Tensor> state;
    for (const auto& p : model->named_parameters(true)) state.emplace(p.key(), p.value());
    for (const auto& b : model->named_buffers(true)) state.emplace(b.key(), b.value());
    write_safetensors(o.save_weights, state, {{"model", w.model}, {"producer", "locbench"}});
  }
  // Sides that are not multiples of the feature stride are zero-padded right/bottom, as timm's dynamic_img_pad
  // (and mmseg's AdaptivePadding) pad inside the patch embedding: no partial patch is dropped. Segmentation models
  // pad inside themselves and give scores at the input size.
  // An exported model knows no stride (0) and takes the input as it is.
  if (lookup(w.model).task != "segmentation") image = layers::pad_to_multiple(image, model->feature_stride());
  torch::Tensor result;
  {
    torch::InferenceMode guard;
    result = o.features ? model->forward_dense(image) : model->forward(image);
  }
  write_safetensors(o.output, {{o.features ? "features" : "logits", result}},
                    {{"model", w.model}, {"producer", "locbench"}});
}

struct ProfileCommandOptions {
  std::string model, device = "cpu", img_size;
  int64_t batch = 1;
  int iterations = 1;
  bool json = false;
};

// "cpu", "cuda" or "cuda:N", refused in one line when it is not one or this process has no such device.
torch::Device device_option(const std::string& text) {
  std::optional<torch::Device> device;
  try {
    device = torch::Device(text);
  } catch (const std::exception&) {
    throw std::invalid_argument("--device: '" + one_line(text, 40) + "' is not a device (cpu, cuda or cuda:N)");
  }
  if (device->is_cuda()) {
    const int64_t count = torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
    if (count == 0)
      throw std::invalid_argument("--device " + text + ": no CUDA device (a CPU LibTorch, or no GPU visible)");
    if (device->has_index() && device->index() >= count)
      throw std::invalid_argument("--device " + text + ": there are " + std::to_string(count) + " CUDA devices");
  }
  return *device;
}

void profile_command(const ProfileCommandOptions& o) {
  lookup(o.model);
  const torch::Device device = device_option(o.device);
  ModelArgs args;
  if (!o.img_size.empty()) args.img_size = parse_img_size(o.img_size);
  auto model = create_model(o.model, args);
  model->eval();
  const auto& in = model->variant_config().input_size;
  profile::ProfileOptions po;
  po.iterations = o.iterations;
  const auto p = profile::profile_model(*model, torch::randn({o.batch, in[0], in[1], in[2]}), device,
                                        po);
  if (o.json) {
    auto j = profile::to_json(p);
    j["input"] = {o.batch, in[0], in[1], in[2]};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "input " << o.batch << "x" << in[0] << "x" << in[1] << "x" << in[2] << "\n";
    profile::print_table(p, std::cout, 40);
  }
}

}  // namespace

void add_list_command(CLI::App& app) {
  auto* list = app.add_subcommand("list", "List registered things");
  list->require_subcommand(1);
  auto* models = list->add_subcommand("models", "Every model variant with its method, task and paper");
  auto json = std::make_shared<bool>(false), pretrained = std::make_shared<bool>(false);
  models->add_flag("--json", *json, "Print JSON");
  models->add_flag("--pretrained", *pretrained, "The pretrained tags (arch.tag) and releases, with their source");
  models->callback([json, pretrained] {
    run_guarded("list models", [&] { *pretrained ? list_pretrained(*json) : list_models(*json); });
  });
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
  cmd->add_option("model", o->model, "Model: a registered name, arch.tag, hf-hub:ORG/NAME or file:PATH")->required();
  cmd->add_option("--img-size", o->img_size, "Input size H or HxW (default: the variant's)");
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->callback([o] { run_guarded("info", [&] { info(o->model, o->img_size, o->json); }); });
}

void add_forward_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("forward", "Run a model on images from a safetensors file (sides that are not "
                                            "multiples of the feature stride are zero-padded right/bottom)");
  auto f = std::make_shared<ForwardOptions>();
  cmd->add_option("--model", f->model, "Model: a registered name, arch.tag, hf-hub:ORG/NAME or file:PATH")->required();
  cmd->add_option("--weights", f->weights,
                  "safetensors file (timm/official keys), 'pretrained', a tag, or hf-hub:ORG/NAME (Hugging Face cache)");
  cmd->add_option("--save-weights", f->save_weights, "Also write the weights the forward ran with (safetensors)");
  cmd->add_option("--input", f->input, "safetensors with 'image' (float32 B x 3 x H x W, normalised)")->required();
  cmd->add_option("--output", f->output, "safetensors to write 'logits' or 'features' to")->required();
  cmd->add_flag("--features", f->features, "Write dense features (B x C x H/p x W/p) instead of logits");
  cmd->add_option("--seed", f->seed, "Seed of the initialisation when no weights are given");
  cmd->add_option("--num-classes", f->num_classes, "Override the number of classes")->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--img-size", f->img_size, "Override the size the model is built for (H or HxW)");
  cmd->callback([f] { run_guarded("forward", [&] { forward(*f); }); });
}

void add_profile_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("profile", "Per-op (CPU) or per-kernel (CUDA, CUPTI) profile of a forward");
  auto o = std::make_shared<ProfileCommandOptions>();
  cmd->add_option("model", o->model, "Registered model name")->required();
  cmd->add_option("--device", o->device, "cpu or cuda[:N]")->capture_default_str();
  cmd->add_option("--batch-size", o->batch, "Images per forward")->check(CLI::Range(1, 65536))->capture_default_str();
  cmd->add_option("--img-size", o->img_size, "Input size H or HxW (default: the variant's)");
  cmd->add_option("--iterations", o->iterations, "Forwards traced after one warm-up")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->callback([o] { run_guarded("profile", [&] { profile_command(*o); }); });
}

}  // namespace locbench::cli
