#include "harness/suite/suite.h"

#include "harness/common/files.h"
#include "harness/common/json_input.h"
#include "harness/common/text.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace locbench::suite {

using nlohmann::json;

namespace {

const std::set<std::string> kNoDataset{"params", "macs", "latency", "throughput", "memory", "kernels"};
// Kinds whose input size is the cell's resolution (segmentation kinds take theirs from the dataset and pipeline).
const std::set<std::string> kSized{"params", "macs", "latency", "throughput", "memory", "kernels", "accuracy"};
const std::set<std::string> kBatched{"latency", "throughput", "memory", "kernels"};
const std::set<std::string> kSegDatasets{"ade20k",        "pascal_context59", "pascal_context60",
                                         "cocostuff10k",  "cocostuff164k",    "synthetic_ade20k"};
const char* const kSegDatasetList =
    "ade20k, pascal_context59, pascal_context60, cocostuff10k, cocostuff164k, synthetic_ade20k";
const std::set<std::string> kSegMeasurements{"miou", "train", "fps"};
// A folder each segmentation layout must have (mmseg's), so a wrong root fails at validation.
const std::map<std::string, std::string> kSegLayoutDir{{"ade20k", "images/validation"},
                                                       {"pascal_context59", "ImageSets/SegmentationContext"},
                                                       {"pascal_context60", "ImageSets/SegmentationContext"},
                                                       {"cocostuff10k", "images/test2014"},
                                                       {"cocostuff164k", "images/val2017"},
                                                       {"synthetic_ade20k", "images/validation"}};

// Bounds beyond the types' own ranges: values past them are typos that would exhaust memory, threads or disk.
constexpr int64_t kMaxBatchSize = 65536;
constexpr int kMaxThreads = 1024;  // settings.threads, datasets[].workers
constexpr int64_t kMaxClasses = int64_t{1} << 20;
constexpr int kMaxGeneratedImages = 100000;  // per class or split of generated data
constexpr size_t kMaxSuiteBytes = size_t{16} << 20;

// Collects problems as "file: path: message" and reads typed fields.
class Checker {
 public:
  Checker(std::string file, const ModelCatalogue& models) : file_(std::move(file)), models_(models) {}
  const ModelCatalogue& models() const { return models_; }
  // One line each, however hostile the strings inside (a model name with a newline, a 1 MB label).
  void error(const std::string& path, const std::string& message) {
    errors_.push_back(one_line(file_ + ": " + (path.empty() ? "" : path + ": ") + message, 400));
  }
  const std::vector<std::string>& errors() const { return errors_; }

  static std::string type_name(const json& v) {
    if (v.is_string()) return "a string";
    if (v.is_number_integer()) return "an integer";
    if (v.is_number()) return "a number";
    if (v.is_boolean()) return "a boolean";
    if (v.is_array()) return "an array";
    if (v.is_object()) return "an object";
    return "null";
  }
  bool expect(const json& v, const std::string& path, bool ok, const std::string& what) {
    if (!ok) error(path, "expected " + what + ", got " + type_name(v) + " " + json_excerpt(v));
    return ok;
  }
  std::optional<std::string> string(const json& obj, const std::string& key, const std::string& path) {
    if (!obj.contains(key)) return std::nullopt;
    const auto& v = obj[key];
    if (!expect(v, path + "." + key, v.is_string(), "a string")) return std::nullopt;
    return v.get<std::string>();
  }
  // An integer in [min, max]: T is the type the value lands in, and max never exceeds its range, so nothing is
  // cast into a wrapped or truncated value later (4294967296 repeats are refused, not run as 0).
  template <typename T>
  std::optional<T> integer(const json& obj, const std::string& key, const std::string& path, T min,
                           T max = std::numeric_limits<T>::max()) {
    if (!obj.contains(key)) return std::nullopt;
    return integer_value<T>(obj[key], path + "." + key, min, max);
  }
  // An integer or an array of integers, each in [min, max].
  template <typename T>
  std::optional<std::vector<T>> integers(const json& obj, const std::string& key, const std::string& path, T min,
                                         T max = std::numeric_limits<T>::max()) {
    if (!obj.contains(key)) return std::nullopt;
    const auto& v = obj[key];
    if (v.is_array() && v.empty()) {
      error(path + "." + key, "must not be empty");
      return std::nullopt;
    }
    std::vector<T> out;
    const size_t n = v.is_array() ? v.size() : 1;
    for (size_t i = 0; i < n; ++i) {
      const std::string p = path + "." + key + (v.is_array() ? "[" + std::to_string(i) + "]" : "");
      const auto x = integer_value<T>(v.is_array() ? v[i] : v, p, min, max);
      if (!x) return std::nullopt;
      out.push_back(*x);
    }
    return out;
  }
  // A finite number in [min, max] (JSON has no infinities; 1e400 is refused by the parser).
  std::optional<double> number(const json& obj, const std::string& key, const std::string& path, double min,
                               double max, bool max_inclusive = true) {
    if (!obj.contains(key)) return std::nullopt;
    const auto& v = obj[key];
    if (!expect(v, path + "." + key, v.is_number(), "a number")) return std::nullopt;
    const double x = v.get<double>();
    if (!(x >= min && (max_inclusive ? x <= max : x < max))) {
      error(path + "." + key, "must be in [" + json(min).dump() + ", " + json(max).dump() + (max_inclusive ? "]" : ")") +
                                  ", got " + json_excerpt(v));
      return std::nullopt;
    }
    return x;
  }
  void unknown_keys(const json& obj, const std::string& path, const std::set<std::string>& known) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!known.count(it.key())) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        error(path.empty() ? it.key() : path + "." + it.key(), "unknown field (known: " + list + ")");
      }
  }

 private:
  template <typename T>
  std::optional<T> integer_value(const json& v, const std::string& path, T min, T max) {
    if (!expect(v, path, v.is_number_integer(), "an integer")) return std::nullopt;
    // Compared in 128 bits: the JSON value may be anything from -2^63 to 2^64 - 1.
    const __int128 x = v.is_number_unsigned() ? static_cast<__int128>(v.get<uint64_t>())
                                              : static_cast<__int128>(v.get<int64_t>());
    if (x >= static_cast<__int128>(min) && x <= static_cast<__int128>(max)) return static_cast<T>(x);
    const bool type_bound = max == std::numeric_limits<T>::max();
    if (type_bound && x < static_cast<__int128>(min))
      error(path, "must be at least " + std::to_string(min) + ", got " + v.dump());
    else if (type_bound)
      error(path, "must be at most " + std::to_string(max) + " (it is held in a " + std::to_string(sizeof(T) * 8) +
                      "-bit " + (std::is_signed_v<T> ? "signed" : "unsigned") + " integer), got " + v.dump());
    else
      error(path, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + v.dump());
    return std::nullopt;
  }

  std::string file_;
  const ModelCatalogue& models_;
  std::vector<std::string> errors_;
};

