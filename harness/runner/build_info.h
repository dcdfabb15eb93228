// The build a binary came from, baked in at build time (cmake/build_info.cmake), not read with git at run time.
#pragma once

#include <string>

namespace locbench {

struct BuildInfo {
  std::string commit;  // full hash of HEAD when built; "unknown" outside a git checkout
  bool dirty = false;  // tracked files differed from that commit
  std::string version;  // project(locbench VERSION ...)
  // "<commit>" or "<commit>-dirty", as runs record it.
  std::string describe() const { return commit + (dirty ? "-dirty" : ""); }
};

const BuildInfo& build_info();

}  // namespace locbench
