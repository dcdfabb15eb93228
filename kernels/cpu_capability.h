// Which build of a per-instruction-set CPU kernel (kernels/CMakeLists.txt: locbench_cpu_kernel) runs on this machine:
// LibTorch's own choice (its CPU capability, which ATEN_CPU_CAPABILITY can lower), among the builds compiled into the
// target that includes this header (LOCBENCH_CPU_<CAP> is set per target).
#pragma once

#include <ATen/Version.h>

#include <string>

namespace locbench::kernels {

// "AVX512", "AVX2" or "DEFAULT".
inline std::string cpu_build_for_this_machine() {
  const std::string torch = at::get_cpu_capability();
#ifdef LOCBENCH_CPU_AVX512
  if (torch == "AVX512") return "AVX512";
#endif
#ifdef LOCBENCH_CPU_AVX2
  if (torch == "AVX512" || torch == "AVX2") return "AVX2";
#endif
  return "DEFAULT";
}

}  // namespace locbench::kernels