std::optional<std::array<int64_t, 2>> img_size(Checker& c, const json& obj, const std::string& path) {
  auto sizes = c.integers<int64_t>(obj, "img_size", path, 1, kMaxImageSide);
  if (!sizes) return std::nullopt;
  if (sizes->size() == 1) return std::array<int64_t, 2>{(*sizes)[0], (*sizes)[0]};
  if (sizes->size() == 2) return std::array<int64_t, 2>{(*sizes)[0], (*sizes)[1]};
  c.error(path + ".img_size", "expected H or [H, W]");
  return std::nullopt;
}

void parse_models(Checker& c, const json& root, Suite& s) {
  if (!root.contains("models")) return c.error("models", "missing (a list of registered model names)");
  const auto& models = root["models"];
  if (!c.expect(models, "models", models.is_array() && !models.empty(), "a non-empty array")) return;
  std::set<std::string> labels;
  for (size_t i = 0; i < models.size(); ++i) {
    const std::string path = "models[" + std::to_string(i) + "]";
    const json entry = models[i].is_string() ? json{{"name", models[i]}} : models[i];
    if (!c.expect(entry, path, entry.is_object(), "a model name or an object")) continue;
    c.unknown_keys(entry, path, {"name", "label", "weights", "checkpoint", "num_classes", "img_size", "drop_rate",
                                 "drop_path_rate", "fused_attn"});
    ModelEntry m;
    auto name = c.string(entry, "name", path);
    if (!name) {
      if (!entry.contains("name")) c.error(path + ".name", "missing");
      continue;
    }
    m.name = *name;
    if (m.name.rfind("file:", 0) == 0) {  // an exported model: its path may use ${VAR}
      try {
        m.name = "file:" + expand_env(m.name.substr(5), path + ".name");
      } catch (const std::exception& e) {
        c.error(path + ".name", e.what());
        continue;
      }
    }
    const bool known = c.models().task(m.name).has_value();
    if (!known) c.error(path + ".name", c.models().unknown_message(m.name));
    m.label = c.string(entry, "label", path).value_or(*name);
    if (!labels.insert(m.label).second) c.error(path + ".label", "duplicate model label '" + m.label + "'");
    // "weights" (a file, "pretrained", a tag, "hf-hub:ORG/NAME"); "checkpoint" is the older name of a file.
    if (entry.contains("weights") && entry.contains("checkpoint"))
      c.error(path + ".checkpoint", "give either \"weights\" or \"checkpoint\"");
    const char* key = entry.contains("weights") ? "weights" : "checkpoint";
    if (auto spec = c.string(entry, key, path); spec && known) {
      const std::string where = path + "." + key;
      try {
        m.weights = expand_env(*spec, where);
        const ModelCatalogue::Weights w = c.models().weights(m.name, m.weights);
        m.name = w.model;  // a tag in the weights names the tagged model, whose config comes with it
        m.checkpoint = w.path;
      } catch (const std::exception& e) {
        c.error(where, e.what());
      }
    }
    if (auto n = c.integer<int64_t>(entry, "num_classes", path, 0, kMaxClasses)) m.args.num_classes = *n;
    m.args.img_size = img_size(c, entry, path);
    // Probabilities of dropping: 1 would drop everything.
    m.args.drop_rate = c.number(entry, "drop_rate", path, 0.0, 1.0, /*max_inclusive=*/false);
    m.args.drop_path_rate = c.number(entry, "drop_path_rate", path, 0.0, 1.0, /*max_inclusive=*/false);
    if (entry.contains("fused_attn") &&
        c.expect(entry["fused_attn"], path + ".fused_attn", entry["fused_attn"].is_boolean(), "a boolean"))
      m.args.fused_attn = entry["fused_attn"].get<bool>();
    s.models.push_back(std::move(m));
  }
}

