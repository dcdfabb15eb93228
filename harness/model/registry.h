// The registry of every model variant: name -> method, task, paper, config and factory (timm's create_model).
#pragma once

#include "harness/model/model.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace locbench {

struct VariantInfo {
  std::string name;
  std::string method;  // e.g. "vit", "locatvit"
  std::string task;    // "classification" or "segmentation"
  std::string paper;   // short citation with arXiv id
  VariantConfig config;
  std::function<ModelPtr(const ModelArgs&)> factory;
  std::vector<std::string> aliases;
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
  // nullptr when unknown; aliases resolve to their variant.
  const VariantInfo* find(const std::string& name) const;
  std::vector<const VariantInfo*> list() const;
  // The closest registered names, for "did you mean" messages.
  std::vector<std::string> suggest(const std::string& name, size_t max = 3) const;

 private:
  std::map<std::string, VariantInfo> variants_;
  std::map<std::string, HeadInfo> heads_;
  std::map<std::string, std::string> aliases_;
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
