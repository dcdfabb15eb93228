// Models exported from Python with locbench.export (python/locbench/export.py) and run like registered ones:
// a TorchScript archive (.pt) or an AOTInductor package (.pt2) with locbench's metadata (locbench.json: task,
// input config, feature stride, methods). Named `file:PATH`, or by name when PATH is <model dir>/<name>.pt[2].
#pragma once

#include "harness/model/registry.h"

#include <string>

namespace locbench {

// The registry entry of an exported model: method "exported", config from its metadata, a factory that loads it.
// Throws std::invalid_argument naming the file when it is missing or not a model locbench.export wrote.
VariantInfo exported_variant(const std::string& path, const std::string& name);

}  // namespace locbench