// synthetic_ade20k's generate: seg::SynthOptions for both splits (count training images, val_count validation).
void parse_synthetic_generate(Checker& c, const std::string& path, DatasetEntry& d) {
  if (!c.expect(d.generate, path, d.generate.is_object(), "an object")) return;
  c.unknown_keys(d.generate, path,
                 {"classes", "count", "val_count", "min_size", "max_size", "regions", "seed", "pattern", "period",
                  "period_ratio"});
  if (auto pattern = c.string(d.generate, "pattern", path); pattern && *pattern != "texture" && *pattern != "period")
    c.error(path + ".pattern", "expected \"texture\" or \"period\", got \"" + pattern->substr(0, 40) + "\"");
  if (d.generate.contains("period") &&
      c.expect(d.generate["period"], path + ".period", d.generate["period"].is_number(), "a number") &&
      !(d.generate["period"].get<double>() >= 2 && d.generate["period"].get<double>() <= kMaxImageSide))
    c.error(path + ".period", "must be from 2 to " + std::to_string(kMaxImageSide) + " (pixels)");
  if (d.generate.contains("period_ratio") &&
      c.expect(d.generate["period_ratio"], path + ".period_ratio", d.generate["period_ratio"].is_number(), "a number") &&
      !(d.generate["period_ratio"].get<double>() > 1 && d.generate["period_ratio"].get<double>() <= 100))
    c.error(path + ".period_ratio", "must be greater than 1 and at most 100");
  d.num_classes = c.integer<int64_t>(d.generate, "classes", path, 2, 254).value_or(4);  // 8-bit labels, 255 ignored
  c.integer<int64_t>(d.generate, "count", path, 1, kMaxGeneratedImages);
  c.integer<int64_t>(d.generate, "val_count", path, 1, kMaxGeneratedImages);
  const int lo = c.integer<int>(d.generate, "min_size", path, 8, kMaxImageSide).value_or(64);
  const int hi = c.integer<int>(d.generate, "max_size", path, 8, kMaxImageSide).value_or(128);
  if (hi < lo) c.error(path + ".max_size", "must be at least min_size");
  c.integer<int>(d.generate, "regions", path, 1, 1000);
  c.integer<uint64_t>(d.generate, "seed", path, 0);
}

