// The measurement kinds by name; each kind is in its own file (kinds.h).
#include "harness/measure/measure.h"

#include "harness/measure/kinds.h"

#include <map>
#include <stdexcept>

namespace locbench::measure {

std::vector<store::Result> run(Context& ctx) {
  using Kind = std::vector<store::Result> (*)(Context&);
  static const std::map<std::string, Kind> kinds{
      {"params", kinds::params},         {"macs", kinds::macs},         {"latency", kinds::latency},
      {"throughput", kinds::throughput}, {"fps", kinds::fps},           {"memory", kinds::memory},     {"accuracy", kinds::accuracy},
      {"miou", kinds::miou},             {"train", kinds::miou},        {"kernels", kinds::kernels}};
  const std::string& kind = ctx.cell.measurement->kind;
  const auto it = kinds.find(kind);
  if (it == kinds.end()) throw std::invalid_argument("unknown measurement kind '" + kind + "'");
  return it->second(ctx);
}

bool data_driven(const std::string& kind) { return kind == "accuracy" || kind == "miou" || kind == "train"; }

}  // namespace locbench::measure
