// The process's heap policy (allocator.h): glibc's mallopt thresholds, or the malloc someone preloaded.
#include "harness/allocator/allocator.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>

#ifdef __GLIBC__
#include <gnu/libc-version.h>
#include <malloc.h>
#endif

namespace locbench::allocator {

namespace {

constexpr long kMiB = 1024L * 1024L;
constexpr long kMmapThresholdMiB = 32;  // glibc refuses more (HEAP_MAX_SIZE / 2 on 64-bit)
constexpr long kDefaultCapMiB = 256;

std::mutex g_mutex;
std::string g_description = "unconfigured";
bool g_configured = false;

// A malloc other than the C library's, interposed by LD_PRELOAD or linking: its own entry points are visible.
std::string preloaded_malloc() {
  if (dlsym(RTLD_DEFAULT, "mallctl")) return "jemalloc";
  if (dlsym(RTLD_DEFAULT, "mi_version")) return "mimalloc";
  if (dlsym(RTLD_DEFAULT, "tc_version")) return "tcmalloc";
  return {};
}

// "retain" -> the default cap, "retain:<MiB>" -> that cap; -1 for "system".
long parse_cap(const std::string& policy) {
  if (policy == "system") return -1;
  if (policy == "retain") return kDefaultCapMiB;
  const std::string prefix = "retain:";
  if (policy.compare(0, prefix.size(), prefix) == 0 && policy.size() > prefix.size() && policy.size() <= 12) {
    const std::string digits = policy.substr(prefix.size());
    if (digits.find_first_not_of("0123456789") == std::string::npos) {
      const long cap = std::stol(digits);
      if (cap <= 2047) return cap;  // mallopt takes an int of bytes
    }
  }
  throw std::invalid_argument("LOCBENCH_ALLOCATOR: unknown policy '" + policy +
                              "' (expected retain, retain:<MiB> with at most 2047 MiB, or system)");
}

std::string apply(const std::string& policy) {
  const long cap = parse_cap(policy);
  if (const std::string other = preloaded_malloc(); !other.empty()) return other + " (preloaded)";
#ifdef __GLIBC__
  const std::string glibc = std::string("glibc ") + gnu_get_libc_version();
  if (cap < 0) return glibc + " system";
  // Setting either threshold also turns off glibc's dynamic adjustment of both.
  if (mallopt(M_MMAP_THRESHOLD, int(kMmapThresholdMiB * kMiB)) != 1 || mallopt(M_TRIM_THRESHOLD, int(cap * kMiB)) != 1)
    return glibc + " system (mallopt refused the thresholds)";
  return glibc + " retain (mmap_threshold " + std::to_string(kMmapThresholdMiB) + " MiB, trim_threshold " +
         std::to_string(cap) + " MiB)";
#else
  return cap < 0 ? "system" : "system (no glibc: thresholds not set)";
#endif
}

}  // namespace

std::string configure() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_configured) {
    const char* env = std::getenv("LOCBENCH_ALLOCATOR");
    g_description = apply(env && *env ? env : "retain");
    g_configured = true;
  }
  return g_description;
}

std::string description() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_description;
}

}  // namespace locbench::allocator