// Options of the segmentation kinds: inference mode and sizes, a head checkpoint or training settings.
void parse_segmentation_options(Checker& c, const json& entry, const std::string& path, const Suite& s,
                                MeasurementEntry& m) {
  if (const auto* d = s.dataset(m.dataset); d && !is_segmentation_dataset(d->kind))
    c.error(path + ".dataset", "'" + m.kind + "' needs a segmentation dataset (" + kSegDatasetList + "), '" +
                                   m.dataset + "' is " + d->kind);
  if (auto mode = c.string(entry, "mode", path); mode && *mode != "whole" && *mode != "slide")
    c.error(path + ".mode", "expected \"whole\" or \"slide\", got \"" + *mode + "\"");
  for (const char* key : {"crop", "stride", "scale"})
    if (auto v = c.integers<int64_t>(entry, key, path, 1, kMaxImageSide); v && v->size() > 2)
      c.error(path + "." + key, "expected N or [N, M]");
  c.integer<int64_t>(entry, "limit", path, 0);
  if (auto head = c.string(entry, "head", path)) {
    try {
      const std::string file = expand_env(*head, path + ".head");
      if (!std::filesystem::is_regular_file(file))
        c.error(path + ".head", "no such head checkpoint '" + file + "' (write one with bench train)");
    } catch (const std::exception& e) {
      c.error(path + ".head", e.what());
    }
    if (entry.contains("train")) c.error(path + ".train", "give either a head checkpoint or train settings");
  } else if (m.kind == "miou" && !entry.contains("train")) {
    // Segmentation models (SegViT) are scored as they are; a backbone needs a head.
    for (size_t i = 0; i < s.models.size(); ++i) {
      const auto task = c.models().task(s.models[i].name);
      if (task && *task != "segmentation") {
        c.error(path, "'miou' of backbone '" + s.models[i].name + "' needs \"head\" (a checkpoint of bench train) "
                      "or \"train\" settings");
        break;
      }
    }
  }
  if (!entry.contains("train")) return;
  const auto& t = entry["train"];
  if (!c.expect(t, path + ".train", t.is_object(), "an object")) return;
  const std::string tp = path + ".train";
  c.unknown_keys(t, tp, {"task", "iterations", "batch_size", "crop", "scale", "lr", "weight_decay",
                         "cls_iterations", "cls_batch_size", "cls_lr", "log_interval", "eval_interval",
                         "checkpoint_interval", "work_dir", "head_lr_mult", "warmup_iters", "power", "clip_grad"});
  const auto task = c.string(t, "task", tp);
  if (task && *task != "head" && *task != "scratch" && *task != "segmentor")
    c.error(tp + ".task", "expected \"head\" (frozen backbone), \"scratch\" (whole small model) or \"segmentor\" "
                          "(a segmentation model with its own loss), got \"" + *task + "\"");
  for (size_t i = 0; i < s.models.size(); ++i) {
    const auto model_task = c.models().task(s.models[i].name);
    if (!model_task || (*model_task == "segmentation") == (task && *task == "segmentor")) continue;
    c.error(tp + ".task", *model_task == "segmentation"
                              ? "segmentation model '" + s.models[i].name + "' trains with task \"segmentor\""
                              : "task \"segmentor\" trains segmentation models; '" + s.models[i].name +
                                    "' is a backbone (task \"head\" or \"scratch\")");
    break;
  }
  for (const char* key : {"iterations", "log_interval"}) c.integer<int64_t>(t, key, tp, 1);
  for (const char* key : {"batch_size", "cls_batch_size"}) c.integer<int64_t>(t, key, tp, 1, kMaxBatchSize);
  for (const char* key : {"cls_iterations", "eval_interval", "checkpoint_interval", "warmup_iters"})
    c.integer<int64_t>(t, key, tp, 0);
  for (const char* key : {"crop", "scale"})
    if (auto v = c.integers<int64_t>(t, key, tp, 1, kMaxImageSide); v && v->size() > 2)
      c.error(tp + "." + key, "expected N or [N, M]");
  for (const char* key : {"lr", "weight_decay", "cls_lr", "head_lr_mult", "power", "clip_grad"})
    c.number(t, key, tp, 0.0, std::numeric_limits<double>::max());
  if (auto dir = c.string(t, "work_dir", tp)) {
    try {
      expand_env(*dir, tp + ".work_dir");
    } catch (const std::exception& e) {
      c.error(tp + ".work_dir", e.what());
    }
  }
}

