// Suites: the JSON file a user runs (suites/README.md documents the schema), its validation with errors that
// name the file and the JSON path of the field, and its expansion into cells.
#pragma once

#include "harness/model/model_args.h"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace locbench::suite {

// "suites/x.json: models[2].name: unknown model 'vitt_tiny' (did you mean vit_tiny_patch16_224?)"
class SuiteError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct ModelEntry {
  std::string name;        // registered name; `arch.tag` when the weights name a tag
  std::string label;       // row label in reports (default: the name as written)
  std::string weights;     // the weights as the suite names them (after ${VAR} expansion), empty for none
  std::string checkpoint;  // the safetensors file they resolve to, empty for a seeded initialisation
  ModelArgs args;          // overrides
};

struct DatasetEntry {
  std::string name;
  std::string kind;  // imagefolder, ade20k, pascal_context59, cocostuff164k, synthetic_ade20k
  std::string root;  // after ${VAR} expansion
  std::string root_variable;  // the variable the root came from, for messages
  nlohmann::json generate;    // optional: how to generate the data when the root is missing
  int64_t limit = 0;          // evaluate at most this many samples (0: all)
  int workers = 0;            // decoding threads (0: hardware concurrency)
  int64_t num_classes = 0;    // synthetic_ade20k: generate.classes (the real datasets know their own)
  int64_t max_pixels = 0;     // decoded-pixel limit per image (0: data::kDefaultMaxPixels)
};

struct MeasurementEntry {
  std::string name;  // unique in the suite; the kind by default
  std::string kind;  // params, macs, latency, throughput, fps, memory, accuracy, miou, train, kernels
  std::string dataset;  // for data-driven kinds
  std::vector<int64_t> batch_sizes;  // empty: the settings'
  nlohmann::json options;
};

struct Settings {
  std::string device = "cpu";
  std::vector<std::string> precisions{"fp32"};
  std::vector<int64_t> batch_sizes{1};
  int warmup = 5;
  int repeats = 20;
  int threads = 0;  // 0: LibTorch's default
  std::vector<int64_t> seeds{0};
  // Input sizes (H, W) of compute, timing and accuracy cells, one cell each (a resolution sweep); empty: each
  // model's own. Given as 224, "384x512" or a list of those.
  std::vector<std::array<int64_t, 2>> img_sizes;
  std::string baseline;  // the label of the model the report compares every other model against; empty: none
};

struct Suite {
  // hash: of the parsed JSON (whitespace, key order and number spelling do not change it)
  std::string name, description, path, text, hash;
  // Every ${VAR} the suite uses and the value it resolved to (the default when the variable is unset).
  std::map<std::string, std::string> variables;
  std::vector<ModelEntry> models;
  std::vector<DatasetEntry> datasets;
  std::vector<MeasurementEntry> measurements;
  Settings settings;
  const DatasetEntry* dataset(const std::string& name) const;
};

// What validation asks of the model registry. The suite parser is torch-free (the fuzzers build it without
// LibTorch); registered_models() answers from the registry and lives with it.
class ModelCatalogue {
 public:
  virtual ~ModelCatalogue() = default;
  // The registry task ("classification", "segmentation") of a name or alias; nullopt when it is not registered.
  virtual std::optional<std::string> task(const std::string& name) const = 0;
  // The closest registered names, for "did you mean".
  virtual std::vector<std::string> suggest(const std::string& name) const = 0;
  // One line saying why `name` is not a model (by default "unknown model" with the closest name).
  virtual std::string unknown_message(const std::string& name) const;
  // What a model's "weights" names: the model to build (`arch.tag` when the spec is a tag of it) and the file to
  // load (empty for a seeded initialisation). Throws with the reason when it names nothing loadable. By default the
  // spec is a file that must exist.
  struct Weights {
    std::string model, path;
  };
  virtual Weights weights(const std::string& model, const std::string& spec) const;
};
const ModelCatalogue& registered_models();

// Reads and validates a suite; throws SuiteError with every problem, one per line.
Suite load_suite(const std::string& path, const ModelCatalogue& models = registered_models());
// The problems of a suite file, one line each (empty when it is valid).
std::vector<std::string> validate_suite(const std::string& path, const ModelCatalogue& models = registered_models());

// The most cells a suite may expand to: a plan is built in memory before anything runs.
constexpr size_t kMaxCells = 100000;

// ${VAR} and ${VAR:-default}; an unset variable without a default throws (the message names `where`).
std::string expand_env(const std::string& text, const std::string& where, std::string* variable = nullptr);

// A cell's "resolution" setting: H for a square input, "HxW" otherwise; and back (nullopt for anything else).
nlohmann::json resolution_setting(std::array<int64_t, 2> size);
std::optional<std::array<int64_t, 2>> parse_resolution(const nlohmann::json& setting);

// Measurement kinds and whether each needs a dataset.
const std::vector<std::string>& measurement_kinds();
bool kind_needs_dataset(const std::string& kind);
bool kind_uses_batch_size(const std::string& kind);
// Dataset kinds read as segmentation data (mmseg layouts) and those the `miou` and `train` kinds need.
bool is_segmentation_dataset(const std::string& kind);
bool kind_needs_segmentation(const std::string& kind);

// One point of the plan.
struct Cell {
  std::string key;  // stable: --resume skips keys already passed
  const ModelEntry* model = nullptr;
  const DatasetEntry* dataset = nullptr;
  const MeasurementEntry* measurement = nullptr;
  nlohmann::json settings;  // what defines the cell: device, precision, batch_size, img_size, ...
  std::optional<int64_t> seed;
};

// model x dataset x measurement x settings (precisions, batch sizes, seeds). `device` overrides the suite's;
// `only` (a glob on "model/measurement[/dataset]") keeps matching cells.
std::vector<Cell> plan(const Suite& suite, const std::string& device = "", const std::string& only = "");

}  // namespace locbench::suite
