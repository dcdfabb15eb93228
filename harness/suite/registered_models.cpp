// The suite parser's view of the model registry (the parser itself is torch-free).
#include "harness/checkpoint/format.h"
#include "harness/checkpoint/safetensors.h"
#include "harness/checkpoint/weights.h"
#include "harness/model/registry.h"
#include "harness/suite/suite.h"

namespace locbench::suite {

namespace {

class RegistryCatalogue : public ModelCatalogue {
 public:
  std::optional<std::string> task(const std::string& name) const override {
    const VariantInfo* info = Registry::instance().find(name);
    return info ? std::optional<std::string>(info->task) : std::nullopt;
  }
  std::vector<std::string> suggest(const std::string& name) const override {
    return Registry::instance().suggest(name);
  }
  std::string unknown_message(const std::string& name) const override {
    return Registry::instance().unknown_message(name);
  }
  // Tags, "pretrained" and hf-hub: names resolve through the Hugging Face cache; the file must be safetensors
  // with a sound header.
  Weights weights(const std::string& model, const std::string& spec) const override {
    const ResolvedWeights w = resolve_weights(model, spec);
    if (!w.path.empty()) {
      require_safetensors(w.path, w.model);
      safetensors::File file(w.path);  // the header read and checked now, not when the cell runs
    }
    return {w.model, w.path};
  }
};

}  // namespace

const ModelCatalogue& registered_models() {
  static const RegistryCatalogue catalogue;
  return catalogue;
}

}  // namespace locbench::suite