void parse_datasets(Checker& c, const json& root, Suite& s) {
  if (!root.contains("datasets")) return;
  const auto& datasets = root["datasets"];
  if (!c.expect(datasets, "datasets", datasets.is_array(), "an array")) return;
  std::set<std::string> names;
  for (size_t i = 0; i < datasets.size(); ++i) {
    const std::string path = "datasets[" + std::to_string(i) + "]";
    const auto& entry = datasets[i];
    if (!c.expect(entry, path, entry.is_object(), "an object")) continue;
    c.unknown_keys(entry, path, {"name", "kind", "root", "generate", "limit", "workers", "max_pixels"});
    DatasetEntry d;
    d.name = c.string(entry, "name", path).value_or("");
    if (d.name.empty()) c.error(path + ".name", "missing");
    if (!d.name.empty() && !names.insert(d.name).second) c.error(path + ".name", "duplicate dataset '" + d.name + "'");
    d.kind = c.string(entry, "kind", path).value_or("");
    if (d.kind != "imagefolder" && !is_segmentation_dataset(d.kind))
      c.error(path + ".kind", "unknown dataset kind '" + d.kind + "' (known: imagefolder, " + kSegDatasetList + ")");
    auto root_text = c.string(entry, "root", path);
    if (!root_text) {
      if (!entry.contains("root")) c.error(path + ".root", "missing");
    } else {
      try {
        d.root = expand_env(*root_text, path + ".root", &d.root_variable);
      } catch (const std::exception& e) {
        c.error(path + ".root", e.what());
      }
    }
    if (entry.contains("generate")) {
      d.generate = entry["generate"];
      if (d.kind == "synthetic_ade20k") {
        parse_synthetic_generate(c, path + ".generate", d);
      } else if (d.kind != "imagefolder") {
        c.error(path + ".generate", "only imagefolder and synthetic_ade20k data can be generated");
      } else if (c.expect(d.generate, path + ".generate", d.generate.is_object(), "an object")) {
        c.unknown_keys(d.generate, path + ".generate", {"classes", "per_class", "size", "seed"});
        c.integer<int>(d.generate, "classes", path + ".generate", 2, 1000);
        c.integer<int>(d.generate, "per_class", path + ".generate", 1, kMaxGeneratedImages);
        c.integer<int>(d.generate, "size", path + ".generate", 8, kMaxImageSide);
        c.integer<uint64_t>(d.generate, "seed", path + ".generate", 0);
      }
    } else if (d.kind == "synthetic_ade20k") {
      c.error(path + ".generate", "missing (synthetic_ade20k data is generated: {\"classes\": 4, \"count\": 64, ...})");
    } else if (!d.root.empty() && !std::filesystem::is_directory(d.root)) {
      c.error(path + ".root", "dataset '" + d.name + "': no such directory '" + d.root + "'" +
                                  (d.root_variable.empty() ? "" : " (set " + d.root_variable + ")"));
    } else if (!d.root.empty() && kSegLayoutDir.count(d.kind) &&
               !std::filesystem::is_directory(std::filesystem::path(d.root) / kSegLayoutDir.at(d.kind))) {
      c.error(path + ".root", "dataset '" + d.name + "': '" + d.root + "' has no " + kSegLayoutDir.at(d.kind) +
                                  " folder (" + d.kind + " layout)" +
                                  (d.root_variable.empty() ? "" : " (set " + d.root_variable + ")"));
    }
    d.limit = c.integer<int64_t>(entry, "limit", path, 0).value_or(0);
    d.workers = c.integer<int>(entry, "workers", path, 0, kMaxThreads).value_or(0);
    d.max_pixels = c.integer<int64_t>(entry, "max_pixels", path, 1).value_or(0);
    s.datasets.push_back(std::move(d));
  }
}

void parse_measurements(Checker& c, const json& root, Suite& s) {
  if (!root.contains("measurements")) return c.error("measurements", "missing (a list of measurement kinds)");
  const auto& list = root["measurements"];
  if (!c.expect(list, "measurements", list.is_array() && !list.empty(), "a non-empty array")) return;
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = "measurements[" + std::to_string(i) + "]";
    const json entry = list[i].is_string() ? json{{"kind", list[i]}} : list[i];
    if (!c.expect(entry, path, entry.is_object(), "a measurement kind or an object")) continue;
    const std::string kind_text = entry.value("kind", json()).is_string() ? entry["kind"].get<std::string>() : "";
    if (kind_text == "fps")
      c.unknown_keys(entry, path, {"kind", "name", "dataset", "mode", "crop", "stride", "scale", "head", "limit", "warmup"});
    else if (kSegMeasurements.count(kind_text))
      c.unknown_keys(entry, path, {"kind", "name", "dataset", "mode", "crop", "stride", "scale", "head", "train", "limit"});
    else if (kind_text == "kernels")
      c.unknown_keys(entry, path, {"kind", "name", "batch_sizes", "warmup", "iterations", "top"});
    else
      c.unknown_keys(entry, path, {"kind", "name", "dataset", "batch_sizes", "top_k"});
    MeasurementEntry m;
    m.kind = c.string(entry, "kind", path).value_or("");
    const auto& kinds = measurement_kinds();
    if (std::find(kinds.begin(), kinds.end(), m.kind) == kinds.end()) {
      std::string known;
      for (const auto& k : kinds) known += (known.empty() ? "" : ", ") + k;
      c.error(path + ".kind", "unknown measurement '" + m.kind + "' (known: " + known + ")");
      continue;
    }
    m.name = c.string(entry, "name", path).value_or(m.kind);
    if (!names.insert(m.name).second)
      c.error(path + ".name", "duplicate measurement name '" + m.name + "' (give each a distinct name)");
    if (kind_needs_dataset(m.kind)) {
      m.dataset = c.string(entry, "dataset", path).value_or("");
      if (m.dataset.empty()) {
        if (s.datasets.size() == 1) m.dataset = s.datasets.front().name;
        else c.error(path + ".dataset", "missing (which dataset to measure '" + m.kind + "' on)");
      } else if (!s.dataset(m.dataset)) {
        c.error(path + ".dataset", "no dataset named '" + m.dataset + "' in datasets");
      }
    } else if (entry.contains("dataset")) {
      c.error(path + ".dataset", "'" + m.kind + "' takes no dataset");
    }
    if (kSegMeasurements.count(m.kind)) parse_segmentation_options(c, entry, path, s, m);
    if (m.kind == "fps") c.integer<int>(entry, "warmup", path, 0);
    if (m.kind == "kernels") {
      c.integer<int>(entry, "warmup", path, 0);  // profile::ProfileOptions
      c.integer<int>(entry, "iterations", path, 1);
      c.integer<int64_t>(entry, "top", path, 0);
    }
    else if (const auto* d = s.dataset(m.dataset); d && m.kind == "accuracy" && d->kind != "imagefolder")
      c.error(path + ".dataset", "'accuracy' needs an imagefolder dataset, '" + m.dataset + "' is " + d->kind);
    if (auto b = c.integers<int64_t>(entry, "batch_sizes", path, 1, kMaxBatchSize)) m.batch_sizes = *b;
    m.options = entry;
    s.measurements.push_back(std::move(m));
  }
}

