// The suite parser's view of the model registry (the parser itself is torch-free).
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
};

}  // namespace

const ModelCatalogue& registered_models() {
  static const RegistryCatalogue catalogue;
  return catalogue;
}

}  // namespace locbench::suite
