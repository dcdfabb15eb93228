// The suite parser and validator on arbitrary bytes: validation never throws (it returns one-line errors naming
// the file), and a suite it passes loads and plans within the cell bound.
#include "harness/suite/suite.h"
#include "tests/fuzz/fuzz_input.h"

#include <cstdlib>

namespace {

// A few names as the registry would know them; the parser asks nothing else of it.
class Catalogue : public locbench::suite::ModelCatalogue {
 public:
  std::optional<std::string> task(const std::string& name) const override {
    if (name == "vit_tiny_patch16_224" || name == "a") return "classification";
    if (name == "segvit_tiny" || name == "s") return "segmentation";
    return std::nullopt;
  }
  std::vector<std::string> suggest(const std::string& name) const override {
    return name.size() < 64 ? std::vector<std::string>{"vit_tiny_patch16_224"} : std::vector<std::string>{};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Catalogue catalogue;
  const std::string& path = locbench::fuzz::input_file(data, size, ".json");
  const auto errors = locbench::suite::validate_suite(path, catalogue);
  for (const auto& e : errors)
    if (e.find('\n') != std::string::npos || e.rfind(path, 0) != 0) std::abort();  // one line naming the file
  if (!errors.empty()) return 0;
  const auto suite = locbench::suite::load_suite(path, catalogue);
  const auto cells = locbench::suite::plan(suite);
  if (cells.size() > locbench::suite::kMaxCells) std::abort();
  return 0;
}