// settings.img_size: 224, "384x512", or a list of those (one cell each).
std::vector<std::array<int64_t, 2>> img_sizes(Checker& c, const json& st, const std::string& path) {
  std::vector<std::array<int64_t, 2>> out;
  if (!st.contains("img_size")) return out;
  const auto& v = st["img_size"];
  const json items = v.is_array() ? v : json::array({v});
  if (items.empty()) c.error(path + ".img_size", "must not be empty");
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string p = path + ".img_size" + (v.is_array() ? "[" + std::to_string(i) + "]" : "");
    const auto size = parse_resolution(items[i]);
    if (!size || (*size)[0] < 1 || (*size)[1] < 1 || (*size)[0] > kMaxImageSide || (*size)[1] > kMaxImageSide) {
      c.error(p, "expected a size N or \"HxW\" from 1 to " + std::to_string(kMaxImageSide) + ", got " +
                     json_excerpt(items[i]));
      continue;
    }
    if (std::find(out.begin(), out.end(), *size) != out.end()) c.error(p, "duplicate size " + json_excerpt(items[i]));
    out.push_back(*size);
  }
  return out;
}

void parse_settings(Checker& c, const json& root, Suite& s) {
  if (!root.contains("settings")) return;
  const auto& st = root["settings"];
  const std::string path = "settings";
  if (!c.expect(st, path, st.is_object(), "an object")) return;
  c.unknown_keys(st, path, {"device", "precision", "batch_sizes", "warmup", "repeats", "threads", "seeds", "img_size",
                            "baseline"});
  Settings& out = s.settings;
  if (auto d = c.string(st, "device", path)) {
    if (*d != "cpu" && *d != "cuda") c.error(path + ".device", "expected \"cpu\" or \"cuda\", got \"" + *d + "\"");
    out.device = *d;
  }
  if (st.contains("precision")) {
    const auto& p = st["precision"];
    const json items = p.is_array() ? p : json::array({p});
    out.precisions.clear();
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string pp = path + ".precision" + (p.is_array() ? "[" + std::to_string(i) + "]" : "");
      if (!c.expect(items[i], pp, items[i].is_string(), "\"fp32\", \"bf16\" or \"fp16\"")) continue;
      const auto v = items[i].get<std::string>();
      if (v != "fp32" && v != "bf16" && v != "fp16") c.error(pp, "expected fp32, bf16 or fp16, got \"" + v + "\"");
      out.precisions.push_back(v);
    }
    if (out.precisions.empty()) c.error(path + ".precision", "must not be empty");
  }
  if (auto b = c.integers<int64_t>(st, "batch_sizes", path, 1, kMaxBatchSize)) out.batch_sizes = *b;
  if (auto w = c.integer<int>(st, "warmup", path, 0)) out.warmup = *w;
  if (auto r = c.integer<int>(st, "repeats", path, 1)) out.repeats = *r;
  if (auto t = c.integer<int>(st, "threads", path, 0, kMaxThreads)) out.threads = *t;
  if (auto seeds = c.integers<int64_t>(st, "seeds", path, 0)) out.seeds = *seeds;
  out.img_sizes = img_sizes(c, st, path);
  if (auto b = c.string(st, "baseline", path)) {
    out.baseline = *b;
    if (std::none_of(s.models.begin(), s.models.end(), [&](const ModelEntry& m) { return m.label == *b; }))
      c.error(path + ".baseline", "no model labelled '" + *b + "' in models");
  }
}

// Every ${NAME} or ${NAME:-default} in the suite's strings, with the value it resolves to now.
void collect_variables(const json& v, std::map<std::string, std::string>& out) {
  if (v.is_object() || v.is_array()) {
    for (const auto& item : v) collect_variables(item, out);
    return;
  }
  if (!v.is_string()) return;
  const std::string& text = v.get_ref<const std::string&>();
  for (size_t at = text.find("${"); at != std::string::npos; at = text.find("${", at + 2)) {
    const size_t close = text.find('}', at);
    if (close == std::string::npos) return;
    const std::string body = text.substr(at + 2, close - at - 2);
    const size_t dflt = body.find(":-");
    const std::string name = body.substr(0, dflt);
    if (name.empty()) continue;
    const char* value = std::getenv(name.c_str());
    if (value && *value) out[name] = value;
    else if (dflt != std::string::npos) out[name] = body.substr(dflt + 2);
  }
}

