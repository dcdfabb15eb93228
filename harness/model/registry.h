// The registry of every model variant: name -> method, task, paper, config and factory (timm's create_model).
// Names follow timm: `arch` or `arch.tag`, the tag naming a pretrained release with its own config; `hf-hub:ORG/NAME`
// names a release by its Hugging Face repository; `file:PATH` (or the name of a file in the model folder) is a model
// exported from Python (harness/model/exported.h).
#pragma once

#include "harness/model/model.h"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace locbench {

// A pretrained release of an architecture (timm's pretrained_cfg under `arch.tag`): where its weights are published
// and how they expect their input.
struct PretrainedTag {
  std::string tag;                            // e.g. "augreg_in21k_ft_in1k"; empty: the architecture's one release
  std::string hf_hub_id;                      // e.g. "timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k"
  std::string hf_filename = "model.safetensors";
  std::string source;                         // where these facts come from, e.g. "timm 1.0.31 default_cfgs"
  std::string license;
  VariantConfig config;                       // the full pretrained config of the tag
};

struct VariantInfo {
  std::string name;
  std::string method;  // e.g. "vit", "locatvit"
  std::string task;    // "classification" or "segmentation"
  std::string paper;   // short citation with arXiv id
  VariantConfig config;
  std::function<ModelPtr(const ModelArgs&)> factory;
  std::vector<std::string> aliases;
  // The releases locbench knows, the default (timm's: the first listed) first.
  std::vector<PretrainedTag> pretrained;
  // Set on `arch.tag` entries (and on an architecture's one untagged release): the architecture and the tag.
  std::string architecture;
  std::optional<PretrainedTag> tag;
  // Exported models: the file the model is read from.
  std::string file;

  // The tag weights named `pretrained` resolve to: the entry's own, else the architecture's default.
  const PretrainedTag* default_tag() const;
  const PretrainedTag* find_tag(const std::string& tag) const;
};

struct HeadInfo {
  std::string name;   // e.g. "linear"
  std::string paper;  // where the head comes from
  std::function<DecodeHeadPtr(const HeadArgs&)> factory;
};

class Registry {
 public:
  static Registry& instance();

  void add(VariantInfo info);
  void add_head(HeadInfo info);
  const HeadInfo* find_head(const std::string& name) const;
  std::vector<const HeadInfo*> heads() const;
  // nullptr when unknown. Aliases resolve to their variant; `arch.tag`, `hf-hub:ORG/NAME` of a known release and
  // exported model files resolve to entries derived once and kept.
  const VariantInfo* find(const std::string& name) const;
  // The registered architectures (no derived entries).
  std::vector<const VariantInfo*> list() const;
  // The closest registered names, for "did you mean" messages.
  std::vector<std::string> suggest(const std::string& name, size_t max = 3) const;
  // Why `name` is not a model, in one line: "unknown model 'x' (did you mean y?)", an unknown tag of a known
  // architecture with the tags locbench knows, a release locbench does not know, a missing exported file.
  std::string unknown_message(const std::string& name) const;

  // Where exported models are found by name: $LOCBENCH_MODEL_DIR, default ~/.cache/locbench/models.
  static std::string model_dir();

 private:
  const VariantInfo* derive(const std::string& name) const;
  const VariantInfo* derive_tagged(const VariantInfo& arch, const PretrainedTag& tag) const;

  std::map<std::string, VariantInfo> variants_;
  std::map<std::string, HeadInfo> heads_;
  std::map<std::string, std::string> aliases_;
  mutable std::mutex derived_mutex_;
  mutable std::map<std::string, std::unique_ptr<VariantInfo>> derived_;
};

// Builds a registered variant with overrides; throws std::invalid_argument for an unknown name.
ModelPtr create_model(const std::string& name, const ModelArgs& args = {});

// Builds a registered decode head; throws std::invalid_argument for an unknown name.
DecodeHeadPtr create_head(const std::string& name, const HeadArgs& args);

// Registers a variant at static-initialisation time (methods link as object libraries, so nothing is dropped).
struct RegisterVariant {
  explicit RegisterVariant(VariantInfo info) { Registry::instance().add(std::move(info)); }
};
struct RegisterHead {
  explicit RegisterHead(HeadInfo info) { Registry::instance().add_head(std::move(info)); }
};

}  // namespace locbench
