// Which build of a per-instruction-set CPU kernel (kernels/CMakeLists.txt: locbench_cpu_kernel) runs on this machine:
// LibTorch's own choice (its CPU capability, which ATEN_CPU_CAPABILITY can lower), among the builds compiled into the
// target that includes this header (LOCBENCH_CPU_<CAP> is set per target).
#pragma once

#include <ATen/Version.h>

#include <string>
#include <type_traits>

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

// Of one function's builds, the one cpu_build_for_this_machine names (the builds not compiled in are null).
template <typename Fn>
Fn cpu_build_of(Fn default_build, std::type_identity_t<Fn> avx2, std::type_identity_t<Fn> avx512) {
  const std::string name = cpu_build_for_this_machine();
  if (name == "AVX512" && avx512) return avx512;
  if (name == "AVX2" && avx2) return avx2;
  return default_build;
}

}  // namespace locbench::kernels

// Declares a kernel function in the namespace of each build (cpu::DEFAULT, cpu::AVX2, cpu::AVX512), as the kernel
// source defines it through `inline namespace CPU_CAPABILITY`; to be used inside namespace locbench::kernels.
#define LOCBENCH_DECLARE_CPU_BUILDS(declaration) \
  namespace cpu {                                \
  namespace DEFAULT {                            \
  declaration;                                   \
  }                                              \
  namespace AVX2 {                               \
  declaration;                                   \
  }                                              \
  namespace AVX512 {                             \
  declaration;                                   \
  }                                              \
  }

#ifdef LOCBENCH_CPU_AVX2
#define LOCBENCH_CPU_AVX2_BUILD(fn) &cpu::AVX2::fn
#else
#define LOCBENCH_CPU_AVX2_BUILD(fn) nullptr
#endif
#ifdef LOCBENCH_CPU_AVX512
#define LOCBENCH_CPU_AVX512_BUILD(fn) &cpu::AVX512::fn
#else
#define LOCBENCH_CPU_AVX512_BUILD(fn) nullptr
#endif

// The build of kernel function `fn` (declared with LOCBENCH_DECLARE_CPU_BUILDS) that runs on this machine.
#define LOCBENCH_CPU_BUILD_OF(fn) \
  ::locbench::kernels::cpu_build_of(&cpu::DEFAULT::fn, LOCBENCH_CPU_AVX2_BUILD(fn), LOCBENCH_CPU_AVX512_BUILD(fn))