std::string fnv1a_hex(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : text) h = (h ^ ch) * 1099511628211ull;
  std::ostringstream out;
  out << std::hex << h;
  return out.str();
}

// Cells of the plan before --only, saturating: a few long lists multiply past any integer.
double planned_cells(const Suite& s) {
  double cells = 0;
  for (const auto& m : s.measurements) {
    const bool compute_only = m.kind == "params" || m.kind == "macs";
    double n = compute_only ? 1.0 : static_cast<double>(s.settings.precisions.size());
    if (kind_uses_batch_size(m.kind))
      n *= static_cast<double>(m.batch_sizes.empty() ? s.settings.batch_sizes.size() : m.batch_sizes.size());
    if (kind_needs_dataset(m.kind)) n *= static_cast<double>(s.settings.seeds.size());
    cells += n;
  }
  return cells * static_cast<double>(s.models.size());
}

Suite parse(const std::string& path, const ModelCatalogue& models, std::vector<std::string>& errors) {
  Suite s;
  s.path = path;
  json root;
  try {
    s.text = read_input_file(path, "suite file", kMaxSuiteBytes);
    s.hash = fnv1a_hex(s.text);
    root = parse_untrusted_json(s.text, path);
  } catch (const std::invalid_argument& e) {  // InputFileError, JsonInputError: one line naming file and field
    errors.push_back(e.what());
    return s;
  }
  // nlohmann's objects keep keys sorted and dump numbers canonically: the hash is of what the suite says.
  s.hash = fnv1a_hex(root.dump());
  collect_variables(root, s.variables);
  Checker c(path, models);
  if (!c.expect(root, "", root.is_object(), "a JSON object at the top level")) {
    errors = c.errors();
    return s;
  }
  c.unknown_keys(root, "", {"name", "description", "models", "datasets", "measurements", "settings"});
  s.name = c.string(root, "name", "").value_or("");
  if (s.name.empty()) c.error("name", "missing (the suite's name, used by --resume and reports)");
  s.description = c.string(root, "description", "").value_or("");
  parse_models(c, root, s);
  parse_datasets(c, root, s);
  parse_measurements(c, root, s);
  parse_settings(c, root, s);
  if (const double cells = planned_cells(s); cells > static_cast<double>(kMaxCells))
    c.error("", "the plan has " + json(cells).dump() + " cells (models x measurements x precisions x batch sizes x "
                "seeds), more than " + std::to_string(kMaxCells) + "; split the suite");
  errors = c.errors();
  return s;
}

}  // namespace

const DatasetEntry* Suite::dataset(const std::string& name) const {
  for (const auto& d : datasets)
    if (d.name == name) return &d;
  return nullptr;
}

const std::vector<std::string>& measurement_kinds() {
  static const std::vector<std::string> kinds{"params",   "macs", "latency", "throughput", "fps",
                                              "memory",   "accuracy", "miou", "train", "kernels"};
  return kinds;
}

json resolution_setting(std::array<int64_t, 2> size) {
  if (size[0] == size[1]) return size[0];
  return std::to_string(size[0]) + "x" + std::to_string(size[1]);
}

std::optional<std::array<int64_t, 2>> parse_resolution(const json& setting) {
  if (setting.is_number_integer()) return std::array<int64_t, 2>{setting.get<int64_t>(), setting.get<int64_t>()};
  if (!setting.is_string()) return std::nullopt;
  const std::string& text = setting.get_ref<const std::string&>();
  const size_t x = text.find('x');
  if (x == std::string::npos || x == 0 || x + 1 == text.size() || text.size() > 12) return std::nullopt;
  const std::string h = text.substr(0, x), w = text.substr(x + 1);
  auto digits = [](const std::string& part) {
    return std::all_of(part.begin(), part.end(), [](unsigned char ch) { return std::isdigit(ch); });
  };
  if (!digits(h) || !digits(w)) return std::nullopt;
  return std::array<int64_t, 2>{std::stoll(h), std::stoll(w)};
}
bool is_segmentation_dataset(const std::string& kind) { return kSegDatasets.count(kind) > 0; }
bool kind_needs_segmentation(const std::string& kind) { return kSegMeasurements.count(kind) > 0; }
bool kind_needs_dataset(const std::string& kind) { return !kNoDataset.count(kind); }
bool kind_uses_batch_size(const std::string& kind) { return kBatched.count(kind) || kind == "accuracy"; }

