#include "harness/runner/build_info.h"

#include "locbench_build_info.h"

#ifndef LOCBENCH_VERSION
#define LOCBENCH_VERSION "unknown"
#endif

namespace locbench {

const BuildInfo& build_info() {
  static const BuildInfo info{LOCBENCH_GIT_COMMIT, LOCBENCH_GIT_DIRTY != 0, LOCBENCH_VERSION};
  return info;
}

}  // namespace locbench