std::string ModelCatalogue::unknown_message(const std::string& name) const {
  const auto close = suggest(name);
  return "unknown model '" + one_line(name, 80) + "'" + (close.empty() ? "" : " (did you mean " + close.front() + "?)");
}

ModelCatalogue::Weights ModelCatalogue::weights(const std::string& model, const std::string& spec) const {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(spec, ec)) throw std::invalid_argument("no such file '" + one_line(spec) + "'");
  return {model, spec};
}

std::string expand_env(const std::string& text, const std::string& where, std::string* variable) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    const size_t close = text.find('}', i);
    if (close == std::string::npos) throw std::invalid_argument("unterminated ${ in '" + text + "'");
    const std::string body = text.substr(i + 2, close - i - 2);
    const size_t dflt = body.find(":-");
    const std::string name = body.substr(0, dflt);
    if (name.empty()) throw std::invalid_argument("empty variable name in '" + text + "'");
    if (variable && variable->empty()) *variable = name;
    const char* value = std::getenv(name.c_str());
    if (value && *value) out += value;
    else if (dflt != std::string::npos) out += body.substr(dflt + 2);
    else throw std::invalid_argument("environment variable " + name + " is not set (used in '" + text + "')");
    i = close + 1;
  }
  (void)where;
  return out;
}

std::vector<std::string> validate_suite(const std::string& path, const ModelCatalogue& models) {
  std::vector<std::string> errors;
  parse(path, models, errors);
  return errors;
}

Suite load_suite(const std::string& path, const ModelCatalogue& models) {
  std::vector<std::string> errors;
  Suite s = parse(path, models, errors);
  if (!errors.empty()) {
    std::string msg;
    for (const auto& e : errors) msg += (msg.empty() ? "" : "\n") + e;
    throw SuiteError(msg);
  }
  return s;
}

std::vector<Cell> plan(const Suite& suite, const std::string& device, const std::string& only) {
  std::vector<Cell> cells;
  const std::string dev = device.empty() ? suite.settings.device : device;
  for (const auto& model : suite.models) {
    for (const auto& m : suite.measurements) {
      const DatasetEntry* dataset = m.dataset.empty() ? nullptr : suite.dataset(m.dataset);
      const bool compute_only = m.kind == "params" || m.kind == "macs";
      const std::vector<std::string> precisions = compute_only ? std::vector<std::string>{"fp32"}
                                                               : suite.settings.precisions;
      std::vector<int64_t> batches{0};
      if (kind_uses_batch_size(m.kind)) batches = m.batch_sizes.empty() ? suite.settings.batch_sizes : m.batch_sizes;
      std::vector<std::optional<std::array<int64_t, 2>>> sizes{std::nullopt};
      if (kSized.count(m.kind) && !suite.settings.img_sizes.empty())
        sizes.assign(suite.settings.img_sizes.begin(), suite.settings.img_sizes.end());
      // Seeds matter where a seeded initialisation meets data; compute and timing do not depend on them.
      std::vector<std::optional<int64_t>> seeds;
      if (!kind_needs_dataset(m.kind)) seeds.push_back(std::nullopt);
      else for (int64_t s : suite.settings.seeds) seeds.push_back(s);
      for (const auto& size : sizes)
      for (const auto& precision : precisions)
        for (int64_t batch : batches)
          for (const auto& seed : seeds) {
            Cell cell;
            cell.model = &model;
            cell.dataset = dataset;
            cell.measurement = &m;
            cell.seed = seed;
            json settings{{"device", compute_only ? "cpu" : dev}};
            if (!compute_only) settings["precision"] = precision;
            if (batch) settings["batch_size"] = batch;
            if (size) settings["resolution"] = resolution_setting(*size);
            if (m.kind == "latency" || m.kind == "throughput") {
              settings["warmup"] = suite.settings.warmup;
              settings["repeats"] = suite.settings.repeats;
            }
            if (m.kind == "kernels") {  // forwards before tracing and forwards traced
              settings["warmup"] = m.options.value("warmup", 1);
              settings["iterations"] = m.options.value("iterations", 1);
            }
            if (suite.settings.threads) settings["threads"] = suite.settings.threads;
            cell.settings = settings;
            cell.key = model.label + "|" + (dataset ? dataset->name : "-") + "|" + m.name + "|" + settings.dump() +
                       "|" + (seed ? std::to_string(*seed) : "-");
            const std::string match = model.label + "/" + m.name + (dataset ? "/" + dataset->name : "");
            if (!only.empty() && fnmatch(only.c_str(), match.c_str(), 0) != 0 &&
                fnmatch(only.c_str(), model.label.c_str(), 0) != 0)
              continue;
            cells.push_back(std::move(cell));
          }
    }
  }
  return cells;
}

}  // namespace locbench::suite
